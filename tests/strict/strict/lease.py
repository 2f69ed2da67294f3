"""The stack's writer lease, as the fake instances hold it.

The product's rule: at most one instance runs a stack's services (PostgreSQL,
n8n) on the stack's EFS at any moment. Its boot takes an exclusive NFSv4.1
lock (flock) on /mnt/efs/.geusemaker/writer.lock before it starts any
service and holds it while they run. EFS keeps NFSv4 lock state under a
lease (RFC 8881 section 8): a client that stops renewing loses its locks
when the lease period has passed. moto has no EFS data plane at all.

Here the lease is keyed by the instance's `Stack` tag (one lease per stack
name; an instance without the tag takes none and is unaffected):

- The fake instance's boot (lifecycle.py, rule autoscaling.instance-boot)
  takes the lease, then associates the stack's address, then completes its
  launch hook with CONTINUE. While another instance holds it, the boot waits,
  trying again every RETRY_SECS, until it gets it or its lifecycle action
  ends (the hook's timeout, ABANDON, a terminated instance): then it never
  takes it. Only instances held by a launch hook boot; others take no lease.
- A holder that goes shutting-down/terminated or stopped, by any route
  (TerminateInstances, TerminateInstanceInAutoScalingGroup, a group's
  scale-in or replacement, an ABANDON, a spot interruption, StopInstances),
  stops its services at once (it is no longer a writer) and stops renewing:
  its lock is released LEASE_SECS later ("expired"). Started again, it does
  not take the lease back (no boot is modelled outside a launch hook) unless
  told to resume (below).
- Who releases at once ("released"): on a spot interruption (the only path
  AWS gives notice on), a holder whose "drain" setting is "release" (the
  default: the product's spot-signal service drains and releases on the
  notice); with "none" (a hard failure) its lock expires as above. And a
  holder told by Run Command to drain for a deliberate switch (switch.py,
  rule efs.switch-release: `# geusemaker:switch-release`, why "drained for
  a switch"). Terminations, stops and scale-ins never drain here: they
  expire.
- Who takes it outside a boot: an instance told by Run Command to resume
  after a failed switch (switch.py, rule efs.switch-resume:
  `# geusemaker:switch-resume`) takes it as a boot does, retrying every
  RETRY_SECS while it runs ("taken", "resumed after a failed switch"). And
  the previous version's bare instance told to hold it for a migration
  (migration.py, rule efs.migration-hold: `# geusemaker:migration-hold`),
  which tries once and does not wait ("taken", "held for a migration by the
  bare instance, its services running").
- Who writes without it: the previous version's bare instance (migration.py,
  rule efs.bare-writer; POST /strict-api/instance {"bare": true}). Its boot
  took no lease: it runs its stack's services while it runs and has not
  drained, beside any holder (the locks are advisory: nothing stops a client
  that never locks). It stops them on a stop or a termination (any route),
  and on a switch-release while it holds the lease; a resume runs them again.
  A bare instance that holds the lease is a writer only while it runs them;
  it has no spot-signal service, so on a spot notice its lock expires.

Settings (instance.py): POST /strict-api/instance
    {"instance": "i-…" | "*", "drain": "release" | "none"}, and
    {"instance": "i-…", "bare": true} for the previous version's instance.
Control API (server.py): GET /strict-api/lease (no settings) answers
    {"stacks": {"<stack>": {"holder": "i-…" | null,
                            "expires_in": 42.0 | null}},   (realistic seconds)
     "writers": {"<stack>": ["i-…"]},     (the holder while it runs services,
                                            then any bare instance that runs
                                            them: once each)
     "history": [{"at": "2026-12-02T02:14:05.123Z", "stack": "<stack>",
                  "instance": "i-…", "event": "taken" | "released" | "expired",
                  "why": "…"}]}
A stack that only a bare instance writes is in "stacks" with holder null.
/strict-api/reset and /moto-api/reset clear it all.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable


from . import core, ec2_stops
from . import instance as fake
from . import scaling_activities as activities
from .core import rule

WRITER_LEASE = rule(
    "efs.writer-lease",
    "A fake instance takes its stack's writer lease (an NFSv4.1 lock on the stack's EFS, "
    "by its Stack tag) before it runs services and completes its launch hook only once "
    "it holds it; a holder that is terminated or stopped stops renewing and its lock is "
    "released 90 s later; a holder that drains on a spot notice (or for a switch, "
    "efs.switch-release) releases at once",
    "https://docs.aws.amazon.com/efs/latest/ug/nfs4-unsupported-features.html",
    latency="NFSv4 lease (RFC 8881 section 8, "
    "https://www.rfc-editor.org/rfc/rfc8881#section-8): modelled 90 s, Linux nfsd's "
    "default (EFS does not publish its own); a waiting boot retries every 5 s",
)

LEASE_SECS = 90.0
RETRY_SECS = 5.0
RUNNING = ("pending", "running")


class Refused(ValueError):
    pass


# migration.py's (rule efs.bare-writer): the previous version's bare
# instances, each with whether it runs its stack's services now (it runs and
# has not drained); none while the strict layer is off.
bare: Callable[[], list[tuple[Any, bool]]] = list


def writes(instance: Any) -> bool:
    """Whether a holder runs its stack's services: while it runs, unless it
    is a bare instance that drained (and took the lease again without them)."""
    if instance._state.name not in RUNNING:
        return False
    return next((serving for b, serving in bare() if b is instance), True)


@dataclass(eq=False)
class Lease:
    """One holder's lock on a stack's writer.lock."""
    holder: Any  # moto's instance
    renewing: bool = True
    expires: float = 0.0  # core.now() when the lock lapses, once not renewing
    why: str = ""  # why it stopped renewing


_leases: dict[str, Lease | None] = {}  # stack -> its lease (None: free)
_history: list[dict[str, Any]] = []


@core.on_reset
def _clear() -> None:
    _leases.clear()
    _history.clear()


def stack_of(instance: Any) -> str | None:
    return instance.ec2_backend.tags.get(instance.id, {}).get("Stack")


def _record(stack: str, instance_id: str, event: str, why: str) -> None:
    at = activities.utc()
    _history.append({"at": at.strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}Z",
                     "stack": stack, "instance": instance_id, "event": event, "why": why})


def _settle(stack: str) -> None:
    """A lock nobody renewed for LEASE_SECS is gone."""
    lease = _leases.get(stack)
    if lease is not None and not lease.renewing and lease.expires <= core.now():
        _leases[stack] = None
        _record(stack, lease.holder.id, "expired",
                f"not renewed since the instance was {lease.why}: the "
                f"{LEASE_SECS:.0f} s lease ran out")


BOOT_TOOK = "the boot took the lock before starting the services"


def take(instance: Any, why: str = BOOT_TOOK) -> bool:
    """The boot's flock: whether `instance` holds its stack's lease now
    (an instance without a Stack tag needs none)."""
    stack = stack_of(instance)
    if stack is None:
        return True
    _settle(stack)
    lease = _leases.get(stack)
    if lease is not None:
        return lease.holder is instance and lease.renewing
    _leases[stack] = Lease(instance)
    _record(stack, instance.id, "taken", why)
    return True


def _held_by(instance: Any) -> tuple[str, Lease] | None:
    stack = stack_of(instance)
    lease = _leases.get(stack) if stack is not None else None
    if lease is None or lease.holder is not instance or not lease.renewing:
        return None
    return stack, lease


def holds(instance: Any) -> bool:
    """Whether `instance` holds its stack's lease and renews it."""
    return _held_by(instance) is not None


