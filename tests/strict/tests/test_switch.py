"""Prepare, then switch: the new instance boots to ready-to-start and waits
for the writer lease while the old one serves; the old drains and releases
on a Run Command; the new takes the lease and goes InService. Plain moto
answers every Run Command with empty output and moves no lease: both
instances are InService at once."""

import datetime

import pytest

from helpers import SETTLE, control, launch
from strict import scaling_activities as activities
from switch_steps import (
    BOOT, BOOT_WHY, BOOTED, DRAINED, DRAINED_WHY, OWNER, READY, RELEASE, RESUME, RETRY,
    STAGE, describe, events, finish, lease, output, parse, scale_out, send, set_instance,
    setup, stages, states, step, switch_state, writers)


def test_stage_markers_follow_the_boot_and_each_read_is_fixed_when_sent(emulator):
    emulator.reset(strict=True)
    sg = setup(emulator)
    launched = activities.utc()
    (first,) = states(emulator)
    early, early_id = send(emulator, first, STAGE)
    assert early == "", "at launch: nothing"
    emulator.advance(BOOT - 10)
    assert send(emulator, first, STAGE)[0] == ""
    emulator.advance(10)
    text, booted_id = send(emulator, first, STAGE)
    found = parse(text)
    assert [name for name, _ in found] == OWNER
    assert len({at for _, at in found}) == 1, "the boot wrote them at once"
    booted_at = found[0][1]
    assert abs((booted_at - launched).total_seconds() - BOOT) <= 1
    assert text.endswith("owner-ready " + booted_at.strftime("%Y-%m-%dT%H:%M:%SZ") + "\n")
    assert output(emulator, early_id, first) == "", "fixed when it was sent"

    emulator.advance(30)
    assert send(emulator, first, RELEASE)[0] == "released\n"
    drained = parse(send(emulator, first, STAGE)[0])
    assert [name for name, _ in drained] == OWNER + DRAINED
    assert drained[-1][1] >= booted_at + datetime.timedelta(seconds=29)
    assert output(emulator, booted_id, first) == text
    assert send(emulator, first, RESUME)[0] == "resuming\n"
    assert stages(emulator, first) == OWNER + DRAINED + ["resumed"]
    assert writers(emulator) == [first]

    # An instance no launch hook held has no modelled boot: moto's empty output.
    emulator.advance(SETTLE)
    loose = launch(emulator, [sg])
    emulator.advance(SETTLE)
    assert send(emulator, loose, STAGE)[0] == ""
    assert send(emulator, loose, RELEASE)[0] == "not-holding\n"
    assert list(switch_state(emulator)["stages"]) == [first]


@pytest.mark.parametrize("body", [{"boot": "hold"},
                                  {"services": {"n8n": {"health": "unhealthy"}}}])
def test_a_boot_that_does_not_go_on_stops_before_ready_to_start_and_takes_no_lease(
        emulator, body):
    emulator.reset(strict=True)
    set_instance(emulator, {"instance": "*", **body})
    setup(emulator, hook=300)
    (first,) = states(emulator)
    emulator.advance(BOOT + 60)
    assert stages(emulator, first) == BOOTED
    assert writers(emulator) == [] and events(emulator) == []
    assert states(emulator) == {first: "Pending:Wait"}
    assert send(emulator, first, RELEASE)[0] == "not-holding\n"
    assert stages(emulator, first) == BOOTED, "a release of nothing writes nothing"


def test_the_new_instance_waits_at_ready_to_start_until_the_old_one_releases(emulator):
    emulator.reset(strict=True)
    setup(emulator)
    emulator.advance(BOOT + 2)  # off the waiting boot's 5 s retries
    (old,) = writers(emulator)
    new = scale_out(emulator)
    assert states(emulator) == {old: "InService", new: "Pending:Wait"}
    zones = {i["InstanceId"]: i["AvailabilityZone"] for i in describe(emulator)["Instances"]}
    assert zones[old] != zones[new], "the least used zone"
    seen = []
    step(emulator, BOOT + 60, seen)  # booted at +60, then a minute waiting
    assert set(seen) == {(old,)}, "the old one serves; never a second writer"
    assert stages(emulator, new) == READY
    assert states(emulator) == {old: "InService", new: "Pending:Wait"}
    assert send(emulator, new, RELEASE)[0] == "not-holding\n", "the waiting one holds nothing"
    assert writers(emulator) == [old] and len(events(emulator)) == 1

    assert send(emulator, old, RELEASE)[0] == "released\n"
    answer = lease(emulator)
    assert answer["writers"] == {"s1": []}
    assert answer["stacks"]["s1"] == {"holder": None, "expires_in": None}
    step(emulator, RETRY, seen)
    assert writers(emulator) == [new], "taken within one retry"
    assert states(emulator) == {old: "InService", new: "InService"}
    assert stages(emulator, new) == OWNER
    assert stages(emulator, old) == OWNER + DRAINED
    assert events(emulator) == [("taken", old, BOOT_WHY), ("released", old, DRAINED_WHY),
                                ("taken", new, BOOT_WHY)]

    finish(emulator, old)
    group = describe(emulator)
    assert (group["DesiredCapacity"], group["MaxSize"]) == (1, 1)
    assert group["SuspendedProcesses"] == []
    step(emulator, SETTLE, seen)
    assert states(emulator) == {new: "InService"} and writers(emulator) == [new]
    assert len(events(emulator)) == 3, "the old one held nothing when it went"


