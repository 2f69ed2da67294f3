"""EFS: file systems and mount targets take time to create and delete, a
deleting mount target's interface keeps its security group in use, and the
creation token has a length limit."""

from __future__ import annotations

from moto.efs.exceptions import BadRequest, EFSError
from moto.efs.models import EFSBackend

from . import core
from .core import patch, rule

LIFECYCLE = rule(
    "efs.lifecycle",
    "A file system and a mount target are `creating` before `available`; a deleted mount "
    "target is `deleting` for a while and its interface keeps its security group in use; "
    "DeleteFileSystem answers FileSystemInUse until every mount target is gone",
    "https://docs.aws.amazon.com/efs/latest/ug/API_DeleteMountTarget.html",
    latency="file system seconds (modelled 10 s); mount target about 90 s to create "
    "and 60 s to delete (modelled so)",
)
TOKEN_LIMIT = rule(
    "efs.creation-token-64",
    "CreateFileSystem's CreationToken is 1 to 64 characters",
    "https://docs.aws.amazon.com/efs/latest/ug/API_CreateFileSystem.html",
)

class IncorrectFileSystemLifeCycleState(EFSError):
    code = 409

    def __init__(self, state: str):
        super().__init__("IncorrectFileSystemLifeCycleState",
                         f"File system is '{state}', not 'available'")


FS_CREATE_SECS = 10.0
MT_CREATE_SECS = 90.0
MT_DELETE_SECS = 60.0


@patch(EFSBackend, "create_file_system")
def _create_file_system(original, self, creation_token, *args, **kwargs):
    if not 1 <= len(creation_token) <= 64:
        raise BadRequest(
            f"1 validation error detected: Value at 'creationToken' failed to satisfy "
            f"constraint: Member must have length less than or equal to 64 "
            f"(got {len(creation_token)})")
    fs = original(self, creation_token, *args, **kwargs)
    fs.life_cycle_state = "creating"
    core.later(FS_CREATE_SECS, lambda: setattr(fs, "life_cycle_state", "available"))
    return fs


@patch(EFSBackend, "create_mount_target")
def _create_mount_target(original, self, file_system_id, *args, **kwargs):
    fs = self.file_systems_by_id.get(file_system_id)
    if fs is not None and fs.life_cycle_state != "available":
        raise IncorrectFileSystemLifeCycleState(fs.life_cycle_state)
    mt = original(self, file_system_id, *args, **kwargs)
    mt.life_cycle_state = "creating"

    def available():
        if mt.life_cycle_state == "creating":
            mt.life_cycle_state = "available"

    core.later(MT_CREATE_SECS, available)
    return mt


@patch(EFSBackend, "delete_mount_target")
def _delete_mount_target(original, self, mount_target_id):
    mt = self.mount_targets_by_id.get(mount_target_id)
    if mt is None or mt.life_cycle_state == "deleting":
        return original(self, mount_target_id) if mt is None else None
    mt.life_cycle_state = "deleting"

    def gone():
        if mount_target_id in self.mount_targets_by_id:
            original(self, mount_target_id)

    core.later(MT_DELETE_SECS, gone)
    return None
