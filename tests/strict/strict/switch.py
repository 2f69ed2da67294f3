"""Prepare, then switch: the fake instance's boot stages, and the drain and
resume a deliberate switch of a stack's instance tells it to do.

The product changes a stack's instance by running the new one alongside the
old: the new boots to ready-to-start and waits for the stack's writer lease
(lease.py) while the old serves; the product tells the old to drain and
release; the new takes the lease, starts and completes its launch hook; the
product terminates the old. If the new never gets healthy, the product tells
it to release, terminates it, and tells the old to resume. The old may be the
previous version's bare instance, which serves with no lease until it is told
to hold it (migration.py: `# geusemaker:migration-hold`); then the same
release and resume apply to it. moto answers every Run Command with empty
output and has no lease to move.

Run Command (AWS-RunShellScript; the tag is the first line of the first
`commands` element, as for instance.py's inside-health; the output is fixed
when the command is sent; SendCommand to an unreachable instance is refused
first, rule ssm.agent-unreachable):

- `# geusemaker:stage` answers the instance's stage-marker file, one line per
  marker, `<name> <UTC %Y-%m-%dT%H:%M:%SZ>\\n`, in the order written. Only an
  instance held by a launch hook has a modelled boot (lifecycle.py), and
  only it and a bare instance (migration.py) have a file; any other answers
  empty output, as moto does. A bare instance's file is empty until a
  switch-release or switch-resume writes (the lines below). A hook-held
  instance writes, by its "boot" setting (instance.py; POST
  /strict-api/instance):
    at launch            nothing
    booted (60 s later)  "complete", "unhealthy": cloud-init packages
                         efs-mounted secrets images-pulled ready-to-start
                         "hold" (or n8n/postgres set not healthy, or the
                         agent offline): the first five only, and no lease
    takes the lease      lease-taken compose-up ollama-gpu ("unhealthy":
                         lease-taken compose-up, and never more)
    CONTINUE             owner-ready
    switch-release       drain-started:switch drained   (when it held it)
    switch-resume        resumed                        (once it took it)
- `# geusemaker:switch-release`: a holder of its stack's writer lease drains
  and releases it at once (history "released", why "drained for a switch"):
  it is no longer in `writers`; output `released`. An instance that does not
  hold it answers `not-holding` and nothing changes (a boot or a resume it
  is waiting on goes on waiting).
- `# geusemaker:switch-resume`: the instance takes its stack's lease back as
  lease.take does (history "taken", why "resumed after a failed switch"):
  while another instance holds it, or a terminated holder's lock has not
  expired, it tries again every lease.RETRY_SECS for as long as it runs;
  once it has it, it is a writer again and writes `resumed`. Output
  `resuming` (also when it holds the lease already: then nothing changes,
  unless it is a bare instance that drained and then held the lease again:
  it runs its services again and writes `resumed` at once).

Control API (server.py): GET /strict-api/switch (no settings) answers
    {"stages": {"i-…": ["cloud-init 2026-12-02T02:14:05Z", …]},  (hook-held, bare)
     "resuming": ["i-…"],           (resumes still waiting for the lease)
     "bare": ["i-…"]}               (bare instances running their services)
/strict-api/reset and /moto-api/reset clear it.
"""

from __future__ import annotations

from typing import Any, Callable

from moto.ec2.models import ec2_backends
from moto.ssm.models import SimpleSystemManagerBackend

from . import core
from . import instance as fake
from . import lease
from . import scaling_activities as activities
from .core import rule

