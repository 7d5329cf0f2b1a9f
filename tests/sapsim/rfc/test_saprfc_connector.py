"""The saprfc connector (saprfclib, no SDK) delivers IDocs by tRFC and qRFC over classic and WebSocket RFC."""

from __future__ import annotations

import json
from typing import Any

import pytest

from idocbridge.connectors.errors import (
    ABAPApplicationError,
    AuthorizationError,
    CommunicationError,
    ConnectorConfigurationError,
    LogonError,
)
from idocbridge.connectors.saprfc import SaprfcConnector
from idocbridge.connectors.saprfc_units import DATA_BLOCK
from idocbridge.models import load_model_text
from idocbridge.sapsim.testing import SimulatorProcess, txtraw
from idocbridge.sapsim.tls import ensure_pki, issue_client_certificate
from tests.sapsim.rfc.conftest import only_over, saprfc_alias

IDOC = "IDOC_INBOUND_ASYNCHRONOUS"

# saprfclib 0.1.8 leaves its socket to the garbage collector when a logon fails inside connect(),
# before the connector holds the connection to close it.
pytestmark = pytest.mark.filterwarnings(
    r"ignore:Exception ignored in. <socket.socket:pytest.PytestUnraisableExceptionWarning"
)


def _connector(sim: SimulatorProcess, transport: str, password: str = "idocbridge", **extra: Any) -> SaprfcConnector:
    return SaprfcConnector(saprfc_alias(sim, transport, **extra), environ={"SAP_PASSWORD": password}, timeout=30)


def test_ping_calls_and_errors(sim: SimulatorProcess, transport: str) -> None:
    with _connector(sim, transport) as connector:
        connector.ping()
        echo = connector.call("STFC_CONNECTION", {"REQUTEXT": "through saprfc"})
        info = connector.call("RFC_SYSTEM_INFO", {})["RFCSI_EXPORT"]
        connector.call(IDOC, txtraw("a synchronous IDoc"))
        with pytest.raises(ABAPApplicationError) as raised:
            connector.call("Z_DOES_NOT_EXIST", {})
        with pytest.raises(ConnectorConfigurationError):
            connector.call("STFC_CONNECTION", {"NO_SUCH_PARAMETER": "x"})  # refused, never dropped
    assert echo["ECHOTEXT"] == "through saprfc"
    assert (info["RFCSYSID"], info["RFCDATABS"]) == ("SIM", "SIM")
    assert raised.value.key == "FU_NOT_FOUND"
    assert [idoc["status"] for idoc in sim.control.idocs()] == ["53"]
    assert only_over(sim, transport)[f"rfc:{transport}:STFC_CONNECTION"] == 1


def test_an_idoc_by_trfc_once_and_confirmed(sim: SimulatorProcess, transport: str) -> None:
    with _connector(sim, transport) as connector:
        tid = connector.get_transaction_id()
        connector.submit_transaction(tid, IDOC, txtraw("an IDoc by tRFC"))
        connector.submit_transaction(tid, IDOC, txtraw("an IDoc by tRFC"))  # a retry: SAP skips it
        connector.confirm_transaction(tid)
    (idoc,) = sim.control.idocs(full=True)
    assert (idoc["tid"], idoc["status"], idoc["data"][0]["SDATA"].strip()) == (tid, "53", "an IDoc by tRFC")
    events = sim.control.command("inspect.events", tid=tid)
    assert [(e["event"], e["function"]) for e in events] == [
        ("EXECUTED", IDOC),
        ("SKIPPED", IDOC),
        ("CONFIRMED", None),
    ]
    seen = only_over(sim, transport)
    assert (seen[f"rfc:{transport}:API_CREATE_TID"], seen[f"rfc:{transport}:ARFC_DEST_SHIP"]) == (1, 2)
    assert seen[f"rfc:{transport}:API_CLEAR_TID"] == 1


def test_a_call_over_many_data_rows(sim: SimulatorProcess, transport: str) -> None:
    lines = [f"segment {number:03d}" for number in range(1, 101)]  # 100 data records: about 120 DATA rows
    with _connector(sim, transport) as connector:
        tid = connector.get_transaction_id()
        connector.submit_transaction(tid, IDOC, txtraw(*lines))
        connector.confirm_transaction(tid)
    (idoc,) = sim.control.idocs(full=True)
    assert [row["SDATA"].strip() for row in idoc["data"]] == lines
    assert idoc["segments"] * 2126 > 100 * DATA_BLOCK


