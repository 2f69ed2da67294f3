"""The stack's writer lease: one instance at a time runs a stack's services.
Plain moto has no EFS data plane: every instance of a group is InService at
once, and a replacement is InService while the old writer's lock would still
be held."""

import base64
import json
import urllib.error
import urllib.request

import pytest

from helpers import SETTLE, al2023, control, default_vpc, group, profile

HOOK = "geusemaker-ready"
LAUNCHING = "autoscaling:EC2_INSTANCE_LAUNCHING"
DETECT, BOOT, LEASE, RETRY = 30.0, 60.0, 90.0, 5.0
USER_DATA = base64.b64encode(b"#!/bin/bash\necho boot\n").decode()


def setup(emu, desired=1, hook=900, eip=False):
    """The product's spot group (Stack tag s1 propagated, launch hook), of
    `desired` instances: more than one share the stack's EFS."""
    vpc, subnets = default_vpc(emu)
    sg = group(emu, "inst", vpc)
    arn = profile(emu, "inst")
    emu.advance(SETTLE)
    ec2 = emu.client("ec2")
    lt = ec2.create_launch_template(LaunchTemplateName="lt", LaunchTemplateData={
        "ImageId": al2023(emu), "InstanceType": "t3.medium", "UserData": USER_DATA,
        "SecurityGroupIds": [sg], "IamInstanceProfile": {"Arn": arn},
    })["LaunchTemplate"]["LaunchTemplateId"]
    if eip:
        ec2.allocate_address(Domain="vpc", TagSpecifications=[
            {"ResourceType": "elastic-ip", "Tags": [{"Key": "Stack", "Value": "s1"}]}])
    emu.client("autoscaling").create_auto_scaling_group(
        AutoScalingGroupName="g", MinSize=1, MaxSize=desired, DesiredCapacity=desired,
        VPCZoneIdentifier=",".join(s["SubnetId"] for s in subnets[:2]),
        MixedInstancesPolicy={
            "LaunchTemplate": {"LaunchTemplateSpecification": {"LaunchTemplateId": lt,
                                                               "Version": "1"},
                               "Overrides": [{"InstanceType": "t3.large"}]},
            "InstancesDistribution": {"OnDemandBaseCapacity": 0,
                                      "OnDemandPercentageAboveBaseCapacity": 0}},
        Tags=[{"Key": "Stack", "Value": "s1", "PropagateAtLaunch": True}],
        LifecycleHookSpecificationList=[{
            "LifecycleHookName": HOOK, "LifecycleTransition": LAUNCHING,
            "HeartbeatTimeout": hook, "DefaultResult": "ABANDON"}])
    return sg


def states(emu):
    found = emu.client("autoscaling").describe_auto_scaling_groups(
        AutoScalingGroupNames=["g"])["AutoScalingGroups"]
    return dict((m["InstanceId"], m["LifecycleState"]) for m in found[0]["Instances"])


def lease(emu):
    code, answer = control(emu, "/strict-api/lease")
    assert code == 200, answer
    return answer


def writers(emu):
    return lease(emu)["writers"].get("s1", [])


def events(emu):
    return [(h["event"], h["instance"]) for h in lease(emu)["history"]]


def address_holder(emu):
    return emu.client("ec2").describe_addresses()["Addresses"][0].get("InstanceId")


