"""Launch lifecycle hooks, and the fake instance's boot that completes them.

moto 5.2.5 keeps hooks (PutLifecycleHook, DescribeLifecycleHooks) but nothing
waits on them: instances are InService and registered at once,
CompleteLifecycleAction and RecordLifecycleActionHeartbeat are not implemented
(HTTP 500), CreateAutoScalingGroup's LifecycleHookSpecificationList is ignored
and any HeartbeatTimeout is accepted. autoscaling.py hands each new instance
of a group with a launch hook to hold() here.

Control API (server.py): GET /strict-api/autoscaling answers the waiting actions
    {"lifecycle_actions": [{"instance": "i-…", "group": "<name>", "hook": "<name>",
                            "token": "<LifecycleActionToken>",
                            "default_result": "ABANDON",
                            "seconds_left": 840.0}]}      (realistic seconds)
The fake instance's boot is instance.py's per-instance / "*" setting
    POST /strict-api/instance {"instance": "*",
                               "boot": "complete" | "hold" | "unhealthy"}.
It takes the stack's writer lease first (lease.py: GET /strict-api/lease) and
writes its stage markers as it goes (switch.py: GET /strict-api/switch, and
the `# geusemaker:stage` Run Command).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from moto.autoscaling.exceptions import ValidationError
from moto.autoscaling.models import AutoScalingBackend
from moto.autoscaling.responses import AutoScalingResponse
from moto.core.responses import EmptyResult
from moto.moto_api._internal import mock_random as random

from . import core
from . import instance as fake
from . import lease, switch
from . import scaling_activities as activities
from .core import patch, rule

LAUNCH_HOOK = rule(
    "autoscaling.launch-hook",
    "With an autoscaling:EC2_INSTANCE_LAUNCHING hook (PutLifecycleHook or "
    "CreateAutoScalingGroup's LifecycleHookSpecificationList), each new instance waits "
    "in Pending:Wait, out of the target groups, until CompleteLifecycleAction (CONTINUE: "
    "InService and registered; ABANDON: terminated and replaced) or HeartbeatTimeout "
    "(30..7200 s; RecordLifecycleActionHeartbeat restarts it) applies DefaultResult",
    "https://docs.aws.amazon.com/autoscaling/ec2/userguide/lifecycle-hooks.html",
)
INSTANCE_BOOT = rule(
    "autoscaling.instance-boot",
    "The fake instance boots as the product's user data does: once booted, if n8n and "
    "postgres run healthy and its agent is online (instance.py settings; \"boot\": "
    "\"hold\" never), it takes its stack's writer lease (efs.writer-lease; waiting while "
    "another instance holds it), associates the Elastic IP tagged with its Stack tag and "
    "completes its launch hook with CONTINUE; \"boot\": \"unhealthy\" takes the lease "
    "and starts but never completes the hook (its n8n never gets healthy)",
    "https://docs.aws.amazon.com/autoscaling/ec2/userguide/completing-lifecycle-hooks.html",
    latency="boot about a minute (modelled 60 s)",
)

BOOT_SECS = 60.0
HOOK_TIMEOUT = (30, 7200)
LAUNCHING = "autoscaling:EC2_INSTANCE_LAUNCHING"


class Refused(ValueError):
    pass


@dataclass(eq=False)
class Action:
    """A lifecycle action: one instance waiting on its group's launch hook."""
    group: Any
    state: Any
    hook: Any
    activity: Any
    token: str = field(default_factory=lambda: str(random.uuid4()))
    deadline: float = 0.0
    beat: int = 0


ACTIONS: dict[str, Action] = {}
core.on_reset(ACTIONS.clear)

# What the group does after an ABANDON: autoscaling.py launches a replacement.
replace: Callable[[Any, str | None], None] = lambda group, zone: None


def drop(instance_id: str) -> None:
    """The group removed a waiting instance (scale-in, replacement, deletion):
    its action ends, and its launch with it."""
    action = ACTIONS.pop(instance_id, None)
    if action is not None:
        activities.finish(action.activity, "Cancelled")