def test_moto_alone_answers_the_switch_commands_with_nothing_and_moves_no_lease(emulator):
    def scenario(emu):
        setup(emu)
        emu.advance(BOOT + 2)
        (old,) = states(emu)
        new = scale_out(emu)
        emu.advance(BOOT + 60)
        answers = {tag: (send(emu, new, tag)[0], send(emu, old, tag)[0])
                   for tag in (STAGE, RELEASE, RESUME)}
        emu.advance(RETRY)
        return old, new, answers

    emulator.reset(strict=False)
    old, new, answers = scenario(emulator)
    assert answers == {STAGE: ("", ""), RELEASE: ("", ""), RESUME: ("", "")}, \
        "moto: a product waiting for ready-to-start, or for 'released', waits forever"
    assert states(emulator) == {old: "InService", new: "InService"}, \
        "moto: both run the stack's services at once, with no lease between them"
    assert lease(emulator) == {"stacks": {}, "writers": {}, "history": []}
    assert switch_state(emulator) == {"stages": {}, "resuming": [], "bare": []}

    emulator.reset(strict=True)
    old, new, answers = scenario(emulator)
    assert [name for name, _ in parse(answers[STAGE][0])] == READY
    assert answers[RELEASE] == ("not-holding\n", "released\n")
    assert answers[RESUME] == ("resuming\n", "resuming\n")
    assert states(emulator) == {old: "InService", new: "InService"}
    assert writers(emulator) == [new], "the old one's resume waits behind the new holder"


def test_the_switch_commands_are_refused_by_an_unreachable_instance(run):
    def offline(emu):
        setup(emu)
        emu.advance(BOOT)
        (old,) = states(emu)
        set_instance(emu, {"instance": old, "ssm": "offline"})
        send(emu, old, RELEASE)

    def terminated(emu):
        setup(emu)
        emu.advance(BOOT)
        (old,) = states(emu)
        new = scale_out(emu)
        emu.client("ec2").terminate_instances(InstanceIds=[new])
        send(emu, new, RESUME)

    for scenario in (offline, terminated):
        assert "not in a valid state" in run.both(scenario, "InvalidInstanceId")
        assert len(writers(run.emu)) == 1, "the old one still serves"
        assert [e[0] for e in events(run.emu)] == ["taken"], "nothing moved"
        assert switch_state(run.emu)["resuming"] == []


@pytest.mark.parametrize("strict", [False, True])
def test_suspend_and_resume_az_rebalance_show_in_describe(emulator, strict):
    emulator.reset(strict=strict)
    setup(emulator)
    asg = emulator.client("autoscaling")

    def suspended():
        return sorted(p["ProcessName"] for p in describe(emulator)["SuspendedProcesses"])

    assert suspended() == []
    asg.suspend_processes(AutoScalingGroupName="g",
                          ScalingProcesses=["AZRebalance", "AlarmNotification"])
    assert suspended() == ["AZRebalance", "AlarmNotification"]
    asg.resume_processes(AutoScalingGroupName="g", ScalingProcesses=["AZRebalance"])
    assert suspended() == ["AlarmNotification"]
    asg.resume_processes(AutoScalingGroupName="g")
    assert suspended() == []


def test_the_switch_control_api_and_the_boot_setting_refuse_what_they_do_not_know(emulator):
    emulator.reset(strict=True)
    code, answer = control(emulator, "/strict-api/instance", {"boot": "sometimes"})
    assert code == 400 and answer["error"] == "boot is complete, hold or unhealthy"
    assert set_instance(emulator, {"instance": "*", "boot": "unhealthy"})[
        "instances"]["*"]["boot"] == "unhealthy"
    code, answer = control(emulator, "/strict-api/switch", {"stages": {}})
    assert code == 400 and "no settings" in answer["error"]
    setup(emulator)
    emulator.advance(BOOT)
    assert list(switch_state(emulator)["stages"]) == list(states(emulator))
    control(emulator, "/strict-api/reset", {})
    assert switch_state(emulator) == {"stages": {}, "resuming": [], "bare": []}


def test_a_next_setting_belongs_to_the_next_launch_alone(emulator):
    """"next": the first new instance a hook holds is held back, and the one
    its group launches after its hook times out boots as every other does."""
    emulator.reset(strict=True)
    setup(emulator, hook=90)
    emulator.advance(BOOT + 2)
    (old,) = writers(emulator)
    set_instance(emulator, {"instance": "next", "boot": "hold"})
    held = scale_out(emulator)
    emulator.advance(BOOT + 1)
    assert stages(emulator, held) == BOOTED, "the next launch took the setting"
    emulator.advance(30)  # its hook times out: ABANDON, and a replacement
    (replacement,) = set(states(emulator)) - {old, held}
    emulator.advance(BOOT + 1)
    assert stages(emulator, replacement) == READY, "the replacement boots as usual"
    assert states(emulator) == {old: "InService", replacement: "Pending:Wait"}
    assert writers(emulator) == [old]
