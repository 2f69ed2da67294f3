"""The previous version's bare instance (RunInstances, no group, no writer
lease) and its migration into the stack's group by prepare-then-switch: the
bare one holds the lease for the migration, the group's new instance waits at
ready-to-start, the bare one drains and releases, the new one takes the lease.
Plain moto has no lease and no writers, and answers every Run Command with
empty output: a product that trusted it would never learn that the bare
instance writes the stack's EFS beside the new one."""

import pytest

from helpers import SETTLE, control, default_vpc, group, launch
from switch_steps import (
    BOOT, BOOT_WHY, DRAINED, DRAINED_WHY, LEASE, OWNER, READY, RELEASE, RESUME,
    RESUMED_WHY, RETRY, STAGE, events, lease, send, set_instance, setup, stages, states,
    step, switch_state, writers)

HOLD = "# geusemaker:migration-hold"
HOLD_WHY = "held for a migration by the bare instance, its services running"
EXPIRED_WHY = "not renewed since the instance was {}: the 90 s lease ran out"


def launch_bare(emu, stack="s1", **extra):
    """The previous version's instance of `stack`: RunInstances, no group."""
    vpc, _ = default_vpc(emu)
    sg = group(emu, f"bare-{stack}", vpc)
    emu.advance(SETTLE)
    tags = [{"ResourceType": "instance", "Tags": [{"Key": "Stack", "Value": stack}]}]
    instance = launch(emu, [sg], TagSpecifications=tags, **extra)
    emu.advance(SETTLE)
    return instance


def mark_bare(emu, instance):
    return set_instance(emu, {"instance": instance, "bare": True})


def bare_holding(emu):
    """A bare instance of s1, serving, that holds the lease for its migration."""
    bare = launch_bare(emu)
    mark_bare(emu, bare)
    assert send(emu, bare, HOLD)[0] == "holding\n"
    return bare


def test_moto_alone_answers_the_migration_commands_with_nothing_and_has_no_writers(emulator):
    def scenario(emu):
        bare = launch_bare(emu)
        mark_bare(emu, bare)
        answers = {tag: send(emu, bare, tag)[0] for tag in (HOLD, STAGE)}
        setup(emu)
        (new,) = states(emu)
        emu.advance(BOOT + 60)
        answers[RELEASE] = send(emu, bare, RELEASE)[0]
        emu.advance(RETRY)
        return bare, new, answers

    emulator.reset(strict=False)
    bare, new, answers = scenario(emulator)
    assert answers == {HOLD: "", STAGE: "", RELEASE: ""}, \
        "moto: a product waiting for 'holding' or 'released' waits forever"
    assert states(emulator) == {new: "InService"}, \
        "moto: the new instance runs the stack at once, beside the bare one"
    assert lease(emulator) == {"stacks": {}, "writers": {}, "history": []}
    assert switch_state(emulator) == {"stages": {}, "resuming": [], "bare": []}

    emulator.reset(strict=True)
    bare, new, answers = scenario(emulator)
    assert answers == {HOLD: "holding\n", STAGE: "", RELEASE: "released\n"}
    assert states(emulator) == {new: "InService"} and writers(emulator) == [new]
    assert stages(emulator, bare) == DRAINED and switch_state(emulator)["bare"] == []


def test_a_bare_instance_is_a_writer_at_once_without_the_lease(emulator):
    emulator.reset(strict=True)
    bare = launch_bare(emulator)
    assert lease(emulator)["writers"] == {}, "not bare yet: an instance like any other"
    mark_bare(emulator, bare)
    answer = lease(emulator)
    assert answer["writers"] == {"s1": [bare]}, "its boot started the services, no lock"
    assert answer["stacks"] == {"s1": {"holder": None, "expires_in": None}}
    assert answer["history"] == []
    assert switch_state(emulator) == {"stages": {bare: []}, "resuming": [], "bare": [bare]}
    assert send(emulator, bare, STAGE)[0] == "", "a file, empty until something writes"
    assert send(emulator, bare, RELEASE)[0] == "not-holding\n"
    assert writers(emulator) == [bare], "a release of nothing: it goes on serving"
    assert stages(emulator, bare) == [] and events(emulator) == []
    assert mark_bare(emulator, bare)["instances"] == {}, "marked again: nothing changes"

    # A product that starts the group's instance without the hold: two writers.
    setup(emulator)
    (new,) = states(emulator)
    emulator.advance(BOOT)
    assert writers(emulator) == [new, bare], "the lock was free: the new one took it"
    assert states(emulator) == {new: "InService"}
    assert events(emulator) == [("taken", new, BOOT_WHY)]


