"""The simulator connector: the Connector interface over the simulator's TLS WebSocket.

It refuses plain ``ws://`` (WebSocket RFC always uses TLS), verifies the server against the
simulator's CA (or the system trust store), logs on by password or client certificate, and maps
every failure onto the project's connector errors.
"""

from __future__ import annotations

import contextlib
import itertools
import ssl
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidURI
from websockets.sync.client import ClientConnection, connect

from idocbridge.connectors.base import Connector, Parameters, Result
from idocbridge.connectors.errors import CommunicationError, ConnectorConfigurationError, LogonError
from idocbridge.models.alias import SAPAlias
from idocbridge.models.secrets import Secret, resolve_secret, split_user
from idocbridge.sapsim.protocol import PROTOCOL_VERSION, RFC_PATH, decode, encode, error_from_body

__all__ = ["SimulatorConnector"]


class SimulatorConnector(Connector):
    """One logged-on connection to the simulator."""

    def __init__(
        self,
        url: str,
        *,
        client: str,
        user: str | None = None,
        password: Secret | None = None,
        language: str = "EN",
        alias_user: str | None = None,
        ca_certificate: Path | None = None,
        client_certificate: Path | None = None,
        client_key: Path | None = None,
        timeout: float = 30.0,
    ) -> None:
        self.url = url
        self.client = client
        self.user = user
        self._password = password
        self.language = language
        self.alias_user = alias_user
        self.ca_certificate = ca_certificate
        self.client_certificate = client_certificate
        self.client_key = client_key
        self.timeout = timeout
        self._connection: ClientConnection | None = None
        self._ids = itertools.count(1)
        self.system: dict[str, Any] = {}

    @classmethod
    def from_alias(
        cls, alias: SAPAlias, environ: Mapping[str, str] | None = None, timeout: float = 30.0
    ) -> SimulatorConnector:
        """A connector for an alias with ``transport: websocket`` that points at a simulator."""
        if alias.transport != "websocket":
            raise ConnectorConfigurationError(
                f"SAP alias '{alias.name}' uses transport {alias.transport}; the simulator speaks WebSocket RFC: "
                "set transport: websocket (in the deployment settings)"
            )
        ws = alias.websocket
        port = ws.port if ws is not None else 443
        user, password = None, None
        if alias.user is not None:
            parts = split_user(alias.user)
            if parts is not None:
                user, password = parts[0], resolve_secret(parts[1], environ) if parts[1] else None
        host = f"[{alias.host}]" if ":" in alias.host else alias.host
        return cls(
            f"wss://{host}:{port}{RFC_PATH}",
            client=alias.client or "",
            user=user,
            password=password,
            language=alias.language or "EN",
            alias_user=ws.alias_user if ws else None,
            ca_certificate=Path(ws.trusted_ca) if ws and ws.trusted_ca else None,
            client_certificate=Path(ws.client_certificate) if ws and ws.client_certificate else None,
            client_key=Path(ws.client_key) if ws and ws.client_key else None,
            timeout=timeout,
        )

    def __repr__(self) -> str:
        return f"SimulatorConnector({self.url!r}, client={self.client!r}, user={self.user!r})"

    @property
    def is_open(self) -> bool:
        return self._connection is not None

    def _ssl_context(self) -> ssl.SSLContext:
        try:
            context = ssl.create_default_context(cafile=str(self.ca_certificate) if self.ca_certificate else None)
            if self.client_certificate is not None:
                context.load_cert_chain(self.client_certificate, self.client_key)
        except (OSError, ssl.SSLError) as exc:
            raise ConnectorConfigurationError(f"cannot load TLS certificates: {exc}") from exc
        return context

    def open(self) -> None:
        if self._connection is not None:
            return
        if urlsplit(self.url).scheme != "wss":
            raise ConnectorConfigurationError(
                f"refusing {self.url}: WebSocket RFC always uses TLS; use a wss:// URL", key="RFC_INVALID_PARAMETER"
            )
        try:
            connection = connect(
                self.url,
                ssl=self._ssl_context(),
                proxy=None,
                open_timeout=self.timeout,
                close_timeout=2,
                max_size=64 * 1024 * 1024,
                compression=None,
                legacy=True,
            )
        except (OSError, TimeoutError, InvalidHandshake, InvalidURI, ConnectionClosed) as exc:
            # ConnectionClosed: with TLS 1.3 the server refuses a client certificate after the client's side
            # of the handshake is done, so the refusal arrives as a closed connection during the upgrade
            raise CommunicationError(f"cannot connect to {self.url}: {exc}") from exc
        by_certificate = self.user is None and self.client_certificate is not None
        logon = {
            "type": "logon",
            "version": PROTOCOL_VERSION,
            "client": self.client,
            "user": self.user,
            "password": self._password.reveal() if self._password else None,
            "language": self.language,
            "alias_user": self.alias_user,
            "certificate": by_certificate,
        }
        try:
            connection.send(encode(logon))
            reply = decode(connection.recv(timeout=self.timeout))
        except (ConnectionClosed, TimeoutError, OSError, ValueError) as exc:
            connection.close()
            raise CommunicationError(f"the logon to {self.url} did not complete: {exc}") from exc
        if reply.get("type") != "logon_ok":
            connection.close()
            error = reply.get("error") or {}
            raise error_from_body(error) if error.get("kind") else LogonError("the logon was refused")
        self.system = dict(reply.get("system") or {})
        self._connection = connection

    def close(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            with contextlib.suppress(OSError):
                connection.close()

    def _request(
        self, op: str, *, function: str | None = None, tid: str | None = None, **fields: Any
    ) -> dict[str, Any]:
        if self._connection is None:
            self.open()
        assert self._connection is not None
        rid = next(self._ids)
        message = {"id": rid, "op": op, **({"function": function} if function else {}), **({"tid": tid} if tid else {})}
        try:
            self._connection.send(encode(message | fields))
            reply = decode(self._connection.recv(timeout=self.timeout))
        except (ConnectionClosed, TimeoutError, OSError) as exc:
            self.close()  # the state of the call is unknown: the connection is not reused
            raise CommunicationError(f"the connection to {self.url} broke: {exc}", function=function, tid=tid) from exc
        except ValueError as exc:
            self.close()
            raise CommunicationError(f"the simulator sent a message that is not JSON: {exc}") from exc
        if reply.get("id") != rid:
            self.close()
            raise CommunicationError("the simulator answered a different request", function=function, tid=tid)
        if not reply.get("ok"):
            raise error_from_body(dict(reply.get("error") or {}), function=function, tid=tid)
        return dict(reply.get("result") or {})

    def ping(self) -> None:
        self._request("ping", function="RFC_PING")

    def call(self, function: str, parameters: Parameters) -> Result:
        return self._request("call", function=function, params=dict(parameters))

    def get_transaction_id(self) -> str:
        return str(self._request("get_tid")["tid"])

    def submit_transaction(self, tid: str, function: str, parameters: Parameters, queue: str | None = None) -> None:
        self._request("submit", function=function, tid=tid, params=dict(parameters), queue=queue)

    def confirm_transaction(self, tid: str) -> None:
        self._request("confirm", tid=tid)
