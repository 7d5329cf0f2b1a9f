"""WebSocket RFC at the byte level: the upgrade's authentication, the LOGON, and broken or hostile messages."""

from __future__ import annotations

import base64
import ssl
import struct
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import ClientConnection, connect

from idocbridge.sapsim.rfc.logon import unscramble
from idocbridge.sapsim.rfc.tlv import T_CLIENT, T_FUNCTION, T_PASSWORD, T_USER, record, walk
from idocbridge.sapsim.testing import SimulatorProcess
from tests.sapsim.rfc.conftest import counters, logon_parameters

saprfclib = pytest.importorskip("saprfclib")


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


@contextmanager
def _websocket(
    sim: SimulatorProcess,
    headers: dict[str, str] | list[tuple[str, str]],
    subprotocols: list[str] | None = None,
    path: str = "/sap/bc/rfc?sap-apc-stateful=true",
) -> Iterator[ClientConnection]:
    assert sim.info is not None
    context = ssl.create_default_context(cafile=str(sim.info.ca_certificate))
    with connect(
        f"wss://localhost:{sim.info.port}{path}",
        ssl=context,
        subprotocols=subprotocols or ["rfc.sap.com"],  # type: ignore[list-item]
        additional_headers=headers,
        open_timeout=10,
    ) as connection:
        yield connection


def _logon(client: str, user: str, password: str, function: str = "RFCPING") -> bytes:
    """A LOGON in single-byte records, the password scrambled with a fixed seed."""
    seed = struct.pack("<I", 0x1234)
    scrambled = unscramble(seed + password.encode("latin-1")).encode("latin-1")  # the scramble is its own inverse
    return b"".join(
        [
            record(T_CLIENT, client.encode()),
            record(T_USER, user.encode()),
            record(T_PASSWORD, seed + scrambled),
            record(T_FUNCTION, function.encode()),
            record(0xFFFF),
        ]
    )


def _reply_text(reply: bytes, tag: int) -> str:
    values = [value for found, value in walk(reply) if found == tag]
    return values[0].decode("latin-1") if values else ""


_GOOD = {"sap-client": "100", "Authorization": _basic("IDOCUSER", "idocbridge")}


def test_an_upgrade_without_credentials_gets_401_with_a_basic_challenge(sim: SimulatorProcess) -> None:
    with pytest.raises(InvalidStatus) as raised, _websocket(sim, {"sap-client": "100"}):
        pass
    response = raised.value.response
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Basic realm=")
    assert b"needs a user and password (Basic) or a client certificate" in response.body


def test_malformed_basic_credentials_get_401(sim: SimulatorProcess) -> None:
    with pytest.raises(InvalidStatus) as raised, _websocket(sim, {"sap-client": "100", "Authorization": "Basic %%%"}):
        pass
    assert raised.value.response.status_code == 401
    assert b"not valid Basic credentials" in raised.value.response.body


def test_an_accepted_logon_names_the_system(sim: SimulatorProcess) -> None:
    assert sim.info is not None
    with _websocket(sim, _GOOD) as connection:
        assert connection.subprotocol == "rfc.sap.com"
        connection.send(_logon("100", "IDOCUSER", "idocbridge"))
        reply = connection.recv(timeout=10)
    assert isinstance(reply, bytes)
    assert _reply_text(reply, 0x0450).encode("latin-1").decode("utf-16-le") == "SIM"
    assert _reply_text(reply, 0x0452).encode("latin-1").decode("utf-16-le") == sim.info.system_number
    assert counters(sim)["rfc:wrfc:logons"] == 1


