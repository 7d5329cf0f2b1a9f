"""Run the simulator as a process: state folder, PKI, control token, server, clean shutdown.

On start it writes ``sim.json`` into the state folder (URL, port, process ID, CA path) so that tools
and tests find a simulator started on port 0.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import logging
import os
import secrets
import signal
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from idocbridge.errors import IdocbridgeError
from idocbridge.idoc.parser_file import read_parser_file
from idocbridge.idoc.registry import IDocTypeRegistry
from idocbridge.sapsim import builtin_functions, idoc_inbound, idoc_metadata  # noqa: F401 - they register
from idocbridge.sapsim.config import SimulatorConfig, load_config
from idocbridge.sapsim.engine import Engine
from idocbridge.sapsim.faults import FaultPlan
from idocbridge.sapsim.protocol import RFC_PATH
from idocbridge.sapsim.server import SimulatorServer
from idocbridge.sapsim.store import SimulatorStore
from idocbridge.sapsim.tls import DevelopmentPki, ensure_pki, server_context

__all__ = ["SimulatorError", "SimulatorInfo", "read_info", "run_simulator"]


class SimulatorError(IdocbridgeError):
    """The simulator cannot start (configuration, function modules, IDoc types)."""


@dataclass(frozen=True)
class SimulatorInfo:
    """What a running simulator wrote into ``sim.json``."""

    url: str
    host: str
    port: int
    pid: int
    ca_certificate: Path
    state: Path

    @property
    def control_token(self) -> str:
        return (self.state / "control.token").read_text(encoding="utf-8").strip()


def read_info(state: Path) -> SimulatorInfo:
    data = json.loads((state / "sim.json").read_text(encoding="utf-8"))
    return SimulatorInfo(data["url"], data["host"], int(data["port"]), int(data["pid"]), Path(data["ca"]), state)


def _control_token(state: Path) -> str:
    path = state / "control.token"
    if not path.exists():
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(secrets.token_urlsafe(32) + "\n")
    return path.read_text(encoding="utf-8").strip()


def _idoc_types(config: SimulatorConfig, base: Path, extra: list[Path]) -> IDocTypeRegistry:
    types = IDocTypeRegistry()
    for entry in [*(base / p for p in config.parser_files), *extra]:
        try:
            types.register(read_parser_file(entry))
        except (OSError, IdocbridgeError) as exc:
            raise SimulatorError(f"cannot load IDoc type from {entry}: {exc}") from exc
    return types


def _import_modules(config: SimulatorConfig) -> None:
    for name in config.function_modules:
        try:
            importlib.import_module(name)
        except ImportError as exc:
            raise SimulatorError(f"cannot import function modules from '{name}': {exc}") from exc


def run_simulator(
    state: Path,
    host: str = "127.0.0.1",
    port: int = 8443,
    config_path: Path | None = None,
    parser_files: list[Path] | None = None,
    seed: int = 0,
    announce: Callable[[str], None] = print,
    log_level: str = "WARNING",
) -> None:
    """Serve until SIGINT or SIGTERM."""
    logging.basicConfig(level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # websockets logs frame contents at DEBUG, and frames carry passwords and the control token.
    websockets_log = logging.getLogger("websockets")
    websockets_log.setLevel(max(websockets_log.getEffectiveLevel(), logging.INFO))
    config, base = load_config(config_path)
    _import_modules(config)
    state.mkdir(parents=True, exist_ok=True)
    idoc_types = _idoc_types(config, base, parser_files or [])
    pki = ensure_pki(state)
    store = SimulatorStore(state / "sim.db")
    engine = Engine(config, store, idoc_types, FaultPlan(seed))
    server = SimulatorServer(engine, _control_token(state))
    try:
        asyncio.run(_serve(server, state, host, port, pki, announce))
    finally:
        store.close()


async def _serve(
    server: SimulatorServer, state: Path, host: str, port: int, pki: DevelopmentPki, announce: Callable[[str], None]
) -> None:
    running = await server.start(host, port, server_context(pki))
    actual = running.sockets[0].getsockname()[1]
    shown = f"[{host}]" if ":" in host else host
    url = f"wss://{shown}:{actual}{RFC_PATH}"
    info = {"url": url, "host": host, "port": actual, "pid": os.getpid(), "ca": str(pki.ca_certificate)}
    temporary = state / "sim.json.tmp"
    temporary.write_text(json.dumps(info, indent=2), encoding="utf-8")
    temporary.replace(state / "sim.json")
    announce(f"SAP simulator {server.engine.config.system_id} listening on {url}")
    announce(f"clients trust the development CA at {pki.ca_certificate}")
    announce(f"state (TIDs, IDocs) in {state}; control token in {state / 'control.token'}")
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    await stop.wait()
    running.close()
    await running.wait_closed()
    (state / "sim.json").unlink(missing_ok=True)
    announce("SAP simulator stopped")
