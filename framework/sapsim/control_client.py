"""A client for the simulator's control endpoint: faults and inspection, from Python or the CLI."""

from __future__ import annotations

import ssl
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from websockets.exceptions import ConnectionClosed, InvalidHandshake
from websockets.sync.client import ClientConnection, connect

from idocbridge.errors import IdocbridgeError
from idocbridge.sapsim.protocol import CONTROL_PATH, RFC_PATH, decode, encode
from idocbridge.sapsim.runner import read_info

__all__ = ["ControlError", "SimulatorControl"]


class ControlError(IdocbridgeError):
    """The control endpoint refused a command or could not be reached."""


class SimulatorControl:
    """Faults and inspection of a running simulator."""

    def __init__(self, url: str, token: str, ca_certificate: Path, timeout: float = 30.0) -> None:
        self.url = url
        self._token = token
        self.ca_certificate = ca_certificate
        self.timeout = timeout
        self._connection: ClientConnection | None = None

    @classmethod
    def for_state(cls, state: Path, timeout: float = 30.0) -> SimulatorControl:
        """The control client of the simulator running on ``state`` (reads sim.json and the token)."""
        try:
            info = read_info(state)
            token = info.control_token
        except (OSError, ValueError, KeyError) as exc:
            raise ControlError(f"no running simulator found in {state} ({exc}); start one with idocbridge sim") from exc
        return cls(info.url.replace(RFC_PATH, CONTROL_PATH), token, info.ca_certificate, timeout)

    def _open(self) -> ClientConnection:
        if self._connection is None:
            context = ssl.create_default_context(cafile=str(self.ca_certificate))
            try:
                connection = connect(
                    self.url, ssl=context, proxy=None, open_timeout=self.timeout, max_size=None, legacy=True
                )
                connection.send(encode({"token": self._token}))
                reply = decode(connection.recv(timeout=self.timeout))
            except (OSError, TimeoutError, InvalidHandshake, ConnectionClosed) as exc:
                raise ControlError(f"cannot reach the simulator's control endpoint {self.url}: {exc}") from exc
            if not reply.get("ok"):
                connection.close()
                raise ControlError(str(reply.get("error", "the control token was refused")))
            self._connection = connection
        return self._connection

    def command(self, name: str, **arguments: Any) -> Any:
        """Run one control command and return its result."""
        connection = self._open()
        try:
            connection.send(encode({"command": name, "arguments": arguments}))
            reply = decode(connection.recv(timeout=self.timeout))
        except (OSError, TimeoutError, ConnectionClosed) as exc:
            self.close()
            raise ControlError(f"the control connection broke: {exc}") from exc
        if not reply.get("ok"):
            raise ControlError(str(reply.get("error")))
        return reply.get("result")

    def close(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            connection.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    # Shorthands for what tests ask most.

    def add_fault(self, kind: str, **settings: Any) -> dict[str, Any]:
        result: dict[str, Any] = self.command("faults.add", kind=kind, **settings)
        return result

    def clear_faults(self) -> None:
        self.command("faults.clear")

    def idocs(self, **filters: Any) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self.command("inspect.idocs", **filters)
        return result

    def tids(self) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self.command("inspect.tids")
        return result

    def events(self, tid: str | None = None) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self.command("inspect.events", **({"tid": tid} if tid else {}))
        return result

    def calls(self, function: str) -> int:
        """How many calls of ``function`` the simulator has answered since it started or was reset."""
        counters: dict[str, int] = self.command("inspect.counters")
        return counters.get(f"calls:{function}", 0)

    def process_idocs(self) -> list[dict[str, str]]:
        """Post the inbound IDocs waiting at status 64 now (background processing); their DOCNUMs and statuses."""
        result: dict[str, list[dict[str, str]]] = self.command("idocs.process")
        return result["posted"]

    def reset(self) -> None:
        self.command("reset")
