"""Auto Scaling groups as AWS runs them, where moto 5.2.5 stops short.

moto launches a group's instances InService and registered with its target
groups at once (lifecycle.py: launch hooks); replaces an instance terminated
through TerminateInstances within that call, leaving the replacement out of
the target groups; never replaces one set Unhealthy or stopped; launches
every instance on-demand in the first subnet with the template's instance
type, tagged and set up from the template's default version; and drops the
MixedInstancesPolicy on an UpdateAutoScalingGroup that does not repeat it.
Here a group notices a lost instance after a while and replaces it, launches
as its mixed-instances policy says, and records its activities
(scaling_activities.py); spot.py interrupts spot instances from outside.

Control API (server.py): GET /strict-api/autoscaling (lifecycle.py),
POST /strict-api/interrupt (spot.py) and POST /strict-api/spot-capacity
(spot_capacity.py: a spot launch finds no capacity, the group retries; so it
does while its image is pending or deregistered, images.py).
/strict-api/reset and /moto-api/reset clear all of it.
"""

from __future__ import annotations

import copy
import inspect
import math
from collections import Counter
from typing import Any

from moto.autoscaling.models import (
    ASG_NAME_TAG, AutoScalingBackend, FakeAutoScalingGroup, InstanceState)
from moto.autoscaling.exceptions import ValidationError as AutoscalingValidationError
from moto.ec2.models.launch_templates import LaunchTemplate

from . import core, ec2, ec2_stops, lifecycle, size_bounds, spot, spot_capacity  # noqa: F401
from . import scaling_activities as activities
from .core import patch, rule
from .lifecycle import ACTIONS, alive

REPLACE_LOST = rule(
    "autoscaling.replace-lost",
    "A group replaces an instance terminated or stopped from outside (or by a spot "
    "interruption) or set Unhealthy: after detection it leaves the group (a running one "
    "is terminated) and a new one launches from the group's template version, in "
    "another zone where the group has several",
    "https://docs.aws.amazon.com/autoscaling/ec2/userguide/replace-unhealthy-instance.html",
    latency="detection about 30 s (modelled 30 s), then the launch",
)
MIXED = rule(
    "autoscaling.mixed-instances",
    "A mixed-instances group launches the first override's type, spot as its "
    "InstancesDistribution says (on-demand share rounded up), spreads instances over "
    "its subnets' zones; an update without MixedInstancesPolicy keeps it; each "
    "instance reports the template version it was launched from",
    "https://docs.aws.amazon.com/autoscaling/ec2/userguide/ec2-auto-scaling-mixed-instances-groups.html",
)

TERMINATE_UNKNOWN = rule(
    "autoscaling.terminate-not-a-member",
    "TerminateInstanceInAutoScalingGroup of an instance no group holds (a retry after "
    "the first call took it out) answers ValidationError 'Instance Id not found - No "
    "managed instance found for instance ID …' (moto crashes with a 500)",
    "https://docs.aws.amazon.com/autoscaling/ec2/APIReference/CommonErrors.html",
)

DETECT_SECS = 30.0
# Lifecycle states that count toward the desired capacity.
COUNTED = ("Pending", "Pending:Wait", "Pending:Proceed", "InService")

_kind: list[str] = []  # the user request being served: create, update, set, delete
core.on_reset(_kind.clear)


# --- the group's view ------------------------------------------------------------


def _counted(group: Any) -> list[Any]:
    return [s for s in group.instance_states if s.lifecycle_state in COUNTED]


def _suspended(group: Any) -> set[str]:
    return {p["ProcessName"] for p in group.suspended_processes}


def _deregister(group: Any, instance_ids: list[str]) -> None:
    """AWS takes an instance the group removes out of its target groups."""
    elbv2 = group.autoscaling_backend.elbv2_backend
    for arn in group.target_group_arns:
        target_group = elbv2.target_groups.get(arn)
        present = [{"Id": i} for i in instance_ids
                   if target_group is not None and i in target_group.targets]
        if present:
            elbv2.deregister_targets(arn, present)


# --- launching -----------------------------------------------------------------


def _placement(group: Any, avoid_zone: str | None) -> tuple[str | None, str]:
    """(subnet, zone) of the next instance: the least used zone, not the lost
    instance's where there is a choice, then the group's order."""
    if group.vpc_zone_identifier:
        subnets = group.vpc_zone_identifier.split(",")
        zones = {s: group.ec2_backend.get_subnet(s).availability_zone for s in subnets}
    else:
        subnets, zones = [], {z: z for z in group.availability_zones}
    load = Counter(s.instance.placement.zone for s in _counted(group))
    order = list(zones)
    best = min(order, key=lambda k: (zones[k] == avoid_zone, load[zones[k]], order.index(k)))
    return (best if subnets else None), zones[best]


