"""RunInstances ClientToken idempotency (rule ec2.run-instances-idempotent):
a repeated token returns the first reservation; other parameters with it are
refused; the token outlives its instances by 24 hours."""

import boto3
import pytest
from botocore import handlers
from botocore.config import Config
from botocore.exceptions import ClientError

from strict import core, faults
from helpers import SETTLE, al2023, default_vpc, group, user_data

DAY = 24 * 3600.0


def _setup(emu):
    vpc, subnets = default_vpc(emu)
    sg = group(emu, "inst", vpc)
    emu.advance(SETTLE)
    return sg, subnets


def _args(emu, sg, **extra):
    args = dict(ImageId=al2023(emu), MinCount=1, MaxCount=1, InstanceType="t3.medium",
                SecurityGroupIds=[sg])
    args.update(extra)
    return args


def _run(ec2, args):
    answer = ec2.run_instances(**args)
    return answer["ReservationId"], [i["InstanceId"] for i in answer["Instances"]], answer


def _instances(emu, region="us-east-1"):
    ec2 = emu.client("ec2") if region == "us-east-1" else _regional(emu, region)
    return sorted(i["InstanceId"] for r in ec2.describe_instances()["Reservations"]
                  for i in r["Instances"])


def _regional(emu, region):
    return boto3.client("ec2", region_name=region, endpoint_url=emu.url,
                        aws_access_key_id="testing", aws_secret_access_key="testing",
                        config=Config(retries={"total_max_attempts": 1, "mode": "standard"}))


def _tokenless(emu):
    """A client that sends no ClientToken at all (boto3 fills in a random one)."""
    ec2 = emu.client("ec2")
    ec2.meta.events.unregister("before-parameter-build", handlers.generate_idempotent_uuid)
    return ec2


def _code(err) -> str:
    return err.response["Error"]["Code"]


def test_the_same_token_twice_returns_the_first_reservation(emulator):
    results = {}
    for strict in (False, True):
        emulator.reset(strict=strict)
        sg, _ = _setup(emulator)
        ec2 = emulator.client("ec2")
        args = _args(emulator, sg, ClientToken="builder-1")
        first, second = _run(ec2, args), _run(ec2, args)
        results[strict] = (first, second, _instances(emulator))
    (r1, i1, _), (r2, i2, _), found = results[False]
    assert r1 != r2 and i1 != i2 and len(found) == 2, "moto alone launches twice"
    (r1, i1, _), (r2, i2, answer), found = results[True]
    assert (r1, i1) == (r2, i2)
    assert found == i1, "one instance"
    assert answer["Instances"][0]["ClientToken"] == "builder-1"


def test_the_repeat_shows_the_instances_as_they_are_now(emulator):
    emulator.reset(strict=True)
    sg, _ = _setup(emulator)
    ec2 = emulator.client("ec2")
    args = _args(emulator, sg, ClientToken="builder-1")
    _, [instance], _ = _run(ec2, args)
    ec2.stop_instances(InstanceIds=[instance])
    emulator.advance(SETTLE)
    _, [again], answer = _run(ec2, args)
    assert again == instance
    assert answer["Instances"][0]["State"]["Name"] == "stopped"


def test_the_same_token_with_other_parameters_is_a_mismatch(run):
    def scenario(emu):
        sg, _ = _setup(emu)
        ec2 = emu.client("ec2")
        _run(ec2, _args(emu, sg, ClientToken="builder-1"))
        _run(ec2, _args(emu, sg, ClientToken="builder-1", InstanceType="t3.large"))

    message = run.both(scenario, "IdempotentParameterMismatch")
    assert "inconsistent with arguments used in previous request" in message
    assert len(_instances(run.emu)) == 1, "the mismatch launched nothing"


@pytest.mark.parametrize("change", [
    {"UserData": user_data(100)},
    {"MinCount": 2, "MaxCount": 2},
    {"TagSpecifications": [{"ResourceType": "instance",
                            "Tags": [{"Key": "Name", "Value": "other"}]}]},
])
def test_each_compared_parameter_counts(emulator, change):
    emulator.reset(strict=True)
    sg, _ = _setup(emulator)
    ec2 = emulator.client("ec2")
    _run(ec2, _args(emulator, sg, ClientToken="builder-1"))
    with pytest.raises(ClientError) as caught:
        _run(ec2, _args(emulator, sg, ClientToken="builder-1", **change))
    assert _code(caught.value) == "IdempotentParameterMismatch"


