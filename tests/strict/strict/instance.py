"""A fake instance behind SSM Run Command: what the product's inside-health
script would print on a real instance, and the SendCommand refusals of an
instance whose agent cannot be reached.

moto answers every Run Command with empty output. Here a command whose
`commands` parameter starts with the tag line `# geusemaker:inside-health`
answers one line per container of the stack, `<service>\t<docker inspect
--format '{{json .State}}'>`, as the script does on the instance. The output
is fixed when the command is sent (the command runs once on the instance), so
GetCommandInvocation and ListCommandInvocations agree however often they are
read. Untagged commands keep moto's empty output. Other modules answer tags of
their own through ANSWERS (switch.py: `# geusemaker:stage`,
`# geusemaker:switch-release`, `# geusemaker:switch-resume`; migration.py:
`# geusemaker:migration-hold`).

Control API (server.py): POST /strict-api/instance with

    {"instance": "<instance-id>" | "*" | "next",     (default "*")
     "services": {"n8n": {"status": "running" | "exited" | "restarting" | "missing",
                          "health": "healthy" | "unhealthy" | "starting" | null,
                          "probe_ms": 40, "failing_streak": 3,
                          "unhealthy_reads": 3}},
     "ssm": "online" | "offline",
     "boot": "complete" | "hold" | "unhealthy",      (default "complete")
     "drain": "release" | "none",                    (default "release")
     "bake": "complete" | "fail" | "hang",           (default "complete")
     "bare": true,                                   (an instance id only)
     "clear": true}                                  (drop that entry first)

Settings merge into the entry, service by service. "*" applies to every
instance without an entry of its own, launched before or after. A body
without keys changes nothing; GET (or such a POST) answers the entries and
the count of inside-health reads per instance. /strict-api/reset clears it.

"boot" is the instance's own boot script (lifecycle.py, rule
autoscaling.instance-boot): an instance held by a group's launch hook
looks once, when it has booted (60 s), and completes the hook itself if n8n
and postgres are set running and healthy, its agent online and "boot" is
"complete" (boots()). "hold" makes it never complete: it stops before
ready-to-start and takes no lease. "unhealthy" (agent online) goes on to
ready-to-start, takes the stack's writer lease (waiting as usual) and starts
the stack, but its n8n never gets healthy: it never completes the hook,
which times out with its DefaultResult; its inside-health answers n8n
running and unhealthy unless the test set n8n's status or health. The
stage markers each way writes are switch.py's (rule ssm.stage-markers).
"unhealthy_reads" count SSM reads only: the boot does not see them.

"drain" is what the instance's spot-signal service does on a spot
interruption notice (lease.py, rule efs.writer-lease): "release" drains and
releases the stack's writer lease at once; "none" (a hard failure) leaves
the lock to expire.

"bake" is the image builder's bake script (builder.py, rules
ec2.instance-initiated-shutdown and ec2.console-output): an instance
launched by RunInstances with the tag geusemaker:role=image-builder prints
`geusemaker-bake: started` once booted (60 s); "complete" prints
`geusemaker-bake: done` at 300 s and powers the machine off (stopped, or
terminated as its InstanceInitiatedShutdownBehavior says); "fail" prints
`geusemaker-bake: failed: <why>` at 120 s and keeps running; "hang" prints
nothing more. It is read when each step is due (120 s for "fail", 300 s for
"complete"), so a test may set it by the builder's id after the launch,
before that step. A builder takes the "next" entry when it is launched (the
next instance launched, as a group's instance held by a launch hook does).

"bare" marks a running instance as the previous version's bare instance
(migration.py, rule efs.bare-writer): launched by RunInstances outside any
Auto Scaling group, with a Stack tag, it runs its stack's services with no
writer lease from then on. Only an existing, running instance id (not "*" or
"next") that belongs to no group and has a Stack tag is marked; `true` again
changes nothing, `false` leaves an instance that is not bare as it is, and
is refused for one that is (a version does not go back). A body of only
"instance" and "bare" gives the instance no entry of its own: it keeps "*"'s
settings. A bare instance has no spot-signal service: "drain" does not apply
to it (on a spot notice its lock, if it took one, expires).
"""

from __future__ import annotations

import datetime
import inspect
import json
from typing import Any, Callable

from moto.ec2.models import ec2_backends
from moto.ssm.exceptions import SSMException
from moto.ssm.models import SimpleSystemManagerBackend
from moto.ssm.responses import SimpleSystemManagerResponse

