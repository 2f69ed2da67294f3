"""A group's sizes as AWS keeps them: MinSize <= DesiredCapacity <= MaxSize.

moto 5.2.5 checks none of it: CreateAutoScalingGroup with a desired capacity
outside [min, max], or with min > max, makes the group (and launches the
desired count); UpdateAutoScalingGroup likewise takes a DesiredCapacity over
the group's max or under its min, and a MinSize over its MaxSize.

On an update, what is left out keeps the group's current value and the check
applies to the sizes that result. A DesiredCapacity left out is not refused:
AWS documents that a new MinSize above the group's size, or a new MaxSize
below it, sets the desired capacity to it (moto does so against the instance
count; here against the desired capacity, so it never ends outside the
bounds). Only calls from the API are checked (CloudFormation and moto's own
calls are not).
"""

from __future__ import annotations

import inspect

from moto.autoscaling.exceptions import ValidationError
from moto.autoscaling.models import AutoScalingBackend

from . import core
from .core import patch, rule

SIZE_BOUNDS = rule(
    "autoscaling.size-bounds",
    "CreateAutoScalingGroup and UpdateAutoScalingGroup refuse sizes that are not "
    "MinSize <= DesiredCapacity <= MaxSize (on an update, omitted sizes keep the group's; "
    "an omitted DesiredCapacity follows a new MinSize or MaxSize) with ValidationError; "
    "moto makes such a group",
    "https://docs.aws.amazon.com/autoscaling/ec2/APIReference/API_UpdateAutoScalingGroup.html",
)


def _int(value):
    return None if value is None else int(value)


def _check(min_size, max_size, desired) -> None:
    if min_size is not None and max_size is not None and min_size > max_size:
        raise ValidationError(
            f"Max bound, {max_size}, must be greater than or equal to min bound, {min_size}")
    if desired is None:
        return
    if (min_size is not None and desired < min_size) or \
            (max_size is not None and desired > max_size):
        raise ValidationError(f"Desired capacity:{desired} must be between the specified "
                              f"min size:{min_size} and max size:{max_size}")


def _arguments(original, self, args, kwargs) -> dict:
    asked = inspect.signature(original).bind(self, *args, **kwargs).arguments
    asked.pop("self")
    return asked


@patch(AutoScalingBackend, "create_auto_scaling_group")
def _create(original, self, *args, **kwargs):
    if core.from_api():
        asked = _arguments(original, self, args, kwargs)
        _check(_int(asked.get("min_size")), _int(asked.get("max_size")),
               _int(asked.get("desired_capacity")))
    return original(self, *args, **kwargs)


@patch(AutoScalingBackend, "update_auto_scaling_group")
def _update(original, self, *args, **kwargs):
    asked = _arguments(original, self, args, kwargs)
    group = self.autoscaling_groups.get(asked.get("name"))
    if group is None or not core.from_api():
        return original(self, **asked)  # moto's own answer for an unknown group
    min_asked, max_asked = _int(asked.get("min_size")), _int(asked.get("max_size"))
    min_size = group.min_size if min_asked is None else min_asked
    max_size = group.max_size if max_asked is None else max_asked
    desired = _int(asked.get("desired_capacity"))
    _check(min_size, max_size, desired)
    current = group.desired_capacity
    if desired is None and current is not None:
        # AWS: a new min above the group's size, or max below it, becomes its desired capacity.
        if min_asked is not None and current < min_asked:
            asked["desired_capacity"] = min_asked
        elif max_asked is not None and current > max_asked:
            asked["desired_capacity"] = max_asked
    return original(self, **asked)