def test_without_a_token_each_call_launches(emulator):
    emulator.reset(strict=True)
    sg, _ = _setup(emulator)
    ec2 = _tokenless(emulator)
    args = _args(emulator, sg)
    (r1, i1, a1), (r2, i2, _) = _run(ec2, args), _run(ec2, args)
    assert a1["Instances"][0].get("ClientToken") in (None, "", "ABCDE")  # none was sent
    assert r1 != r2 and i1 != i2
    assert len(_instances(emulator)) == 2


def test_tokens_are_case_sensitive(emulator):
    emulator.reset(strict=True)
    sg, _ = _setup(emulator)
    ec2 = emulator.client("ec2")
    _, i1, _ = _run(ec2, _args(emulator, sg, ClientToken="Builder"))
    _, i2, _ = _run(ec2, _args(emulator, sg, ClientToken="builder"))
    assert i1 != i2 and len(_instances(emulator)) == 2


def test_a_token_over_64_characters_is_refused(run):
    def scenario(emu):
        sg, _ = _setup(emu)
        _run(emu.client("ec2"), _args(emu, sg, ClientToken="x" * 65))

    run.both(scenario, "InvalidParameterValue")
    run.emu.reset(strict=True)
    sg, _ = _setup(run.emu)
    _run(run.emu.client("ec2"), _args(run.emu, sg, ClientToken="x" * 64))


def test_a_terminated_original_is_returned_for_24_hours_then_forgotten(emulator):
    emulator.reset(strict=True)
    sg, _ = _setup(emulator)
    ec2 = emulator.client("ec2")
    args = _args(emulator, sg, ClientToken="builder-1")
    reservation, [instance], _ = _run(ec2, args)
    ec2.terminate_instances(InstanceIds=[instance])
    emulator.advance(SETTLE)
    again, [same], answer = _run(ec2, args)
    assert (again, same) == (reservation, instance)
    assert answer["Instances"][0]["State"]["Name"] == "terminated"
    assert _instances(emulator) == [instance], "nothing new launched"
    emulator.advance(DAY - 2 * SETTLE)  # 23 h after the termination: still kept
    assert _run(ec2, args)[1] == [instance]
    emulator.advance(2 * SETTLE)  # 25 h: forgotten
    fresh, [new], answer = _run(ec2, args)
    assert fresh != reservation and new != instance
    assert answer["Instances"][0]["State"]["Name"] in ("pending", "running")
    assert _run(ec2, args)[1] == [new], "the token now names the new launch"


def test_a_running_original_keeps_its_token(emulator):
    emulator.reset(strict=True)
    sg, _ = _setup(emulator)
    ec2 = emulator.client("ec2")
    args = _args(emulator, sg, ClientToken="builder-1")
    _, first, _ = _run(ec2, args)
    emulator.advance(7 * DAY)
    assert _run(ec2, args)[1] == first


