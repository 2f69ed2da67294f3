"""The strict layer's machinery: one switch, one clock, a scheduler for
delayed transitions, and the registry of rules.

Every rule is AWS behaviour that moto does not enforce. A rule patches a moto
backend method in this process, so it can read and extend moto's own state
(no second parser of six wire protocols). When `CONFIG.enabled` is false,
every patch passes straight through to moto: the same server is plain moto.
"""

from __future__ import annotations

import functools
import heapq
import itertools
import os
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable

# One request at a time: rules read and change moto's state as a whole.
LOCK = threading.RLock()


@dataclass
class Config:
    enabled: bool = True
    # Realistic AWS latencies are multiplied by this (one setting), so the
    # suite stays fast while the order of events stays AWS's.
    time_scale: float = 0.01
    # Seconds added to the clock by /strict-api/advance (deterministic tests).
    offset: float = 0.0
    # When set, the monotonic clock stands still at this reading and only
    # offset moves it: the rule tests' fake clock, so a slow machine cannot
    # let a deadline pass between two steps.
    frozen_at: float | None = None
    fault_rate: float = 0.0
    fault_kinds: tuple[str, ...] = ("throttle", "500", "503", "lost")
    fault_seed: int = 0
    # Services (SigV4 scope names) that faults hit; empty means all.
    fault_services: tuple[str, ...] = ()


CONFIG = Config()


def now() -> float:
    base = CONFIG.frozen_at if CONFIG.frozen_at is not None else time.monotonic()
    return base + CONFIG.offset


def scaled(realistic_secs: float) -> float:
    return realistic_secs * CONFIG.time_scale


@dataclass(order=True)
class _Due:
    at: float
    seq: int
    action: Callable[[], None] = field(compare=False)


_queue: list[_Due] = []
_seq = itertools.count()


def later(realistic_secs: float, action: Callable[[], None]) -> None:
    """Run `action` once the scaled delay has passed (at the next request)."""
    heapq.heappush(_queue, _Due(now() + scaled(realistic_secs), next(_seq), action))


def tick() -> None:
    """Run every transition that is due. Called before each request."""
    while _queue and _queue[0].at <= now():
        heapq.heappop(_queue).action()


def reset() -> None:
    _queue.clear()
    for hook in _RESET_HOOKS:
        hook()


_RESET_HOOKS: list[Callable[[], None]] = []


def on_reset(hook: Callable[[], None]) -> Callable[[], None]:
    _RESET_HOOKS.append(hook)
    return hook


@dataclass(frozen=True)
class Rule:
    id: str
    summary: str
    doc: str
    # What AWS takes in real time, where the rule is about time.
    latency: str = ""


RULES: list[Rule] = []


def rule(id: str, summary: str, doc: str, latency: str = "") -> Rule:
    r = Rule(id, summary, doc, latency)
    RULES.append(r)
    return r


def patch(cls: type, name: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Replace `cls.name` with `new(original, self, *args, **kwargs)` while
    the layer is enabled; plain moto behaviour otherwise."""

    def install(new: Callable[..., Any]) -> Callable[..., Any]:
        original = getattr(cls, name)

        @functools.wraps(original)
        def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
            if not CONFIG.enabled:
                return original(self, *args, **kwargs)
            return new(original, self, *args, **kwargs)

        setattr(cls, name, wrapper)
        return new

    return install


_HERE = os.path.dirname(os.path.abspath(__file__))


def from_api() -> bool:
    """Whether the patched call running now was made by moto's handler of an
    API request, not by moto itself (a backend creating its default VPC,
    CreateVpc making its main route table)."""
    frame = sys._getframe(1)
    while frame is not None and frame.f_code.co_filename.startswith(_HERE):
        frame = frame.f_back
    return frame is not None and f"{os.sep}responses" in frame.f_code.co_filename


class Births:
    """When each resource was created: the basis of eventual consistency and
    propagation delays."""

    def __init__(self) -> None:
        self.at: dict[str, float] = {}
        on_reset(self.at.clear)

    def born(self, resource_id: str) -> None:
        if from_api():
            self.at[resource_id] = now()

    def age(self, resource_id: str) -> float | None:
        born = self.at.get(resource_id)
        return None if born is None else now() - born

    def younger_than(self, resource_id: str, realistic_secs: float) -> bool:
        age = self.age(resource_id)
        return age is not None and age < scaled(realistic_secs)


BIRTHS = Births()
