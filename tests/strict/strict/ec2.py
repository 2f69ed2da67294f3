"""EC2: dependency violations, RunInstances checks, instance shutdown, AMI
root devices, idempotency tokens and the limits moto does not check."""

from __future__ import annotations

import base64
import datetime

from moto.ec2.exceptions import EC2ClientError
from moto.ec2.models import EC2Backend
from moto.ec2.models.amis import Ami
from moto.ec2.models.instances import InstanceState
from moto.ec2.responses._base_response import EC2BaseResponse

from . import core, interfaces
from .core import BIRTHS, patch, rule

SG_IN_USE = rule(
    "ec2.sg-in-use",
    "DeleteSecurityGroup is refused (DependencyViolation) while another group's rule "
    "references the group, or while a network interface still uses it",
    "https://docs.aws.amazon.com/vpc/latest/userguide/deleting-security-groups.html",
)
ROOT_TOO_SMALL = rule(
    "ec2.root-mapping-size",
    "RunInstances refuses a root device mapping smaller than the AMI's snapshot "
    "(InvalidBlockDeviceMapping)",
    "https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/block-device-mapping-concepts.html",
)
PROFILE_PROPAGATION = rule(
    "ec2.instance-profile-propagation",
    "RunInstances refuses an instance profile IAM created moments ago "
    "(InvalidParameterValue: Invalid IAM Instance Profile name)",
    "https://docs.aws.amazon.com/IAM/latest/UserGuide/troubleshoot_iam-ec2.html",
    latency="seconds, up to about 2 minutes; modelled as 60 s",
)
USER_DATA_LIMIT = rule(
    "ec2.user-data-16k",
    "RunInstances refuses user data over 16 KB (raw, before base64)",
    "https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/user-data.html",
)
SHUTDOWN = rule(
    "ec2.shutting-down",
    "A terminated instance is shutting-down for a while; its interface keeps its "
    "groups, subnet and public address in use until it is terminated",
    "https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/terminating-instances.html",
    latency="about a minute (modelled 60 s)",
)
NETWORK_TEARDOWN = rule(
    "ec2.network-teardown",
    "DeleteSubnet, DeleteVpc and DetachInternetGateway are refused "
    "(DependencyViolation) while interfaces or mapped public addresses remain",
    "https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DetachInternetGateway.html",
)
SG_DESCRIPTION = rule(
    "ec2.sg-description",
    "A security group description is at most 255 ASCII characters",
    "https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_CreateSecurityGroup.html",
)
TAG_LIMITS = rule(
    "ec2.tag-limits",
    "Tag keys are at most 128 characters and values at most 256",
    "https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/Using_Tags.html#tag-restrictions",
)
AMI_ROOTS = rule(
    "ec2.ami-root-devices",
    "Images report their real root device and snapshot size: Amazon Linux 2023 "
    "/dev/xvda at 8 GiB; the Deep Learning Base GPU AMI (AL2023) /dev/xvda, "
    "larger than 30 GB (modelled 65 GB), under its public SSM parameter",
    "https://docs.aws.amazon.com/dlami/latest/devguide/appendix-ami-release-notes.html",
)

PROFILE_SECS = 60.0
SHUTDOWN_SECS = 60.0
USER_DATA_MAX = 16 * 1024


def _dependency(message: str) -> EC2ClientError:
    return EC2ClientError("DependencyViolation", message)


# --- security groups -------------------------------------------------------


def _referencing_groups(backend: EC2Backend, group_id: str) -> list[str]:
    found = []
    for groups in backend.groups.values():
        for group in groups.values():
            if group.id == group_id:
                continue
            for r in list(group.ingress_rules) + list(group.egress_rules):
                if (r.source_group or {}).get("GroupId") == group_id:
                    found.append(group.id)
                    break
    return found