from . import core
from . import ssm  # noqa: F401  (its SendCommand fix runs inside this module's patch)
from .core import patch, rule

INSIDE_HEALTH = rule(
    "ssm.inside-health",
    "A Run Command tagged '# geusemaker:inside-health' answers, as the instance's "
    "script would, one line per container: the service, a tab, Docker's .State as "
    "JSON (default: all five running and healthy); set per instance or '*' through "
    "/strict-api/instance",
    "https://docs.docker.com/reference/cli/docker/inspect/",
)
COMMAND_OUTPUT = rule(
    "ssm.command-invocation-output",
    "GetCommandInvocation and ListCommandInvocations (Details: the plugin's Output) "
    "return the same output of the one run of a command",
    "https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_ListCommandInvocations.html",
)
AGENT_UNREACHABLE = rule(
    "ssm.agent-unreachable",
    "SendCommand to an instance that is unknown, shutting-down, terminated, stopping "
    "or stopped (its agent is not running), or whose agent is set offline, is refused "
    "(InvalidInstanceId)",
    "https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_SendCommand.html",
)

TAG = "# geusemaker:inside-health"
SERVICES = ("postgres", "n8n", "ollama", "qdrant", "crawl4ai")
# How long each service's Docker healthcheck takes on a healthy instance.
PROBE_MS = {"postgres": 8, "n8n": 25, "ollama": 12, "qdrant": 6, "crawl4ai": 30}
# What a failing healthcheck prints (the last probe's Output).
FAILING_OUTPUT = {
    "postgres": "localhost:5432 - no response\n",
    "n8n": "wget: can't connect to remote host (127.0.0.1): Connection refused\n",
    "ollama": "Error: could not connect to ollama app, is it running?\n",
    "qdrant": "curl: (7) Failed to connect to localhost port 6333: Connection refused\n",
    "crawl4ai": "curl: (22) The requested URL returned error: 503\n",
}
STATUSES = ("running", "exited", "restarting", "missing")
HEALTHS = ("healthy", "unhealthy", "starting", None)
# Docker's health once a container stops or restarts, unless a test says.
HEALTH_OF_STATUS = {"running": "healthy", "exited": "unhealthy", "restarting": "starting"}
UNHEALTHY_STREAK = 3  # Docker's default retries: unhealthy after 3 failures
BOOTS = ("complete", "hold", "unhealthy")
BAKES = ("complete", "fail", "hang")

# migration.py's (rule efs.bare-writer): check a "bare" setting for an
# instance id, raising Refused; then apply it.
check_bare: Callable[[str, bool], None] = lambda instance_id, bare: None
set_bare: Callable[[str, bool], None] = lambda instance_id, bare: None

_entries: dict[str, dict[str, Any]] = {}
_reads: dict[str, int] = {}


@core.on_reset
def _clear() -> None:
    _entries.clear()
    _reads.clear()


class Refused(ValueError):
    pass


def _new_entry() -> dict[str, Any]:
    return {"services": {}, "ssm": "online", "boot": "complete", "drain": "release",
            "bake": "complete", "unhealthy_left": {}, "unhealthy_seen": {}}


