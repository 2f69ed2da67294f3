"""Spot capacity running out: EC2 has no spot capacity for a request.

moto always has capacity: every spot launch succeeds. Here a test can take the
spot capacity away. Then a spot RunInstances fails with
InsufficientInstanceCapacity (HTTP 500), and an Auto Scaling group whose
mixed-instances policy wants a spot instance launches nothing: it records a
Failed scaling activity and tries again while its desired capacity is unmet
(autoscaling.py calls failed_launch()). An on-demand launch is not affected:
an UpdateAutoScalingGroup to OnDemandPercentageAboveBaseCapacity 100 makes the
next try launch on-demand.

Failed activities recorded per group: one per try for the first 3 tries of an
outage, then at most one per 60 s (modelled); a launch of the group that
succeeds ends its outage.

Docs: https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/troubleshooting-launch.html#troubleshooting-launch-capacity
and, for what a mixed-instances group launches spot,
https://docs.aws.amazon.com/autoscaling/ec2/userguide/ec2-auto-scaling-mixed-instances-groups.html

Control API (server.py): POST /strict-api/spot-capacity {"available": false}
or {"available": true} answers {"available": <bool>} (true by default); any
other body, or any call while the strict layer is off, is refused with 400
{"error": "…"} and changes nothing. /strict-api/reset and /moto-api/reset
make capacity available again.
"""

from __future__ import annotations

from typing import Any

from moto.ec2.exceptions import EC2ClientError
from moto.ec2.models import EC2Backend
from moto.ec2.responses.instances import InstanceResponse

from . import core
from . import scaling_activities as activities
from .core import patch, rule

SPOT_CAPACITY = rule(
    "ec2.spot-capacity",
    "POST /strict-api/spot-capacity {\"available\": false} takes spot capacity away: a spot "
    "RunInstances fails with InsufficientInstanceCapacity (HTTP 500); a group that would "
    "launch spot launches nothing, records a Failed activity and retries while its desired "
    "capacity is unmet (on-demand launches succeed)",
    "https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/troubleshooting-launch.html"
    "#troubleshooting-launch-capacity",
    latency="a group retries every 10 s modelled (AWS backs off, up to minutes between tries); "
            "Failed activities: each of the first 3 tries, then at most one per 60 s",
)

CODE = "InsufficientInstanceCapacity"
EC2_MESSAGE = "There is no Spot capacity available that matches your request."
MESSAGE = (f"Could not launch Spot Instances. {CODE} - {EC2_MESSAGE} "
           "Launching EC2 instance failed.")
RETRY_SECS = 10.0
FIRST_RECORDED = 3
RECORD_EVERY_SECS = 60.0

_capacity = {"available": True}


@core.on_reset
def _restore() -> None:
    _capacity["available"] = True


class Refused(ValueError):
    pass


class LaunchFailed(EC2ClientError):
    """A launch EC2 refuses. A group's launch that meets one records a Failed
    activity with `activity` as its status message and tries again
    (failed_launch); images.py raises them for images that cannot be run."""

    activity = MESSAGE


class InsufficientCapacity(LaunchFailed):
    """AWS answers it with HTTP 500 (a server-side condition)."""

    def __init__(self) -> None:
        super().__init__(CODE, EC2_MESSAGE)


def available() -> bool:
    return _capacity["available"]


def configure(asked: dict[str, Any]) -> dict[str, Any]:
    """POST /strict-api/spot-capacity."""
    core.tick()
    if not core.CONFIG.enabled:
        raise Refused("the strict layer is off: plain moto always has spot capacity")
    if set(asked) != {"available"} or not isinstance(asked["available"], bool):
        raise Refused('the body is {"available": true} or {"available": false}')
    _capacity["available"] = asked["available"]
    return {"available": available()}


def _is_spot(market: Any) -> bool:
    # "spot" from the API (moto reads MarketType only), a dict from a group.
    return market == "spot" or (isinstance(market, dict) and market.get("MarketType") == "spot")


@patch(EC2Backend, "run_instances")
def _run_instances(original, self, image_id, count, user_data, security_group_names, **kwargs):
    if not available() and _is_spot(kwargs.get("instance_market_options")):
        raise InsufficientCapacity()
    return original(self, image_id, count, user_data, security_group_names, **kwargs)


@patch(InstanceResponse, "run_instances")
def _run_instances_response(original, self):
    try:
        return original(self)
    except InsufficientCapacity as e:
        from moto.core.responses import ActionResult

        _status, headers, body = self.serialized(ActionResult(e))
        return body, {**headers, "status": 500}


# --- a group's launch ----------------------------------------------------------------


def launched(group: Any) -> None:
    """A launch of the group succeeded: its outage, if any, is over."""
    group.__dict__.pop("_spot_outage", None)


def failed_launch(group: Any, cause: str, subnet: str | None, zone: str | None,
                  retry: Any, message: str = MESSAGE) -> None:
    """The group's launch failed (no spot capacity, or a LaunchFailed's
    `activity`): a Failed activity (capped), and a retry in RETRY_SECS unless
    one is due already."""
    outage = group.__dict__.setdefault("_spot_outage", {"tries": 0, "last": None,
                                                        "retrying": False})
    outage["tries"] += 1
    last = outage["last"]
    if (outage["tries"] <= FIRST_RECORDED or last is None
            or core.now() - last >= core.scaled(RECORD_EVERY_SECS)):
        outage["last"] = core.now()
        activity = activities.record(group, "Launching a new EC2 instance", cause, subnet, zone)
        activities.finish(activity, "Failed", message)
    if outage["retrying"]:
        return
    outage["retrying"] = True

    def again() -> None:
        outage["retrying"] = False
        retry(group)

    core.later(RETRY_SECS, again)