def _market(group: Any) -> tuple[str, bool]:
    """(instance type, spot) of the next instance, as the mixed-instances
    policy says; moto would launch the template's type on-demand."""
    policy = group.mixed_instances_policy or {}
    overrides = (policy.get("LaunchTemplate") or {}).get("Overrides") or []
    # Which pool price-capacity-optimized picks is AWS's to know: the first.
    instance_type = (overrides[0].get("InstanceType") if overrides else None) or \
        group.instance_type
    if not policy:
        return instance_type, False
    spread = policy.get("InstancesDistribution") or {}
    base = int(spread.get("OnDemandBaseCapacity", 0))
    share = int(spread.get("OnDemandPercentageAboveBaseCapacity", 100))
    desired = group.desired_capacity or 0
    wanted = min(desired, base) + math.ceil(max(desired - base, 0) * share / 100)
    on_demand = sum(1 for s in _counted(group) if s.instance.lifecycle != "spot")
    return instance_type, on_demand >= wanted


def _run(group: Any, subnet: str | None, zone: str, instance_type: str,
         on_spot: bool) -> tuple[Any, str | None]:
    """RunInstances as moto's group does it, but from the version the group
    names ("$Latest"/"$Default" resolved), in the chosen subnet."""
    tags = group.get_propagated_tags()
    tags[ASG_NAME_TAG] = group.name
    tags.update(group.instance_tags)
    template = None
    if group.ec2_launch_template is not None:
        version = group.ec2_launch_template.get_version(group.launch_template_version)
        template = {"LaunchTemplateId": group.ec2_launch_template.id,
                    "Version": str(version.number)}
    extra = {"instance_market_options": {"MarketType": "spot"}} if on_spot else {}
    reservation = group.ec2_backend.run_instances(
        group.image_id, 1, group.user_data, group.security_groups,
        instance_type=instance_type, tags={"instance": tags}, placement=zone,
        launch_config=group.launch_config, launch_template=template,
        is_instance_type_default=False, subnet_id=subnet,
        associate_public_ip=(group.launch_config.associate_public_ip_address
                             if group.launch_config else None), **extra)
    instance = reservation.instances[0]
    instance.autoscaling_group = group
    if template is not None:
        _apply_template(group, instance, version.data)
    return instance, template["Version"] if template else None


TEMPLATE_SETTINGS = rule(
    "autoscaling.template-settings",
    "An instance a group launches from a launch template gets the version's "
    "MetadataOptions (IMDSv2, hop limit) and IamInstanceProfile; moto keeps its "
    "defaults (IMDSv1 allowed, no profile)",
    "https://docs.aws.amazon.com/autoscaling/ec2/userguide/launch-templates.html",
)


def _apply_template(group: Any, instance: Any, data: dict) -> None:
    from moto.ec2.models.instances import MetadataOptions

    if options := data.get("MetadataOptions"):
        instance.metadata_options = MetadataOptions(options)
    profile = data.get("IamInstanceProfile") or {}
    if profile.get("Name") or profile.get("Arn"):
        group.ec2_backend.associate_iam_instance_profile(
            instance.id, iam_instance_profile_name=profile.get("Name"),
            iam_instance_profile_arn=profile.get("Arn"))


def _launch(group: Any, count: int, avoid_zone: str | None = None) -> None:
    before = len(_counted(group))
    hook = lifecycle.launch_hook(group)
    for _ in range(count):
        subnet, zone = _placement(group, avoid_zone)
        try:
            instance, version = _run(group, subnet, zone, *_market(group))
        except spot_capacity.LaunchFailed as e:  # no capacity, or images.py: tried again later
            spot_capacity.failed_launch(group, activities.started_cause(before, before + count),
                                        subnet, zone, _retry, e.activity)
            break
        spot_capacity.launched(group)
        state = InstanceState(instance, lifecycle_state="Pending:Wait" if hook else "InService",
                              protected_from_scale_in=group.new_instances_protected_from_scale_in)
        state.launched_version = version
        group.instance_states.append(state)
        activity = activities.launching(
            group, instance, activities.started_cause(before, before + count))
        if hook is None:
            activities.finish(activity)
        else:
            lifecycle.hold(group, state, hook, activity)
    if hook is None and alive(group):  # (a group being created registers after)
        group.autoscaling_backend.update_attached_target_groups(group.name)


