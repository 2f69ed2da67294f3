"""Baked images (images.py): CreateImage snapshots each EBS volume of the
builder, the image is pending for minutes and cannot be run meanwhile,
names are checked, and snapshots outlive DeregisterImage. Each scenario is
let through (or mishandled) by plain moto and refused or changed by the
strict layer."""

import pytest
from botocore.exceptions import ClientError

from helpers import SETTLE, al2023, default_vpc, group, launch
from test_autoscaling import activities, members

ROOT = {"DeviceName": "/dev/xvda",
        "Ebs": {"VolumeSize": 30, "VolumeType": "gp3", "DeleteOnTermination": True}}
DATA = {"DeviceName": "/dev/sdf",
        "Ebs": {"VolumeSize": 20, "VolumeType": "gp3", "DeleteOnTermination": False}}
STACK = [{"Key": "Stack", "Value": "s1"}]
NAME = "s1-image 2026-12-02T0214"
PENDING_30 = 60 + 6 * 30  # realistic seconds a 30 GB root keeps the image pending
PENDING_50 = 60 + 6 * 50  # root and data volume
RETRY = 10.0  # a group's retry (spot_capacity.RETRY_SECS)


def builder(emu, *mappings):
    """The throw-away builder instance, tagged; (instance, its group)."""
    vpc, _ = default_vpc(emu)
    sg = group(emu, "builder", vpc)
    emu.advance(SETTLE)
    extra = {"BlockDeviceMappings": list(mappings)} if mappings else {}
    instance = launch(emu, [sg], TagSpecifications=[
        {"ResourceType": "instance", "Tags": STACK}], **extra)
    emu.advance(SETTLE)
    return instance, sg


def bake(emu, instance, name=NAME, snapshot_tags=True):
    specs = [{"ResourceType": "image", "Tags": STACK}]
    if snapshot_tags:
        specs.append({"ResourceType": "snapshot", "Tags": STACK})
    return emu.client("ec2").create_image(
        InstanceId=instance, Name=name, NoReboot=False, TagSpecifications=specs)["ImageId"]


def image(emu, ami):
    return emu.client("ec2").describe_images(ImageIds=[ami])["Images"][0]


def own_snapshots(emu):
    return emu.client("ec2").describe_snapshots(OwnerIds=["self"])["Snapshots"]


def account_snapshots(emu):
    """The account's snapshots, by moto's owner-id filter (moto ignores OwnerIds)."""
    return emu.client("ec2").describe_snapshots(
        Filters=[{"Name": "owner-id", "Values": ["123456789012"]}])["Snapshots"]


def volumes(emu, instance):
    found = emu.client("ec2").describe_instances(
        InstanceIds=[instance])["Reservations"][0]["Instances"][0]["BlockDeviceMappings"]
    return {m["DeviceName"]: m["Ebs"]["VolumeId"] for m in found}


def test_create_image_snapshots_every_volume_and_they_outlive_deregister_image(emulator):
    ec2 = emulator.client("ec2")
    emulator.reset(strict=False)
    instance, _ = builder(emulator, ROOT, DATA)
    ami = bake(emulator, instance, snapshot_tags=False)
    (stand_in,) = image(emulator, ami)["BlockDeviceMappings"]
    assert (stand_in["DeviceName"], stand_in["Ebs"]["VolumeSize"]) == ("/dev/sda1", 15)
    assert [s["VolumeSize"] for s in account_snapshots(emulator)] == [15], "moto: one stand-in"

    emulator.reset(strict=True)
    instance, _ = builder(emulator, ROOT, DATA)
    ami = bake(emulator, instance)
    got = image(emulator, ami)
    assert (got["RootDeviceName"], got["RootDeviceType"]) == ("/dev/xvda", "ebs")
    assert got["Tags"] == STACK
    mapped = [(m["DeviceName"], m["Ebs"]["VolumeSize"], m["Ebs"]["VolumeType"],
               m["Ebs"]["DeleteOnTermination"]) for m in got["BlockDeviceMappings"]]
    assert mapped == [("/dev/xvda", 30, "gp3", True), ("/dev/sdf", 20, "gp3", False)]
    ids = [m["Ebs"]["SnapshotId"] for m in got["BlockDeviceMappings"]]
    snaps = {s["SnapshotId"]: s for s in own_snapshots(emulator)}
    assert sorted(snaps) == sorted(ids)
    source = volumes(emulator, instance)
    for snap_id, device, size in zip(ids, ("/dev/xvda", "/dev/sdf"), (30, 20)):
        snap = snaps[snap_id]
        assert snap["VolumeSize"] == size and snap["VolumeId"] == source[device]
        assert snap["Tags"] == STACK and snap["OwnerId"] == "123456789012"
        assert snap["Description"] == f"Created by CreateImage({instance}) for {ami}"

    emulator.advance(PENDING_50)
    ec2.terminate_instances(InstanceIds=[instance])
    ec2.deregister_image(ImageId=ami)
    assert ec2.describe_images(Owners=["self"])["Images"] == []
    assert sorted(s["SnapshotId"] for s in own_snapshots(emulator)) == sorted(ids), \
        "deregistered, the snapshots stay (and are billed)"
    for snap_id in ids:
        ec2.delete_snapshot(SnapshotId=snap_id)
    assert own_snapshots(emulator) == []


