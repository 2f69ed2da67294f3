"""Baked images: CreateImage of an instance, its EBS snapshots, and the
launches and deletions an image allows.

moto 5.2.5's CreateImage makes an image `available` at once, with one
stand-in 15 GB snapshot ("standard", device /dev/sda1, of a throw-away
volume) whatever the instance's volumes; TagSpecifications of type
`snapshot` crash it (HTTP 500, NotImplementedError); any Name is accepted,
also one the account's other images use. RunInstances takes any image id,
also a deregistered one. DescribeSnapshots ignores OwnerIds (OwnerIds=self
lists every snapshot of moto's ~1300 public images), and DeregisterImage
ignores DeleteAssociatedSnapshots. What moto already does as AWS does is
kept: DeregisterImage leaves the image's snapshots (they stay, and are
billed, until DeleteSnapshot), and DeleteSnapshot of a snapshot an image
still uses is refused (InvalidSnapshot.InUse, "The snapshot snap-… is
currently in use by ami-…"), for every snapshot made here too.

Here CreateImage of an instance (the layer on):

- refuses an instance that is not running, stopping or stopped (moto
  accepts a shutting-down or terminated one): InvalidParameterValue,
  "Invalid value 'i-…' for instanceId. Instance is not in state 'running'
  or 'stopping' or 'stopped'". The product's builder (builder.py) is
  stopped when it is imaged;
- checks the Name: 3-128 letters, digits and ( ) [ ] space . / - ' @ _
  (InvalidAMIName.Malformed), not the name of another image the account
  owns in the region, pending or available (InvalidAMIName.Duplicate); a
  deregistered image's name is free again;
- takes TagSpecifications of types `image` and `snapshot` only (others:
  InvalidParameterValue, as moto): `image` tags the image, `snapshot` tags
  every snapshot it makes;
- snapshots each EBS volume attached to the instance, one snapshot each (its
  size, owner the account, description "Created by CreateImage(i-…) for
  ami-…"), listed in the image's BlockDeviceMappings root first, each with
  its DeleteOnTermination, size and volume type. The root is the
  instance's root device (RootDeviceName; RootDeviceType ebs): moto attaches
  a default root volume at /dev/sda1 (8 GB) to an instance launched without
  BlockDeviceMappings, and that volume counts as the root, at the source
  image's root size (ec2.ami-root-devices) if larger; an instance mapped
  without its root device gets the source image's root;
- leaves the image `pending`, its snapshots `pending` at "0%", for
  BASE_SECS + PER_GIB_SECS per GiB of all its snapshots (modelled: 4 min for
  a 30 GB root), then makes them `available` / `completed` "100%". The
  instance is not rebooted (NoReboot has no effect: it stays running).
  DescribeImages lists a pending image (Owners=self, filter state=pending).

RunInstances of a pending image is refused (InvalidAMIID.Unavailable,
"AMI 'ami-…' is pending, and cannot be run"), of a deregistered one too
(InvalidAMIID.NotFound, "The image id '[ami-…]' does not exist"). A group
whose launch template names such an image launches nothing: it records a
Failed activity ("AMI ami-… is pending, and cannot be run. Launching EC2
instance failed." / "The AMI ID ami-… does not exist. Launching EC2 instance
failed.") and retries as for spot capacity (spot_capacity.failed_launch).
CreateLaunchTemplate(Version) takes such an image, as moto does (AWS's
guide has the launch fail). An image id the account never had is unchecked.

DeregisterImage with DeleteAssociatedSnapshots deletes the image's
snapshots no other registered image uses and answers DeleteSnapshotResults
(ReturnCode "success", or "skipped" for one another image uses).
DescribeSnapshots honours OwnerIds: "self" (the account), account ids, and
"amazon" (snapshots of images owned by amazon); without OwnerIds it lists
every snapshot, as moto does (AWS: yours, public and shared ones).

Hooks: ec2.image_root reads a baked image's root from its mappings (so
ec2.root-mapping-size holds for it); autoscaling.py catches
spot_capacity.LaunchFailed, which Unrunnable is.

No control API: DescribeImages and DescribeSnapshots show it all; time
passes by /strict-api/advance. A reset (moto's) drops every image.
"""

