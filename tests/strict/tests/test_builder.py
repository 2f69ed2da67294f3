"""The image builder (builder.py): a RunInstances instance tagged
geusemaker:role=image-builder runs its bake script, prints its progress to
the console and powers itself off, and EC2 stops (or terminates) it as its
InstanceInitiatedShutdownBehavior says. Plain moto's instances never stop by
themselves, and its GetConsoleOutput is the same fixed text for every
instance: a product waiting on it would wait until its timeout."""

import base64
import re

import pytest
from botocore.handlers import decode_console_output

from strict import core

from helpers import SETTLE, control, default_vpc, group, launch
from switch_steps import BOOT, events, lease, setup, states
from test_images import PENDING_30, ROOT, image, own_snapshots

STACK = "s1"
BUILDER_TAGS = [{"Key": "geusemaker:managed", "Value": "true"},
                {"Key": "Stack", "Value": STACK},
                {"Key": "geusemaker:role", "Value": "image-builder"}]
SCRIPT = base64.b64encode(b"#!/bin/bash\n# GeuseMaker image builder for s1\n").decode()
BOOTED, FAIL_AT, DONE_AT, STOPPING = 60, 120, 300, 30
STARTED = "geusemaker-bake: started"
DONE = "geusemaker-bake: done"
FAILED = ("geusemaker-bake: failed: images: could not pull docker.io/n8nio/n8n "
          "(toomanyrequests: You have reached your unauthenticated pull rate limit)")
MOTO_CONSOLE = "Linux version 2.6.16-xenU"  # moto's fixed text, for every instance
OS_SHUTDOWN = {"Code": "Client.InstanceInitiatedShutdown",
               "Message": "Client.InstanceInitiatedShutdown: Instance initiated shutdown"}
GMT = re.compile(r"User initiated \(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d GMT\)")


def builder(emu, behaviour="stop", tags=BUILDER_TAGS, name="builder", **extra):
    """The product's builder: RunInstances, tagged, no profile, its script
    (launched now: time is advanced before, not after)."""
    vpc, _ = default_vpc(emu)
    sg = group(emu, name, vpc)
    emu.advance(SETTLE)
    return launch(emu, [sg], UserData=SCRIPT, InstanceInitiatedShutdownBehavior=behaviour,
                  TagSpecifications=[{"ResourceType": "instance", "Tags": tags}], **extra)


def described(emu, instance):
    return emu.client("ec2").describe_instances(
        InstanceIds=[instance])["Reservations"][0]["Instances"][0]


def state(emu, instance):
    return described(emu, instance)["State"]["Name"]


def console(emu, instance, latest=True):
    """The decoded console output, as boto3 gives it ("" when none)."""
    return emu.client("ec2").get_console_output(
        InstanceId=instance, Latest=latest).get("Output", "")


def bake_lines(emu, instance, latest=True):
    return [line for line in console(emu, instance, latest).splitlines()
            if line.startswith("geusemaker-bake:")]


def set_bake(emu, instance, bake):
    code, answer = control(emu, "/strict-api/instance", {"instance": instance, "bake": bake})
    assert code == 200, answer
    return answer


# --- ec2.instance-initiated-shutdown ---------------------------------------------


def test_moto_alone_never_bakes_nor_stops_the_builder(emulator):
    emulator.reset(strict=False)
    instance = builder(emulator)
    emulator.advance(SETTLE)
    assert state(emulator, instance) == "running", "moto: no OS, no poweroff"
    for latest in (True, False):
        text = console(emulator, instance, latest)
        assert text.startswith(MOTO_CONSOLE) and "geusemaker-bake" not in text


def test_a_complete_bake_prints_done_and_the_builder_stops_itself(emulator):
    emulator.reset(strict=True)
    instance = builder(emulator)
    assert console(emulator, instance) == "", "nothing printed before the boot"
    emulator.advance(BOOTED)
    assert bake_lines(emulator, instance) == [STARTED]
    emulator.advance(DONE_AT - BOOTED - 10)
    assert state(emulator, instance) == "running"
    emulator.advance(10)
    got = described(emulator, instance)
    assert got["State"] == {"Code": 64, "Name": "stopping"}
    assert got["StateReason"] == OS_SHUTDOWN
    assert GMT.fullmatch(got["StateTransitionReason"]), got["StateTransitionReason"]
    assert bake_lines(emulator, instance) == [STARTED, DONE]
    assert bake_lines(emulator, instance, latest=False) == [STARTED, DONE], \
        "the stop posts the buffer"
    assert console(emulator, instance).splitlines()[-1] == "[  300.512207] reboot: Power down"
    emulator.advance(STOPPING)
    got = described(emulator, instance)
    assert got["State"] == {"Code": 80, "Name": "stopped"}
    assert got["StateReason"] == OS_SHUTDOWN


