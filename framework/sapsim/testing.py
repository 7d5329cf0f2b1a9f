"""Test helpers: run the simulator as a real process from a test suite (yours or ours).

    with SimulatorProcess(tmp_path / "sim") as sim:
        with sim.connector() as sap:
            tid = sap.get_transaction_id()
            ...
        assert len(sim.control.idocs()) == 1

The simulator listens on a free port of 127.0.0.1, keeps its state in the given folder (so
``restart()`` keeps TIDs and IDocs), and stops when the block ends.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from idocbridge.connectors.simulator import SimulatorConnector
from idocbridge.models.secrets import Secret
from idocbridge.sapsim.control_client import SimulatorControl
from idocbridge.sapsim.runner import SimulatorInfo, read_info

__all__ = ["SimulatorProcess", "stop_process", "txtraw"]


def stop_process(process: subprocess.Popen[bytes], sig: int, timeout: float) -> None:
    """Send ``sig`` to a running ``process`` and wait; SIGKILL it if it is still there after ``timeout`` s."""
    if process.poll() is not None:
        return
    os.kill(process.pid, sig)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def txtraw(*lines: str, sender: str = "LEGACY", receiver: str = "SIMCLNT100", **control: str) -> dict[str, Any]:
    """IDOC_INBOUND_ASYNCHRONOUS parameters for one TXTRAW01 IDoc with a segment per line.

    It goes from port LEGACY, partner ``sender`` to port SAPSIM, partner ``receiver`` (what the
    simulator's default configuration accepts); ``control`` overrides or adds control-record fields.
    """
    record = {
        "TABNAM": "EDI_DC40",
        "DIRECT": "2",
        "IDOCTYP": "TXTRAW01",
        "MESTYP": "TXTRAW",
        "SNDPOR": "LEGACY",
        "SNDPRT": "LS",
        "SNDPRN": sender,
        "RCVPOR": "SAPSIM",
        "RCVPRT": "LS",
        "RCVPRN": receiver,
    } | control
    data = [{"SEGNAM": "E1TXTRW", "SDATA": line} for line in lines]
    return {"IDOC_CONTROL_REC_40": [record], "IDOC_DATA_REC_40": data}


class SimulatorProcess:
    """A simulator subprocess with its control client."""

    def __init__(
        self,
        state: Path,
        *,
        config: Path | None = None,
        parser_files: list[Path] | None = None,
        seed: int = 0,
        host: str = "127.0.0.1",
        startup_timeout: float = 30.0,
        environment: dict[str, str] | None = None,
        log_level: str = "WARNING",
    ) -> None:
        self.state = state
        self.config = config
        self.parser_files = parser_files or []
        self.seed = seed
        self.host = host
        self.startup_timeout = startup_timeout
        self.environment = environment or {}
        self.log_level = log_level
        self.process: subprocess.Popen[bytes] | None = None
        self._control: SimulatorControl | None = None
        self.info: SimulatorInfo | None = None
        self._port = 0
        self._gateway_port = 0
        self._message_server_port = 0
        self._router_port = 0

    def start(self) -> Self:
        self.state.mkdir(mode=0o700, parents=True, exist_ok=True)
        (self.state / "sim.json").unlink(missing_ok=True)
        command = [
            sys.executable,
            "-m",
            "idocbridge",
            "sim",
            "--state",
            str(self.state),
            "--host",
            self.host,
            "--port",
            str(self._port),
            "--gateway-port",
            str(self._gateway_port),
            "--message-server-port",
            str(self._message_server_port),
            "--router-port",
            str(self._router_port),
            "--seed",
            str(self.seed),
            "--log-level",
            self.log_level,
        ]
        if self.config is not None:
            command += ["--config", str(self.config)]
        for path in self.parser_files:
            command += ["--parser-file", str(path)]
        log = os.fdopen(os.open(self.state / "sim.log", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600), "ab")
        environment = os.environ | self.environment
        self.process = subprocess.Popen(
            command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=environment
        )
        log.close()
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the simulator exited with {self.process.returncode}: {self.log_tail()}")
            try:
                info = read_info(self.state)
            except (OSError, ValueError, KeyError):
                time.sleep(0.05)
                continue
            if info.pid == self.process.pid:
                self.info = info
                self._port = info.port  # a restart comes back on the same ports
                self._gateway_port = info.gateway_port
                self._message_server_port = info.message_server_port
                self._router_port = info.router_port
                return self
            time.sleep(0.05)
        self.kill()
        raise RuntimeError(f"the simulator did not start within {self.startup_timeout} s: {self.log_tail()}")

    def log_tail(self, lines: int = 20) -> str:
        path = self.state / "sim.log"
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) if path.exists() else ""

    @property
    def control(self) -> SimulatorControl:
        if self._control is None:
            self._control = SimulatorControl.for_state(self.state)
        return self._control

    def connector(
        self,
        user: str | None = "IDOCUSER",
        password: str | None = "idocbridge",
        client: str = "100",
        *,
        client_certificate: Path | None = None,
        client_key: Path | None = None,
        timeout: float = 30.0,
    ) -> SimulatorConnector:
        """A connector for this simulator (certificate logon: ``user=None`` and a client certificate)."""
        assert self.info is not None, "start the simulator first"
        return SimulatorConnector(
            self.info.url,
            client=client,
            user=user,
            password=Secret(password) if password else None,
            ca_certificate=self.info.ca_certificate,
            client_certificate=client_certificate,
            client_key=client_key,
            timeout=timeout,
        )

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self._control is not None:
            self._control.close()
            self._control = None
        if self.process is not None:
            stop_process(self.process, sig, timeout=15)
        self.process = None

    def kill(self) -> None:
        """SIGKILL: the process dies at once, as in a crash."""
        self.stop(signal.SIGKILL)

    def restart(self) -> Self:
        self.stop()
        return self.start()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()
