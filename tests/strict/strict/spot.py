"""Spot interruptions from outside: EC2 takes a spot instance back.

moto has no interruptions at all (and keeps no spot request for a spot
RunInstances, so DescribeSpotInstanceRequests is empty). Here a test makes EC2
interrupt a running spot instance as AWS does: it goes shutting-down, then
terminated (ec2.py's ec2.shutting-down), with the state reason
Server.SpotInstanceTermination; its target groups drop it, and a group it
belongs to replaces it (autoscaling.replace-lost). A holder of its stack's
writer lease drains first, as its "drain" setting says (lease.py).

Control API (server.py): POST /strict-api/interrupt {"instance": "i-…"}
answers {"instance": "i-…", "state": "shutting-down",
         "state_reason": {"code": "Server.SpotInstanceTermination",
                          "message": "Server.SpotInstanceTermination: Spot instance termination"}};
an unknown instance, an on-demand one, or one not pending/running is refused
with 400 {"error": "…"}, and so is any call while the strict layer is off.
"""

from __future__ import annotations

from typing import Any

from moto.ec2.models import ec2_backends
from moto.ec2.models.instances import StateReason
from moto.elbv2.models import elbv2_backends

from . import core, lease
from . import scaling_activities as activities
from .core import rule

SPOT_INTERRUPTION = rule(
    "ec2.spot-interruption",
    "POST /strict-api/interrupt interrupts a running spot instance: shutting-down, then "
    "terminated, with StateReason Server.SpotInstanceTermination; an Auto Scaling group "
    "replaces it",
    "https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/spot-interruptions.html",
)

CODE = "Server.SpotInstanceTermination"
MESSAGE = "Server.SpotInstanceTermination: Spot instance termination"


class Refused(ValueError):
    pass


def _find(instance_id: str) -> tuple[Any, Any] | None:
    for account in ec2_backends.values():
        for backend in account.values():
            found = backend.get_instance_by_id(instance_id)
            if found is not None:
                return backend, found
    return None


def interrupt(asked: dict[str, Any]) -> dict[str, Any]:
    core.tick()  # what was due before the interruption happens first
    if not core.CONFIG.enabled:
        raise Refused("the strict layer is off: plain moto has no spot interruptions")
    if set(asked) - {"instance"} or not isinstance(asked.get("instance"), str):
        raise Refused('the body is {"instance": "i-…"}')
    instance_id = asked["instance"]
    found = _find(instance_id)
    if found is None:
        raise Refused(f"no instance {instance_id}")
    backend, instance = found
    if instance.lifecycle != "spot":
        raise Refused(f"{instance_id} is an on-demand instance: only spot instances "
                      "are interrupted")
    if instance._state.name not in ("pending", "running"):
        raise Refused(f"{instance_id} is {instance._state.name}: only a running spot "
                      "instance is interrupted")
    lease.notice(instance)  # a holder set to drain releases the writer lease first
    backend.terminate_instances([instance_id])  # shutting-down; its group is told
    elbv2_backends[backend.account_id][backend.region_name].notify_terminate_instances(
        [instance_id])
    instance.state_reason = StateReason(MESSAGE, CODE)
    instance._reason = f"Service initiated ({activities.utc():%Y-%m-%d %H:%M:%S} GMT)"
    return {"instance": instance_id, "state": instance._state.name,
            "state_reason": {"code": CODE, "message": MESSAGE}}
