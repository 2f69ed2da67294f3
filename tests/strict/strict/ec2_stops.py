"""Who hears of instances stopping or terminating, by any EC2 call: one patch
of TerminateInstances and StopInstances, and the modules that listen (the
lease stops renewing, a group notices its loss, a bare instance stops
serving). Each listener gets moto's (instance, previous state) pairs."""

from __future__ import annotations

from typing import Any, Callable

from moto.ec2.models import EC2Backend

from .core import patch

_LISTENERS: list[Callable[[list], None]] = []


def on_stopped(listener: Callable[[list], None]) -> Callable[[list], None]:
    _LISTENERS.append(listener)
    return listener


def _told(changed: list) -> list:
    for listener in _LISTENERS:
        listener(changed)
    return changed


@patch(EC2Backend, "terminate_instances")
def _terminate_instances(original, self: Any, instance_ids):
    return _told(original(self, instance_ids))


@patch(EC2Backend, "stop_instances")
def _stop_instances(original, self: Any, instance_ids):
    return _told(original(self, instance_ids))