def test_an_idoc_by_qrfc_in_its_queue(sim: SimulatorProcess, transport: str) -> None:
    tids = []
    with _connector(sim, transport) as connector:
        for number in range(3):
            tid = connector.get_transaction_id()
            records = txtraw(f"queued {number}")
            call = {"QNAME": "IDOCQ", "IDOC_CONTROL_REC_40": records["IDOC_CONTROL_REC_40"]}
            call["IDOC_DATA_QUEUE"] = records["IDOC_DATA_REC_40"]
            connector.submit_transaction(tid, "IDOC_INBOUND_IN_QUEUE", call, queue="IDOCQ")
            connector.confirm_transaction(tid)
            tids.append(tid)
    queue = sim.control.command("inspect.queue", queue="IDOCQ")
    assert [(entry["tid"], entry["state"]) for entry in queue] == [(tid, "EXECUTED") for tid in tids]
    texts = [idoc["data"][0]["SDATA"].strip() for idoc in sim.control.idocs(full=True)]
    assert texts == ["queued 0", "queued 1", "queued 2"]


def test_a_lost_reply_then_a_retry_runs_the_idoc_once(sim: SimulatorProcess, transport: str) -> None:
    sim.control.add_fault("drop_after", function=IDOC)
    connector = _connector(sim, transport)
    connector.open()
    tid = connector.get_transaction_id()
    with pytest.raises(CommunicationError) as raised:
        connector.submit_transaction(tid, IDOC, txtraw("lost reply"))
    assert raised.value.tid == tid
    assert not connector.is_open  # a broken connection is closed, so that a pool replaces it
    connector.open()
    connector.submit_transaction(tid, IDOC, txtraw("lost reply"))
    connector.confirm_transaction(tid)
    connector.close()
    assert [idoc["tid"] for idoc in sim.control.idocs()] == [tid]
    events = [e["event"] for e in sim.control.command("inspect.events", tid=tid)]
    assert events == ["EXECUTED", "SKIPPED", "CONFIRMED"]


def test_refusals_are_logon_and_authorization_errors_without_the_password(
    sim: SimulatorProcess, transport: str
) -> None:
    with pytest.raises(LogonError) as refused:
        _connector(sim, transport, password="n0t-the-Pa55word").open()
    assert "n0t-the-Pa55word" not in str(refused.value)
    with _connector(sim, transport, user="READER") as reader, pytest.raises(AuthorizationError) as denied:
        reader.call(IDOC, txtraw("not for READER"))
    assert denied.value.key == "RFC_NO_AUTHORITY"
    assert sim.control.idocs() == []


def test_websocket_rfc_by_client_certificate(sim: SimulatorProcess) -> None:
    assert sim.info is not None
    certificate, key = issue_client_certificate(ensure_pki(sim.state), "IDOCUSER", sim.state / "clients")
    websocket = {
        "port": sim.info.port,
        "trustedCa": str(sim.info.ca_certificate),
        "clientCertificate": str(certificate),
        "clientKey": str(key),
    }
    fields = {"name": "SIM", "protocol": "trfc", "client": "100", "connector": "saprfc", "host": "localhost"}
    fields |= {"transport": "websocket", "websocket": websocket}
    model = {"name": "T", "version": "1.0", "aliases": [fields]}
    alias = load_model_text(json.dumps(model), "t.yaml", "yaml").model.aliases[0]
    with SaprfcConnector(alias, environ={}, timeout=30) as connector:
        tid = connector.get_transaction_id()
        connector.submit_transaction(tid, IDOC, txtraw("by certificate"))
        connector.confirm_transaction(tid)
    (idoc,) = sim.control.idocs()
    assert (idoc["tid"], idoc["status"]) == (tid, "53")
    assert only_over(sim, "wrfc")["rfc:wrfc:ARFC_DEST_SHIP"] == 1


def test_websocket_rfc_refuses_a_server_its_ca_does_not_sign(sim: SimulatorProcess, tmp_path: Any) -> None:
    other = ensure_pki(tmp_path / "other")  # another development CA
    alias = saprfc_alias(sim, "wrfc")
    assert alias.websocket is not None
    websocket = alias.websocket.model_copy(update={"trusted_ca": str(other.ca_certificate)})
    connector = SaprfcConnector(alias.model_copy(update={"websocket": websocket}), environ={"SAP_PASSWORD": "x"})
    with pytest.raises(ConnectorConfigurationError, match=r"CERTIFICATE_VERIFY_FAILED.*check websocket\.trustedCa"):
        connector.open()


