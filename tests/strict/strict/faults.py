"""Faults: a seeded fraction of calls answer throttling, 500 or 503, or take
effect and then lose their answer (the client sees a 500). Without the last
kind, "a retry never duplicates" is trivially true."""

from __future__ import annotations

import json
import random
import re
from typing import Any

from . import core
from .core import rule

FAULTS = rule(
    "faults.seeded",
    "A configurable, seeded fraction of calls answer throttling errors, 500 or 503, or "
    "happen and lose their answer (500)",
    "https://docs.aws.amazon.com/sdkref/latest/guide/feature-retry-behavior.html",
)

_SCOPE = re.compile(r"Credential=[^/]+/[^/]+/[^/]+/([^/]+)/aws4_request")
QUERY_XML = {"iam", "sts", "elasticloadbalancing", "autoscaling", "cloudformation"}
JSON = {"ssm", "servicequotas", "pricing", "backup"}


class Faults:
    def __init__(self) -> None:
        self.rng = random.Random(core.CONFIG.fault_seed)
        self.calls = 0
        self.injected: dict[str, int] = {}
        core.on_reset(self.reseed)

    def reseed(self) -> None:
        self.rng = random.Random(core.CONFIG.fault_seed)
        self.calls = 0
        self.injected = {}

    def pick(self, service: str) -> str | None:
        self.calls += 1
        cfg = core.CONFIG
        if not cfg.enabled or cfg.fault_rate <= 0:
            return None
        if cfg.fault_services and service not in cfg.fault_services:
            return None
        if self.rng.random() >= cfg.fault_rate:
            return None
        kind = self.rng.choice(list(cfg.fault_kinds))
        self.injected[kind] = self.injected.get(kind, 0) + 1
        return kind

    def stats(self) -> dict[str, Any]:
        return {"calls": self.calls, "injected": dict(self.injected),
                "total_injected": sum(self.injected.values())}


FAULT_STATE = Faults()


def service_of(environ: dict) -> str | None:
    found = _SCOPE.search(environ.get("HTTP_AUTHORIZATION", ""))
    return found.group(1) if found else None


def _code(service: str, kind: str) -> str:
    if kind == "throttle":
        return {"ec2": "RequestLimitExceeded"}.get(
            service, "ThrottlingException" if service in JSON | {"elasticfilesystem"}
            else "Throttling")
    if kind == "503":
        return "Unavailable" if service == "ec2" else "ServiceUnavailable"
    return "InternalError" if service == "ec2" else "InternalFailure"


def response(service: str, kind: str) -> tuple[str, list[tuple[str, str]], bytes]:
    """The error AWS would send, in the service's own protocol."""
    status = {"throttle": "400 Bad Request", "503": "503 Service Unavailable"}.get(
        kind, "500 Internal Server Error")
    code = _code(service, kind)
    message = f"injected by the strict emulator ({kind})"
    if service in JSON or service == "elasticfilesystem":
        body = json.dumps({"__type": code, "message": message}).encode()
        return status, [("Content-Type", "application/x-amz-json-1.1"),
                        ("x-amzn-ErrorType", code)], body
    if service == "ec2":
        body = (f"<Response><Errors><Error><Code>{code}</Code><Message>{message}</Message>"
                f"</Error></Errors><RequestID>strict</RequestID></Response>").encode()
    else:
        body = (f"<ErrorResponse><Error><Type>Receiver</Type><Code>{code}</Code>"
                f"<Message>{message}</Message></Error><RequestId>strict</RequestId>"
                f"</ErrorResponse>").encode()
    return status, [("Content-Type", "text/xml")], body