@patch(EC2Backend, "delete_security_group")
def _delete_security_group(original, self, name=None, group_id=None):
    gid = group_id
    if gid is None and name is not None:
        group = self.get_security_group_by_name_or_id(name)
        gid = group.id if group else None
    if gid is not None:
        refs = _referencing_groups(self, gid)
        if refs:
            raise _dependency(
                f"resource {gid} has a dependent object (referenced by {', '.join(refs)})")
        users = interfaces.users_of_group(self, gid)
        if users:
            raise _dependency(f"resource {gid} has a dependent object ({users[0]})")
    return original(self, name=name, group_id=group_id)


@patch(EC2Backend, "create_security_group")
def _create_security_group(original, self, name, description, *args, **kwargs):
    if len(description) > 255 or not description.isascii():
        raise EC2ClientError(
            "InvalidParameterValue",
            "Invalid security group description: at most 255 ASCII characters")
    return original(self, name, description, *args, **kwargs)


# --- tags ----------------------------------------------------------------------


def _check_tags(tags: dict[str, str]) -> None:
    for key, value in tags.items():
        if len(key) > 128:
            raise EC2ClientError("InvalidParameterValue",
                                 f"Tag key exceeds the maximum length of 128 characters: {key[:20]}…")
        if value is not None and len(value) > 256:
            raise EC2ClientError("InvalidParameterValue",
                                 f"Tag value exceeds the maximum length of 256 characters (key {key})")


@patch(EC2BaseResponse, "_parse_tag_specification")
def _parse_tag_specification(original, self, *args, **kwargs):
    parsed = original(self, *args, **kwargs)
    for tags in parsed.values():
        _check_tags(tags)
    return parsed


@patch(EC2Backend, "create_tags")
def _create_tags(original, self, resource_ids, tags):
    _check_tags(tags)
    return original(self, resource_ids, tags)


# --- images --------------------------------------------------------------------

AL2023_ROOT = ("/dev/xvda", 8)
GPU_ROOT = ("/dev/xvda", 65)
GPU_AMI_NAME = "Deep Learning Base OSS Nvidia Driver GPU AMI (Amazon Linux 2023) 20261101"
GPU_PARAM = ("/aws/service/deeplearning/ami/x86_64/"
             "base-oss-nvidia-driver-gpu-amazon-linux-2023/latest/ami-id")


def image_root(ami: Ami) -> tuple[str, int]:
    """(root device, snapshot GiB) of an image, as AWS reports it."""
    if baked := getattr(ami, "strict_mappings", None):  # an image CreateImage made (images.py)
        return baked[0]["DeviceName"], baked[0]["Ebs"]["VolumeSize"]
    name = ami.name or ""
    if "Deep Learning" in name:
        return GPU_ROOT
    if name.startswith("al2023-ami"):
        return AL2023_ROOT
    return ami.root_device_name, 15


_original_mappings = Ami.block_device_mappings


def _mappings(self: Ami):
    if not core.CONFIG.enabled:
        return _original_mappings.fget(self)
    device, size = image_root(self)
    mapping = _original_mappings.fget(self)
    mapping[0]["DeviceName"] = device
    mapping[0]["Ebs"]["VolumeSize"] = size
    mapping[0]["Ebs"]["VolumeType"] = "gp3"
    return mapping


Ami.block_device_mappings = property(_mappings)

def gpu_image(backend: EC2Backend) -> Ami:
    """The Deep Learning Base GPU AMI, registered once per region."""
    for ami in backend.amis.values():
        if ami.name == GPU_AMI_NAME:
            return ami
    ami = Ami(backend, ami_id=f"ami-0{abs(hash(backend.region_name)) % 16**16:016x}",
              name=GPU_AMI_NAME, owner_id="898082745236", owner_alias="amazon",
              architecture="x86_64", root_device_name="/dev/xvda", root_device_type="ebs",
              virtualization_type="hvm", public=True,
              creation_date=datetime.datetime(2026, 11, 1, tzinfo=datetime.timezone.utc))
    backend.amis[ami.id] = ami
    return ami


@patch(EC2Backend, "describe_images")
def _describe_images(original, self, *args, **kwargs):
    gpu_image(self)
    images = original(self, *args, **kwargs)
    for ami in images:
        ami.root_device_name = image_root(ami)[0]
    return images


