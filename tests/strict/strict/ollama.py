"""A fake Ollama on the fake instance, behind SSM Run Command: what the
product's models script (assets/models.sh) would print on a real instance.

moto answers every Run Command with empty output, so a pull would never
show progress nor end. Here a command whose first line is
`# geusemaker:models-list`, `-pull`, `-progress` or `-rm` answers as the
script does: `list` prints Ollama's /api/tags and /api/ps (a JSON line
each); `pull` starts a pull of the script's `model="..."` (again: it
resumes from the bytes already on the EFS) and prints `started`;
`progress` prints `#running` or `#stopped` and then the pull's last
progress line, `{"status": "pulling <digest>", "total": N, "completed": M}`,
or `{"status": "success"}` once it is whole; `rm` deletes a model (Ollama's
404 `model '<name>' not found` otherwise). A pull grows at RATE bytes a
(realistic) second, on the emulator's clock. Models are per stack (its EFS),
found by the instance's Stack tag.

Control API (server.py): POST /strict-api/ollama with

    {"stall_next_at": 0.4}       (the next pull stops at that share, its
                                  process still running, until pulled again)
    {"sizes": {"name": bytes}}   (add to the library)

GET answers the models and pulls per stack. /strict-api/reset clears it.
"""

from __future__ import annotations

import json
import re
from typing import Any

from moto.ec2.models import ec2_backends
from moto.ssm.models import SimpleSystemManagerBackend

from . import core
from . import instance as fake
from .core import rule

GPU = rule(
    "ssm.ollama-gpu",
    "On an instance type with an NVIDIA GPU (g*, p*), Ollama's /api/ps puts the "
    "loaded model in GPU memory (size_vram = size), in the models list and in the "
    "inside-health read's '#ps' line; elsewhere size_vram is 0 and the read has no "
    "'#ps' line (the script reads /api/ps only where nvidia-smi runs)",
    "https://github.com/ollama/ollama/blob/main/docs/api.md#list-running-models",
)
OLLAMA = rule(
    "ssm.ollama-models",
    "A Run Command tagged '# geusemaker:models-list|pull|progress|rm' answers as "
    "Ollama on the instance would: its model list, a pull in the background that "
    "grows at a download's pace and prints Ollama's progress lines (total, "
    "completed), resuming when pulled again; a stall set through /strict-api/ollama",
    "https://github.com/ollama/ollama/blob/main/docs/api.md#pull-a-model",
)

TAGS = {f"# geusemaker:models-{a}": a for a in ("list", "pull", "progress", "rm")}
RATE = 40_000_000  # bytes a realistic second
LIBRARY: dict[str, int] = {
    "llama3.2:3b": 2_019_393_189,
    "llama3.2:1b": 1_321_098_329,
    "llama3.1:8b": 4_920_753_328,
    "qwen2.5:7b": 4_683_087_332,
    "nomic-embed-text:latest": 274_302_450,
}
MODEL = re.compile(r'^model="([a-z0-9._:/-]+)"$', re.M)

_models: dict[str, dict[str, int]] = {}   # stack -> name -> size
_pulls: dict[str, dict[str, dict[str, Any]]] = {}  # stack -> name -> pull
_stall_next: list[float | None] = [None]
_extra: dict[str, int] = {}


@core.on_reset
def _clear() -> None:
    _models.clear()
    _pulls.clear()
    _stall_next[0] = None
    _extra.clear()


class Refused(ValueError):
    pass


def configure(asked: dict[str, Any]) -> dict[str, Any]:
    unknown = set(asked) - {"stall_next_at", "sizes"}
    if unknown:
        raise Refused(f"unknown keys {sorted(unknown)}")
    if "stall_next_at" in asked:
        share = asked["stall_next_at"]
        if share is not None and not (isinstance(share, (int, float)) and 0 < share < 1):
            raise Refused("stall_next_at is a share between 0 and 1, or null")
        _stall_next[0] = share
    for name, size in (asked.get("sizes") or {}).items():
        if not isinstance(size, int) or size <= 0:
            raise Refused(f"{name}: a size is a whole number of bytes > 0")
        _extra[name] = size
    return {"models": _models, "pulls": {s: {n: _progress(p) for n, p in ps.items()}
                                         for s, ps in _pulls.items()}}