def test_a_builder_whose_shutdown_behaviour_is_terminate_terminates(emulator):
    emulator.reset(strict=True)
    instance = builder(emulator, behaviour="terminate", DisableApiTermination=True)
    emulator.advance(DONE_AT)
    got = described(emulator, instance)
    assert got["State"]["Name"] == "shutting-down" and got["StateReason"] == OS_SHUTDOWN
    assert GMT.fullmatch(got["StateTransitionReason"])
    emulator.advance(60)  # ec2.shutting-down
    got = described(emulator, instance)
    assert got["State"]["Name"] == "terminated" and got["StateReason"] == OS_SHUTDOWN
    assert bake_lines(emulator, instance, latest=False) == [STARTED, DONE]


def test_a_failed_bake_prints_why_and_the_builder_runs_on(emulator):
    emulator.reset(strict=True)
    instance = builder(emulator)
    set_bake(emulator, instance, "fail")  # read when the step is due: after the launch is fine
    emulator.advance(FAIL_AT - 10)
    assert bake_lines(emulator, instance) == [STARTED]
    emulator.advance(10)
    assert bake_lines(emulator, instance) == [STARTED, FAILED]
    assert bake_lines(emulator, instance, latest=False) == [STARTED], \
        "no state transition, no new post: only Latest shows the failure"
    set_bake(emulator, instance, "complete")  # the script has exited: too late
    emulator.advance(SETTLE)
    assert state(emulator, instance) == "running"
    assert bake_lines(emulator, instance) == [STARTED, FAILED]


def test_a_hung_bake_prints_started_only_and_next_is_the_builders(emulator):
    emulator.reset(strict=True)
    set_bake(emulator, "next", "hang")
    instance = builder(emulator)
    _, answer = control(emulator, "/strict-api/instance")
    assert answer["instances"][instance]["bake"] == "hang" and "next" not in answer["instances"]
    emulator.advance(SETTLE)
    assert state(emulator, instance) == "running"
    assert bake_lines(emulator, instance) == [STARTED]


@pytest.mark.parametrize("how", ["terminated", "stopped and started"])
def test_a_builder_taken_down_by_a_call_before_its_bake_ends_prints_nothing_more(emulator, how):
    """The product's overall timeout (or a user's stop): the script dies with
    the OS, and a start does not run the user data again."""
    emulator.reset(strict=True)
    ec2 = emulator.client("ec2")
    instance = builder(emulator)
    emulator.advance(DONE_AT - 100)
    if how == "terminated":
        ec2.terminate_instances(InstanceIds=[instance])
    else:
        ec2.stop_instances(InstanceIds=[instance])
        ec2.start_instances(InstanceIds=[instance])
    emulator.advance(SETTLE)
    got = described(emulator, instance)
    assert got["State"]["Name"] == ("terminated" if how == "terminated" else "running")
    if how == "terminated":
        assert got["StateReason"]["Code"] == "Client.UserInitiatedShutdown", "a call, not the OS"
    assert bake_lines(emulator, instance) == [STARTED]
    assert bake_lines(emulator, instance, latest=False) == [STARTED]


def test_the_builders_stop_leaves_the_stacks_group_and_lease_alone(emulator):
    """on_stopped listeners hear of the builder's stop: it is in no group and
    holds no lease, so the group's instance keeps serving and holding."""
    emulator.reset(strict=True)
    setup(emulator)
    (member,) = states(emulator)
    emulator.advance(BOOT)
    assert states(emulator) == {member: "InService"}
    before_lease, before_events = lease(emulator), events(emulator)
    asg = emulator.client("autoscaling")
    activities = len(asg.describe_scaling_activities(AutoScalingGroupName="g")["Activities"])
    instance = builder(emulator)
    emulator.advance(DONE_AT)
    emulator.advance(STOPPING)
    assert state(emulator, instance) == "stopped"
    emulator.advance(SETTLE)
    assert states(emulator) == {member: "InService"}
    assert lease(emulator) == before_lease and events(emulator) == before_events
    assert before_lease["stacks"][STACK]["holder"] == member
    assert len(asg.describe_scaling_activities(
        AutoScalingGroupName="g")["Activities"]) == activities


# --- ec2.console-output ---------------------------------------------------------


def test_the_console_output_is_base64_on_the_wire_and_other_instances_keep_motos(emulator):
    emulator.reset(strict=True)
    ec2 = emulator.client("ec2")
    ec2.meta.events.unregister("after-call.ec2.GetConsoleOutput", decode_console_output)
    other = builder(emulator, tags=[{"Key": "Stack", "Value": STACK}], name="other")
    instance = builder(emulator)
    answer = ec2.get_console_output(InstanceId=instance)
    assert "Output" not in answer and "Timestamp" not in answer, "nothing posted yet"
    emulator.advance(BOOTED)
    answer = ec2.get_console_output(InstanceId=instance, Latest=True)
    text = base64.b64decode(answer["Output"]).decode()
    assert text.endswith(f"{STARTED}\r\n") and text.count("\r\n") == 3
    assert text.startswith("[    0.000000] Linux version 6.1.")
    assert answer["Timestamp"].year >= 2024
    emulator.advance(SETTLE)
    assert base64.b64decode(ec2.get_console_output(
        InstanceId=other)["Output"]).decode().startswith(MOTO_CONSOLE)
    assert state(emulator, other) == "running", "untagged: no bake"


