"""Fail-back after a switch whose new instance never gets healthy: it takes
the writer lease and starts, but never completes its launch hook; the product
tells it to release, terminates it, and tells the old one to resume. A resume
while the new one still holds the lease waits for it to be released or to
expire. Plain moto has no lease, and no failing boot: the new instance is
InService at once."""

import json

import pytest

from helpers import SETTLE
from switch_steps import (
    BOOT, BOOT_WHY, DRAINED, DRAINED_WHY, INSIDE, LEASE, OWNER, READY, RELEASE, RESUME,
    RESUMED_WHY, RETRY, STARTED, events, lease, scale_out, send, set_instance, setup,
    stages, states, step, switch_state, writers)


def unhealthy_new_holds(emu, seen):
    """Old serving; the new one, set to boot "unhealthy", waits at
    ready-to-start, then takes the lease the old one released."""
    setup(emu)
    emu.advance(BOOT + 2)  # off the waiting boot's 5 s retries
    (old,) = writers(emu)
    new = scale_out(emu)
    set_instance(emu, {"instance": new, "boot": "unhealthy"})
    step(emu, BOOT + 10, seen)
    assert set(seen) == {(old,)} and stages(emu, new) == READY
    assert send(emu, old, RELEASE)[0] == "released\n"
    step(emu, RETRY, seen)
    assert writers(emu) == [new]
    return old, new


def inside(emu, instance):
    text = send(emu, instance, INSIDE)[0]
    return {line.split("\t")[0]: json.loads(line.split("\t")[1]) for line in text.splitlines()}


def test_moto_puts_the_new_instance_in_service_at_once_whatever_its_boot(emulator):
    emulator.reset(strict=False)
    setup(emulator)
    (old,) = states(emulator)
    set_instance(emulator, {"instance": "*", "boot": "unhealthy"})
    new = scale_out(emulator)
    assert states(emulator) == {old: "InService", new: "InService"}, \
        "moto: a switch to a new instance that never gets healthy looks done"
    assert inside(emulator, new) == {}, "moto: nothing from inside either"

    emulator.reset(strict=True)
    seen = []
    old, new = unhealthy_new_holds(emulator, seen)
    assert states(emulator) == {old: "InService", new: "Pending:Wait"}


def test_a_new_instance_that_never_gets_healthy_holds_the_lease_then_the_old_one_resumes(
        emulator):
    emulator.reset(strict=True)
    seen = []
    old, new = unhealthy_new_holds(emulator, seen)
    assert states(emulator) == {old: "InService", new: "Pending:Wait"}
    assert stages(emulator, new) == STARTED, "started the stack, never owner-ready"
    services = inside(emulator, new)
    assert (services["n8n"]["Status"], services["n8n"]["Health"]["Status"]) == \
        ("running", "unhealthy")
    assert services["postgres"]["Health"]["Status"] == "healthy"
    step(emulator, 120, seen)
    assert set(seen[-24:]) == {(new,)}, "a writer, though never InService"
    assert states(emulator)[new] == "Pending:Wait" and stages(emulator, new) == STARTED

    assert send(emulator, new, RELEASE)[0] == "released\n"
    assert writers(emulator) == [] and stages(emulator, new) == STARTED + DRAINED
    emulator.client("autoscaling").terminate_instance_in_auto_scaling_group(
        InstanceId=new, ShouldDecrementDesiredCapacity=True)
    assert send(emulator, old, RESUME)[0] == "resuming\n"
    assert writers(emulator) == [old], "the lock was free: taken back at once"
    assert stages(emulator, old) == OWNER + DRAINED + ["resumed"]
    assert switch_state(emulator)["resuming"] == []
    expected = [("taken", old, BOOT_WHY), ("released", old, DRAINED_WHY),
                ("taken", new, BOOT_WHY), ("released", new, DRAINED_WHY),
                ("taken", old, RESUMED_WHY)]
    assert events(emulator) == expected
    assert send(emulator, old, RESUME)[0] == "resuming\n"
    assert events(emulator) == expected, "a holder's resume changes nothing"
    step(emulator, SETTLE, seen)  # past the new one's hook timeout
    assert states(emulator) == {old: "InService"} and writers(emulator) == [old]
    assert events(emulator) == expected


@pytest.mark.parametrize("let_go", ["release", "expire"])
def test_a_resume_waits_while_the_new_instance_holds_the_lease(emulator, let_go):
    emulator.reset(strict=True)
    seen = []
    old, new = unhealthy_new_holds(emulator, seen)
    assert send(emulator, old, RESUME)[0] == "resuming\n"
    assert writers(emulator) == [new] and switch_state(emulator)["resuming"] == [old]
    step(emulator, 60, seen)
    assert set(seen[-12:]) == {(new,)}, "the resume waits; never two writers"
    assert stages(emulator, old)[-1] == DRAINED[-1]
    if let_go == "release":
        assert send(emulator, new, RELEASE)[0] == "released\n"
        idle = 0.0
    else:  # terminated without a drain: its lock lapses LEASE later
        emulator.client("autoscaling").terminate_instance_in_auto_scaling_group(
            InstanceId=new, ShouldDecrementDesiredCapacity=True)
        assert lease(emulator)["stacks"]["s1"]["holder"] == new
        idle = LEASE - RETRY
    assert writers(emulator) == []
    mark = len(seen)
    step(emulator, idle, seen)
    assert set(seen[mark:]) <= {()} and switch_state(emulator)["resuming"] == [old]
    step(emulator, 2 * RETRY, seen)
    assert writers(emulator) == [old] and stages(emulator, old)[-1] == "resumed"
    assert switch_state(emulator)["resuming"] == []
    assert events(emulator)[-2:] == [
        ("released" if let_go == "release" else "expired", new,
         DRAINED_WHY if let_go == "release" else
         "not renewed since the instance was terminated: the 90 s lease ran out"),
        ("taken", old, RESUMED_WHY)]
    assert states(emulator)[old] == "InService"


def test_a_resume_ends_when_its_instance_stops_running(emulator):
    emulator.reset(strict=True)
    seen = []
    old, new = unhealthy_new_holds(emulator, seen)
    assert send(emulator, old, RESUME)[0] == "resuming\n"
    emulator.client("ec2").stop_instances(InstanceIds=[old])
    step(emulator, RETRY, seen)
    assert switch_state(emulator)["resuming"] == []
    assert send(emulator, new, RELEASE)[0] == "released\n"
    step(emulator, 4 * RETRY, seen)
    assert writers(emulator) == [] and lease(emulator)["stacks"]["s1"]["holder"] is None
    assert [e[0] for e in events(emulator)] == ["taken", "released", "taken", "released"]
