"""Run the simulator as a process: state folder, PKI, control token, server, clean shutdown.

On start it writes ``sim.json`` into the state folder (URL, port, process ID, CA path, and the classic
RFC gateway's host, port and system number) so that tools and tests find a simulator started on port 0.
"""

from __future__ import annotations

import asyncio
import contextlib
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
from idocbridge.sapsim import builtin_functions, idoc_inbound, idoc_metadata, idoc_monitor  # noqa: F401 - they register
from idocbridge.sapsim.config import SimulatorConfig, load_config
from idocbridge.sapsim.engine import Engine
from idocbridge.sapsim.faults import FaultPlan
from idocbridge.sapsim.idoc_processing import BackgroundProcessing
from idocbridge.sapsim.message_server import MessageServer, MessageServerConfig
from idocbridge.sapsim.protocol import RFC_PATH
from idocbridge.sapsim.rfc.router import RouterConfig, SapRouter
from idocbridge.sapsim.rfc.server import GatewayConfig, GatewayServer, gateway_port
from idocbridge.sapsim.server import SimulatorServer
from idocbridge.sapsim.store import SimulatorStore, private_folder
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
    gateway_host: str = "127.0.0.1"
    """Where classic RFC (CPIC over TCP) listens: host, port 33NN and the system number NN."""
    gateway_port: int = 3300
    system_number: str = "00"
    message_server_port: int = 0
    """The message server's HTTP port (load balancing: MSHOST is ``host``), 0 if none."""
    router_port: int = 0
    """The SAProuter's port in front of the gateway, 0 if none."""

    @property
    def control_token(self) -> str:
        return (self.state / "control.token").read_text(encoding="utf-8").strip()


@dataclass(frozen=True)
class _Extras:
    """Ports of the message server (HTTP) and the SAProuter; 0 for a free one."""

    message_server_port: int = 0
    router_port: int = 0