def test_without_latest_the_console_is_the_buffer_posted_at_boot_and_stop(emulator):
    emulator.reset(strict=True)
    instance = builder(emulator)
    ec2 = emulator.client("ec2")
    emulator.advance(BOOTED)
    booted = ec2.get_console_output(InstanceId=instance)["Timestamp"]
    emulator.advance(DONE_AT - BOOTED - 1)
    assert bake_lines(emulator, instance, latest=False) == [STARTED]
    assert ec2.get_console_output(InstanceId=instance)["Timestamp"] == booted
    emulator.advance(1)
    emulator.advance(STOPPING)
    assert bake_lines(emulator, instance, latest=False) == [STARTED, DONE]
    stopped = ec2.get_console_output(InstanceId=instance)["Timestamp"]
    assert (stopped - booted).total_seconds() == pytest.approx(DONE_AT - BOOTED, abs=2)


def test_moto_alone_answers_every_console_the_same_fixed_text(emulator):
    emulator.reset(strict=False)
    instance = builder(emulator)
    other = builder(emulator, tags=[{"Key": "Stack", "Value": STACK}], name="other")
    assert console(emulator, instance, latest=False) == console(emulator, other, latest=True)
    assert console(emulator, instance).startswith(MOTO_CONSOLE), "moto: output before any boot"


# --- the control API and reset ---------------------------------------------------


def test_bake_is_checked_and_a_reset_forgets_builders_and_their_consoles(emulator):
    emulator.reset(strict=True)
    code, answer = control(emulator, "/strict-api/instance", {"bake": "later"})
    assert code == 400 and answer == {"error": "bake is complete, fail or hang"}
    instance = builder(emulator)
    emulator.advance(BOOTED)
    assert bake_lines(emulator, instance) == [STARTED]
    set_bake(emulator, instance, "fail")
    assert control(emulator, "/strict-api/reset", {})[0] == 200
    assert control(emulator, "/strict-api/instance") == (200, {"instances": {}, "reads": {}})
    emulator.advance(SETTLE)
    assert state(emulator, instance) == "running", "forgotten: no bake, no poweroff"
    assert console(emulator, instance).startswith(MOTO_CONSOLE)


# --- ec2.image-instance-state and the product's whole path ------------------------


@pytest.mark.parametrize("gone", ["shutting-down", "terminated"])
def test_create_image_of_a_shutting_down_or_terminated_instance_is_refused(run, gone):
    def scenario(emu):
        instance = builder(emu, tags=[{"Key": "Stack", "Value": STACK}], name="other")
        emu.advance(SETTLE)
        emu.client("ec2").terminate_instances(InstanceIds=[instance])
        if gone == "terminated":
            emu.advance(SETTLE)
        # moto terminates at once; the layer is shutting-down for a minute first.
        assert state(emu, instance) == (gone if core.CONFIG.enabled else "terminated")
        return emu.client("ec2").create_image(InstanceId=instance, Name="s1-image 1")

    run.moto_accepts(scenario)  # moto images a terminated instance
    message = run.strict_refuses(scenario, "InvalidParameterValue")
    assert "Instance is not in state 'running' or 'stopping' or 'stopped'" in message


def test_the_product_bakes_an_image_on_its_builder_and_cleans_up(emulator):
    emulator.reset(strict=True)
    ec2 = emulator.client("ec2")
    instance = builder(emulator, BlockDeviceMappings=[ROOT])
    emulator.advance(DONE_AT)
    assert state(emulator, instance) == "stopping"
    emulator.advance(STOPPING)
    assert state(emulator, instance) == "stopped" and DONE in bake_lines(emulator, instance)
    ami = ec2.create_image(InstanceId=instance, Name="s1-image 2026-12-02T0214",
                           TagSpecifications=[{"ResourceType": "image",
                                               "Tags": BUILDER_TAGS[:2]}])["ImageId"]
    got = image(emulator, ami)
    assert got["State"] == "pending"
    snaps = [m["Ebs"]["SnapshotId"] for m in got["BlockDeviceMappings"]]
    assert [(m["DeviceName"], m["Ebs"]["VolumeSize"]) for m in got["BlockDeviceMappings"]] \
        == [("/dev/xvda", 30)]
    emulator.advance(PENDING_30)
    assert image(emulator, ami)["State"] == "available"
    assert state(emulator, instance) == "stopped", "imaged, not started"
    ec2.terminate_instances(InstanceIds=[instance])
    emulator.advance(SETTLE)
    assert state(emulator, instance) == "terminated"
    ec2.deregister_image(ImageId=ami)
    for snap in snaps:
        ec2.delete_snapshot(SnapshotId=snap)
    assert ec2.describe_images(Owners=["self"])["Images"] == []
    assert own_snapshots(emulator) == []
