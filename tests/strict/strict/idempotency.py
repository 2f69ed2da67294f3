"""RunInstances idempotency: a ClientToken makes a repeated launch return the
first one's reservation instead of launching again.

moto 5.2.5 stores ClientToken on each instance (DescribeInstances shows it)
and ignores it otherwise: a RunInstances retried after its answer was lost
(the fault layer's "lost" kind, or a client that timed out) launches a second
instance. moto's handler also defaults an absent ClientToken to "ABCDE"; here
only a token the request sends counts. Note that the AWS SDKs fill in a
random ClientToken when the caller gives none (the parameter is an
idempotency token in the API model), so an SDK's own retries of one call are
idempotent on AWS, and the same token is sent again on every attempt.

Here (the layer on), a RunInstances that sends a ClientToken:

- is refused when the token is over 64 characters or not ASCII
  (InvalidParameterValue; AWS's constraint, the message is modelled);
- is looked up by token, case-sensitively, in its scope: the account and
  region, and the Availability Zone when the request names one, by
  Placement.AvailabilityZone or implicitly by SubnetId (or a network
  interface's SubnetId) - AWS's "zonal idempotency"; without one the scope
  is the region ("regional idempotency"). The same token in another region
  or another zone launches there;
- a token seen in its scope with the same parameters returns that
  reservation as it is now (same ReservationId and instances, their current
  states) and launches nothing (no checks run again, no instance profile is
  associated again);
- with different parameters it is refused with IdempotentParameterMismatch
  ("Arguments on this idempotent request are inconsistent with arguments used
  in previous request(s)."), and launches nothing. The parameters compared are
  every parameter of the request as parsed from the wire (ImageId,
  InstanceType, MinCount, MaxCount, SubnetId, SecurityGroupIds, UserData,
  LaunchTemplate, IamInstanceProfile, BlockDeviceMappings, TagSpecifications,
  NetworkInterfaces, InstanceMarketOptions, MetadataOptions, ...) except
  ClientToken, DryRun and Placement.AvailabilityZone (the guide: "other than
  the Region or Availability Zone"; the zone is the scope instead);
- a token whose instances are all terminated still returns that reservation
  (the instances shown terminated; nothing is launched) for RETENTION_SECS
  after the last of them was terminated (from its TerminateInstances): the
  API reference's "a client token is valid for at least 24 hours after the
  termination of the instance". After that the token is forgotten and a
  request with it launches anew, as AWS may (24 hours is only the least it
  keeps a token). While any of its instances is not terminated the token is
  kept.

A failed RunInstances (refused by moto or by a rule) records nothing, so
its retry is judged afresh; a DryRun request passes through (it launches
nothing). Requests without a ClientToken are plain moto's.

The sources: https://docs.aws.amazon.com/ec2/latest/devguide/ec2-api-idempotency.html
(client tokens, IdempotentParameterMismatch, RunInstances' regional and
zonal idempotency); the retention and "the only information that might vary
in the response is the state of the instance" are from the guide's earlier
version, https://docs.aws.amazon.com/AWSEC2/latest/APIReference/Run_Instance_Idempotency.html;
the 64-character limit also from
https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_RunInstances.html.

No control API: DescribeInstances shows the instances; time passes by
/strict-api/advance. A reset (moto's) forgets every token.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from moto.core.responses import ActionResult
from moto.ec2.exceptions import EC2ClientError
from moto.ec2.models.instances import Instance, Reservation
from moto.ec2.responses.instances import InstanceResponse

from . import core
from .core import patch, rule

RUN_INSTANCES_IDEMPOTENT = rule(
    "ec2.run-instances-idempotent",
    "RunInstances with a ClientToken seen in the same account, region (and zone, if the "
    "request names one) returns that reservation as it is now and launches nothing; the "
    "same token with other parameters is refused (IdempotentParameterMismatch); a token "
    "is kept until 24 h after its instances were terminated",
    "https://docs.aws.amazon.com/ec2/latest/devguide/ec2-api-idempotency.html",
    latency="a token is kept at least 24 h after its instances' termination; modelled "
            "as exactly 24 h, then forgotten",
)

RETENTION_SECS = 24 * 3600.0
TOKEN_MAX = 64
MISMATCH = ("Arguments on this idempotent request are inconsistent with arguments used "
            "in previous request(s).")
# Not compared: the token itself, DryRun, and the zone (part of the scope).
UNCOMPARED = {"ClientToken", "DryRun"}
STATE_KEY = "RunInstances.Reservation.Instances.Instance.State"


@dataclass
class Launch:
    reservation: Reservation
    request: str  # the compared parameters, canonical JSON


# (account, region, zone or None, token) -> the launch it made
_launches: dict[tuple[str, str, str | None, str], Launch] = {}
# instance id -> when TerminateInstances reached it (core.now())
_terminated: dict[str, float] = {}
core.on_reset(_launches.clear)
core.on_reset(_terminated.clear)


def _check_token(token: str) -> None:
    if len(token) > TOKEN_MAX or not token.isascii():
        raise EC2ClientError(
            "InvalidParameterValue",
            f"Value ({token}) for parameter clientToken is invalid. The client token must "
            f"be at most {TOKEN_MAX} ASCII characters")


def _zone(backend: Any, params: dict) -> str | None:
    """The Availability Zone the request names, explicitly or by a subnet."""
    zone = (params.get("Placement") or {}).get("AvailabilityZone")
    if zone:
        return zone
    subnets = [params.get("SubnetId")] + [
        nic.get("SubnetId") for nic in params.get("NetworkInterfaces") or []]
    for subnet_id in filter(None, subnets):
        try:
            return backend.get_subnet(subnet_id).availability_zone
        except EC2ClientError:
            return None  # moto refuses the unknown subnet itself
    return None


def _request(params: dict) -> str:
    compared = {k: v for k, v in params.items() if k not in UNCOMPARED}
    placement = {k: v for k, v in (compared.pop("Placement", None) or {}).items()
                 if k != "AvailabilityZone"}
    if placement:
        compared["Placement"] = placement
    return json.dumps(compared, sort_keys=True, default=str)


def _expired(launch: Launch) -> bool:
    """All the launch's instances terminated, the last over RETENTION_SECS ago."""
    ended = []
    for instance in launch.reservation.instances:
        if instance._state.name != "terminated":
            return False
        ended.append(_terminated.setdefault(instance.id, core.now()))
    return bool(ended) and core.now() - max(ended) >= core.scaled(RETENTION_SECS)