def _refill(group: Any, avoid_zone: str | None) -> None:
    if "Launch" in _suspended(group):
        return
    need = (group.desired_capacity or 0) - len(_counted(group))
    if need > 0:
        _launch(group, need, avoid_zone)


def _retry(group: Any) -> None:
    """A launch that found no spot capacity is tried again (as the group's
    policy says now) while the group still wants the instance."""
    if alive(group):
        _refill(group, None)


@patch(FakeAutoScalingGroup, "replace_autoscaling_group_instances")
def _replace(original, self, count_needed, propagated_tags):
    # Every launch moto's group makes (create, scale out) comes here.
    _launch(self, count_needed)


@patch(FakeAutoScalingGroup, "active_instances")
def _active(original, self):
    # Instances waiting on a hook count toward capacity (moto counts InService only).
    return _counted(self)


@patch(FakeAutoScalingGroup, "update")
def _update(original, self, *args, **kwargs):
    asked = inspect.signature(original).bind(self, *args, **kwargs).arguments
    asked.pop("self")
    policy = copy.deepcopy(self.mixed_instances_policy)
    if policy and not any(asked.get(k) for k in ("mixed_instances_policy", "launch_template",
                                                 "launch_config_name")):
        # AWS keeps it; moto would drop it. As asked: the template by id only.
        spec = policy["LaunchTemplate"]["LaunchTemplateSpecification"]
        spec.pop("LaunchTemplateName", None)
        asked["mixed_instances_policy"] = policy
    return original(self, **asked)


_moto_launch_template = InstanceState.launch_template


def _instance_launch_template(self):
    value = _moto_launch_template.fget(self)
    launched = getattr(self, "launched_version", None)
    if core.CONFIG.enabled and value and launched:
        value["Version"] = launched  # moto says the template's default version
    return value


InstanceState.launch_template = property(_instance_launch_template)


@patch(AutoScalingBackend, "update_attached_target_groups")
def _register(original, self, group_name):
    # Only InService instances are registered (moto registers every member).
    group = self.autoscaling_groups[group_name]
    if not group.target_group_arns:
        return
    ready = [s.instance.id for s in group.instance_states
             if s.lifecycle_state == "InService" and s.instance.is_running()]
    for target_group in self.elbv2_backend.describe_target_groups(
            target_group_arns=group.target_group_arns, load_balancer_arn=None, names=None):
        new = [{"Id": i, "Port": target_group.port} for i in ready
               if i not in target_group.targets]
        if new:
            self.elbv2_backend.register_targets(target_group.arn, new)


# --- capacity changes a user asks for --------------------------------------------


def _requested(kind: str):
    def serve(original, self, *args, **kwargs):
        _kind.append(kind)
        try:
            return original(self, *args, **kwargs)
        finally:
            _kind.pop()
    return serve


for _method, _what in [("create_auto_scaling_group", "create"),
                       ("update_auto_scaling_group", "update"),
                       ("set_desired_capacity", "set")]:
    patch(AutoScalingBackend, _method)(_requested(_what))


@patch(FakeAutoScalingGroup, "set_desired_capacity")
def _set_desired_capacity(original, self, new_capacity):
    before = list(self.instance_states)
    old = getattr(self, "desired_capacity", None) or 0
    counted = len(_counted(self))
    kind = _kind[0] if _kind else None
    wanted = self.min_size if new_capacity is None else new_capacity
    with activities.because(activities.user_request(kind, self, old, wanted or 0)):
        original(self, new_capacity)
        for state in [s for s in before if s not in self.instance_states]:
            # moto's scale-in terminated it: say so, and take it out of the targets.
            lifecycle.drop(state.instance.id)
            _deregister(self, [state.instance.id])
            activity = activities.terminating(self, state.instance, activities.shrunk_cause(
                state.instance.id, counted, self.desired_capacity or 0))
            activities.finish_later(activity, ec2.SHUTDOWN_SECS)


@patch(AutoScalingBackend, "delete_auto_scaling_group")
def _delete_auto_scaling_group(original, self, group_name):
    group = self.autoscaling_groups.get(group_name)
    _kind.append("delete")
    try:
        original(self, group_name)
    finally:
        _kind.pop()
    if group is not None:
        activities.forget(group)
        for key in [k for k, h in self.lifecycle_hooks.items()
                    if h.auto_scaling_group_name == group_name]:
            del self.lifecycle_hooks[key]  # AWS deletes a group's hooks with it
        for instance_id in [i for i, a in ACTIONS.items() if a.group is group]:
            lifecycle.drop(instance_id)


