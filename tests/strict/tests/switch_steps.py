"""Steps shared by the prepare-then-switch tests (test_switch.py,
test_switch_failback.py): the product's spot group of one stack, the tagged
Run Commands it sends, and the writers sampled as time goes on."""

from __future__ import annotations

import datetime

from helpers import control
from test_lease import lease, writers  # noqa: F401 (shared with the switch tests)
from test_lease import setup as lease_setup

BOOT, LEASE, RETRY = 60.0, 90.0, 5.0

STAGE = "# geusemaker:stage"
RELEASE = "# geusemaker:switch-release"
RESUME = "# geusemaker:switch-resume"
INSIDE = "# geusemaker:inside-health"
BOOTED = ["cloud-init", "packages", "efs-mounted", "secrets", "images-pulled"]
READY = BOOTED + ["ready-to-start"]
STARTED = READY + ["lease-taken", "compose-up"]
OWNER = STARTED + ["ollama-gpu", "owner-ready"]
DRAINED = ["drain-started:switch", "drained"]
BOOT_WHY = "the boot took the lock before starting the services"
DRAINED_WHY = "drained for a switch"
RESUMED_WHY = "resumed after a failed switch"


def setup(emu, hook=900):
    """The product's spot group of stack s1 at one instance (max 1), with its
    launch hook; answers the instances' security group."""
    return lease_setup(emu, hook=hook)


def describe(emu):
    return emu.client("autoscaling").describe_auto_scaling_groups(
        AutoScalingGroupNames=["g"])["AutoScalingGroups"][0]


def states(emu):
    return {m["InstanceId"]: m["LifecycleState"] for m in describe(emu)["Instances"]}


def scale_out(emu):
    """The product's prepare: AZRebalance suspended, the group at 2 (max 2);
    answers the new instance."""
    before = set(states(emu))
    asg = emu.client("autoscaling")
    asg.suspend_processes(AutoScalingGroupName="g", ScalingProcesses=["AZRebalance"])
    asg.update_auto_scaling_group(AutoScalingGroupName="g", MaxSize=2, DesiredCapacity=2)
    (new,) = set(states(emu)) - before
    return new


def finish(emu, old):
    """The product's end of a switch: the old instance out, the group at 1."""
    asg = emu.client("autoscaling")
    asg.terminate_instance_in_auto_scaling_group(InstanceId=old,
                                                 ShouldDecrementDesiredCapacity=True)
    asg.update_auto_scaling_group(AutoScalingGroupName="g", MaxSize=1)
    asg.resume_processes(AutoScalingGroupName="g", ScalingProcesses=["AZRebalance"])


def send(emu, instance, tag, body="bash /opt/geusemaker/switch.sh"):
    """A tagged Run Command; (its output, its command id)."""
    ssm = emu.client("ssm")
    command = ssm.send_command(InstanceIds=[instance], DocumentName="AWS-RunShellScript",
                               Parameters={"commands": [f"{tag}\n{body}"]})["Command"]["CommandId"]
    return output(emu, command, instance), command


def output(emu, command, instance):
    got = emu.client("ssm").get_command_invocation(CommandId=command, InstanceId=instance)
    assert got["Status"] == "Success", got
    return got["StandardOutputContent"]


def parse(text):
    """A stage file: [(marker, UTC time)]."""
    found = []
    for line in text.splitlines():
        name, at = line.split(" ")
        found.append((name, datetime.datetime.strptime(at, "%Y-%m-%dT%H:%M:%SZ").replace(
            tzinfo=datetime.timezone.utc)))
    return found


def stages(emu, instance):
    return [name for name, _ in parse(send(emu, instance, STAGE)[0])]


def events(emu):
    return [(h["event"], h["instance"], h["why"]) for h in lease(emu)["history"]]


def switch_state(emu):
    code, answer = control(emu, "/strict-api/switch")
    assert code == 200, answer
    return answer


def step(emu, seconds, seen):
    """Advance in RETRY-sized steps, sampling the writers at each: never two."""
    for _ in range(int(seconds // RETRY)):
        emu.advance(RETRY)
        now = writers(emu)
        assert len(now) <= 1, f"two writers of s1: {now}"
        seen.append(tuple(now))


def set_instance(emu, body):
    code, answer = control(emu, "/strict-api/instance", body)
    assert code == 200, answer
    return answer