def configure(asked: dict[str, Any]) -> None:
    """Apply one POST /strict-api/instance (validated before anything changes)."""
    if not asked:
        return
    unknown = set(asked) - {"instance", "services", "ssm", "boot", "drain", "bake", "bare",
                            "clear"}
    if unknown:
        raise Refused(f"unknown keys {sorted(unknown)}")
    key = asked.get("instance", "*")
    if not isinstance(key, str) or not key:
        raise Refused("instance must be an instance id or '*'")
    services = asked.get("services") or {}
    for name, settings in services.items():
        if name not in SERVICES:
            raise Refused(f"no service {name} (one of {', '.join(SERVICES)})")
        extra = set(settings) - {"status", "health", "probe_ms", "failing_streak",
                                 "unhealthy_reads", "exit_code"}
        if extra:
            raise Refused(f"{name}: unknown settings {sorted(extra)}")
        if "status" in settings and settings["status"] not in STATUSES:
            raise Refused(f"{name}: status is one of {', '.join(STATUSES)}")
        if "health" in settings and settings["health"] not in HEALTHS:
            raise Refused(f"{name}: health is healthy, unhealthy, starting or null")
        for number in ("probe_ms", "failing_streak", "unhealthy_reads", "exit_code"):
            value = settings.get(number, 0)
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise Refused(f"{name}: {number} is a whole number >= 0")
    if asked.get("ssm", "online") not in ("online", "offline"):
        raise Refused("ssm is online or offline")
    if asked.get("boot", "complete") not in BOOTS:
        raise Refused("boot is complete, hold or unhealthy")
    if asked.get("drain", "release") not in ("release", "none"):
        raise Refused("drain is release or none")
    if asked.get("bake", "complete") not in BAKES:
        raise Refused("bake is complete, fail or hang")
    if "bare" in asked:
        if not isinstance(asked["bare"], bool):
            raise Refused("bare is true or false")
        if key in ("*", NEXT):
            raise Refused(f"bare is set on one running instance by its id, not {key!r}")
        check_bare(key, asked["bare"])

    if "bare" in asked:
        set_bare(key, asked["bare"])
    if "bare" in asked and set(asked) <= {"instance", "bare"}:
        return  # the instance keeps "*"'s settings
    if asked.get("clear"):
        _entries.pop(key, None)
    entry = _entries.setdefault(key, _new_entry())
    for name, settings in services.items():
        settings = dict(settings)
        if "unhealthy_reads" in settings:
            entry["unhealthy_left"][name] = int(settings.pop("unhealthy_reads"))
            entry["unhealthy_seen"][name] = 0
        entry["services"].setdefault(name, {}).update(settings)
    for key in ("ssm", "boot", "drain", "bake"):
        if key in asked:
            entry[key] = asked[key]


def state() -> dict[str, Any]:
    return {
        "instances": {
            key: {"services": e["services"], "ssm": e["ssm"], "boot": e["boot"],
                  "drain": e["drain"], "bake": e["bake"],
                  "unhealthy_reads": dict(e["unhealthy_left"])}
            for key, e in _entries.items()
        },
        "reads": dict(_reads),
    }


def _entry_for(instance_id: str) -> dict[str, Any] | None:
    return _entries.get(instance_id) or _entries.get("*")


def launched(instance_id: str) -> None:
    """A launch hook holds a new instance, or an image builder is launched
    (builder.py): the "next" entry becomes its own."""
    if NEXT in _entries:
        _entries[instance_id] = _entries.pop(NEXT)


NEXT = "next"


def drain(instance_id: str) -> str:
    """What the instance does with its writer lease on a spot notice."""
    entry = _entry_for(instance_id)
    return "release" if entry is None else entry["drain"]


def bake(instance_id: str) -> str:
    """How the image builder's bake script ends (builder.py)."""
    entry = _entry_for(instance_id)
    return "complete" if entry is None else entry["bake"]


BOOT_SERVICES = ("n8n", "postgres")  # what the boot script waits for


def boots(instance_id: str) -> bool:
    """Whether the instance's boot script would complete its launch hook:
    "boot" not held, agent online, n8n and postgres running and healthy."""
    entry = _entry_for(instance_id)
    if entry is None:
        return True
    if entry["boot"] != "complete" or entry["ssm"] != "online":
        return False
    for name in BOOT_SERVICES:
        settings = entry["services"].get(name, {})
        status = settings.get("status", "running")
        health = settings["health"] if "health" in settings else HEALTH_OF_STATUS.get(status)
        if status != "running" or health != "healthy":
            return False
    return True


def boot_way(instance_id: str) -> str:
    """How far the boot script goes: "complete" (boots()), "unhealthy"
    (takes the lease and starts the stack, never completes the hook) or
    "stuck" (held, or as boots() says not: stops before ready-to-start)."""
    if boots(instance_id):
        return "complete"
    entry = _entry_for(instance_id)
    if entry is not None and entry["boot"] == "unhealthy" and entry["ssm"] == "online":
        return "unhealthy"
    return "stuck"


# --- Docker's .State ------------------------------------------------------------


def _now() -> datetime.datetime:
    """Wall time, moved on by /strict-api/advance like the rest of the clock."""
    return (datetime.datetime.now(datetime.timezone.utc)
            + datetime.timedelta(seconds=core.CONFIG.offset))


def rfc3339nano(at: datetime.datetime) -> str:
    """Docker's time format: RFC 3339, nanoseconds, Z."""
    at = at.astimezone(datetime.timezone.utc)
    return f"{at:%Y-%m-%dT%H:%M:%S}.{at.microsecond:06d}417Z"


