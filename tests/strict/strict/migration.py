"""The previous version's bare instance, and its migration into the stack's
group by prepare-then-switch.

Before the writer lease (lease.py), the product ran a stack on a bare
instance: RunInstances, no Auto Scaling group, EFS at /mnt/efs, the SSM agent
with AmazonSSMManagedInstanceCore, compose at
/opt/geusemaker/docker-compose.yml. Its boot started the services with no
lease, so it writes the stack's EFS whatever lock another instance holds (the
locks are advisory: EFS checks none on READ and WRITE). The product migrates
such a stack as a switch (switch.py) whose old instance is the bare one:
`# geusemaker:migration-hold` makes it take the lease on its own behalf (a
flock held by a transient systemd unit) without stopping anything; the
group's new instance boots to ready-to-start and waits for it;
`# geusemaker:switch-release` drains the bare one and releases; the new one
takes the lease; the product terminates the bare one. If the new never gets
healthy, `# geusemaker:switch-resume` gives the bare one the lease back and
it runs its services again. moto has no lease and answers every Run Command
with empty output.

The model (rule efs.bare-writer). POST /strict-api/instance
    {"instance": "i-…", "bare": true}
marks a running instance (outside any group, with a Stack tag; instance.py
says what it refuses) as the previous version's. From then on, while it runs
and has not drained, it runs its stack's services with no lease: it is in
`writers[stack]` of GET /strict-api/lease beside any lease holder, once even
if it holds the lease itself. Stopped or terminated, by any route
(StopInstances, TerminateInstances, a spot interruption, …), it stops them at
once; started again it does not run them (no boot is modelled) until a
resume. A lock it took expires LEASE_SECS after it stopped renewing, as any
holder's (it has no spot-signal service: a spot notice does not release it).
It has a stage-marker file, empty until a drain or a resume writes (switch.py:
`# geusemaker:stage`).

Run Command (AWS-RunShellScript; the tag is the first line of the first
`commands` element; the output is fixed when the command is sent; SendCommand
to an unreachable instance is refused first, rule ssm.agent-unreachable):

- `# geusemaker:migration-hold` (rule efs.migration-hold), to a bare
  instance: it takes its stack's lease at once, without stopping or starting
  anything (history "taken", why HOLD_WHY), output `holding` (also when it
  holds it already: then nothing changes). While another instance holds it,
  or a terminated holder's lock has not expired, it does not wait: output
  `held-elsewhere`, nothing changes. To any other instance: `not-bare`,
  nothing changes.
- `# geusemaker:switch-release` (rule efs.switch-release), to a bare
  instance that holds the lease: it drains (stops its services: no longer a
  writer) and releases (history "released", why "drained for a switch"),
  writes drain-started:switch and drained, output `released`. One that does
  not hold it: `not-holding`, nothing changes (it goes on serving).
- `# geusemaker:switch-resume` (rule efs.switch-resume), to a bare instance:
  it takes the lease back as any resume does (retrying every
  lease.RETRY_SECS while another holds it or a terminated holder's lock
  lasts, as long as it runs); once it holds it, it runs its services (a
  writer again) and writes `resumed`. Output `resuming`. If it holds the
  lease already, drained (a hold after a release), it runs them again and
  writes `resumed` at once.

Control API: GET /strict-api/switch lists the bare instances running their
services under "bare" (switch.py); /strict-api/reset and /moto-api/reset
forget them. While the strict layer is off the setting is kept but does
nothing: no writer, no file, moto's empty outputs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from moto.autoscaling.models import autoscaling_backends
from moto.ec2.models import ec2_backends
from moto.ssm.models import SimpleSystemManagerBackend

from . import core, ec2_stops, lease, switch
from . import instance as fake
from .core import rule

BARE_WRITER = rule(
    "efs.bare-writer",
    "An instance marked as the previous version's bare instance (POST "
    "/strict-api/instance {\"bare\": true}: running, outside any group, with a Stack tag) "
    "runs its stack's services with no writer lease while it runs and has not drained: a "
    "writer beside any lease holder, since EFS locks are advisory; stopped or terminated "
    "by any route it stops at once and a lock it took expires 90 s later (no drain on a "
    "spot notice); it drains on '# geusemaker:switch-release' only while it holds the "
    "lease, and runs again once a '# geusemaker:switch-resume' took it",
    "https://docs.aws.amazon.com/efs/latest/ug/nfs4-unsupported-features.html",
    latency="an unrenewed lock goes after 90 s (NFSv4 lease, RFC 8881 section 8)",
)
MIGRATION_HOLD = rule(
    "efs.migration-hold",
    "A Run Command tagged '# geusemaker:migration-hold' makes a bare instance take its "
    "stack's writer lease at once, without stopping its services (output 'holding', also "
    "when it holds it already); while another instance holds it, or a terminated "
    "holder's lock has not expired, it does not wait: 'held-elsewhere' and nothing "
    "changes; an instance that is not bare answers 'not-bare'",
    "https://www.rfc-editor.org/rfc/rfc8881#section-18.10",
)

HOLD_TAG = "# geusemaker:migration-hold"
HOLD_WHY = "held for a migration by the bare instance, its services running"


@dataclass(eq=False)
class Bare:
    """The previous version's instance of a stack."""
    instance: Any  # moto's instance
    serving: bool = True  # its services run (until a stop, a termination or a drain)


