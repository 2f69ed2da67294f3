"""Auto Scaling scaling activities: what a group launched and terminated, and
why, as DescribeScalingActivities answers on AWS. moto 5.2.5 answers an empty
list whatever the group did (the activity TerminateInstanceInAutoScalingGroup
returns is not kept). autoscaling.py records one activity here per launch and
per termination a group makes.

Times are the emulator's: wall-clock UTC moved on by /strict-api/advance, so
a test that advances the clock sees later StartTimes.
"""

from __future__ import annotations

import contextlib
import datetime
import json
from dataclasses import dataclass
from typing import Any, Iterator

from moto.autoscaling.responses import AutoScalingResponse
from moto.core.responses import ActionResult
from moto.moto_api._internal import mock_random as random

from . import core
from .core import patch, rule

ACTIVITIES = rule(
    "autoscaling.activities",
    "DescribeScalingActivities lists one activity per launch and per termination the "
    "group made (in progress first, then newest first), with AWS's Description, Cause, "
    "StatusCode, Progress and Details ({\"Subnet ID\", \"Availability Zone\"}); a "
    "deleted group's only with IncludeDeletedGroups",
    "https://docs.aws.amazon.com/autoscaling/ec2/APIReference/API_Activity.html",
)

DONE = ("Successful", "Failed", "Cancelled")


@dataclass
class Activity:
    # Attribute names are the API's, snake_cased: moto serializes them.
    activity_id: str
    auto_scaling_group_name: str
    auto_scaling_group_arn: str
    description: str
    cause: str
    start_time: datetime.datetime
    details: str
    status_code: str = "InProgress"
    progress: int = 20
    end_time: datetime.datetime | None = None
    status_message: str | None = None
    # Not in the API: whose it is, and whether its group is gone.
    where: tuple[str, str] = ("", "")
    deleted: bool = False
    seq: int = 0


_log: list[Activity] = []
_why: list[str] = []  # the user request behind what a group does now


@core.on_reset
def _clear() -> None:
    _log.clear()
    _why.clear()


def utc() -> datetime.datetime:
    """The emulator's wall clock: UTC plus the advanced offset."""
    return (datetime.datetime.now(datetime.timezone.utc)
            + datetime.timedelta(seconds=core.CONFIG.offset))


def stamp() -> str:
    """AWS's time in a Cause: 2026-12-02T02:14:05Z."""
    return utc().strftime("%Y-%m-%dT%H:%M:%SZ")


# --- causes, in AWS's words -------------------------------------------------


def user_request(kind: str | None, group: Any, old: int, new: int) -> str:
    """The sentence that opens a Cause when a user request changed the
    desired capacity (AWS separates sentences with two spaces)."""
    if kind is None or old == new:
        return ""
    t = stamp()
    return {
        "create": f"At {t} a user request created an AutoScalingGroup changing the desired "
                  f"capacity from {old} to {new}.",
        "update": f"At {t} a user request update of AutoScalingGroup constraints to min: "
                  f"{group.min_size}, max: {group.max_size}, desired: {new} changing the "
                  f"desired capacity from {old} to {new}.",
        "set": f"At {t} a user request explicitly set group desired capacity changing the "
               f"desired capacity from {old} to {new}.",
        "delete": f"At {t} a user request deleted the AutoScalingGroup changing the desired "
                  f"capacity from {old} to {new}.",
    }.get(kind, "")


@contextlib.contextmanager
def because(sentence: str) -> Iterator[None]:
    _why.append(sentence)
    try:
        yield
    finally:
        _why.pop()


def _with_why(text: str) -> str:
    why = next((w for w in reversed(_why) if w), "")
    return f"{why}  {text}" if why else text


def started_cause(before: int, after: int) -> str:
    return _with_why(f"At {stamp()} an instance was started in response to a difference "
                     f"between desired and actual capacity, increasing the capacity from "
                     f"{before} to {after}.")