STAGE_MARKERS = rule(
    "ssm.stage-markers",
    "A Run Command tagged '# geusemaker:stage' answers the fake instance's stage-marker "
    "file, '<name> <UTC %Y-%m-%dT%H:%M:%SZ>' a line in the order written: a hook-held "
    "instance writes cloud-init, packages, efs-mounted, secrets, images-pulled, "
    "ready-to-start once booted (\"hold\": not ready-to-start), lease-taken, compose-up, "
    "ollama-gpu when it takes its stack's writer lease, owner-ready on CONTINUE; a "
    "bare instance (efs.bare-writer) has a file that only a drain or resume writes; any "
    "other instance answers empty output",
    "https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_GetCommandInvocation.html",
    latency="boot about a minute (modelled 60 s, lifecycle.BOOT_SECS)",
)
SWITCH_RELEASE = rule(
    "efs.switch-release",
    "A Run Command tagged '# geusemaker:switch-release' drains the instance for a "
    "deliberate switch: a holder of its stack's writer lease releases it at once and is "
    "no longer a writer (output 'released'); any other answers 'not-holding' and "
    "nothing changes",
    "https://www.rfc-editor.org/rfc/rfc8881#section-18.12",
)
SWITCH_RESUME = rule(
    "efs.switch-resume",
    "A Run Command tagged '# geusemaker:switch-resume' makes the instance take its "
    "stack's writer lease back (output 'resuming'): at once if it is free, else retrying "
    "while another holds it or a terminated holder's lock has not expired, as long as "
    "the instance runs; then it is a writer again",
    "https://www.rfc-editor.org/rfc/rfc8881#section-18.10",
    latency="retries every 5 s (lease.RETRY_SECS); an unrenewed lock goes after 90 s",
)

EFS_MARKERS = rule(
    "efs.markers-mirrored",
    "Each instance also writes its stage markers to its stack's EFS, which outlives it "
    "(assets/instance/mark.sh): from ready-to-start on, a bare instance all of them. A spot "
    "notice's drain writes drain-started:spot-notice, drain-n8n-stopped, "
    "drain-postgres-stopped, lease-released and drained. A Run Command tagged "
    "'# geusemaker:efs-markers' on a running instance answers, for every instance of its "
    "stack that wrote there, terminated or not, '== <instance-id>' and then its lines",
    "https://docs.aws.amazon.com/efs/latest/ug/how-it-works.html",
)

STAGE_TAG = "# geusemaker:stage"
RELEASE_TAG = "# geusemaker:switch-release"
RESUME_TAG = "# geusemaker:switch-resume"
BOOTED = ("cloud-init", "packages", "efs-mounted", "secrets", "images-pulled")
READY = "ready-to-start"
STARTED = {"complete": ("lease-taken", "compose-up", "ollama-gpu"),
           "unhealthy": ("lease-taken", "compose-up")}
OWNER = "owner-ready"
DRAINED = ("drain-started:switch", "drained")
NOTICE_DRAINED = ("drain-started:spot-notice", "drain-n8n-stopped", "drain-postgres-stopped",
                  "lease-released", "drained")
EFS_MARKERS_TAG = "# geusemaker:efs-markers"
RESUMED = "resumed"
DRAINED_WHY = "drained for a switch"
RESUMED_WHY = "resumed after a failed switch"

_stages: dict[str, list[str]] = {}  # hook-held or bare instance -> its marker lines
_resuming: set[str] = set()  # instances whose resume waits for the lease


@core.on_reset
def _clear() -> None:
    _stages.clear()
    _resuming.clear()


class Refused(ValueError):
    pass


# migration.py's: what else a drain for a switch, and a resume that took the
# lease, do (a bare instance stops, or runs again, its services).
after_drain: Callable[[Any], None] = lambda instance: None
after_resume: Callable[[Any], None] = lambda instance: None


# --- the boot's markers (called by lifecycle.py) -------------------------------------


def mark(instance_id: str, *names: str) -> None:
    """Append markers, at the emulator's time, to a hook-held instance's file."""
    if instance_id not in _stages:
        return  # no modelled boot: no file
    at = activities.utc()
    _stages[instance_id].extend(f"{name} {at:%Y-%m-%dT%H:%M:%SZ}" for name in names)


def new_file(instance_id: str) -> None:
    """The instance has a stage-marker file, empty until something writes."""
    _stages.setdefault(instance_id, [])


def held(instance_id: str) -> None:
    """A launch hook holds the new instance: it has a boot, and no markers yet."""
    new_file(instance_id)