def test_the_bare_instance_holds_the_lease_then_hands_it_to_the_new_one(emulator):
    emulator.reset(strict=True)
    bare = bare_holding(emulator)
    answer = lease(emulator)
    assert answer["stacks"] == {"s1": {"holder": bare, "expires_in": None}}
    assert answer["writers"] == {"s1": [bare]}, "holder and bare writer: counted once"
    assert events(emulator) == [("taken", bare, HOLD_WHY)]
    assert send(emulator, bare, HOLD)[0] == "holding\n"
    assert events(emulator) == [("taken", bare, HOLD_WHY)], "held already: nothing changes"
    assert stages(emulator, bare) == [], "a hold writes no marker"

    setup(emulator)
    (new,) = states(emulator)
    seen = []
    step(emulator, BOOT + 60, seen)  # booted at +60, then a minute waiting
    assert set(seen) == {(bare,)}, "the bare one serves; the new one never writes"
    assert stages(emulator, new) == READY
    assert states(emulator) == {new: "Pending:Wait"}
    assert send(emulator, new, HOLD)[0] == "not-bare\n"

    assert send(emulator, bare, RELEASE)[0] == "released\n"
    assert writers(emulator) == [], "drained: its services stopped"
    assert lease(emulator)["stacks"]["s1"] == {"holder": None, "expires_in": None}
    assert stages(emulator, bare) == DRAINED
    assert switch_state(emulator)["bare"] == []
    step(emulator, RETRY, seen)
    assert writers(emulator) == [new], "taken within one retry: the only writer"
    assert states(emulator) == {new: "InService"} and stages(emulator, new) == OWNER
    expected = [("taken", bare, HOLD_WHY), ("released", bare, DRAINED_WHY),
                ("taken", new, BOOT_WHY)]
    assert events(emulator) == expected

    emulator.client("ec2").terminate_instances(InstanceIds=[bare])
    step(emulator, SETTLE, seen)
    assert states(emulator) == {new: "InService"} and writers(emulator) == [new]
    assert events(emulator) == expected, "the bare one held nothing when it went"


def test_a_hold_while_another_holds_the_lease_is_held_elsewhere_and_changes_nothing(emulator):
    emulator.reset(strict=True)
    setup(emulator)
    emulator.advance(BOOT + 2)
    (holder,) = writers(emulator)
    set_instance(emulator, {"instance": "*", "boot": "hold"})  # no replacement competes
    bare = launch_bare(emulator)
    mark_bare(emulator, bare)
    assert writers(emulator) == [holder, bare]
    assert send(emulator, bare, HOLD)[0] == "held-elsewhere\n"
    assert lease(emulator)["stacks"]["s1"] == {"holder": holder, "expires_in": None}
    assert events(emulator) == [("taken", holder, BOOT_WHY)]
    assert writers(emulator) == [holder, bare], "it does not wait, and stops nothing"

    emulator.client("ec2").terminate_instances(InstanceIds=[holder])
    assert writers(emulator) == [bare]
    emulator.advance(LEASE - 10)
    assert send(emulator, bare, HOLD)[0] == "held-elsewhere\n", "the lock has not expired"
    emulator.advance(10)
    assert send(emulator, bare, HOLD)[0] == "holding\n"
    assert events(emulator) == [("taken", holder, BOOT_WHY),
                                ("expired", holder, EXPIRED_WHY.format("terminated")),
                                ("taken", bare, HOLD_WHY)]
    assert writers(emulator) == [bare]


