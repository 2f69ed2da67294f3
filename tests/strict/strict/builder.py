"""The product's throw-away image builder: one instance launched by
RunInstances (no group, no instance profile) with the tag
geusemaker:role=image-builder, whose user data (assets/bake.sh) bakes the
image, says so on the console and powers the machine off.

moto 5.2.5 has no guest OS: its instances never stop by themselves, and
GetConsoleOutput answers every instance the same ten lines of a 2006 Xen
kernel boot, whatever Latest, stamped now. It keeps RunInstances'
InstanceInitiatedShutdownBehavior (default stop; DescribeInstanceAttribute
shows it) but nothing uses it, and ModifyInstanceAttribute of it is ignored.

Here (the layer on) a builder runs the bake script, as instance.py's "bake"
setting says (its own entry, else "*"; it takes the "next" entry at launch;
read when each step is due, so a test may set it after the launch):

- BOOT_SECS (60 s) after launch it has booted: the console gains the
  kernel's and cloud-init's lines and `geusemaker-bake: started`;
- "complete" (default): at BAKE_SECS (300 s: boot 60 + packages 60 + image
  pulls 180) `geusemaker-bake: done`, then `systemctl poweroff` ("reboot:
  Power down"). EC2 applies its InstanceInitiatedShutdownBehavior: "stop"
  goes stopping, then stopped STOPPING_SECS later; "terminate" goes
  shutting-down, then terminated (ec2.py, rule ec2.shutting-down). Either
  way StateReason Client.InstanceInitiatedShutdown and StateTransitionReason
  "User initiated (YYYY-MM-DD HH:MM:SS GMT)", as AWS writes them for an OS
  shutdown; DisableApiStop and DisableApiTermination do not prevent it;
- "fail": at BAKE_FAIL_SECS (120 s) `geusemaker-bake: failed: <why>` (a
  Docker Hub pull rate limit); the script exits and the instance runs on;
- "hang": nothing after `started`.

The stop and the termination go through ec2_stops.py, so every on_stopped
listener hears of them; a builder is in no group, holds no writer lease and
is not bare, so lease.py, autoscaling.py and migration.py leave it be. A
builder stopped or terminated by a call before its script ends prints
nothing more (the script died with the OS; a start does not run the user
data again).

GetConsoleOutput of a builder answers what it printed (base64 Output, lines
ending CR LF as a serial console writes them): with Latest=true everything
so far, Timestamp the last line's time; without, the buffer EC2 posted
shortly after the boot and after each stop or termination (so a failure
while running is seen only with Latest), Timestamp the post's time; before
the first post, InstanceId alone. Other instances keep moto's answer.

A reset (moto's or /strict-api/reset) forgets every builder and its console.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from typing import Any

from moto.core.responses import ActionResult
from moto.ec2.models import EC2Backend
from moto.ec2.models.instances import InstanceState, StateReason
from moto.ec2.responses.general import General
from moto.ec2.utils import Base64EncodedString

from . import core, ec2_stops
from . import instance as fake
from . import scaling_activities as activities
from .core import patch, rule

INSTANCE_SHUTDOWN = rule(
    "ec2.instance-initiated-shutdown",
    "An instance whose OS powers itself off (the image builder, tag "
    "geusemaker:role=image-builder, once its bake is done) stops, or terminates if its "
    "InstanceInitiatedShutdownBehavior is terminate, with StateReason "
    "Client.InstanceInitiatedShutdown; its bake is set per instance through "
    "/strict-api/instance (\"bake\": complete, fail, hang)",
    "https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/Using_ChangingInstanceInitiatedShutdownBehavior.html",
    latency="the bake: modelled 300 s (boot 60 s, packages 60 s, image pulls 180 s), "
            "then stopping 30 s",
)
CONSOLE_OUTPUT = rule(
    "ec2.console-output",
    "GetConsoleOutput of an image builder answers what it printed to its console "
    "(geusemaker-bake: started, done or failed: …): with Latest everything so far, "
    "without it the buffer EC2 posted after its boot and after its last stop or "
    "termination",
    "https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_GetConsoleOutput.html",
)

ROLE_TAG, ROLE = "geusemaker:role", "image-builder"
BOOT_SECS = 60.0
BAKE_FAIL_SECS = 120.0  # the first image pull, rate-limited
BAKE_SECS = 300.0
STOPPING_SECS = 30.0
BOOT_LINES = (
    "[    0.000000] Linux version 6.1.115-126.197.amzn2023.x86_64 "
    "(mockbuild@ip-10-0-36-41) (gcc (GCC) 11.4.1 20230605 (Red Hat 11.4.1-2)) "
    "#1 SMP PREEMPT_DYNAMIC",
    "[   11.209412] cloud-init[1598]: Cloud-init v. 22.2.2 running 'modules:final'",
)
STARTED = "geusemaker-bake: started"
DONE = "geusemaker-bake: done"
FAILED = ("geusemaker-bake: failed: images: could not pull docker.io/n8nio/n8n "
          "(toomanyrequests: You have reached your unauthenticated pull rate limit)")
POWER_DOWN = "[  300.512207] reboot: Power down"
CODE = "Client.InstanceInitiatedShutdown"
MESSAGE = "Client.InstanceInitiatedShutdown: Instance initiated shutdown"


@dataclass
class Builder:
    backend: EC2Backend
    instance: Any
    printed: list[tuple[datetime.datetime, str]] = field(default_factory=list)
    posted: int = 0  # how many printed lines EC2's buffer holds
    posted_at: datetime.datetime | None = None
    over: bool = False  # the script has ended (or died with the OS)

    def say(self, *lines: str) -> None:
        at = activities.utc()
        self.printed += [(at, line) for line in lines]

    def post(self) -> None:
        self.posted, self.posted_at = len(self.printed), activities.utc()

    def running(self) -> bool:
        return not self.over and self.instance._state.name == "running"


_builders: dict[str, Builder] = {}
core.on_reset(_builders.clear)


@patch(EC2Backend, "run_instances")
def _run_instances(original, self, *args, **kwargs):
    reservation = original(self, *args, **kwargs)
    if not core.from_api():  # a group's launch: no builder
        return reservation
    for instance in reservation.instances:
        tagged = self.tags.get(instance.id, {}).get(ROLE_TAG) == ROLE
        if tagged and instance.id not in _builders:  # (a repeated ClientToken: known)
            fake.launched(instance.id)
            b = _builders[instance.id] = Builder(self, instance)
            core.later(BOOT_SECS, lambda b=b: _booted(b))
            core.later(BAKE_FAIL_SECS, lambda b=b: _step(b, "fail"))
            core.later(BAKE_SECS, lambda b=b: _step(b, "complete"))
    return reservation


def _booted(b: Builder) -> None:
    if b.running():
        b.say(*BOOT_LINES, STARTED)
        b.post()  # "posted shortly after an instance transition state"


def _step(b: Builder, way: str) -> None:
    if not b.running() or fake.bake(b.instance.id) != way:
        return
    b.over = True
    if way == "fail":
        b.say(FAILED)
        return
    b.say(DONE, POWER_DOWN)
    _power_off(b)


def _power_off(b: Builder) -> None:
    """EC2 sees the OS power off: InstanceInitiatedShutdownBehavior decides."""
    instance, backend = b.instance, b.backend
    terminate = instance.instance_initiated_shutdown_behavior == "terminate"
    # The API guards apply to API calls only: an OS shutdown is not refused.
    guard = "disable_api_termination" if terminate else "disable_api_stop"
    kept = getattr(instance, guard, False)
    setattr(instance, guard, False)
    try:
        if terminate:
            backend.terminate_instances([instance.id])  # shutting-down, then terminated
        else:
            backend.stop_instances([instance.id])  # moto: stopped at once
            instance._state = InstanceState("stopping", 64)
            core.later(STOPPING_SECS, lambda: _stopped(instance))
    finally:
        setattr(instance, guard, kept)
    instance.state_reason = StateReason(MESSAGE, CODE)
    instance._reason = f"User initiated ({activities.utc():%Y-%m-%d %H:%M:%S} GMT)"


def _stopped(instance: Any) -> None:
    if instance._state.name == "stopping":
        instance._state = InstanceState("stopped", 80)


@ec2_stops.on_stopped
def _went_down(changed: list) -> None:
    """A builder stopped or terminated (by its OS or a call): its script is
    over, and EC2 posts the console buffer."""
    for instance, _previous in changed:
        b = _builders.get(instance.id)
        if b is not None and b.instance is instance and instance._state.name != "running":
            b.over = True
            b.post()


@patch(General, "get_console_output")
def _get_console_output(original, self):
    instance = self.ec2_backend.get_instance(self._get_param("InstanceId"))
    b = _builders.get(instance.id)
    if b is None or b.instance is not instance:
        return original(self)
    if self._get_bool_param("Latest", False):
        lines, at = b.printed, (b.printed[-1][0] if b.printed else None)
    else:
        lines, at = b.printed[:b.posted], b.posted_at
    result: dict[str, Any] = {"InstanceId": instance.id}
    if lines:
        text = "".join(f"{line}\r\n" for _, line in lines)
        result.update(Timestamp=at, Output=Base64EncodedString.from_raw_string(text))
    return ActionResult(result)
