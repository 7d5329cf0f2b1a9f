"""Logons, TLS and the allowlist, against the simulator process."""

from __future__ import annotations

import socket
import ssl
import warnings
from pathlib import Path

import pytest
from websockets.exceptions import InvalidMessage
from websockets.sync.client import connect

from idocbridge.connectors import (
    AuthorizationError,
    CommunicationError,
    ConnectorConfigurationError,
    LogonError,
)
from idocbridge.connectors.simulator import SimulatorConnector
from idocbridge.sapsim.protocol import decode, encode
from idocbridge.sapsim.testing import SimulatorProcess, txtraw
from idocbridge.sapsim.tls import ensure_pki, issue_client_certificate


def test_password_logon(sim: SimulatorProcess) -> None:
    with sim.connector() as sap:
        sap.ping()
        assert sap.system == {
            "system_id": "SIM",
            "client": "100",
            "user": "IDOCUSER",
            "language": "EN",
            "release": "758",
        }


@pytest.mark.parametrize(
    ("user", "password", "client", "message"),
    [
        ("IDOCUSER", "wrong", "100", "Name or password is incorrect (repeat logon)"),
        ("NOBODY", "idocbridge", "100", "Name or password is incorrect (repeat logon)"),
        ("IDOCUSER", "idocbridge", "999", "client 999 is not available in this system"),
    ],
)
def test_bad_logons_are_refused(sim: SimulatorProcess, user: str, password: str, client: str, message: str) -> None:
    with pytest.raises(LogonError) as raised:
        sim.connector(user, password, client).open()
    assert raised.value.message == message
    assert not raised.value.retryable
    assert "wrong" not in str(raised.value)


def test_x509_logon_maps_the_certificate_to_its_user(sim: SimulatorProcess, tmp_path: Path) -> None:
    pki = ensure_pki(sim.state)
    certificate, key = issue_client_certificate(pki, "IDOCUSER", tmp_path)
    with sim.connector(None, None, client_certificate=certificate, client_key=key) as sap:
        assert sap.system["user"] == "IDOCUSER"
        sap.submit_transaction(sap.get_transaction_id(), "IDOC_INBOUND_ASYNCHRONOUS", txtraw("by certificate"))
    assert len(sim.control.idocs()) == 1


def test_a_certificate_of_an_unknown_name_is_refused(sim: SimulatorProcess, tmp_path: Path) -> None:
    certificate, key = issue_client_certificate(ensure_pki(sim.state), "STRANGER", tmp_path)
    with pytest.raises(LogonError, match="no user of client 100 is mapped to certificate CN=STRANGER"):
        sim.connector(None, None, client_certificate=certificate, client_key=key).open()


def test_a_certificate_from_another_ca_fails_the_tls_handshake(sim: SimulatorProcess, tmp_path: Path) -> None:
    other = ensure_pki(tmp_path / "other-ca")
    certificate, key = issue_client_certificate(other, "IDOCUSER", tmp_path)
    with pytest.raises(CommunicationError, match="cannot connect to wss://"):  # refused in the handshake, not a logon
        sim.connector(None, None, client_certificate=certificate, client_key=key).open()


def test_certificate_logon_without_a_certificate_is_refused(sim: SimulatorProcess) -> None:
    assert sim.info is not None
    context = ssl.create_default_context(cafile=str(sim.info.ca_certificate))
    with connect(sim.info.url, ssl=context, proxy=None, legacy=False) as raw:
        raw.send(encode({"type": "logon", "version": 1, "client": "100", "certificate": True}))
        reply = decode(raw.recv(timeout=10))
    assert reply["type"] == "error"
    assert reply["error"]["kind"] == "logon"
    assert reply["error"]["message"] == "logon by certificate needs a client certificate the system trusts"


def test_the_server_is_verified_against_the_ca(sim: SimulatorProcess) -> None:
    assert sim.info is not None
    untrusting = SimulatorConnector(sim.info.url, client="100", user="IDOCUSER", ca_certificate=None)
    with pytest.raises(CommunicationError, match="CERTIFICATE_VERIFY_FAILED"):
        untrusting.open()


def test_a_strict_verifier_accepts_the_development_ca_and_server_certificate(sim: SimulatorProcess) -> None:
    assert sim.info is not None
    context = ssl.create_default_context(cafile=str(sim.info.ca_certificate))
    context.verify_flags |= ssl.VERIFY_X509_STRICT  # Python 3.13's default; refuses certificates without key IDs
    with (
        socket.create_connection((sim.info.host, sim.info.port), timeout=10) as raw,
        context.wrap_socket(raw, server_hostname=sim.info.host) as tls,
    ):
        assert tls.version() in ("TLSv1.2", "TLSv1.3")
        assert tls.getpeercert()["subject"]


def test_plain_text_is_refused_by_the_connector_and_by_the_server(sim: SimulatorProcess) -> None:
    assert sim.info is not None
    plain = sim.info.url.replace("wss://", "ws://")
    with pytest.raises(ConnectorConfigurationError, match="always uses TLS"):
        SimulatorConnector(plain, client="100", user="IDOCUSER").open()
    with (
        pytest.raises(InvalidMessage, match="did not receive a valid HTTP response"),
        connect(plain, proxy=None, open_timeout=5, legacy=False),
    ):
        pass  # the server closes a connection that does not start with a TLS handshake
    with socket.create_connection((sim.info.host, sim.info.port), timeout=5) as raw:
        raw.sendall(b"GET /sap/bc/rfc HTTP/1.1\r\nHost: localhost\r\n\r\n")
        assert b"HTTP/1.1 101" not in raw.recv(4096)


def test_tls_below_1_2_is_refused(sim: SimulatorProcess) -> None:
    assert sim.info is not None
    context = ssl.create_default_context(cafile=str(sim.info.ca_certificate))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # naming old TLS versions is deprecated
        context.minimum_version = ssl.TLSVersion.TLSv1
        context.maximum_version = ssl.TLSVersion.TLSv1_1
    with socket.create_connection((sim.info.host, sim.info.port), timeout=5) as raw, pytest.raises(ssl.SSLError):
        context.wrap_socket(raw, server_hostname="localhost")


def test_a_function_outside_the_allowlist_is_refused(sim: SimulatorProcess) -> None:
    with sim.connector("READER") as reader:
        reader.call("STFC_CONNECTION", {"REQUTEXT": "allowed"})
        with pytest.raises(AuthorizationError) as raised:
            reader.submit_transaction(reader.get_transaction_id(), "IDOC_INBOUND_ASYNCHRONOUS", txtraw("no"))
    assert raised.value.key == "RFC_NO_AUTHORITY"
    assert "not on the allowlist of user READER" in raised.value.message
    assert sim.control.idocs() == []
    with sim.connector() as sap, pytest.raises(AuthorizationError):
        sap.call("BAPI_USER_DELETE", {"USERNAME": "DDIC"})