# --- instances -----------------------------------------------------------------


def _root_check(backend: EC2Backend, image_id: str, mappings: list[dict]) -> None:
    try:
        ami = backend.describe_images(ami_ids=[image_id])[0]
    except Exception:
        return
    device, size = image_root(ami)
    for m in mappings or []:
        if m.get("DeviceName") != device:
            continue
        asked = (m.get("Ebs") or {}).get("VolumeSize")
        if asked is not None and int(asked) < size:
            raise EC2ClientError(
                "InvalidBlockDeviceMapping",
                f"Volume of size {asked}GB is smaller than snapshot for {device} "
                f"({size}GB); expect size >= {size}GB")


def _profile_check(kwargs: dict) -> None:
    from moto.iam.models import iam_backends

    name = kwargs.get("iam_instance_profile_name")
    arn = kwargs.get("iam_instance_profile_arn")
    for account in iam_backends.values():
        backend = account["global"]
        for profile in backend.instance_profiles.values():
            if profile.name == name or profile.arn == arn:
                if BIRTHS.younger_than(profile.arn, PROFILE_SECS):
                    raise EC2ClientError(
                        "InvalidParameterValue",
                        f"Value ({name or arn}) for parameter iamInstanceProfile.name "
                        "is invalid. Invalid IAM Instance Profile name")


def _user_data_check(user_data) -> None:
    if user_data is None:
        return
    raw = base64.b64decode(user_data.as_bytes())
    if len(raw) > USER_DATA_MAX:
        raise EC2ClientError(
            "InvalidParameterValue",
            f"User data is limited to 16384 bytes (got {len(raw)})")


@patch(EC2Backend, "run_instances")
def _run_instances(original, self, image_id, count, user_data, security_group_names, **kwargs):
    _user_data_check(user_data)
    _root_check(self, image_id, kwargs.get("block_device_mappings"))
    _profile_check(kwargs)
    reservation = original(self, image_id, count, user_data, security_group_names, **kwargs)
    for instance in reservation.instances:
        BIRTHS.born(instance.id)
    return reservation


@patch(EC2Backend, "terminate_instances")
def _terminate_instances(original, self, instance_ids):
    live = {i.id: i for i in self.get_multi_instances_by_id(instance_ids)
            if i._state.name not in ("terminated", "shutting-down")}
    for instance in live.values():
        subnet = self.get_subnet(instance.subnet_id) if instance.subnet_id else None
        interfaces.linger(
            f"instance {instance.id} (shutting-down)",
            {g.id for g in instance.security_groups},
            instance.subnet_id, subnet.vpc_id if subnet else None,
            bool(instance.public_ip), SHUTDOWN_SECS)
    result = original(self, instance_ids)
    for instance in live.values():
        instance._state = InstanceState("shutting-down", 32)

        def done(i=instance):
            i._state = InstanceState("terminated", 48)

        core.later(SHUTDOWN_SECS, done)
    return result


# --- network teardown ------------------------------------------------------------


@patch(EC2Backend, "delete_subnet")
def _delete_subnet(original, self, subnet_id):
    users = interfaces.users_of_subnet(self, subnet_id)
    if users:
        raise _dependency(f"The subnet '{subnet_id}' has dependencies and cannot be deleted "
                          f"({users[0]})")
    return original(self, subnet_id)


@patch(EC2Backend, "delete_vpc")
def _delete_vpc(original, self, vpc_id):
    users = interfaces.users_of_vpc(self, vpc_id)
    if users:
        raise _dependency(f"The vpc '{vpc_id}' has dependencies and cannot be deleted "
                          f"({users[0]})")
    return original(self, vpc_id)


@patch(EC2Backend, "detach_internet_gateway")
def _detach_internet_gateway(original, self, internet_gateway_id, vpc_id):
    users = interfaces.public_users_in_vpc(self, vpc_id)
    if users:
        raise _dependency(
            f"Network {vpc_id} has some mapped public address(es). Please unmap those "
            f"public address(es) before detaching the gateway. ({users[0]})")
    return original(self, internet_gateway_id, vpc_id)