@pytest.mark.parametrize(
    ("logon", "reason"),
    [
        (_logon("100", "IDOCUSER", "wrong"), "Name or password is incorrect"),
        (_logon("200", "IDOCUSER", "idocbridge"), "the LOGON names client 200, the connection is logged on to 100"),
        (_logon("100", "READER", "idocbridge"), "the LOGON names user READER, the connection is logged on as IDOCUSER"),
        (_logon("100", "IDOCUSER", "idocbridge", "STFC_CONNECTION"), "runs only RFCPING in a WebSocket RFC LOGON"),
    ],
)
def test_a_logon_that_disagrees_with_the_upgrade_is_refused(sim: SimulatorProcess, logon: bytes, reason: str) -> None:
    with _websocket(sim, _GOOD) as connection:
        connection.send(logon)
        reply = connection.recv(timeout=10)
        with pytest.raises(ConnectionClosed) as closed:
            connection.recv(timeout=10)
    assert isinstance(reply, bytes)
    assert reason in _reply_text(reply, 0x0402)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008
    assert "rfc:wrfc:logons" not in counters(sim)


@pytest.mark.parametrize(
    ("message", "reason"),
    [
        ("a text frame", "binary messages, not text"),
        (b"\x00\x01\xff\xf0garbage", "claims"),
    ],
)
def test_a_broken_first_message_closes_with_a_protocol_error(
    sim: SimulatorProcess, message: str | bytes, reason: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert sim.info is not None
    with _websocket(sim, _GOOD) as connection:
        connection.send(message)
        with pytest.raises(ConnectionClosed) as closed:
            connection.recv(timeout=10)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1002
    assert reason in closed.value.rcvd.reason
    monkeypatch.setenv("SSL_CERT_FILE", str(sim.info.ca_certificate))
    connection_after = saprfclib.connect(**logon_parameters(sim, transport="wrfc"))  # the endpoint carries on
    try:
        assert connection_after.call("STFC_CONNECTION", REQUTEXT="still here")["ECHOTEXT"] == "still here"
    finally:
        connection_after.close()


def test_a_call_that_is_not_a_tlv_stream_closes_the_connection(sim: SimulatorProcess) -> None:
    with _websocket(sim, _GOOD) as connection:
        connection.send(_logon("100", "IDOCUSER", "idocbridge"))
        connection.recv(timeout=10)
        connection.send(b"\x05\x02\x00\x10short")
        with pytest.raises(ConnectionClosed) as closed:
            connection.recv(timeout=10)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1002


def test_websocket_rfc_without_its_subprotocol_is_refused(sim: SimulatorProcess) -> None:
    with pytest.raises(InvalidStatus) as raised, _websocket(sim, _GOOD, subprotocols=["chat"]):
        pass
    assert raised.value.response.status_code == 400
    assert b"needs the subprotocol rfc.sap.com" in raised.value.response.body


def test_the_subprotocol_offered_in_two_headers_is_found(sim: SimulatorProcess) -> None:
    headers = [*_GOOD.items(), ("Sec-WebSocket-Protocol", "chat")]  # and rfc.sap.com in a header of its own
    with _websocket(sim, headers) as connection:
        assert connection.subprotocol == "rfc.sap.com"
        connection.send(_logon("100", "IDOCUSER", "idocbridge"))
        assert isinstance(connection.recv(timeout=10), bytes)


def test_the_control_endpoint_takes_no_query(sim: SimulatorProcess) -> None:
    with pytest.raises(InvalidStatus) as raised, _websocket(sim, _GOOD, path="/sim/control?x=1"):
        pass
    assert raised.value.response.status_code == 400


def test_a_logon_fault_is_taken_once_per_websocket_logon(sim: SimulatorProcess) -> None:
    with _websocket(sim, _GOOD) as connection:  # logged on at the upgrade
        sim.control.add_fault("refuse_logon", count=1)
        connection.send(_logon("100", "IDOCUSER", "idocbridge"))  # the LOGON's password is checked, not a new logon
        assert _reply_text(connection.recv(timeout=10), 0x0450)
    with pytest.raises(InvalidStatus) as raised, _websocket(sim, _GOOD):
        pass
    assert raised.value.response.status_code == 401  # the fault was left for the next logon
    assert sim.control.command("faults.list") == []
