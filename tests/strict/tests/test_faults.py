"""Faults: throttling, 5xx, and calls that happen but lose their answer."""

import pytest
from botocore.exceptions import ClientError

from strict import core, faults
from helpers import default_vpc


def _faulting(emulator, kinds, rate=1.0, seed=0):
    emulator.reset(strict=True)
    core.CONFIG.fault_kinds = tuple(kinds)
    core.CONFIG.fault_seed = seed
    faults.FAULT_STATE.reseed()
    vpc, _ = default_vpc(emulator)  # before faults start
    core.CONFIG.fault_rate = rate
    return vpc


@pytest.mark.parametrize("service,kind,code", [
    ("ec2", "throttle", "RequestLimitExceeded"), ("iam", "throttle", "Throttling"),
    ("efs", "throttle", "ThrottlingException"), ("ssm", "503", "ServiceUnavailable"),
    ("ec2", "500", "InternalError"),
])
def test_each_protocol_gets_an_error_the_sdk_understands(emulator, service, kind, code):
    _faulting(emulator, [kind])
    client = emulator.client(service)
    call = {"ec2": lambda: client.describe_vpcs(), "iam": lambda: client.list_roles(),
            "efs": lambda: client.describe_file_systems(),
            "ssm": lambda: client.describe_parameters()}[service]
    with pytest.raises(ClientError) as caught:
        call()
    assert caught.value.response["Error"]["Code"] == code
    core.CONFIG.fault_rate = 0.0
    call()


def test_a_lost_answer_still_happened(emulator):
    vpc = _faulting(emulator, ["lost"])
    ec2 = emulator.client("ec2")
    with pytest.raises(ClientError) as caught:
        ec2.create_security_group(GroupName="g", Description="g", VpcId=vpc)
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 500
    core.CONFIG.fault_rate = 0.0
    emulator.advance(11)
    found = ec2.describe_security_groups(Filters=[{"Name": "group-name", "Values": ["g"]}])
    assert len(found["SecurityGroups"]) == 1, "the create took effect"
    with pytest.raises(ClientError) as caught:
        ec2.create_security_group(GroupName="g", Description="g", VpcId=vpc)
    assert caught.value.response["Error"]["Code"] == "InvalidGroup.Duplicate"


def test_plain_moto_never_faults(emulator):
    emulator.reset(strict=False)
    core.CONFIG.fault_rate = 1.0
    emulator.client("ec2").describe_vpcs()


def test_a_seeded_fraction_is_reproducible(emulator):
    counts = []
    for _ in range(2):
        _faulting(emulator, ["throttle", "500", "503"], rate=0.2, seed=7)
        ec2 = emulator.client("ec2")
        failed = 0
        for _ in range(200):
            try:
                ec2.describe_vpcs()
            except ClientError:
                failed += 1
        counts.append(failed)
        assert failed == faults.FAULT_STATE.stats()["total_injected"]
    assert counts[0] == counts[1]
    assert 20 <= counts[0] <= 60, counts