def _size(name: str) -> int | None:
    full = name if ":" in name else f"{name}:latest"
    return {**LIBRARY, **_extra}.get(full)


def _completed(pull: dict[str, Any]) -> int:
    grown = (core.now() - pull["started"]) / core.CONFIG.time_scale * RATE
    done = min(pull["total"], int(pull["from"] + max(grown, 0)))
    return min(done, pull["stop"]) if pull["stop"] is not None else done


def _progress(pull: dict[str, Any]) -> dict[str, Any]:
    return {"total": pull["total"], "completed": _completed(pull)}


def _instance_type(backend: SimpleSystemManagerBackend, instance_id: str) -> str:
    try:
        inst = ec2_backends[backend.account_id][backend.region_name].get_instance(instance_id)
    except Exception:
        return ""
    return inst.instance_type


def _on_gpu(backend: SimpleSystemManagerBackend, instance_id: str) -> bool:
    return _instance_type(backend, instance_id)[:1] in ("g", "p")


def _ps(backend: SimpleSystemManagerBackend, instance_id: str, stack: str) -> dict[str, Any]:
    """/api/ps: the first model stays loaded (it answers n8n's workflows)."""
    models = list(_models.get(stack, {}).items())[:1]
    vram = _on_gpu(backend, instance_id)
    return {"models": [{"name": n, "model": n, "size": s, "size_vram": s if vram else 0}
                       for n, s in models]}


def ps_line(backend: SimpleSystemManagerBackend, instance_id: str) -> str | None:
    """The inside-health read's '#ps' line, on a GPU instance only."""
    if not _on_gpu(backend, instance_id):
        return None
    stack = _stack_of(backend, instance_id)
    _settle(stack)
    return "#ps " + json.dumps(_ps(backend, instance_id, stack))


def _stack_of(backend: SimpleSystemManagerBackend, instance_id: str) -> str:
    try:
        inst = ec2_backends[backend.account_id][backend.region_name].get_instance(instance_id)
    except Exception:
        return ""
    return next((t["value"] for t in inst.get_tags() if t["key"] == "Stack"), "")


def _settle(stack: str) -> None:
    for name, pull in list(_pulls.get(stack, {}).items()):
        if _completed(pull) >= pull["total"]:
            _models.setdefault(stack, {})[name] = pull["total"]
            del _pulls[stack][name]


def answer(backend: SimpleSystemManagerBackend, instance_id: str, text: str) -> str:
    action = TAGS[text.strip().splitlines()[0].strip()]
    stack = _stack_of(backend, instance_id)
    _settle(stack)
    found = MODEL.search(text)
    name = found.group(1) if found else ""
    models = _models.setdefault(stack, {})
    pulls = _pulls.setdefault(stack, {})
    if action == "list":
        tags = {"models": [{"name": n, "model": n, "size": s,
                            "modified_at": "2026-12-01T10:00:00Z"} for n, s in models.items()]}
        ps = _ps(backend, instance_id, stack)
        return json.dumps(tags) + "\n" + json.dumps(ps) + "\n"
    if action == "pull":
        total = _size(name)
        if total is None:
            return json.dumps({"error": "pull model manifest: file does not exist"}) + "\n"
        before = pulls.get(name)
        share, _stall_next[0] = _stall_next[0], None
        pulls[name] = {"total": total, "started": core.now(),
                       "from": _completed(before) if before else 0,
                       "stop": int(total * share) if share else None}
        return "started\n"
    if action == "progress":
        pull = pulls.get(name)
        if pull is None:
            if name in models:
                return "#stopped\n" + json.dumps({"status": "success"}) + "\n"
            return "#stopped\n"
        line = {"status": "pulling 6a0746a1ec1a", "digest": "sha256:6a0746a1ec1a",
                **_progress(pull)}
        return "#running\n" + json.dumps(line) + "\n"
    if name in models:
        del models[name]
        return "removed\n"
    return json.dumps({"error": f"model '{name}' not found"}) + "\n"


for tag in TAGS:
    fake.ANSWERS_WITH_TEXT[tag] = answer
fake.EXTRA_LINES.append(ps_line)

CONTROL = {"/strict-api/ollama": lambda asked: configure(asked) if asked else configure({})}