from __future__ import annotations

import copy
import re
from typing import Any

from moto.core.responses import ActionResult
from moto.ec2.exceptions import EC2ClientError, InvalidTaggableResourceType
from moto.ec2.models import EC2Backend
from moto.ec2.models.amis import Ami
from moto.ec2.models.elastic_block_store import Snapshot
from moto.ec2.responses.amis import AmisResponse
from moto.ec2.responses.elastic_block_store import ElasticBlockStore

from . import core, ec2, spot_capacity
from .core import patch, rule

IMAGE_SNAPSHOTS = rule(
    "ec2.image-snapshots",
    "CreateImage snapshots each EBS volume of the instance (one snapshot each, its size, "
    "listed root first in the image's BlockDeviceMappings); DeregisterImage leaves them, "
    "billed, until DeleteSnapshot (or DeleteAssociatedSnapshots), and DeleteSnapshot of one "
    "a registered image uses is refused (InvalidSnapshot.InUse)",
    "https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/deregister-ami.html",
)
IMAGE_PENDING = rule(
    "ec2.image-pending",
    "A new image is pending (its snapshots pending) for minutes, then available; "
    "RunInstances of a pending image is refused (InvalidAMIID.Unavailable) and a group "
    "launching it records a Failed activity and retries",
    "https://docs.aws.amazon.com/autoscaling/ec2/userguide/ts-as-ami.html#ts-as-ami-2",
    latency="minutes, by the data to snapshot; modelled 60 s + 6 s per GiB of the "
            "instance's EBS volumes (4 min for a 30 GB root)",
)
IMAGE_GONE = rule(
    "ec2.image-deregistered",
    "RunInstances of a deregistered image is refused (InvalidAMIID.NotFound) and a group "
    "launching it records a Failed activity and retries",
    "https://docs.aws.amazon.com/autoscaling/ec2/userguide/ts-as-ami.html#ts-as-ami-1",
)
IMAGE_TAGS = rule(
    "ec2.image-tag-specifications",
    "CreateImage TagSpecifications take resource types image and snapshot only "
    "(InvalidParameterValue otherwise); snapshot tags go on every snapshot it makes",
    "https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_CreateImage.html",
)
IMAGE_NAME = rule(
    "ec2.image-name",
    "A CreateImage Name is 3-128 letters, digits and ( ) [ ] space . / - ' @ _ "
    "(InvalidAMIName.Malformed) and not used by another image of the account in the "
    "region (InvalidAMIName.Duplicate)",
    "https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_CreateImage.html",
)
IMAGE_INSTANCE_STATE = rule(
    "ec2.image-instance-state",
    "CreateImage of an instance that is not running, stopping or stopped (shutting-down, "
    "terminated) is refused (InvalidParameterValue)",
    "https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_CreateImage.html",
)
SNAPSHOT_OWNERS = rule(
    "ec2.snapshot-owners",
    "DescribeSnapshots OwnerIds (self, account ids, amazon) lists only those owners' "
    "snapshots",
    "https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DescribeSnapshots.html",
)

BASE_SECS = 60.0
PER_GIB_SECS = 6.0
MOTO_ROOT = "/dev/sda1"  # where moto attaches an instance's default root volume
NAME = re.compile(r"[A-Za-z0-9()\[\] ./\-'@_]{3,128}")
IMAGEABLE = ("running", "stopping", "stopped")  # what AWS's refusal names


class Unrunnable(spot_capacity.LaunchFailed):
    """An image that cannot be run: RunInstances' error, a group's activity."""

    def __init__(self, code: str, message: str, activity: str) -> None:
        super().__init__(code, message)
        self.activity = activity


# --- CreateImage ----------------------------------------------------------------------