def test_an_instance_that_is_not_bare_answers_not_bare(emulator):
    emulator.reset(strict=True)
    sg = setup(emulator)
    emulator.advance(BOOT)
    (first,) = states(emulator)
    before = lease(emulator)
    assert send(emulator, first, HOLD)[0] == "not-bare\n", "a group's own instance"
    emulator.advance(SETTLE)
    loose = launch(emulator, [sg], TagSpecifications=[
        {"ResourceType": "instance", "Tags": [{"Key": "Stack", "Value": "s1"}]}])
    emulator.advance(SETTLE)
    assert send(emulator, loose, HOLD)[0] == "not-bare\n", "RunInstances, not marked"
    assert lease(emulator) == before and writers(emulator) == [first]
    assert switch_state(emulator)["bare"] == [] and stages(emulator, loose) == []


@pytest.mark.parametrize("let_go", ["release", "expire"])
def test_the_bare_instance_resumes_once_the_failed_new_one_lets_go(emulator, let_go):
    emulator.reset(strict=True)
    bare = bare_holding(emulator)
    set_instance(emulator, {"instance": "*", "boot": "unhealthy"})
    setup(emulator)
    (new,) = states(emulator)
    seen = []
    step(emulator, BOOT + 10, seen)
    assert send(emulator, bare, RELEASE)[0] == "released\n"
    step(emulator, RETRY, seen)
    assert writers(emulator) == [new] and states(emulator) == {new: "Pending:Wait"}

    assert send(emulator, bare, RESUME)[0] == "resuming\n"
    assert switch_state(emulator)["resuming"] == [bare]
    step(emulator, 30, seen)
    assert set(seen[-6:]) == {(new,)}, "the resume waits; the bare one stays drained"
    if let_go == "release":
        assert send(emulator, new, RELEASE)[0] == "released\n"
        idle = 0.0
    else:  # dropped without a drain: its lock lapses LEASE later
        set_instance(emulator, {"instance": "*", "boot": "hold"})  # its replacement
        emulator.client("ec2").terminate_instances(InstanceIds=[new])
        idle = LEASE - RETRY
    mark = len(seen)
    step(emulator, idle, seen)
    assert set(seen[mark:]) <= {()} and switch_state(emulator)["resuming"] == [bare]
    step(emulator, 2 * RETRY, seen)
    assert writers(emulator) == [bare], "it serves again, with the lease"
    assert stages(emulator, bare) == DRAINED + ["resumed"]
    assert switch_state(emulator)["resuming"] == [] and switch_state(emulator)["bare"] == [bare]
    assert events(emulator)[-2:] == [
        ("released", new, DRAINED_WHY) if let_go == "release" else
        ("expired", new, EXPIRED_WHY.format("terminated")),
        ("taken", bare, RESUMED_WHY)]
    step(emulator, SETTLE, seen)  # the group's next instances wait behind it
    assert writers(emulator) == [bare]


def test_a_drained_bare_instance_that_holds_again_is_no_writer_until_resumed(emulator):
    emulator.reset(strict=True)
    bare = bare_holding(emulator)
    assert send(emulator, bare, RELEASE)[0] == "released\n"
    assert send(emulator, bare, RELEASE)[0] == "not-holding\n"
    assert writers(emulator) == [] and stages(emulator, bare) == DRAINED
    assert send(emulator, bare, HOLD)[0] == "holding\n"
    assert lease(emulator)["stacks"]["s1"]["holder"] == bare
    assert writers(emulator) == [], "a hold starts nothing"
    assert send(emulator, bare, RESUME)[0] == "resuming\n"
    assert writers(emulator) == [bare] and stages(emulator, bare) == DRAINED + ["resumed"]
    assert switch_state(emulator)["resuming"] == []
    assert send(emulator, bare, RESUME)[0] == "resuming\n"
    assert stages(emulator, bare) == DRAINED + ["resumed"], "serving: nothing changes"
    assert [e[0] for e in events(emulator)] == ["taken", "released", "taken"]