def _idoc_by_trfc(connector: SaprfcConnector, text: str) -> str:
    with connector:
        tid = connector.get_transaction_id()
        connector.submit_transaction(tid, IDOC, txtraw(text))
        connector.confirm_transaction(tid)
    return tid


def test_load_balancing_through_the_message_server(sim: SimulatorProcess) -> None:
    assert sim.info is not None
    options = f'MSHOST="{sim.info.host}" MSSERV="{sim.info.message_server_port}" GROUP="PUBLIC"'
    fields = {"name": "SIM", "protocol": "trfc", "client": "100", "connector": "saprfc", "options": options}
    fields["user"] = "IDOCUSER/${SAP_PASSWORD}"
    alias = load_model_text(json.dumps({"name": "T", "aliases": [fields]}), "t.yaml", "yaml").model.aliases[0]
    tid = _idoc_by_trfc(SaprfcConnector(alias, environ={"SAP_PASSWORD": "idocbridge"}, timeout=30), "balanced")
    assert [(idoc["tid"], idoc["status"]) for idoc in sim.control.idocs()] == [(tid, "53")]
    assert only_over(sim, "cpic")["rfc:cpic:ARFC_DEST_SHIP"] == 1
    unknown = alias.model_copy(update={"options": options.replace("PUBLIC", "NOSUCHGROUP")})
    with pytest.raises(CommunicationError, match="listed no RFC service for group 'NOSUCHGROUP'"):
        SaprfcConnector(unknown, environ={"SAP_PASSWORD": "idocbridge"}, timeout=30).open()


def test_through_a_saprouter(sim: SimulatorProcess) -> None:
    assert sim.info is not None
    route = f"/H/{sim.info.host}/S/{sim.info.router_port}/H/"
    tid = _idoc_by_trfc(_connector(sim, "cpic", routerString=route), "routed")
    assert [(idoc["tid"], idoc["status"]) for idoc in sim.control.idocs()] == [(tid, "53")]
    elsewhere = saprfc_alias(sim, "cpic", routerString=route).model_copy(update={"host": "10.99.99.99"})
    with pytest.raises(CommunicationError, match=r"route permission denied \(127\.0\.0\.1 to 10\.99\.99\.99, 33"):
        SaprfcConnector(elsewhere, environ={"SAP_PASSWORD": "idocbridge"}, timeout=30).open()


def test_a_confirm_dropped_on_the_way_leaves_the_tid_and_can_be_sent_again(
    sim: SimulatorProcess, transport: str
) -> None:
    sim.control.add_fault("drop_on_confirm", function=IDOC)
    connector = _connector(sim, transport)
    connector.open()
    tid = connector.get_transaction_id()
    connector.submit_transaction(tid, IDOC, txtraw("confirm lost"))
    with pytest.raises(CommunicationError):
        connector.confirm_transaction(tid)
    assert [entry["tid"] for entry in sim.control.tids()] == [tid]  # SAP still holds it (SM58)
    connector.open()
    connector.confirm_transaction(tid)
    connector.close()
    assert sim.control.tids() == []
    assert [idoc["tid"] for idoc in sim.control.idocs()] == [tid]


def test_websocket_rfc_trusts_the_system_store_without_trusted_ca(
    sim: SimulatorProcess, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert sim.info is not None
    monkeypatch.setenv("SSL_CERT_FILE", str(sim.info.ca_certificate))  # the "system" trust store
    alias = saprfc_alias(sim, "wrfc")
    assert alias.websocket is not None
    websocket = alias.websocket.model_copy(update={"trusted_ca": None})
    connector = SaprfcConnector(
        alias.model_copy(update={"websocket": websocket}), environ={"SAP_PASSWORD": "idocbridge"}
    )
    tid = _idoc_by_trfc(connector, "trusted by the system store")
    assert [idoc["tid"] for idoc in sim.control.idocs()] == [tid]


def test_a_hung_call_times_out_on_both_wires(sim: SimulatorProcess, transport: str) -> None:
    sim.control.add_fault("delay", function="STFC_CONNECTION", seconds=20)
    connector = SaprfcConnector(saprfc_alias(sim, transport), environ={"SAP_PASSWORD": "idocbridge"}, timeout=1)
    connector.open()
    with pytest.raises(CommunicationError):
        connector.call("STFC_CONNECTION", {"REQUTEXT": "hangs"})  # without a read timeout it returns after 20 s
    assert not connector.is_open