def release(instance: Any, why: str) -> bool:
    """A holder drains and lets go of the lock at once (flock -u: LOCKU);
    whether it held it."""
    held = _held_by(instance)
    if held is None:
        return False
    stack, _ = held
    _leases[stack] = None
    _record(stack, instance.id, "released", why)
    return True


# switch.py's: the drain's stage markers (rule efs.markers-mirrored).
after_notice_drain: Callable[[Any], None] = lambda instance: None


def notice(instance: Any) -> None:
    """A spot interruption notice: a holder set to drain releases at once
    (a bare instance has no spot-signal service: its lock expires)."""
    if fake.drain(instance.id) == "release" and all(b is not instance for b, _ in bare()):
        if release(instance, "drained on the spot notice"):
            after_notice_drain(instance)


@ec2_stops.on_stopped
def _stopped_renewing(changed: list) -> None:
    for instance, _previous in changed:
        if instance._state.name in RUNNING:
            continue
        held = _held_by(instance)
        if held is None:
            continue
        stack, lease = held
        lease.renewing = False
        lease.why = "stopped" if instance._state.name in ("stopping", "stopped") else "terminated"
        lease.expires = core.now() + core.scaled(LEASE_SECS)
        core.later(LEASE_SECS, lambda s=stack: _settle(s))




def state(asked: dict[str, Any]) -> dict[str, Any]:
    """GET /strict-api/lease."""
    if asked:
        raise Refused("GET /strict-api/lease takes no settings")
    core.tick()
    for stack in list(_leases):
        _settle(stack)
    scale = core.CONFIG.time_scale or 1
    stacks, writers = {}, {}
    for stack, lease in _leases.items():
        stacks[stack] = {
            "holder": lease.holder.id if lease else None,
            "expires_in": (max(0.0, (lease.expires - core.now()) / scale)
                           if lease and not lease.renewing else None)}
        writers[stack] = ([lease.holder.id] if lease and lease.renewing
                          and writes(lease.holder) else [])
    for instance, serving in bare():
        stack = stack_of(instance)
        if not serving or stack is None or instance._state.name not in RUNNING:
            continue
        stacks.setdefault(stack, {"holder": None, "expires_in": None})
        ids = writers.setdefault(stack, [])
        if instance.id not in ids:
            ids.append(instance.id)
    return {"stacks": stacks, "writers": writers, "history": list(_history)}


CONTROL = {"/strict-api/lease": state}