def _launch_time(backend: SimpleSystemManagerBackend, instance_id: str) -> datetime.datetime:
    try:
        launched = ec2_backends[backend.account_id][backend.region_name].get_instance(
            instance_id).launch_time
    except Exception:
        return _now()
    if isinstance(launched, str):
        launched = datetime.datetime.fromisoformat(launched.replace("Z", "+00:00"))
    if launched.tzinfo is None:
        launched = launched.replace(tzinfo=datetime.timezone.utc)
    return launched


def _container(name: str, index: int, settings: dict[str, Any], entry: dict[str, Any] | None,
               started: datetime.datetime, now: datetime.datetime) -> dict[str, Any] | None:
    status = settings.get("status", "running")
    if status == "missing":
        return None
    health = settings["health"] if "health" in settings else HEALTH_OF_STATUS[status]
    streak = int(settings.get("failing_streak", 0))
    if entry is not None:
        left = entry["unhealthy_left"].get(name, 0)
        if left > 0:
            entry["unhealthy_left"][name] = left - 1
            health = "unhealthy"
        if health == "unhealthy":
            seen = entry["unhealthy_seen"].get(name, 0)
            streak = max(streak, UNHEALTHY_STREAK) + seen
            entry["unhealthy_seen"][name] = seen + 1
        else:
            entry["unhealthy_seen"][name] = 0
    elif health == "unhealthy":
        streak = max(streak, UNHEALTHY_STREAK)
    if health != "unhealthy" and health != "starting":
        streak = 0

    running = status in ("running", "restarting")
    exit_code = int(settings.get("exit_code", 0 if status == "running" else 1))
    state: dict[str, Any] = {
        "Status": status,
        "Running": running,
        "Paused": False,
        "Restarting": status == "restarting",
        "OOMKilled": False,
        "Dead": False,
        "Pid": 4242 + 17 * index if status == "running" else 0,
        "ExitCode": exit_code,
        "Error": "",
        "StartedAt": rfc3339nano(started),
        "FinishedAt": ("0001-01-01T00:00:00Z" if status == "running"
                       else rfc3339nano(now - datetime.timedelta(seconds=1))),
    }
    if health is None:
        return state
    log: list[dict[str, Any]] = []
    if health != "starting":
        probe = datetime.timedelta(milliseconds=int(settings.get("probe_ms", PROBE_MS[name])))
        end = now - datetime.timedelta(milliseconds=250)
        log.append({
            "Start": rfc3339nano(end - probe), "End": rfc3339nano(end),
            "ExitCode": 0 if health == "healthy" else 1,
            "Output": "" if health == "healthy" else FAILING_OUTPUT[name],
        })
    state["Health"] = {"Status": health, "FailingStreak": streak, "Log": log}
    return state


def inside_health(backend: SimpleSystemManagerBackend, instance_id: str) -> str:
    """One read of the stack's containers on `instance_id`."""
    _reads[instance_id] = _reads.get(instance_id, 0) + 1
    entry = _entry_for(instance_id)
    started, now = _launch_time(backend, instance_id), _now()
    lines = []
    for index, name in enumerate(SERVICES):
        settings = (entry or {}).get("services", {}).get(name, {})
        if (name == "n8n" and entry is not None and entry["boot"] == "unhealthy"
                and not {"status", "health"} & set(settings)):
            settings = {**settings, "status": "running", "health": "unhealthy"}
        state = _container(name, index, settings, entry, started, now)
        if state is not None:
            lines.append(f"{name}\t{json.dumps(state, separators=(',', ':'))}")
    if lines:
        lines.extend(line for more in EXTRA_LINES if (line := more(backend, instance_id)))
    return "".join(line + "\n" for line in lines)


# More lines of an inside-health read, from the other fakes (ollama.py: what
# a GPU instance's script reports of Ollama's /api/ps); None adds none.
EXTRA_LINES: list[Callable[[SimpleSystemManagerBackend, str], str | None]] = []


# --- SSM ------------------------------------------------------------------------


# Tag line -> what the instance prints for it (called once, at SendCommand).
ANSWERS: dict[str, Callable[[SimpleSystemManagerBackend, str], str]] = {TAG: inside_health}
# Answers that read the command's own text too (ollama.py: the model's name).
ANSWERS_WITH_TEXT: dict[str, Callable[[SimpleSystemManagerBackend, str, str], str]] = {}


