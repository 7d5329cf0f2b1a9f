"""Raw clients of the simulator's three wires, and real byte streams recorded from an RFC client.

``recorded_messages`` runs the project's saprfc connector (saprfclib underneath) against a simulator
and keeps every message it sent: the NI payloads of classic RFC (handshake, logon, calls) or the
binary messages of WebSocket RFC. Tests and fuzz targets send them again, whole or mutated, over
raw sockets with :func:`classic_exchange`, :func:`websocket_rfc` and :func:`json_session`.
"""

from __future__ import annotations

import base64
import json
import socket
import ssl
import struct
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from saprfclib import transport as classic_transport
from saprfclib import ws as websocket_transport
from websockets.sync.client import ClientConnection, connect

from idocbridge.connectors.saprfc import SaprfcConnector
from idocbridge.models import SAPAlias, load_model_text
from idocbridge.sapsim.protocol import RFC_PATH, decode, encode
from idocbridge.sapsim.testing import SimulatorProcess, txtraw

__all__ = [
    "Exchange",
    "classic_exchange",
    "json_session",
    "ni",
    "recorded_messages",
    "websocket_rfc",
]

IDOC = "IDOC_INBOUND_ASYNCHRONOUS"


def ni(payload: bytes) -> bytes:
    """One NI frame: a big-endian 32-bit length, then the payload."""
    return struct.pack(">I", len(payload)) + payload


def _alias(sim: SimulatorProcess, transport: str) -> SAPAlias:
    assert sim.info is not None
    fields: dict[str, Any] = {"name": "SIM", "protocol": "trfc", "client": "100", "connector": "saprfc"}
    fields["user"] = "IDOCUSER/${SAP_PASSWORD}"
    if transport == "cpic":
        fields |= {"host": sim.info.gateway_host, "systemNumber": sim.info.system_number}
    else:
        websocket = {"port": sim.info.port, "trustedCa": str(sim.info.ca_certificate)}
        fields |= {"host": "localhost", "transport": "websocket", "websocket": websocket}
    model = {"name": "T", "version": "1.0", "aliases": [fields]}
    alias: SAPAlias = load_model_text(json.dumps(model), "t.yaml", "yaml").model.aliases[0]
    return alias


@contextmanager
def _recording(owner: type[Any], sent: list[bytes]) -> Iterator[None]:
    original: Callable[[Any, bytes], None] = owner.send_message

    def send_message(self: Any, payload: bytes) -> None:
        sent.append(bytes(payload))
        original(self, payload)

    owner.send_message = send_message
    try:
        yield
    finally:
        owner.send_message = original


def recorded_messages(sim: SimulatorProcess, transport: str) -> list[bytes]:
    """What the saprfc connector sends for a session of ping, calls, a tRFC and a qRFC unit with confirm.

    ``cpic``: the NI payloads in order (NI version, GW_CONNECT, GW_INFO, GW_DONE, logon, calls);
    ``wrfc``: the binary WebSocket messages (LOGON, calls).
    """
    owner = classic_transport.Transport if transport == "cpic" else websocket_transport.WsTransport
    sent: list[bytes] = []
    with _recording(owner, sent):
        connector = SaprfcConnector(_alias(sim, transport), environ={"SAP_PASSWORD": "idocbridge"}, timeout=30)
        with connector:
            connector.ping()
            connector.call("STFC_CONNECTION", {"REQUTEXT": "recorded"})
            tid = connector.get_transaction_id()
            connector.submit_transaction(tid, IDOC, txtraw("recorded by tRFC"))
            connector.confirm_transaction(tid)
            queued = connector.get_transaction_id()
            connector.submit_transaction(queued, IDOC, txtraw("recorded by qRFC"), queue="FUZZ_Q")
            connector.confirm_transaction(queued)
    return sent


@dataclass(frozen=True)
class Exchange:
    """What came back for a byte stream: the bytes the server sent, and whether it closed in time."""

    received: bytes
    closed: bool


def classic_exchange(sim: SimulatorProcess, stream: bytes, deadline: float = 15.0) -> Exchange:
    """Send ``stream`` to the gateway, end the sending side, and read until the gateway closes.

    Whatever the stream holds, the gateway must close the connection once it has read to its end:
    ``closed`` is False if it did not within ``deadline`` seconds (a hang).
    """
    assert sim.info is not None
    received = bytearray()
    with socket.create_connection((sim.info.gateway_host, sim.info.gateway_port), timeout=deadline) as sock:
        try:
            sock.sendall(stream)
            sock.shutdown(socket.SHUT_WR)
        except OSError:  # EPIPE, ECONNRESET, ENOTCONN: it closed before it had read everything
            return Exchange(bytes(received), True)
        end = time.monotonic() + deadline
        while time.monotonic() < end:
            sock.settimeout(max(end - time.monotonic(), 0.01))
            try:
                chunk = sock.recv(65536)
            except ConnectionResetError:
                return Exchange(bytes(received), True)
            except TimeoutError:
                break
            if not chunk:
                return Exchange(bytes(received), True)
            received += chunk
    return Exchange(bytes(received), False)


def _context(sim: SimulatorProcess) -> ssl.SSLContext:
    assert sim.info is not None
    return ssl.create_default_context(cafile=str(sim.info.ca_certificate))


@contextmanager
def websocket_rfc(
    sim: SimulatorProcess, user: str = "IDOCUSER", password: str = "idocbridge", client: str = "100"
) -> Iterator[ClientConnection]:
    """A WebSocket RFC connection after a valid upgrade (Basic logon); the LOGON message is the caller's."""
    assert sim.info is not None
    credentials = base64.b64encode(f"{user}:{password}".encode("latin-1")).decode()
    headers = {"Authorization": f"Basic {credentials}", "sap-client": client}
    url = f"wss://localhost:{sim.info.port}{RFC_PATH}?sap-apc-stateful=true"
    with connect(
        url,
        ssl=_context(sim),
        proxy=None,
        subprotocols=["rfc.sap.com"],  # type: ignore[list-item]
        additional_headers=headers,
        max_size=None,
        open_timeout=15,
    ) as connection:
        yield connection


@contextmanager
def json_session(
    sim: SimulatorProcess, logon: dict[str, Any] | None = None, *, log_on: bool = True
) -> Iterator[ClientConnection]:
    """A connection of the simulator's JSON protocol, logged on as IDOCUSER unless ``log_on`` is False."""
    assert sim.info is not None
    with connect(sim.info.url, ssl=_context(sim), proxy=None, max_size=None, open_timeout=15) as connection:
        if log_on:
            message = logon or {
                "type": "logon",
                "version": 1,
                "client": "100",
                "user": "IDOCUSER",
                "password": "idocbridge",
            }
            connection.send(encode(message))
            assert decode(connection.recv(timeout=15))["type"] == "logon_ok"
        yield connection