@patch(AutoScalingBackend, "terminate_instance")
def _terminate_instance(original, self, instance_id, should_decrement):
    state = next((s for g in self.autoscaling_groups.values() for s in g.instance_states
                  if s.instance.id == instance_id), None)
    if state is None:
        raise AutoscalingValidationError(
            f"Instance Id not found - No managed instance found for instance ID {instance_id}")
    group = state.auto_scaling_group
    desired = group.desired_capacity or 0
    # Recorded first: AWS terminates, then launches the replacement.
    activity = activities.terminating(group, state.instance, activities.user_terminate_cause(
        instance_id, desired, desired - 1 if should_decrement else None))
    lifecycle.drop(instance_id)
    _deregister(group, [instance_id])
    _kind.append("terminate")
    try:
        original(self, instance_id, should_decrement)
    finally:
        _kind.pop()
    activities.finish_later(activity, ec2.SHUTDOWN_SECS)
    return activity


# --- lost instances ------------------------------------------------------------


def _watch(group: Any) -> None:
    core.later(DETECT_SECS, lambda: _detect(group))


@ec2_stops.on_stopped
def _watch_instances(changed: list) -> None:
    for instance, _previous in changed:
        group = getattr(instance, "autoscaling_group", None)
        if group is not None and any(s.instance is instance for s in group.instance_states):
            _watch(group)




@patch(AutoScalingBackend, "notify_terminate_instances")
def _notify_terminate_instances(original, self, instance_ids):
    # moto replaces at once; here the group notices later (_detect).
    return None


@patch(AutoScalingBackend, "set_instance_health")
def _set_instance_health(original, self, instance_id, health_status):
    original(self, instance_id, health_status)
    group = getattr(self.ec2_backend.get_instance(instance_id), "autoscaling_group", None)
    if health_status == "Unhealthy" and group is not None:
        _watch(group)


@patch(AutoScalingBackend, "resume_processes")
def _resume_processes(original, self, group_name, scaling_processes):
    original(self, group_name, scaling_processes)
    _watch(self.autoscaling_groups[group_name])


def _detect(group: Any) -> None:
    """The group's health check: what EC2 lost or a user set Unhealthy goes."""
    if not alive(group):
        return
    suspended = _suspended(group)
    lost = []
    for state in list(group.instance_states):
        gone = state.instance._state.name not in ("pending", "running")
        if gone and "HealthCheck" not in suspended:
            state.health_status = "Unhealthy"
        if state.health_status == "Unhealthy" and "ReplaceUnhealthy" not in suspended:
            lost.append((state, gone))
    for state, gone in lost:
        cause = activities.ec2_check_cause() if gone else activities.user_check_cause()
        _take_out(group, state, cause)
    if lost:
        _refill(group, lost[-1][0].availability_zone)


def _take_out(group: Any, state: Any, cause: str) -> None:
    instance = state.instance
    group.instance_states.remove(state)
    lifecycle.drop(instance.id)
    _deregister(group, [instance.id])
    activity = activities.terminating(group, instance, cause)
    ec2_state = instance._state.name
    if ec2_state in ("pending", "running", "stopping", "stopped"):
        group.ec2_backend.terminate_instances([instance.id])
        activities.finish_later(activity, ec2.SHUTDOWN_SECS)
    else:  # already going: done when EC2 has terminated it
        shutting = ec2_state == "shutting-down"
        activities.finish_later(activity, ec2.SHUTDOWN_SECS - DETECT_SECS if shutting else 0)


lifecycle.replace = _refill
Refused = ValueError  # spot.Refused and lifecycle.Refused: a 400 from the control API
CONTROL = {"/strict-api/autoscaling": lifecycle.state, "/strict-api/interrupt": spot.interrupt,
           "/strict-api/spot-capacity": spot_capacity.configure}


VERSION_USER_DATA = rule(
    "ec2.launch-template-version-user-data",
    "A launch template version made by CreateLaunchTemplateVersion launches with its "
    "UserData (moto stores it unparsed there, and a group launching from that version "
    "fails with an internal error)",
    "https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_CreateLaunchTemplateVersion.html",
)


@patch(LaunchTemplate, "create_version")
def _create_version(original, self, data, description):
    from moto.core.types import Base64EncodedString
    from moto.ec2.utils import parse_user_data

    user_data = data.get("UserData")
    if user_data is not None and not isinstance(user_data, Base64EncodedString):
        data = {**data, "UserData": parse_user_data(user_data)}
    return original(self, data, description)