def read_info(state: Path) -> SimulatorInfo:
    """What the simulator running on ``state`` wrote into its ``sim.json``.

    A relative CA path (written by an older simulator, relative to the folder it was started from) is
    taken as the CA in ``state/tls``, where the simulator keeps it.
    """
    data = json.loads((state / "sim.json").read_text(encoding="utf-8"))
    ca = Path(data["ca"])
    gateway = data.get("gateway") or {}
    return SimulatorInfo(
        data["url"],
        data["host"],
        int(data["port"]),
        int(data["pid"]),
        ca if ca.is_absolute() else state / "tls" / "ca.pem",
        state,
        str(gateway.get("host", data["host"])),
        int(gateway.get("port", 3300)),
        str(gateway.get("system_number", "00")),
        int((data.get("message_server") or {}).get("http_port", 0)),
        int((data.get("router") or {}).get("port", 0)),
    )


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
    gateway_port: int | None = None,
    message_server_port: int = 0,
    router_port: int = 0,
) -> None:
    """Serve until SIGINT or SIGTERM.

    Classic RFC listens on ``gateway_port``: None for 33NN of the configured system number, 0 for a
    free port from 3300 to 3399; a port 33NN makes the system number NN. The message server's HTTP
    interface and the SAProuter listen on their ports (0: a free one); sim.json names them all.
    """
    logging.basicConfig(level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # websockets logs frame contents at DEBUG, and frames carry passwords and the control token.
    websockets_log = logging.getLogger("websockets")
    websockets_log.setLevel(max(websockets_log.getEffectiveLevel(), logging.INFO))
    config, base = load_config(config_path)
    _import_modules(config)
    state = state.resolve()  # sim.json records absolute paths: tools may run from another folder
    private_folder(state)  # it holds business data (sim.db) and the control token
    idoc_types = _idoc_types(config, base, parser_files or [])
    pki = ensure_pki(state)
    store = SimulatorStore(state / "sim.db")
    engine = Engine(config, store, idoc_types, FaultPlan(seed))
    try:
        extra = _Extras(message_server_port, router_port)
        asyncio.run(_serve(engine, _control_token(state), state, host, port, pki, announce, gateway_port, extra))
    finally:
        store.close()


async def _start_gateway(engine: Engine, host: str, port: int | None) -> tuple[GatewayServer, asyncio.Server]:
    """The classic RFC listener on 33NN, on the given port, or on the first free gateway port."""
    if port is not None and port != 0:
        # A gateway port 33NN belongs to system number NN; any other port keeps the configured number.
        number = f"{port - 3300:02d}" if 3300 <= port <= 3399 else engine.config.system_number
        gateway = GatewayServer(engine, GatewayConfig(host, port, number))
        return gateway, await gateway.start()
    # A free port is searched from a random system number, so that simulators started side by side
    # (tests in parallel) do not all race for 3300 and a restart rarely finds its port taken.
    first = secrets.randbelow(100)
    numbers = [engine.config.system_number] if port is None else [f"{(first + n) % 100:02d}" for n in range(100)]
    for number in numbers:
        gateway = GatewayServer(engine, GatewayConfig(host, gateway_port(number), number))
        try:
            return gateway, await gateway.start()
        except OSError as exc:
            if number == numbers[-1]:
                raise SimulatorError(f"no classic RFC gateway port is free ({exc})") from exc
    raise AssertionError("unreachable")


async def _serve(
    engine: Engine,
    control_token: str,
    state: Path,
    host: str,
    port: int,
    pki: DevelopmentPki,
    announce: Callable[[str], None],
    requested_gateway_port: int | None,
    extras: _Extras,
) -> None:
    gateway, gateway_listener = await _start_gateway(engine, host, requested_gateway_port)
    server = SimulatorServer(engine, control_token, gateway.config.system_number)
    running = await server.start(host, port, server_context(pki))
    actual = running.sockets[0].getsockname()[1]
    shown = f"[{host}]" if ":" in host else host
    url = f"wss://{shown}:{actual}{RFC_PATH}"
    gateway_info = {
        "host": host,
        "port": gateway_listener.sockets[0].getsockname()[1],
        "system_number": gateway.config.system_number,
    }
    config = engine.config
    messages = MessageServer(
        MessageServerConfig(config.system_id, gateway.config.system_number, host, gateway_info["port"], config.release)
    )
    message_listener = await messages.start(host, extras.message_server_port)
    router = SapRouter(RouterConfig(host, extras.router_port, host, gateway_info["port"]))
    router_listener = await router.start()
    message_port = message_listener.sockets[0].getsockname()[1]
    router_port = router_listener.sockets[0].getsockname()[1]
    info = {
        "url": url,
        "host": host,
        "port": actual,
        "pid": os.getpid(),
        "ca": str(pki.ca_certificate),
        "gateway": gateway_info,
        "message_server": {"host": host, "http_port": message_port},
        "router": {"host": host, "port": router_port},
    }
    temporary = state / "sim.json.tmp"
    temporary.write_text(json.dumps(info, indent=2), encoding="utf-8")
    temporary.replace(state / "sim.json")
    announce(f"SAP simulator {server.engine.config.system_id} listening on {url} (WebSocket RFC)")
    announce(f"classic RFC on {shown}:{gateway_info['port']} (system number {gateway_info['system_number']})")
    announce(f"message server (HTTP) on {shown}:{message_port}; SAProuter on {shown}:{router_port}")
    announce(f"clients trust the development CA at {pki.ca_certificate}")
    announce(f"state (TIDs, IDocs) in {state}; control token in {state / 'control.token'}")
    processing = config.idoc_processing
    background: asyncio.Task[None] | None = None
    if processing.mode == "background":
        job = BackgroundProcessing(engine.store, engine.faults, processing.delay_seconds)
        background = asyncio.create_task(job.run(), name="idoc-background-processing")
        announce(f"inbound IDocs wait at status 64 and are posted {processing.delay_seconds:g} s later (background)")
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    await stop.wait()
    if background is not None:
        background.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await background
    gateway_listener.close()
    router_listener.close()
    router.close_connections()
    message_listener.close()
    gateway.close_connections()
    running.close()
    await running.wait_closed()
    await gateway_listener.wait_closed()
    await router_listener.wait_closed()
    await message_listener.wait_closed()
    (state / "sim.json").unlink(missing_ok=True)
    announce("SAP simulator stopped")