def tag_of(document_name: str | None, parameters: dict[str, Any] | None) -> str | None:
    """The known tag on the first line of the first command, if any."""
    if document_name != "AWS-RunShellScript":
        return None
    commands = (parameters or {}).get("commands") or []
    if isinstance(commands, str):
        commands = [commands]
    if not commands or not isinstance(commands[0], str):
        return None
    lines = commands[0].strip().splitlines()
    tag = lines[0].strip() if lines else ""
    return tag if tag in ANSWERS or tag in ANSWERS_WITH_TEXT else None


def _unreachable(backend: SimpleSystemManagerBackend, instance_id: str) -> bool:
    try:
        instance = ec2_backends[backend.account_id][backend.region_name].get_instance(
            instance_id)
    except Exception:
        return True
    if instance._state.name != "running":
        return True
    entry = _entry_for(instance_id)
    return entry is not None and entry["ssm"] == "offline"


@patch(SimpleSystemManagerBackend, "send_command")
def _send_command(original, self, *args, **kwargs):
    asked = inspect.signature(original).bind(self, *args, **kwargs).arguments
    bad = [i for i in asked.get("instance_ids") or [] if _unreachable(self, i)]
    if bad:
        raise SSMException(
            "InvalidInstanceId",
            f"Instances [[{', '.join(bad)}]] not in a valid state for account {self.account_id}")
    command = original(self, *args, **kwargs)
    tag = tag_of(asked.get("document_name"), asked.get("parameters"))
    if tag is not None:
        commands = (asked.get("parameters") or {}).get("commands") or [""]
        text = commands if isinstance(commands, str) else commands[0]
        for invocation in command.invocations:
            instance_id = invocation["InstanceId"]
            invocation["StandardOutputContent"] = (
                ANSWERS_WITH_TEXT[tag](self, instance_id, text) if tag in ANSWERS_WITH_TEXT
                else ANSWERS[tag](self, instance_id))
    return command


# moto 5.2.5 has no ListCommandInvocations: answered from the same invocations
# GetCommandInvocation reads.
PLUGIN_OUTPUT_MAX = 2500  # the plugin's Output is the first 2,500 characters


def _list_command_invocations(self: SimpleSystemManagerResponse):
    from moto.core.responses import ActionResult

    if not core.CONFIG.enabled:
        raise NotImplementedError(
            "The list_command_invocations action has not been implemented")
    command_id = self._get_param("CommandId")
    instance_id = self._get_param("InstanceId")
    details = bool(self._get_param("Details", False))
    backend = self.ssm_backend
    commands = ([backend.get_command_by_id(command_id)] if command_id
                else list(backend._commands))
    found = []
    for command in commands:
        for invocation in command.invocations:
            if instance_id and invocation["InstanceId"] != instance_id:
                continue
            started = command.requested_date_time
            item: dict[str, Any] = {
                "CommandId": command.command_id,
                "InstanceId": invocation["InstanceId"],
                "InstanceName": "",
                "Comment": command.comment,
                "DocumentName": command.document_name,
                "DocumentVersion": "$DEFAULT",
                "RequestedDateTime": started,
                "Status": invocation["Status"],
                "StatusDetails": invocation["StatusDetails"],
                "StandardOutputUrl": "",
                "StandardErrorUrl": "",
                "ServiceRole": command.service_role_arn,
                "NotificationConfig": command.notification_config,
                "CommandPlugins": [],
            }
            if details:
                item["CommandPlugins"] = [{
                    "Name": invocation["PluginName"],
                    "Status": invocation["Status"],
                    "StatusDetails": invocation["StatusDetails"],
                    "ResponseCode": invocation["ResponseCode"],
                    "ResponseStartDateTime": started,
                    "ResponseFinishDateTime": started + datetime.timedelta(seconds=1),
                    "Output": invocation["StandardOutputContent"][:PLUGIN_OUTPUT_MAX],
                    "StandardOutputUrl": "",
                    "StandardErrorUrl": "",
                    "OutputS3Region": command.output_s3_region or command.backend_region,
                    "OutputS3BucketName": command.output_s3_bucket_name,
                    "OutputS3KeyPrefix": command.output_s3_key_prefix,
                }]
            found.append(item)
    return ActionResult({"CommandInvocations": found})


SimpleSystemManagerResponse.list_command_invocations = _list_command_invocations