@pytest.mark.parametrize("how", ["terminate", "stop", "interrupt"])
def test_a_bare_instance_that_goes_stops_writing_at_once_and_its_lock_expires(emulator, how):
    emulator.reset(strict=True)
    bare = launch_bare(emulator, InstanceMarketOptions={"MarketType": "spot"})
    mark_bare(emulator, bare)
    assert send(emulator, bare, HOLD)[0] == "holding\n"
    ec2 = emulator.client("ec2")
    if how == "terminate":
        ec2.terminate_instances(InstanceIds=[bare])
    elif how == "stop":
        ec2.stop_instances(InstanceIds=[bare])
    else:
        assert control(emulator, "/strict-api/interrupt", {"instance": bare})[0] == 200
    answer = lease(emulator)
    assert answer["writers"] == {"s1": []}, "its services stopped with it"
    assert answer["stacks"]["s1"]["holder"] == bare, "no drain: not even on a spot notice"
    assert answer["stacks"]["s1"]["expires_in"] == pytest.approx(LEASE, abs=1)
    assert switch_state(emulator)["bare"] == []
    emulator.advance(LEASE - 10)
    assert lease(emulator)["stacks"]["s1"]["holder"] == bare
    emulator.advance(10)
    assert lease(emulator)["stacks"]["s1"] == {"holder": None, "expires_in": None}
    assert events(emulator) == [
        ("taken", bare, HOLD_WHY),
        ("expired", bare, EXPIRED_WHY.format("stopped" if how == "stop" else "terminated"))]
    if how == "stop":
        emulator.advance(SETTLE)
        ec2.start_instances(InstanceIds=[bare])
        emulator.advance(SETTLE)
        assert writers(emulator) == [], "started again, it runs nothing (no boot modelled)"


def test_bare_settings_are_refused_unless_for_a_running_bare_instance(emulator):
    emulator.reset(strict=True)
    setup(emulator)
    emulator.advance(BOOT)
    (member,) = states(emulator)
    bare = launch_bare(emulator)
    sg = group(emulator, "untagged", default_vpc(emulator)[0])
    emulator.advance(SETTLE)
    untagged = launch(emulator, [sg])
    gone = launch_bare(emulator, stack="s2")
    emulator.client("ec2").terminate_instances(InstanceIds=[gone])
    emulator.advance(SETTLE)
    before = set_instance(emulator, {})
    for body, error in [
            ({"bare": True}, "not '*'"),
            ({"instance": "*", "bare": True}, "not '*'"),
            ({"instance": "next", "bare": True}, "not 'next'"),
            ({"instance": bare, "bare": "yes"}, "bare is true or false"),
            ({"instance": bare, "bare": 1}, "bare is true or false"),
            ({"instance": "i-0123456789abcdef0", "bare": True}, "no instance i-0123456789abcdef0"),
            ({"instance": gone, "bare": True}, f"{gone} is terminated"),
            ({"instance": member, "bare": True}, "in Auto Scaling group g"),
            ({"instance": untagged, "bare": True}, "has no Stack tag"),
            ({"instance": bare, "drain": "none", "bare": None}, "bare is true or false")]:
        code, answer = control(emulator, "/strict-api/instance", body)
        assert code == 400 and error in answer["error"], (body, answer)
    assert set_instance(emulator, {}) == before, "nothing changed"
    assert writers(emulator) == [member] and switch_state(emulator)["bare"] == []

    assert set_instance(emulator, {"instance": member, "bare": False}) == before
    mark_bare(emulator, bare)
    code, answer = control(emulator, "/strict-api/instance", {"instance": bare, "bare": False})
    assert code == 400 and "not set back to false" in answer["error"]
    assert writers(emulator) == [member, bare]
    set_instance(emulator, {"instance": bare, "bare": True, "drain": "none"})
    assert set_instance(emulator, {})["instances"][bare]["drain"] == "none"
    control(emulator, "/strict-api/reset", {})
    assert switch_state(emulator) == {"stages": {}, "resuming": [], "bare": []}
    assert lease(emulator) == {"stacks": {}, "writers": {}, "history": []}