def booted(instance_id: str, way: str) -> None:
    """The boot ran (BOOT_SECS after launch), `way` as instance.boot_way says."""
    mark(instance_id, *BOOTED, *(() if way == "stuck" else (READY,)))


def started(instance_id: str, way: str) -> None:
    """The boot took the lease and started the stack."""
    mark(instance_id, *STARTED[way])


def owner(instance_id: str) -> None:
    """The boot completed the launch hook with CONTINUE."""
    mark(instance_id, OWNER)


# --- Run Command ------------------------------------------------------------------


def _instance(backend: SimpleSystemManagerBackend, instance_id: str) -> Any:
    # SendCommand refused unknown instances already (ssm.agent-unreachable).
    return ec2_backends[backend.account_id][backend.region_name].get_instance(instance_id)


def stage_file(backend: SimpleSystemManagerBackend, instance_id: str) -> str:
    return "".join(line + "\n" for line in _stages.get(instance_id, []))


def switch_release(backend: SimpleSystemManagerBackend, instance_id: str) -> str:
    instance = _instance(backend, instance_id)
    if not lease.release(instance, DRAINED_WHY):
        return "not-holding\n"
    mark(instance_id, *DRAINED)
    after_drain(instance)
    return "released\n"


def switch_resume(backend: SimpleSystemManagerBackend, instance_id: str) -> str:
    instance = _instance(backend, instance_id)
    if lease.holds(instance):
        if not lease.writes(instance):  # a drained bare instance that held it again
            _resumed(instance)
    elif instance_id not in _resuming:
        _resuming.add(instance_id)
        _resume(instance)
    return "resuming\n"


def _resumed(instance: Any) -> None:
    mark(instance.id, RESUMED)
    after_resume(instance)


def _resume(instance: Any) -> None:
    if instance.id not in _resuming:
        return  # reset
    if instance._state.name != "running":
        _resuming.discard(instance.id)  # gone: it never takes it
        return
    if not lease.take(instance, RESUMED_WHY):
        core.later(lease.RETRY_SECS, lambda: _resume(instance))
        return
    _resuming.discard(instance.id)
    _resumed(instance)


def _on_efs(instance_id: str) -> list[str]:
    """The lines an instance's mark.sh copied to EFS: the boot's from
    ready-to-start on, when it installs mark.sh, and the units' (a bare
    instance's file starts with its EFS there)."""
    lines = _stages.get(instance_id, [])
    mounted = [i for i, line in enumerate(lines) if line.startswith(READY + " ")]
    return lines[mounted[0]:] if mounted else (lines if instance_id in _bare_files() else [])


def _bare_files() -> set[str]:
    return {instance.id for instance, _ in lease.bare()}


def efs_markers(backend: SimpleSystemManagerBackend, instance_id: str) -> str:
    stack = lease.stack_of(_instance(backend, instance_id))
    ec2 = ec2_backends[backend.account_id][backend.region_name]
    out = []
    for other in _stages:
        try:
            theirs = lease.stack_of(ec2.get_instance(other))
        except Exception:
            continue  # a reset's leftovers
        lines = _on_efs(other)
        if stack is not None and theirs == stack and lines:
            out.append(f"== {other}\n" + "".join(line + "\n" for line in lines))
    return "".join(out)


def _notice_drained(instance: Any) -> None:
    mark(instance.id, *NOTICE_DRAINED)


lease.after_notice_drain = _notice_drained

fake.ANSWERS.update({STAGE_TAG: stage_file, RELEASE_TAG: switch_release,
                     RESUME_TAG: switch_resume, EFS_MARKERS_TAG: efs_markers})


def state(asked: dict[str, Any]) -> dict[str, Any]:
    """GET /strict-api/switch."""
    if asked:
        raise Refused("GET /strict-api/switch takes no settings")
    core.tick()
    return {"stages": {i: list(lines) for i, lines in _stages.items()},
            "resuming": sorted(_resuming),
            "bare": sorted(instance.id for instance, serving in lease.bare() if serving)}


CONTROL = {"/strict-api/switch": state}

from . import migration  # noqa: E402,F401  (the bare instance's tag and its hooks here)
