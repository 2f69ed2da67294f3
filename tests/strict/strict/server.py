"""The strict emulator: moto's server app, with every rule installed and a
control API at /strict-api/. `--plain` starts it with the rules off (plain
moto), for debugging; /strict-api/config can switch them at run time.

Control API (each module's docstring says its body and answer):
    /strict-api/ (any other path)   enabled, time_scale, faults and every rule
                                    (core.RULES: id, summary, doc, latency), after
                                    /strict-api/config, advance, quota or reset
    /strict-api/instance            the fake instances' settings (instance.py; the
                                    image builder's bake: builder.py)
    /strict-api/autoscaling         waiting lifecycle actions (lifecycle.py)
    /strict-api/interrupt           a spot interruption (spot.py)
    /strict-api/spot-capacity       spot capacity (spot_capacity.py)
    /strict-api/lease               the stacks' writer leases (lease.py)
    /strict-api/switch              stage markers, waiting resumes, bare instances (switch.py, migration.py)
    /strict-api/ollama              a stall of the next model pull, more library sizes (ollama.py)
"""

from __future__ import annotations

import argparse
import json
import os
from typing import Any, Callable, Iterable

os.environ.setdefault("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")

from werkzeug.serving import run_simple  # noqa: E402

from moto.moto_server.werkzeug_app import (  # noqa: E402
    DomainDispatcherApplication,
    create_backend_app,
)

from . import core, faults  # noqa: E402
from . import cloudfront, consistency, ec2, efs, elbv2, extras, iam_profiles, iam_simulate, ssm  # noqa: E402,F401
from . import retries  # noqa: E402,F401
from . import instance, sg_rules  # noqa: E402,F401
from . import autoscaling, lease, switch  # noqa: E402,F401
from . import images  # noqa: E402,F401
from . import builder  # noqa: E402,F401
from . import idempotency  # noqa: E402,F401
from . import ollama  # noqa: E402

# GET/POST path -> handler(asked)
CONTROL = {**autoscaling.CONTROL, **lease.CONTROL, **switch.CONTROL, **ollama.CONTROL}

StartResponse = Callable[..., Any]


class StrictApp:
    def __init__(self, app: Callable) -> None:
        self.app = app

    def __call__(self, environ: dict, start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path.startswith("/strict-api"):
            return self.control(path, environ, start_response)
        with core.LOCK:
            if path.startswith("/moto-api/reset"):
                core.reset()
            core.tick()
            service = faults.service_of(environ)
            kind = faults.FAULT_STATE.pick(service) if service else None
            if kind in ("throttle", "500", "503"):
                return self.fail(service, kind, start_response)
            captured: dict[str, Any] = {}

            def capture(status: str, headers: list, exc_info: Any = None) -> Callable:
                captured["status"], captured["headers"] = status, headers
                return lambda data: None

            body = b"".join(self.app(environ, capture))
            if kind == "lost":
                return self.fail(service, "500", start_response)
            start_response(captured["status"], captured["headers"])
            return [body]

    @staticmethod
    def fail(service: str, kind: str, start_response: StartResponse) -> list[bytes]:
        status, headers, body = faults.response(service, kind)
        start_response(status, headers + [("Content-Length", str(len(body)))])
        return [body]

    def control(self, path: str, environ: dict, start_response: StartResponse) -> list[bytes]:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        raw = environ["wsgi.input"].read(length) if length else b""
        asked = json.loads(raw) if raw else {}
        with core.LOCK:
            if path == "/strict-api/instance":
                try:
                    instance.configure(asked)
                except (instance.Refused, TypeError, ValueError, AttributeError) as e:
                    return _json(start_response, {"error": str(e)}, "400 Bad Request")
                return _json(start_response, instance.state())
            if path in CONTROL:
                try:
                    answer = CONTROL[path](asked)
                except (autoscaling.Refused, lease.Refused, switch.Refused, ollama.Refused,
                        TypeError, ValueError) as e:
                    return _json(start_response, {"error": str(e)}, "400 Bad Request")
                return _json(start_response, answer)
            if path == "/strict-api/config":
                for key, value in asked.items():
                    if not hasattr(core.CONFIG, key):
                        return _json(start_response, {"error": f"no setting {key}"}, "400 Bad Request")
                    setattr(core.CONFIG, key, tuple(value) if isinstance(value, list) else value)
                if "fault_seed" in asked:
                    faults.FAULT_STATE.reseed()
            elif path == "/strict-api/advance":
                core.CONFIG.offset += float(asked.get("seconds", 0))
            elif path == "/strict-api/quota":
                for code, value in asked.items():
                    extras.set_quota(code, float(value))
            elif path == "/strict-api/reset":
                core.reset()
            answer = {
                "enabled": core.CONFIG.enabled,
                "time_scale": core.CONFIG.time_scale,
                "faults": faults.FAULT_STATE.stats(),
                "rules": [r.__dict__ for r in core.RULES],
            }
        return _json(start_response, answer)


def _json(start_response: StartResponse, value: Any, status: str = "200 OK") -> list[bytes]:
    body = json.dumps(value).encode()
    start_response(status, [("Content-Type", "application/json"),
                            ("Content-Length", str(len(body)))])
    return [body]


def app(plain: bool = False) -> StrictApp:
    core.CONFIG.enabled = not plain
    if scale := os.environ.get("STRICT_TIME_SCALE"):
        core.CONFIG.time_scale = float(scale)
    return StrictApp(DomainDispatcherApplication(create_backend_app))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("-H", "--host", default="127.0.0.1")
    parser.add_argument("-p", "--port", type=int, required=True)
    parser.add_argument("--plain", action="store_true", help="plain moto: no strict rules")
    args = parser.parse_args()
    run_simple(args.host, args.port, app(args.plain), threaded=True)


if __name__ == "__main__":
    main()