def alive(group: Any) -> bool:
    return group.autoscaling_backend.autoscaling_groups.get(group.name) is group


def launch_hook(group: Any) -> Any:
    """The group's launch hook (with several, the first by name is modelled)."""
    hooks = [h for h in group.autoscaling_backend.lifecycle_hooks.values()
             if h.auto_scaling_group_name == group.name and h.lifecycle_transition == LAUNCHING]
    return min(hooks, key=lambda h: h.name) if hooks else None


def hold(group: Any, state: Any, hook: Any, activity: Any) -> None:
    """`state` is a new instance: it waits in Pending:Wait."""
    action = Action(group, state, hook, activity)
    ACTIONS[state.instance.id] = action
    fake.launched(state.instance.id)
    switch.held(state.instance.id)
    activities.waiting(activity)
    _arm(action)
    core.later(BOOT_SECS, lambda: _boot(action))


def _pending(action: Action) -> bool:
    return ACTIONS.get(action.state.instance.id) is action


def _arm(action: Action) -> None:
    """(Re)start the heartbeat timeout; an older timeout no longer counts."""
    action.beat += 1
    beat = action.beat
    action.deadline = core.now() + core.scaled(action.hook.heartbeat_timeout)
    core.later(action.hook.heartbeat_timeout, lambda: _expire(action, beat))


def _expire(action: Action, beat: int) -> None:
    if _pending(action) and action.beat == beat:
        _complete(action, action.hook.default_result, "Heartbeat Timeout")


def _complete(action: Action, result: str, why: str) -> None:
    ACTIONS.pop(action.state.instance.id, None)
    group, state = action.group, action.state
    if not alive(group) or state not in group.instance_states:
        return
    if result == "CONTINUE":
        state.lifecycle_state = "InService"
        activities.finish(action.activity)
        group.autoscaling_backend.update_attached_target_groups(group.name)
        return
    # AWS cancels the launch activity and terminates the instance.
    activities.finish(action.activity, "Cancelled",
                      "Instance failed to complete user's Lifecycle Action: Lifecycle Action "
                      f"with token {action.token} was abandoned: {why}")
    group.instance_states.remove(state)
    if state.instance._state.name in ("pending", "running"):
        group.ec2_backend.terminate_instances([state.instance.id])
    replace(group, state.availability_zone)


# --- the API -----------------------------------------------------------------------


def _asked_action(self: AutoScalingResponse) -> Action:
    group, hook = self._get_param("AutoScalingGroupName"), self._get_param("LifecycleHookName")
    token, instance_id = self._get_param("LifecycleActionToken"), self._get_param("InstanceId")

    def ours(a: Action | None) -> bool:
        return (a is not None and a.group.name == group and a.hook.name == hook
                and (a.group.account_id, a.group.region) == (self.current_account, self.region)
                and (not instance_id or a.state.instance.id == instance_id))

    if token:
        found = next((a for a in ACTIONS.values() if a.token == token), None)
        if not ours(found):
            raise ValidationError(f"No active Lifecycle Action found with token {token}")
        return found
    if not instance_id:
        raise ValidationError("Either LifecycleActionToken or InstanceId must be specified")
    found = ACTIONS.get(instance_id)
    if not ours(found):
        raise ValidationError(f"No active Lifecycle Action found with instance ID {instance_id}")
    return found


def _complete_lifecycle_action(self: AutoScalingResponse):
    if not core.CONFIG.enabled:
        raise NotImplementedError("The complete_lifecycle_action action has not been implemented")
    result = self._get_param("LifecycleActionResult")
    if result not in ("CONTINUE", "ABANDON"):
        raise ValidationError("LifecycleActionResult must be CONTINUE or ABANDON")
    _complete(_asked_action(self), result, "Lifecycle Action Completed with ABANDON Result")
    return EmptyResult()


def _record_lifecycle_action_heartbeat(self: AutoScalingResponse):
    if not core.CONFIG.enabled:
        raise NotImplementedError(
            "The record_lifecycle_action_heartbeat action has not been implemented")
    _arm(_asked_action(self))
    return EmptyResult()