def _check_name(backend: EC2Backend, name: str | None) -> None:
    if not NAME.fullmatch(name or ""):
        raise EC2ClientError(
            "InvalidAMIName.Malformed",
            "AMI names must be between 3 and 128 characters long, and may contain letters, "
            "numbers, '(', ')', '.', '-', '/' and '_'")
    for ami in backend.amis.values():
        if ami.name == name and ami.owner_id == backend.account_id:
            raise EC2ClientError("InvalidAMIName.Duplicate",
                                 f"AMI name {name} is already in use by AMI {ami.id}")


def _split_tags(specs: list[dict]) -> tuple[list[dict], dict[str, str]]:
    image: list[dict] = []
    snapshot: dict[str, str] = {}
    for spec in specs or []:
        kind = spec.get("ResourceType")
        if kind == "image":
            image += spec.get("Tags") or []
        elif kind == "snapshot":
            snapshot.update({t["Key"]: t.get("Value", "") for t in spec.get("Tags") or []})
        else:
            raise InvalidTaggableResourceType(kind)
    return image, snapshot


def _devices(backend: EC2Backend, instance: Any) -> list[dict[str, Any]]:
    """The instance's EBS devices, root first: device, volume (None: none to
    snapshot), size, type, delete on termination."""
    root = instance.root_device_name
    source = backend.amis.get(instance.image_id)
    root_size = ec2.image_root(source)[1] if source is not None else 8
    found = []
    for device, block in instance.block_device_mapping.items():
        volume = backend.volumes.get(block.volume_id)
        if volume is None:
            continue
        entry = {"device": device, "volume": volume, "size": volume.size,
                 "type": volume.volume_type, "delete": bool(block.delete_on_termination)}
        if device == MOTO_ROOT and root != MOTO_ROOT and root not in instance.block_device_mapping:
            # moto's default root volume: the AMI's root, as AWS launches it.
            entry.update(device=root, size=max(volume.size, root_size), type="gp3")
        found.append(entry)
    if not any(e["device"] == root for e in found):
        found.append({"device": root, "volume": None, "size": root_size, "type": "gp3",
                      "delete": True})
    return sorted(found, key=lambda e: e["device"] != root)


def _snapshot(backend: EC2Backend, instance: Any, entry: dict, description: str,
              ami_id: str, tags: dict[str, str]) -> Snapshot:
    volume, spare = entry["volume"], None
    if volume is None or volume.size != entry["size"]:
        volume = spare = backend.create_volume(size=entry["size"],
                                               zone_name=instance._placement.zone)
    snap = backend.create_snapshot(volume.id, description, backend.account_id, from_ami=ami_id)
    if spare is not None:
        backend.delete_volume(spare.id)
    snap.status = "pending"
    if tags:
        snap.add_tags(tags)
    return snap


@patch(EC2Backend, "create_image")
def _create_image(original, self, instance_id, name, description, tag_specifications=()):
    _check_name(self, name)
    image_tags, snapshot_tags = _split_tags(tag_specifications)
    instance = self.get_instance(instance_id)
    if instance._state.name not in IMAGEABLE:
        raise EC2ClientError(
            "InvalidParameterValue",
            f"Invalid value '{instance_id}' for instanceId. Instance is not in state "
            "'running' or 'stopping' or 'stopped'")
    specs = [{"ResourceType": "image", "Tags": image_tags}] if image_tags else []
    ami = original(self, instance_id, name, description, tag_specifications=specs)
    self.snapshots.pop(ami.ebs_snapshot.id, None)  # moto's stand-in
    text = f"Created by CreateImage({instance_id}) for {ami.id}"
    mappings, snaps = [], []
    for entry in _devices(self, instance):
        snap = _snapshot(self, instance, entry, text, ami.id, snapshot_tags)
        snaps.append(snap)
        mappings.append({"DeviceName": entry["device"], "Ebs": {
            "DeleteOnTermination": entry["delete"], "SnapshotId": snap.id,
            "VolumeSize": entry["size"], "VolumeType": entry["type"], "Encrypted": False}})
    ami.strict_mappings = mappings
    ami.ebs_snapshot = snaps[0]
    ami.root_device_name, ami.root_device_type = mappings[0]["DeviceName"], "ebs"
    ami.state = "pending"

    def done() -> None:
        if ami.state == "pending":
            ami.state = "available"
        for snap in snaps:
            snap.status = "completed"

    core.later(BASE_SECS + PER_GIB_SECS * sum(m["Ebs"]["VolumeSize"] for m in mappings), done)
    return ami


