"""The strict emulator in this process, on a free loopback port, for the rule
tests. Each test runs a scenario against plain moto (the rules off) and
against the strict layer, on the same server, reset in between."""

from __future__ import annotations

import os
import threading
import time
import urllib.request

import boto3
import pytest
from botocore.config import Config
from werkzeug.serving import make_server

os.environ["MOTO_IAM_LOAD_MANAGED_POLICIES"] = "false"  # fast resets; no rule needs them

from strict import core, server  # noqa: E402


class Emulator:
    def __init__(self) -> None:
        self.http = make_server("127.0.0.1", 0, server.app(), threaded=True)
        self.url = f"http://127.0.0.1:{self.http.server_port}"
        self.thread = threading.Thread(target=self.http.serve_forever, daemon=True)
        self.thread.start()

    def reset(self, strict: bool) -> None:
        urllib.request.urlopen(urllib.request.Request(f"{self.url}/moto-api/reset", method="POST"))
        core.CONFIG.enabled = strict
        # Real time: the only time that passes is what a test advances.
        core.CONFIG.time_scale = 1.0
        core.CONFIG.offset = 0.0
        core.CONFIG.frozen_at = time.monotonic()
        core.CONFIG.fault_rate = 0.0

    def client(self, service: str):
        return boto3.client(
            service, region_name="us-east-1", endpoint_url=self.url,
            aws_access_key_id="testing", aws_secret_access_key="testing",
            config=Config(retries={"total_max_attempts": 1, "mode": "standard"}))

    def advance(self, realistic_secs: float) -> None:
        core.CONFIG.offset += realistic_secs
        with core.LOCK:
            core.tick()

    def stop(self) -> None:
        self.http.shutdown()


@pytest.fixture(scope="session")
def emulator():
    emu = Emulator()
    yield emu
    emu.stop()


class Run:
    """One scenario, on plain moto and on the strict layer."""

    def __init__(self, emu: Emulator) -> None:
        self.emu = emu

    def moto_accepts(self, scenario) -> None:
        self.emu.reset(strict=False)
        scenario(self.emu)

    def strict_refuses(self, scenario, code: str) -> str:
        self.emu.reset(strict=True)
        with pytest.raises(Exception) as caught:
            scenario(self.emu)
        err = caught.value
        got = getattr(err, "response", {}).get("Error", {}).get("Code")
        assert got == code, f"expected {code}, got {got}: {err}"
        return str(err)

    def both(self, scenario, code: str) -> str:
        self.moto_accepts(scenario)
        return self.strict_refuses(scenario, code)


@pytest.fixture
def run(emulator):
    yield Run(emulator)
    core.CONFIG.enabled = True
