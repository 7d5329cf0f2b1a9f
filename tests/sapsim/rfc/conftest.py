"""Unmodified RFC client libraries against the simulator: classic RFC (ashost + sysnr) and WebSocket RFC.

A test that takes the ``transport`` fixture runs once per wire: ``cpic`` (classic RFC over TCP on
the gateway port) and ``wrfc`` (WebSocket RFC over TLS at /sap/bc/rfc). Each such test checks the
simulator's per-transport counters, so a client that quietly falls back from WebSocket RFC to
classic RFC fails it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from idocbridge.models import SAPAlias, load_model_text
from idocbridge.sapsim.testing import SimulatorProcess
from idocbridge.sapsim.tls import ensure_pki, issue_client_certificate

TRANSPORTS = ("cpic", "wrfc")


@pytest.fixture(params=TRANSPORTS)
def transport(request: pytest.FixtureRequest, sim: SimulatorProcess, monkeypatch: pytest.MonkeyPatch) -> str:
    """The wire under test. saprfclib verifies the server against the default trust store: SSL_CERT_FILE."""
    assert sim.info is not None
    monkeypatch.setenv("SSL_CERT_FILE", str(sim.info.ca_certificate))
    return str(request.param)


@pytest.fixture
def wrfc(sim: SimulatorProcess, monkeypatch: pytest.MonkeyPatch) -> str:
    """WebSocket RFC only, for what has no classic counterpart."""
    assert sim.info is not None
    monkeypatch.setenv("SSL_CERT_FILE", str(sim.info.ca_certificate))
    return "wrfc"


def logon_parameters(
    sim: SimulatorProcess, user: str = "IDOCUSER", password: str = "idocbridge", transport: str = "cpic"
) -> dict[str, Any]:
    """What saprfclib needs to log on: the gateway host and system number, or the WebSocket RFC host and port."""
    assert sim.info is not None
    parameters: dict[str, Any] = {
        "ashost": sim.info.gateway_host,
        "sysnr": sim.info.system_number,
        "client": "100",
        "user": user,
        "passwd": password,
    }
    if transport == "wrfc":
        parameters |= {"wshost": "localhost", "wsport": sim.info.port}
    return parameters


def der_certificate(sim: SimulatorProcess, name: str) -> tuple[Path, Path]:
    """A client certificate with CN ``name`` and its key, in DER (what erpl-pyrfc reads)."""
    directory = sim.state / "clients-der"
    certificate_path, key_path = directory / f"{name}.der", directory / f"{name}.key.der"
    if not certificate_path.exists():
        pem_certificate, pem_key = issue_client_certificate(ensure_pki(sim.state), name, directory)
        certificate = x509.load_pem_x509_certificate(pem_certificate.read_bytes())
        key = serialization.load_pem_private_key(pem_key.read_bytes(), password=None)
        certificate_path.write_bytes(certificate.public_bytes(serialization.Encoding.DER))
        key_path.write_bytes(
            key.private_bytes(
                serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        )
    return certificate_path, key_path


def counters(sim: SimulatorProcess) -> dict[str, int]:
    """The simulator's durable counters: ``rfc:TRANSPORT:FUNCTION`` counts calls by the wire they came on."""
    result: dict[str, int] = sim.control.command("inspect.counters")
    return result


def only_over(sim: SimulatorProcess, transport: str) -> dict[str, int]:
    """The counters, after checking no RFC traffic arrived over the other transport (no silent fallback)."""
    seen = counters(sim)
    other = {"cpic": "wrfc", "wrfc": "cpic"}[transport]
    assert [name for name in seen if name.startswith(f"rfc:{other}:")] == []
    return seen


def saprfc_alias(sim: SimulatorProcess, transport: str, user: str = "IDOCUSER", **extra: Any) -> SAPAlias:
    """A model alias for the saprfc connector to ``sim``: classic RFC, or WebSocket RFC (the simulator's CA as
    websocket.trustedCa), by password (``${SAP_PASSWORD}``); ``extra`` adds tagged values."""
    assert sim.info is not None
    fields: dict[str, Any] = {"name": "SIM", "protocol": "trfc", "client": "100", "connector": "saprfc"}
    fields["user"] = f"{user}/${{SAP_PASSWORD}}"
    if transport == "cpic":
        fields |= {"host": sim.info.gateway_host, "systemNumber": sim.info.system_number}
    else:
        websocket = {"port": sim.info.port, "trustedCa": str(sim.info.ca_certificate)}
        fields |= {"host": "localhost", "transport": "websocket", "websocket": websocket}
    model = {"name": "T", "version": "1.0", "aliases": [fields | extra]}
    alias: SAPAlias = load_model_text(json.dumps(model), "t.yaml", "yaml").model.aliases[0]
    return alias