@patch(Instance, "terminate")
def _terminate(original, self):
    if self._state.name not in ("terminated", "shutting-down"):
        _terminated.setdefault(self.id, core.now())
    return original(self)


@patch(InstanceResponse, "run_instances")
def _run_instances(original, self):
    token = self._get_param("ClientToken")
    if token is None or self._get_param("DryRun"):
        return original(self)
    _check_token(token)
    backend = self.ec2_backend
    params = dict(self.params)
    key = (backend.account_id, backend.region_name, _zone(backend, params), token)
    request = _request(params)
    launch = _launches.get(key)
    if launch is not None and _expired(launch):
        del _launches[key]
        launch = None
    if launch is not None:
        if launch.request != request:
            raise EC2ClientError("IdempotentParameterMismatch", MISMATCH)
        # moto's serializer writes every RunInstances answer "pending": the
        # repeat shows the instances' current states.
        self.RESPONSE_KEY_PATH_TO_TRANSFORMER = {
            k: v for k, v in self.RESPONSE_KEY_PATH_TO_TRANSFORMER.items() if k != STATE_KEY}
        return ActionResult(launch.reservation)
    before = set(backend.reservations)
    answer = original(self)
    made = [r for rid, r in backend.reservations.items() if rid not in before]
    if len(made) == 1:
        _launches[key] = Launch(made[0], request)
    return answer