def test_another_zone_or_region_launches_with_the_same_token(emulator):
    emulator.reset(strict=True)
    sg, subnets = _setup(emulator)
    ec2 = emulator.client("ec2")
    a, b = subnets[0]["SubnetId"], subnets[1]["SubnetId"]
    _, in_a, _ = _run(ec2, _args(emulator, sg, ClientToken="t", SubnetId=a))
    _, in_b, _ = _run(ec2, _args(emulator, sg, ClientToken="t", SubnetId=b))
    assert in_a != in_b, "zonal idempotency: another zone launches"
    assert _run(ec2, _args(emulator, sg, ClientToken="t", SubnetId=b))[1] == in_b
    # The zone named outright is the same scope as its subnet's; the zone is no
    # parameter that must match.
    zone_b = subnets[1]["AvailabilityZone"]
    assert _run(ec2, _args(emulator, sg, ClientToken="t", SubnetId=b,
                           Placement={"AvailabilityZone": zone_b}))[1] == in_b
    # Regional idempotency: no zone named is its own scope.
    _, regional, _ = _run(ec2, _args(emulator, sg, ClientToken="t"))
    assert regional not in (in_a, in_b)
    # Another region.
    west = _regional(emulator, "us-west-2")
    west_vpc = west.describe_vpcs()["Vpcs"][0]["VpcId"]
    west_sg = west.create_security_group(GroupName="w", Description="w",
                                         VpcId=west_vpc)["GroupId"]
    emulator.advance(SETTLE)
    _, there, _ = _run(west, dict(ImageId=al2023(emulator), MinCount=1, MaxCount=1,
                                  InstanceType="t3.medium", SecurityGroupIds=[west_sg],
                                  ClientToken="t"))
    assert there != regional and _instances(emulator, "us-west-2") == there
    assert len(_instances(emulator)) == 3


def test_a_refused_launch_records_no_token(emulator):
    emulator.reset(strict=True)
    sg, _ = _setup(emulator)
    ec2 = emulator.client("ec2")
    with pytest.raises(ClientError) as caught:
        _run(ec2, _args(emulator, sg, ClientToken="builder-1",
                        UserData=user_data(16 * 1024 + 1)))
    assert _code(caught.value) == "InvalidParameterValue"
    _, launched, _ = _run(ec2, _args(emulator, sg, ClientToken="builder-1"))
    assert _instances(emulator) == launched


def _lose_the_first_answer(emulator):
    """The next EC2 call takes effect and its answer is lost (a 500)."""
    core.CONFIG.fault_kinds = ("lost",)
    core.CONFIG.fault_services = ("ec2",)
    core.CONFIG.fault_rate = 1.0
    faults.FAULT_STATE.reseed()


def _no_more_faults():
    core.CONFIG.fault_rate = 0.0
    core.CONFIG.fault_services = ()
    core.CONFIG.fault_kinds = core.Config().fault_kinds


def test_the_sdks_retry_after_a_lost_answer_gets_the_first_instance(emulator):
    """boto3 fills in a ClientToken and sends it again on its retry, as every
    AWS SDK does: after a lost answer the retry gets the launch that happened."""
    emulator.reset(strict=True)
    sg, _ = _setup(emulator)
    args = _args(emulator, sg)
    ec2 = boto3.client("ec2", region_name="us-east-1", endpoint_url=emulator.url,
                       aws_access_key_id="testing", aws_secret_access_key="testing",
                       config=Config(retries={"total_max_attempts": 2, "mode": "standard"}))
    attempts = []

    def after_attempt(**_):
        attempts.append(1)
        _no_more_faults()  # only the first attempt loses its answer

    ec2.meta.events.register("needs-retry.ec2.RunInstances", after_attempt)
    _lose_the_first_answer(emulator)
    try:
        answer = ec2.run_instances(**args)
    finally:
        _no_more_faults()
    assert len(attempts) == 2, "the SDK retried"
    assert faults.FAULT_STATE.injected == {"lost": 1}
    launched = [i["InstanceId"] for i in answer["Instances"]]
    assert _instances(emulator) == launched, "one instance, the first"


def test_a_rerun_with_the_recorded_token_after_a_lost_answer_gets_the_first_instance(emulator):
    """The product records its token before the call; after a crash its re-run
    sends it again."""
    for strict in (False, True):
        emulator.reset(strict=strict)
        sg, _ = _setup(emulator)
        ec2 = emulator.client("ec2")
        args = _args(emulator, sg, ClientToken="builder-1")
        if strict:
            _lose_the_first_answer(emulator)
            try:
                with pytest.raises(ClientError) as caught:
                    _run(ec2, args)
            finally:
                _no_more_faults()
            assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 500
            assert len(_instances(emulator)) == 1, "the lost launch happened"
        else:
            _run(ec2, args)  # moto alone: no faults; the answer arrives
        _, again, _ = _run(ec2, args)
        expected = 1 if strict else 2
        assert len(_instances(emulator)) == expected
        if strict:
            assert _instances(emulator) == again
