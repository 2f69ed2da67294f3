"""EFS rules."""

from helpers import SETTLE, default_vpc, group


def _fs(emu, token="t"):
    return emu.client("efs").create_file_system(CreationToken=token, Encrypted=True)["FileSystemId"]


def test_a_mount_target_is_creating_then_available(emulator):
    for strict, first in [(False, "available"), (True, "creating")]:
        emulator.reset(strict=strict)
        vpc, subnets = default_vpc(emulator)
        sg = group(emulator, "efs", vpc)
        fs = _fs(emulator)
        emulator.advance(11)
        efs = emulator.client("efs")
        efs.create_mount_target(FileSystemId=fs, SubnetId=subnets[0]["SubnetId"],
                                SecurityGroups=[sg])
        state = efs.describe_mount_targets(FileSystemId=fs)["MountTargets"][0]
        assert state["LifeCycleState"] == first
    emulator.advance(91)
    state = efs.describe_mount_targets(FileSystemId=fs)["MountTargets"][0]
    assert state["LifeCycleState"] == "available"


def test_a_mount_target_on_a_creating_file_system_is_refused(run):
    def scenario(emu):
        vpc, subnets = default_vpc(emu)
        sg = group(emu, "efs", vpc)
        fs = _fs(emu)
        emu.client("efs").create_mount_target(FileSystemId=fs, SubnetId=subnets[0]["SubnetId"],
                                              SecurityGroups=[sg])

    run.both(scenario, "IncorrectFileSystemLifeCycleState")


def _deleted_mount_target(emu):
    vpc, subnets = default_vpc(emu)
    sg = group(emu, "efs", vpc)
    fs = _fs(emu)
    emu.advance(SETTLE)
    efs = emu.client("efs")
    mt = efs.create_mount_target(FileSystemId=fs, SubnetId=subnets[0]["SubnetId"],
                                 SecurityGroups=[sg])["MountTargetId"]
    emu.advance(SETTLE)
    efs.delete_mount_target(MountTargetId=mt)
    return fs, sg


def test_a_file_system_with_a_deleting_mount_target_is_in_use(run):
    def scenario(emu):
        fs, _ = _deleted_mount_target(emu)
        emu.client("efs").delete_file_system(FileSystemId=fs)

    run.both(scenario, "FileSystemInUse")


def test_a_deleting_mount_target_keeps_its_group_in_use(run, emulator):
    def scenario(emu):
        _, sg = _deleted_mount_target(emu)
        emu.client("ec2").delete_security_group(GroupId=sg)

    run.both(scenario, "DependencyViolation")
    emulator.advance(61)
    assert emulator.client("efs").describe_mount_targets(
        FileSystemId=emulator.client("efs").describe_file_systems()["FileSystems"][0]
        ["FileSystemId"])["MountTargets"] == []


def test_a_creation_token_over_64_characters_is_refused(run):
    run.both(lambda emu: _fs(emu, "t" * 65), "BadRequest")