_bare: dict[str, Bare] = {}
core.on_reset(_bare.clear)


def _find(instance_id: str) -> Any | None:
    for account in ec2_backends.values():
        for backend in account.values():
            found = backend.get_instance_by_id(instance_id)
            if found is not None:
                return found
    return None


def _group_of(instance: Any) -> str | None:
    backend = instance.ec2_backend
    groups = autoscaling_backends[backend.account_id][backend.region_name].autoscaling_groups
    return next((g.name for g in groups.values()
                 if any(s.instance is instance for s in g.instance_states)), None)


def check(instance_id: str, bare: bool) -> None:
    """instance.py's check of a "bare" setting (before anything changes)."""
    instance = _find(instance_id)
    if instance is None:
        raise fake.Refused(f"no instance {instance_id}: bare marks an existing, running "
                           "instance")
    if instance._state.name != "running":
        raise fake.Refused(f"{instance_id} is {instance._state.name}: only a running "
                           "instance is marked bare")
    known = _bare.get(instance_id)
    if known is not None and known.instance is instance:
        if not bare:
            raise fake.Refused(f"{instance_id} is the previous version's bare instance: "
                               "bare is not set back to false")
        return
    if not bare:
        return
    group = _group_of(instance)
    if group is not None:
        raise fake.Refused(f"{instance_id} is in Auto Scaling group {group}: the previous "
                           "version's bare instance was launched by RunInstances, outside "
                           "any group")
    if lease.stack_of(instance) is None:
        raise fake.Refused(f"{instance_id} has no Stack tag: a bare instance runs the "
                           "services of the stack its Stack tag names")


def mark(instance_id: str, bare: bool) -> None:
    """instance.py's setting, checked: the instance serves from now on."""
    instance = _find(instance_id)
    known = _bare.get(instance_id)
    if not bare or instance is None or (known is not None and known.instance is instance):
        return
    _bare[instance_id] = Bare(instance)
    if core.CONFIG.enabled:
        switch.new_file(instance_id)


def serving() -> list[tuple[Any, bool]]:
    """lease.py's view: each bare instance, and whether it runs its services."""
    if not core.CONFIG.enabled:
        return []
    return [(b.instance, b.serving and b.instance._state.name == "running")
            for b in _bare.values()]


def _of(instance: Any) -> Bare | None:
    found = _bare.get(instance.id)
    return found if found is not None and found.instance is instance else None


def _drained(instance: Any) -> None:
    if (b := _of(instance)) is not None:
        b.serving = False


def _resumed(instance: Any) -> None:
    if (b := _of(instance)) is not None:
        b.serving = True


fake.check_bare, fake.set_bare = check, mark
lease.bare = serving
switch.after_drain, switch.after_resume = _drained, _resumed


# --- Run Command ------------------------------------------------------------------


def migration_hold(backend: SimpleSystemManagerBackend, instance_id: str) -> str:
    b = _bare.get(instance_id)
    if b is None or b.instance is not switch._instance(backend, instance_id):
        return "not-bare\n"
    return "holding\n" if lease.take(b.instance, HOLD_WHY) else "held-elsewhere\n"


fake.ANSWERS[HOLD_TAG] = migration_hold


# --- its services stop with it -----------------------------------------------------


@ec2_stops.on_stopped
def _stopped(changed: list) -> None:
    for instance, _previous in changed:
        if instance._state.name != "running" and (b := _of(instance)) is not None:
            b.serving = False  # a start does not run them again (no boot is modelled)


