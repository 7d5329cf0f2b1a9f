"""Run ``idocbridge serve`` as a real process, for tests, the demo and benchmarks.

with ServiceProcess(generated, settings, state) as service:
    client = zeep.Client(service.wsdl_url("saptRFCClientService"))
"""

from __future__ import annotations

import json
import os
import signal
import ssl
import subprocess
import sys
import time
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from idocbridge.sapsim.runner import SimulatorInfo
from idocbridge.sapsim.testing import stop_process

__all__ = ["WIRES", "ServiceProcess", "simulator_settings"]


WIRES = ("json", "cpic", "websocket")
"""How a service reaches the simulator: its JSON protocol (connector simulator), or SAP's RFC through
the saprfc connector over classic RFC (cpic) or WebSocket RFC (websocket)."""


def simulator_settings(
    model_aliases: list[str], info: SimulatorInfo, state: Path, port: int = 0, wire: str = "json"
) -> str:
    """Deployment settings (YAML) pointing every alias at a running simulator over ``wire``; the service on ``port``."""
    websocket = f"{{port: {info.port}, trustedCa: '{info.ca_certificate}'}}"
    if wire == "json":
        alias = (
            f"    transport: websocket\n    connector: simulator\n    host: {info.host}\n    websocket: {websocket}\n"
        )
    elif wire == "websocket":
        alias = f"    transport: websocket\n    connector: saprfc\n    host: localhost\n    websocket: {websocket}\n"
    elif wire == "cpic":
        alias = (
            f"    transport: cpic\n    connector: saprfc\n    host: {info.gateway_host}\n"
            f"    systemNumber: '{info.system_number}'\n"
        )
    else:
        raise ValueError(f"unknown wire {wire!r}: one of {', '.join(WIRES)}")
    aliases = "".join(f"  - name: {name}\n{alias}" for name in model_aliases)
    return f"environment: simulator\nserver:\n  port: {port}\n  state: '{state}'\naliases:\n{aliases}"


class ServiceProcess:
    """``idocbridge serve FOLDER --settings SETTINGS`` in a subprocess, ready when /health answers."""

    def __init__(self, folder: Path, settings: Path, state: Path, environment: dict[str, str] | None = None,
                 startup_timeout: float = 60.0, ca_certificate: Path | None = None,
                 arguments: Sequence[str] = ()) -> None:  # fmt: skip
        self.folder = folder
        self.arguments = list(arguments)
        self.settings = settings
        self.state = state
        self.environment = environment or {}
        self.startup_timeout = startup_timeout
        self.process: subprocess.Popen[bytes] | None = None
        self.url = ""
        self._ssl = ssl.create_default_context(cafile=str(ca_certificate)) if ca_certificate else None

    def start(self) -> Self:
        self.state.mkdir(parents=True, exist_ok=True)
        (self.state / "serve.json").unlink(missing_ok=True)
        command = [sys.executable, "-m", "idocbridge", "serve", str(self.folder), "--settings", str(self.settings),
                   *self.arguments]  # fmt: skip
        log = (self.state / "serve.log").open("ab")
        self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                        env=os.environ | self.environment)  # fmt: skip
        log.close()
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"idocbridge serve exited with {self.process.returncode}: {self.log_tail()}")
            try:
                self.url = json.loads((self.state / "serve.json").read_text())["url"]
                with urllib.request.urlopen(f"{self.url}/health", timeout=2, context=self._ssl) as response:
                    if response.status == 200:
                        return self
            except (OSError, ValueError, KeyError):
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"idocbridge serve did not start within {self.startup_timeout} s: {self.log_tail()}")

    def health(self) -> dict[str, Any]:
        with urllib.request.urlopen(f"{self.url}/health", timeout=5, context=self._ssl) as response:
            result: dict[str, Any] = json.loads(response.read())
            return result

    def wsdl_url(self, service: str) -> str:
        return f"{self.url}/{service}?wsdl"

    def log_tail(self, lines: int = 30) -> str:
        path = self.state / "serve.log"
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) if path.exists() else ""

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.process is not None:
            stop_process(self.process, sig, timeout=20)
        self.process = None

    def kill(self) -> None:
        """SIGKILL: the process dies at once, as in a crash."""
        self.stop(signal.SIGKILL)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()