def shrunk_cause(instance_id: str, before: int, after: int) -> str:
    t = stamp()
    return _with_why(f"At {t} an instance was taken out of service in response to a "
                     f"difference between desired and actual capacity, shrinking the capacity "
                     f"from {before} to {after}.  At {t} instance {instance_id} was selected "
                     f"for termination.")


def ec2_check_cause() -> str:
    return (f"At {stamp()} an instance was taken out of service in response to an EC2 "
            "health check indicating it has been terminated or stopped.")


def user_check_cause() -> str:
    return f"At {stamp()} an instance was taken out of service in response to a user health-check."


def user_terminate_cause(instance_id: str, before: int, after: int | None) -> str:
    cause = (f"At {stamp()} instance {instance_id} was taken out of service in response to "
             "a user request")
    return cause + (f", shrinking the capacity from {before} to {after}." if after is not None
                    else ".")


# --- the log ---------------------------------------------------------------------


def record(group: Any, description: str, cause: str, subnet: str | None,
           zone: str | None) -> Activity:
    details = {"Subnet ID": subnet, "Availability Zone": zone}
    activity = Activity(
        activity_id=str(random.uuid4()), auto_scaling_group_name=group.name,
        auto_scaling_group_arn=group.arn, description=description, cause=cause,
        start_time=utc(),
        details=json.dumps({k: v for k, v in details.items() if v}, separators=(",", ":")),
        where=(group.account_id, group.region), seq=len(_log))
    _log.append(activity)
    return activity


def launching(group: Any, instance: Any, cause: str) -> Activity:
    return record(group, f"Launching a new EC2 instance: {instance.id}", cause,
                  instance.subnet_id, instance.placement.zone)


def terminating(group: Any, instance: Any, cause: str) -> Activity:
    activity = record(group, f"Terminating EC2 instance: {instance.id}", cause,
                      instance.subnet_id, instance.placement.zone)
    activity.progress = 50
    return activity


def waiting(activity: Activity) -> None:
    """The launch waits on a lifecycle hook."""
    activity.status_code, activity.progress = "MidLifecycleAction", 30


def finish(activity: Activity, status: str = "Successful", message: str | None = None) -> None:
    if activity.status_code in DONE:
        return
    activity.status_code, activity.progress, activity.end_time = status, 100, utc()
    if message:
        activity.status_message = message
        # AWS puts the reason in the Description too.
        activity.description = f"{activity.description}.  Status Reason: {message}"


def finish_later(activity: Activity, realistic_secs: float) -> None:
    """A termination is done once the instance is terminated."""
    if realistic_secs <= 0:
        finish(activity)
    else:
        core.later(realistic_secs, lambda: finish(activity))


def forget(group: Any) -> None:
    """The group is deleted: its activities are listed only on request."""
    for activity in _log:
        if activity.auto_scaling_group_arn == group.arn:
            activity.deleted = True


# --- DescribeScalingActivities -------------------------------------------------


def _listed(self: AutoScalingResponse) -> list[Activity]:
    name = self._get_param("AutoScalingGroupName")
    ids = self._get_param("ActivityIds", [])
    deleted = self._get_bool_param("IncludeDeletedGroups", False)
    found = [a for a in _log
             if a.where == (self.current_account, self.region)
             and (not name or a.auto_scaling_group_name == name)
             and (not ids or a.activity_id in ids)
             and (deleted or not a.deleted)]
    # In progress first, then newest first (recorded in the order they started).
    return sorted(found, key=lambda a: (a.status_code in DONE, -a.seq))


@patch(AutoScalingResponse, "describe_scaling_activities")
def _describe_scaling_activities(original, self):
    found = _listed(self)
    size = min(self._get_int_param("MaxRecords") or 100, 100)
    start = int(self._get_param("NextToken") or 0)
    page = found[start:start + size]
    token = str(start + size) if start + size < len(found) else None
    return ActionResult({"Activities": page, "NextToken": token})