def test_a_builder_launched_without_mappings_bakes_its_amis_root(emulator):
    emulator.reset(strict=True)
    instance, _ = builder(emulator)
    got = image(emulator, bake(emulator, instance))
    (root,) = got["BlockDeviceMappings"]
    assert got["RootDeviceName"] == root["DeviceName"] == "/dev/xvda"
    assert (root["Ebs"]["VolumeSize"], root["Ebs"]["VolumeType"]) == (8, "gp3")


def test_a_snapshot_a_registered_image_uses_cannot_be_deleted(emulator):
    """moto refuses it for its one stand-in snapshot; the layer keeps that for
    every snapshot it makes (the data volume's too), until DeregisterImage."""
    ec2 = emulator.client("ec2")
    for strict in (False, True):
        emulator.reset(strict=strict)
        instance, _ = builder(emulator, ROOT, DATA)
        ami = bake(emulator, instance, snapshot_tags=False)
        emulator.advance(PENDING_50)
        ids = [m["Ebs"]["SnapshotId"] for m in image(emulator, ami)["BlockDeviceMappings"]]
        assert len(ids) == (2 if strict else 1)
        for snap_id in ids:
            with pytest.raises(ClientError) as caught:
                ec2.delete_snapshot(SnapshotId=snap_id)
            assert caught.value.response["Error"] == {
                "Code": "InvalidSnapshot.InUse",
                "Message": f"The snapshot {snap_id} is currently in use by {ami}"}
        ec2.deregister_image(ImageId=ami)
        for snap_id in ids:
            ec2.delete_snapshot(SnapshotId=snap_id)


def test_a_new_image_cannot_be_run_while_pending(run):
    def scenario(emu):
        instance, sg = builder(emu, ROOT)
        ami = bake(emu, instance, snapshot_tags=False)
        launch(emu, [sg], ImageId=ami)

    assert "is pending, and cannot be run" in run.both(scenario, "InvalidAMIID.Unavailable")


def test_the_image_and_its_snapshots_are_pending_for_minutes(emulator):
    ec2 = emulator.client("ec2")
    emulator.reset(strict=False)
    instance, _ = builder(emulator, ROOT)
    assert image(emulator, bake(emulator, instance, snapshot_tags=False))["State"] == "available"

    emulator.reset(strict=True)
    instance, sg = builder(emulator, ROOT)
    ami = bake(emulator, instance)
    pending = ec2.describe_images(Owners=["self"], Filters=[
        {"Name": "state", "Values": ["pending"]}])["Images"]
    assert [i["ImageId"] for i in pending] == [ami]
    (snap,) = own_snapshots(emulator)
    assert (snap["State"], snap["Progress"]) == ("pending", "0%")
    # Half-way it is still pending (a margin: real time passes too, scaled).
    emulator.advance(PENDING_30 / 2)
    assert image(emulator, ami)["State"] == "pending"
    emulator.advance(PENDING_30 / 2)
    assert image(emulator, ami)["State"] == "available"
    (snap,) = own_snapshots(emulator)
    assert (snap["State"], snap["Progress"]) == ("completed", "100%")
    launch(emulator, [sg], ImageId=ami)
    # The baked root is 30 GB: a template that maps it smaller is refused.
    with pytest.raises(Exception) as caught:
        launch(emulator, [sg], ImageId=ami, BlockDeviceMappings=[
            {"DeviceName": "/dev/xvda", "Ebs": {"VolumeSize": 20}}])
    assert caught.value.response["Error"]["Code"] == "InvalidBlockDeviceMapping"


def test_a_deregistered_image_cannot_be_run(run):
    def scenario(emu):
        instance, sg = builder(emu, ROOT)
        ami = bake(emu, instance, snapshot_tags=False)
        emu.advance(PENDING_30)
        emu.client("ec2").deregister_image(ImageId=ami)
        launch(emu, [sg], ImageId=ami)

    assert "does not exist" in run.both(scenario, "InvalidAMIID.NotFound")


def group_of(emu, ami, sg):
    _, subnets = default_vpc(emu)
    lt = emu.client("ec2").create_launch_template(LaunchTemplateName="baked", LaunchTemplateData={
        "ImageId": ami, "InstanceType": "t3.medium", "SecurityGroupIds": [sg]},
    )["LaunchTemplate"]["LaunchTemplateId"]
    emu.client("autoscaling").create_auto_scaling_group(
        AutoScalingGroupName="g", MinSize=1, MaxSize=1, DesiredCapacity=1,
        LaunchTemplate={"LaunchTemplateId": lt, "Version": "$Latest"},
        VPCZoneIdentifier=subnets[0]["SubnetId"])