_layer_mappings = Ami.block_device_mappings  # ec2.py's (rule ec2.ami-root-devices)


def _mappings(self: Ami) -> list[dict[str, Any]]:
    baked = self.__dict__.get("strict_mappings")
    if core.CONFIG.enabled and baked is not None:
        return copy.deepcopy(baked)
    return _layer_mappings.fget(self)


Ami.block_device_mappings = property(_mappings)

_progress = Snapshot.progress


def _snapshot_progress(self: Snapshot) -> str:
    if core.CONFIG.enabled and self.status == "pending":
        return "0%"
    return _progress.fget(self)


Snapshot.progress = property(_snapshot_progress)


# --- launches ----------------------------------------------------------------------


def check_runnable(backend: EC2Backend, image_id: str | None) -> None:
    ami = backend.amis.get(image_id) if image_id else None
    if ami is not None and ami.state == "pending":
        raise Unrunnable("InvalidAMIID.Unavailable",
                         f"AMI '{image_id}' is pending, and cannot be run",
                         f"AMI {image_id} is pending, and cannot be run. "
                         "Launching EC2 instance failed.")
    if ami is None and image_id in backend.deleted_amis:
        raise Unrunnable("InvalidAMIID.NotFound", f"The image id '[{image_id}]' does not exist",
                         f"The AMI ID {image_id} does not exist. Launching EC2 instance failed.")


@patch(EC2Backend, "run_instances")
def _run_instances(original, self, image_id, count, user_data, security_group_names, **kwargs):
    wanted = image_id
    if not wanted and kwargs.get("launch_template"):
        wanted = self._get_template_from_args(kwargs["launch_template"]).data.get("ImageId")
    check_runnable(self, wanted)
    return original(self, image_id, count, user_data, security_group_names, **kwargs)


# --- deletion and listing ---------------------------------------------------------------


def snapshots_of(ami: Ami) -> list[str]:
    baked = ami.__dict__.get("strict_mappings")
    if baked is not None:
        return [m["Ebs"]["SnapshotId"] for m in baked]
    return [ami.ebs_snapshot.id]


@patch(AmisResponse, "deregister_image")
def _deregister_image(original, self):
    if not self._get_bool_param("DeleteAssociatedSnapshots", False):
        return original(self)
    ami_id = self._get_param("ImageId")
    self.error_on_dryrun()
    backend = self.ec2_backend
    ami = backend.amis.get(ami_id)
    backend.deregister_image(ami_id)  # refuses an unknown or deregistered image
    results = []
    for snap_id in snapshots_of(ami):
        if any(snap_id in snapshots_of(other) for other in backend.amis.values()):
            results.append({"SnapshotId": snap_id, "ReturnCode": "skipped"})
        elif backend.snapshots.pop(snap_id, None) is not None:
            results.append({"SnapshotId": snap_id, "ReturnCode": "success"})
    return ActionResult({"Return": True, "DeleteSnapshotResults": results})


def _owner_matches(backend: EC2Backend, snap: Snapshot, owners: set[str]) -> bool:
    if snap.owner_id in owners:
        return True
    if "amazon" in owners and snap.from_ami:
        ami = backend.amis.get(snap.from_ami)
        return ami is not None and ami.owner_alias == "amazon"
    return False


@patch(ElasticBlockStore, "describe_snapshots")
def _describe_snapshots(original, self):
    owners = self._get_param("OwnerIds", [])
    if not owners:
        return original(self)
    backend = self.ec2_backend
    wanted = {backend.account_id if o == "self" else o for o in owners}
    found = backend.describe_snapshots(snapshot_ids=self._get_param("SnapshotIds", []),
                                       filters=self._filters_from_querystring())
    return ActionResult({"Snapshots": [s for s in found if _owner_matches(backend, s, wanted)]})