def step(emu, seconds, seen):
    """Advance in RETRY-sized steps, sampling the writers at each."""
    for _ in range(int(seconds // RETRY)):
        emu.advance(RETRY)
        now = writers(emu)
        assert len(now) <= 1, f"two writers of s1: {now}"
        seen.append(tuple(now))


def test_two_instances_of_one_stack_one_writer_the_other_waits_then_is_abandoned(emulator):
    emulator.reset(strict=False)
    setup(emulator, desired=2)
    assert sorted(states(emulator).values()) == ["InService", "InService"], \
        "moto: both run the stack's services on its EFS at once"
    assert lease(emulator)["writers"] == {}

    emulator.reset(strict=True)
    setup(emulator, desired=2, hook=300)
    emulator.advance(BOOT)
    (holder,) = writers(emulator)
    (waiting,) = [i for i in states(emulator) if i != holder]
    assert states(emulator) == {holder: "InService", waiting: "Pending:Wait"}
    assert lease(emulator)["stacks"] == {"s1": {"holder": holder, "expires_in": None}}
    assert events(emulator) == [("taken", holder)]
    emulator.advance(300 - BOOT - 10)
    assert states(emulator)[waiting] == "Pending:Wait", "still waiting for the lock"
    emulator.advance(11)
    now = states(emulator)
    assert waiting not in now and now[holder] == "InService", "the timeout abandoned it"
    (third,) = [i for i in now if i != holder]
    assert now[third] == "Pending:Wait", "its replacement waits as it did"
    emulator.advance(SETTLE)
    assert writers(emulator) == [holder] and events(emulator) == [("taken", holder)]
    assert states(emulator)[holder] == "InService"


def test_a_terminated_holders_lock_expires_then_the_waiting_instance_takes_it(emulator):
    emulator.reset(strict=False)
    setup(emulator, desired=2)
    first, other = states(emulator)
    emulator.client("autoscaling").terminate_instance_in_auto_scaling_group(
        InstanceId=first, ShouldDecrementDesiredCapacity=True)
    assert states(emulator) == {other: "InService"}, "moto: it was a writer all along"

    emulator.reset(strict=True)
    setup(emulator, desired=2)
    emulator.advance(BOOT + 60)
    (holder,) = writers(emulator)
    (waiting,) = [i for i in states(emulator) if i != holder]
    emulator.client("autoscaling").terminate_instance_in_auto_scaling_group(
        InstanceId=holder, ShouldDecrementDesiredCapacity=True)
    answer = lease(emulator)
    assert answer["writers"] == {"s1": []}, "it stopped its services at once"
    assert answer["stacks"]["s1"]["holder"] == holder
    assert answer["stacks"]["s1"]["expires_in"] == pytest.approx(LEASE, abs=1)
    seen = []
    step(emulator, LEASE - RETRY, seen)  # the lock lapses at +90; the boot tries every 5 s
    assert set(seen) == {()} and states(emulator) == {waiting: "Pending:Wait"}
    step(emulator, 2 * RETRY, seen)
    assert writers(emulator) == [waiting] and states(emulator) == {waiting: "InService"}
    assert events(emulator) == [("taken", holder), ("expired", holder), ("taken", waiting)]


def test_a_spot_interruption_drains_and_the_replacement_takes_the_lease_at_boot(emulator):
    emulator.reset(strict=False)
    setup(emulator, eip=True)
    (first,) = states(emulator)
    emulator.client("ec2").terminate_instances(InstanceIds=[first])
    assert list(states(emulator).values()) == ["InService"], "moto: InService at once"

    emulator.reset(strict=True)
    setup(emulator, eip=True)
    emulator.advance(BOOT)
    (first,) = writers(emulator)
    assert address_holder(emulator) == first
    code, _ = control(emulator, "/strict-api/interrupt", {"instance": first})
    assert code == 200
    answer = lease(emulator)
    assert answer["stacks"]["s1"] == {"holder": None, "expires_in": None}
    assert answer["history"][-1]["why"] == "drained on the spot notice"
    seen = []
    step(emulator, DETECT + BOOT - RETRY, seen)
    (second,) = states(emulator)
    assert set(seen) == {()} and states(emulator) == {second: "Pending:Wait"}
    step(emulator, RETRY, seen)
    assert writers(emulator) == [second] and states(emulator) == {second: "InService"}
    assert address_holder(emulator) == second
    assert events(emulator) == [("taken", first), ("released", first), ("taken", second)]
    history = lease(emulator)["history"]
    assert history[1]["at"] < history[2]["at"] and history[0]["stack"] == "s1"


EFS_MARKERS = "# geusemaker:efs-markers"


def efs_sections(emu, instance):
    """What a Run Command reading the EFS markers answers on `instance`, as
    {instance id: [marker names]}."""
    ssm = emu.client("ssm")
    sent = ssm.send_command(InstanceIds=[instance], DocumentName="AWS-RunShellScript",
                            Parameters={"commands": [f"{EFS_MARKERS}\necho"]})
    answer = ssm.get_command_invocation(CommandId=sent["Command"]["CommandId"],
                                        InstanceId=instance)["StandardOutputContent"]
    sections, current = {}, None
    for line in answer.splitlines():
        if line.startswith("== "):
            current = sections.setdefault(line[3:], [])
        elif current is not None:
            current.append(line.split()[0])
    return sections


def test_a_lost_instances_drain_markers_outlive_it_on_efs(emulator):
    emulator.reset(strict=False)
    setup(emulator)
    (first,) = states(emulator)
    emulator.advance(SETTLE)
    assert efs_sections(emulator, first) == {}, "moto: no EFS, every output empty"

    emulator.reset(strict=True)
    setup(emulator)
    emulator.advance(BOOT)
    (first,) = writers(emulator)
    assert control(emulator, "/strict-api/interrupt", {"instance": first})[0] == 200
    step(emulator, DETECT + BOOT, [])
    (second,) = writers(emulator)
    found = efs_sections(emulator, second)
    assert set(found) == {first, second}, "the terminated one's too"
    assert found[first][0] == "ready-to-start", "nothing before mark.sh is installed"
    assert found[first][-5:] == ["drain-started:spot-notice", "drain-n8n-stopped",
                                 "drain-postgres-stopped", "lease-released", "drained"]
    assert "lease-taken" in found[second] and "drained" not in found[second]


def test_without_drain_the_replacement_waits_for_the_old_lock_to_expire(emulator):
    emulator.reset(strict=False)
    setup(emulator)
    (first,) = states(emulator)
    emulator.client("ec2").terminate_instances(InstanceIds=[first])
    assert list(states(emulator).values()) == ["InService"], \
        "moto: the replacement writes while the dead writer's lock would still be held"

    emulator.reset(strict=True)
    setup(emulator)
    emulator.advance(BOOT)
    (first,) = writers(emulator)
    assert control(emulator, "/strict-api/instance", {"instance": first, "drain": "none"})[0] == 200
    assert control(emulator, "/strict-api/interrupt", {"instance": first})[0] == 200
    assert lease(emulator)["stacks"]["s1"]["holder"] == first
    control(emulator, "/strict-api/advance", {"seconds": 30})  # the control API's clock too
    answer = lease(emulator)
    assert answer["stacks"]["s1"]["expires_in"] == pytest.approx(LEASE - 30, abs=1)
    assert answer["writers"] == {"s1": []}
    seen = []
    step(emulator, LEASE - 30 - RETRY, seen)
    (second,) = states(emulator)
    assert set(seen) == {()} and states(emulator) == {second: "Pending:Wait"}
    assert lease(emulator)["stacks"]["s1"]["expires_in"] == pytest.approx(RETRY, abs=1)
    step(emulator, RETRY, seen)
    assert writers(emulator) == [second] and states(emulator) == {second: "InService"}
    assert events(emulator) == [("taken", first), ("expired", first), ("taken", second)]


@pytest.mark.parametrize("drain, idle", [("release", 0.0), ("none", LEASE - RETRY)])
def test_a_waiting_instance_gets_the_lease_when_the_holder_drains_or_its_lock_expires(
        emulator, drain, idle):
    emulator.reset(strict=False)
    setup(emulator, desired=2)
    first, _ = states(emulator)
    assert control(emulator, "/strict-api/interrupt", {"instance": first})[0] == 400
    assert set(states(emulator).values()) == {"InService"}, "moto: two writers"

    emulator.reset(strict=True)
    setup(emulator, desired=2)
    emulator.advance(BOOT + 2)  # off the waiting boot's 5 s retries
    (holder,) = writers(emulator)
    (waiting,) = [i for i in states(emulator) if i != holder]
    # Only the waiting instance competes: the group's replacement never boots.
    for body in [{"instance": holder, "drain": drain}, {"instance": waiting},
                 {"instance": "*", "boot": "hold"}]:
        assert control(emulator, "/strict-api/instance", body)[0] == 200
    control(emulator, "/strict-api/interrupt", {"instance": holder})
    assert writers(emulator) == []
    seen = []
    step(emulator, idle, seen)
    assert all(w == () for w in seen) and states(emulator)[waiting] == "Pending:Wait"
    step(emulator, 2 * RETRY, seen)
    assert writers(emulator) == [waiting] and states(emulator)[waiting] == "InService"
    assert events(emulator) == [("taken", holder),
                                ("released" if drain == "release" else "expired", holder),
                                ("taken", waiting)]


def _get(emu, path, body):
    request = urllib.request.Request(f"{emu.url}{path}", data=json.dumps(body).encode(),
                                     method="GET")
    try:
        with urllib.request.urlopen(request) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def test_bad_settings_are_refused_and_resets_clear_the_lease(emulator):
    for strict in (False, True):
        emulator.reset(strict=strict)
        code, answer = _get(emulator, "/strict-api/lease", {"stack": "s1"})
        assert code == 400 and "no settings" in answer["error"]
    setup(emulator)
    emulator.advance(BOOT)
    before, settings = lease(emulator), control(emulator, "/strict-api/instance")[1]
    for body in [{"drain": "later"}, {"instance": "*", "drain": True},
                 {"instance": "*", "drain": "none", "boot": "later"}]:
        code, answer = control(emulator, "/strict-api/instance", body)
        assert code == 400 and answer["error"]
    assert control(emulator, "/strict-api/instance")[1] == settings
    assert _get(emulator, "/strict-api/lease", {"x": 1})[0] == 400
    assert lease(emulator) == before and len(before["history"]) == 1
    control(emulator, "/strict-api/reset", {})
    assert lease(emulator) == {"stacks": {}, "writers": {}, "history": []}