@pytest.mark.parametrize("way", ["pending", "deregistered"])
def test_a_group_whose_image_cannot_be_run_records_failures_and_retries(emulator, way):
    def prepare(emu):
        instance, sg = builder(emu, ROOT)
        ami = bake(emu, instance, snapshot_tags=False)
        if way == "deregistered":
            emu.advance(PENDING_30)
            emu.client("ec2").deregister_image(ImageId=ami)
        group_of(emu, ami, sg)
        return ami

    emulator.reset(strict=False)
    prepare(emulator)
    assert len(members(emulator)) == 1, "moto launches it at once"

    emulator.reset(strict=True)
    ami = prepare(emulator)
    assert members(emulator) == []
    message = (f"AMI {ami} is pending, and cannot be run. Launching EC2 instance failed."
               if way == "pending" else
               f"The AMI ID {ami} does not exist. Launching EC2 instance failed.")
    emulator.advance(RETRY)
    failed = activities(emulator)
    assert len(failed) == 2 and members(emulator) == []
    assert all(a["StatusCode"] == "Failed" and a["StatusMessage"] == message for a in failed)
    emulator.advance(PENDING_30)
    emulator.advance(RETRY)
    if way == "pending":
        (member,) = members(emulator)
        assert member["LifecycleState"] == "InService"
        assert activities(emulator)[0]["StatusCode"] == "Successful"
    else:
        assert members(emulator) == []


def test_create_image_tags_the_image_and_every_snapshot(run, emulator):
    emulator.reset(strict=False)
    instance, _ = builder(emulator, ROOT)
    with pytest.raises(Exception) as crashed:
        bake(emulator, instance)
    assert "500" in str(crashed.value) or "Internal" in str(crashed.value), \
        "moto: snapshot tags crash CreateImage"

    emulator.reset(strict=True)
    instance, _ = builder(emulator, ROOT, DATA)
    ami = bake(emulator, instance)
    assert image(emulator, ami)["Tags"] == STACK
    snaps = own_snapshots(emulator)
    assert len(snaps) == 2 and all(s["Tags"] == STACK for s in snaps)
    tagged = emulator.client("ec2").describe_snapshots(OwnerIds=["self"], Filters=[
        {"Name": "tag:Stack", "Values": ["s1"]}])["Snapshots"]
    assert len(tagged) == 2

    def volume_tags(emu):
        instance, _ = builder(emu, ROOT)
        emu.client("ec2").create_image(InstanceId=instance, Name=NAME, TagSpecifications=[
            {"ResourceType": "volume", "Tags": STACK}])

    assert "not a valid taggable resource type" in run.strict_refuses(
        volume_tags, "InvalidParameterValue")


def test_image_names_are_checked_and_unique_in_the_account(run, emulator):
    def duplicate(emu):
        instance, _ = builder(emu, ROOT)
        bake(emu, instance, snapshot_tags=False)
        bake(emu, instance, snapshot_tags=False)

    def malformed(emu):
        instance, _ = builder(emu, ROOT)
        bake(emu, instance, name="s1-image 2026-12-02T02:14:05Z", snapshot_tags=False)

    assert "is already in use by AMI ami-" in run.both(duplicate, "InvalidAMIName.Duplicate")
    run.both(malformed, "InvalidAMIName.Malformed")

    emulator.reset(strict=True)
    ec2 = emulator.client("ec2")
    instance, _ = builder(emulator, ROOT)
    public = ec2.describe_images(ImageIds=[al2023(emulator)])["Images"][0]["Name"]
    bake(emulator, instance, name=public)  # another owner's name is free
    first = bake(emulator, instance)
    ec2.deregister_image(ImageId=first)
    bake(emulator, instance)  # a deregistered image's name is free again


def test_describe_snapshots_owner_ids_lists_only_those_owners(emulator):
    emulator.reset(strict=False)
    instance, _ = builder(emulator, ROOT)
    bake(emulator, instance, snapshot_tags=False)
    owners = {s["OwnerId"] for s in own_snapshots(emulator)}
    assert len(owners) > 1, "moto ignores OwnerIds: every public image's snapshot is listed"

    emulator.reset(strict=True)
    instance, _ = builder(emulator, ROOT)
    bake(emulator, instance)
    ec2 = emulator.client("ec2")
    (mine,) = own_snapshots(emulator)
    by_id = ec2.describe_snapshots(OwnerIds=["123456789012"])["Snapshots"]
    assert [s["SnapshotId"] for s in by_id] == [mine["SnapshotId"]]
    amazon = ec2.describe_snapshots(OwnerIds=["amazon"])["Snapshots"]
    assert amazon and mine["SnapshotId"] not in {s["SnapshotId"] for s in amazon}


def test_deregister_image_can_delete_its_snapshots(emulator):
    def deregister(emu):
        instance, _ = builder(emu, ROOT, DATA)
        ami = bake(emu, instance, snapshot_tags=False)
        emu.advance(PENDING_50)
        return emu.client("ec2").deregister_image(ImageId=ami, DeleteAssociatedSnapshots=True)

    emulator.reset(strict=False)
    deregister(emulator)
    assert len(account_snapshots(emulator)) == 1, "moto ignores DeleteAssociatedSnapshots"

    emulator.reset(strict=True)
    answer = deregister(emulator)
    assert [r["ReturnCode"] for r in answer["DeleteSnapshotResults"]] == ["success", "success"]
    assert own_snapshots(emulator) == []