# moto has neither call: added to its response class (like ssm.py's).
AutoScalingResponse.complete_lifecycle_action = _complete_lifecycle_action
AutoScalingResponse.record_lifecycle_action_heartbeat = _record_lifecycle_action_heartbeat


@patch(AutoScalingBackend, "create_lifecycle_hook")
def _create_lifecycle_hook(original, self, name, as_name, transition, timeout, result):
    low, high = HOOK_TIMEOUT
    if timeout is not None and not low <= int(timeout) <= high:
        raise ValidationError(
            f"HeartbeatTimeout must be between {low} and {high} seconds (got {timeout})")
    return original(self, name, as_name, transition, timeout, result)


@patch(AutoScalingResponse, "create_auto_scaling_group")
def _create_with_hooks(original, self):
    # The hooks exist before the first launch, so the first instances wait too.
    name, backend = self._get_param("AutoScalingGroupName"), self.autoscaling_backend
    made = []
    try:
        for spec in self._get_param("LifecycleHookSpecificationList", []) or []:
            timeout = spec.get("HeartbeatTimeout")
            backend.create_lifecycle_hook(
                name=spec.get("LifecycleHookName"), as_name=name,
                transition=spec.get("LifecycleTransition"),
                timeout=None if timeout is None else int(timeout),
                result=spec.get("DefaultResult"))
            made.append(f"{name}_{spec.get('LifecycleHookName')}")
        return original(self)
    except Exception:
        for key in made:
            backend.lifecycle_hooks.pop(key, None)
        raise


# --- the fake instance's boot ------------------------------------------------------


def _boot(action: Action, first: bool = True) -> None:
    """What the product's user data does at the end of the boot: the stack's
    writer lease (lease.py), then the address, then CONTINUE, writing its
    stage markers (switch.py) on the way. A boot that finds the services
    unhealthy (or is held) leaves the hook to time out; one that finds the
    lease held waits for it, trying every lease.RETRY_SECS, as long as its
    lifecycle action lasts; an "unhealthy" one takes the lease and starts,
    then leaves the hook to time out."""
    instance = action.state.instance
    if not _pending(action) or not instance.is_running():
        return  # its action ended
    way = fake.boot_way(instance.id)
    if first:
        switch.booted(instance.id, way)
    if way == "stuck":
        return  # held or unhealthy before the lease: the hook times out
    if not lease.take(instance):
        core.later(lease.RETRY_SECS, lambda: _boot(action, False))
        return
    switch.started(instance.id, way)
    if way == "unhealthy":
        return  # a writer whose n8n never gets healthy: the hook times out
    _associate_stack_address(instance)
    _complete(action, "CONTINUE", "")
    if action.state.lifecycle_state == "InService":
        switch.owner(instance.id)


def _associate_stack_address(instance: Any) -> None:
    """AssociateAddress (AllowReassociation) of the Elastic IP tagged with the
    instance's Stack tag, if there is one."""
    backend = instance.ec2_backend
    stack = backend.tags.get(instance.id, {}).get("Stack")
    address = next((a for a in backend.addresses if stack is not None
                    and backend.tags.get(a.allocation_id or "", {}).get("Stack") == stack), None)
    if address is None:
        return
    if address.instance not in (None, instance) and address.association_id:
        backend.disassociate_address(association_id=address.association_id)
    backend.associate_address(instance=instance, allocation_id=address.allocation_id,
                              address=None if address.allocation_id else address.public_ip,
                              reassociate=True)


def state(asked: dict[str, Any]) -> dict[str, Any]:
    """GET /strict-api/autoscaling."""
    if asked:
        raise Refused("GET /strict-api/autoscaling takes no settings")
    return {"lifecycle_actions": [
        {"instance": instance_id, "group": a.group.name, "hook": a.hook.name,
         "token": a.token, "default_result": a.hook.default_result,
         "seconds_left": max(0.0, (a.deadline - core.now()) / (core.CONFIG.time_scale or 1))}
        for instance_id, a in ACTIONS.items()]}
