"""The connector contract: what every connector does, run for each against the simulator process.

Connectors: the simulator connector (its JSON protocol), saprfc over classic and WebSocket RFC, and
pyrfc (erpl-pyrfc) over classic and WebSocket RFC (by client certificate, the only logon erpl-pyrfc
offers there). Each case holds for every one of them, or is marked as an expected failure with the
library's limit as the reason.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from idocbridge.connectors.base import Connector
from idocbridge.connectors.errors import (
    ABAPApplicationError,
    AuthorizationError,
    CommunicationError,
    ConnectorError,
    LogonError,
)
from idocbridge.connectors.pyrfc import PyRFCConnector
from idocbridge.connectors.saprfc import SaprfcConnector
from idocbridge.models import SAPAlias, load_model_text
from idocbridge.sapsim.testing import SimulatorProcess, txtraw
from idocbridge.sapsim.tls import ensure_pki, issue_client_certificate

IDOC = "IDOC_INBOUND_ASYNCHRONOUS"
CONNECTORS = ("json", "saprfc-cpic", "saprfc-websocket", "pyrfc-cpic", "pyrfc-websocket")
ERPL_UNITS = (
    "erpl-pyrfc 2026.9.3 takes only scalar parameters in a unit and ships one 1786-byte DATA row: "
    "an IDoc cannot travel in its tRFC or qRFC units"
)

pytestmark = pytest.mark.filterwarnings(
    r"ignore:Exception ignored in. <socket.socket:pytest.PytestUnraisableExceptionWarning"
)

Make = Callable[..., Connector]


def _alias(fields: dict[str, Any]) -> SAPAlias:
    model = {"name": "T", "version": "1.0", "aliases": [{"name": "SIM", "protocol": "trfc", "client": "100"} | fields]}
    alias: SAPAlias = load_model_text(json.dumps(model), "t.yaml", "yaml").model.aliases[0]
    return alias


def _factory(kind: str, sim: SimulatorProcess) -> Make:
    """A function making an unopened connector of ``kind`` for ``user`` with ``password``."""
    assert sim.info is not None
    info = sim.info
    library, _, wire = kind.partition("-")

    def make(user: str = "IDOCUSER", password: str = "idocbridge") -> Connector:
        environ = {"SAP_PASSWORD": password}
        if kind == "json":
            return sim.connector(user=user, password=password)
        fields: dict[str, Any] = {"connector": library}
        if wire == "cpic":
            fields |= {"host": info.gateway_host, "systemNumber": info.system_number}
            fields["user"] = f"{user}/${{SAP_PASSWORD}}"
        else:
            websocket: dict[str, Any] = {"port": info.port, "trustedCa": str(info.ca_certificate)}
            if library == "pyrfc":  # logs on by certificate only; it has no CA parameter
                name = user if password == "idocbridge" else "NOBODY"
                certificate, key = issue_client_certificate(ensure_pki(sim.state), name, sim.state / "contract")
                websocket = {"port": info.port, "clientCertificate": str(certificate), "clientKey": str(key)}
            else:
                fields["user"] = f"{user}/${{SAP_PASSWORD}}"
            fields |= {"host": "localhost", "transport": "websocket", "websocket": websocket}
        alias = _alias(fields)
        if library == "saprfc":
            return SaprfcConnector(alias, environ=environ, timeout=30)
        return PyRFCConnector(alias, environ=environ, timeout=30)

    return make


@pytest.fixture(params=CONNECTORS)
def make(request: pytest.FixtureRequest, sim: SimulatorProcess) -> Make:
    request.node.connector_kind = request.param
    return _factory(str(request.param), sim)


def _kind(request: pytest.FixtureRequest) -> str:
    return str(request.node.connector_kind)


def _erpl_cannot_ship_idocs(request: pytest.FixtureRequest) -> None:
    if _kind(request).startswith("pyrfc"):
        request.applymarker(pytest.mark.xfail(strict=True, raises=(TypeError, ConnectorError), reason=ERPL_UNITS))


def test_open_ping_call_and_close(make: Make, sim: SimulatorProcess) -> None:
    connector = make()
    assert not connector.is_open
    connector.open()
    assert connector.is_open
    connector.ping()
    answer = connector.call("STFC_CONNECTION", {"REQUTEXT": "contract"})
    connector.call(IDOC, txtraw("a synchronous call"))
    connector.close()
    connector.close()  # idempotent
    assert not connector.is_open
    assert answer["ECHOTEXT"] == "contract"
    assert [idoc["status"] for idoc in sim.control.idocs()] == ["53"]


def test_an_abap_exception_keeps_its_key_and_the_connection(make: Make, sim: SimulatorProcess) -> None:
    sim.control.add_fault("abap_exception", function="STFC_CONNECTION", key="SIM_FAULT", message="injected")
    with make() as connector:
        with pytest.raises(ABAPApplicationError) as raised:
            connector.call("STFC_CONNECTION", {"REQUTEXT": "x"})
        connector.ping()
    assert raised.value.key == "SIM_FAULT"


def test_a_refused_logon_is_a_logon_error_without_the_password(make: Make, request: pytest.FixtureRequest) -> None:
    with pytest.raises((LogonError, CommunicationError)) as raised:
        make(password="n0t-the-Pa55word").open()
    assert "n0t-the-Pa55word" not in str(raised.value)
    if _kind(request) != "pyrfc-websocket":  # erpl-pyrfc reports a refused upgrade as an I/O error
        assert isinstance(raised.value, LogonError)


def test_a_function_off_the_allowlist_is_an_authorization_error(make: Make, sim: SimulatorProcess) -> None:
    with make(user="READER") as connector, pytest.raises(AuthorizationError) as raised:
        connector.call(IDOC, txtraw("not for READER"))
    assert raised.value.key == "RFC_NO_AUTHORITY"
    assert "not on the allowlist of user READER" in str(raised.value)
    assert sim.control.idocs() == []


def test_tids_are_24_characters_and_new_each_time(make: Make) -> None:
    with make() as connector:
        tids = {connector.get_transaction_id() for _ in range(5)}
    assert len(tids) == 5 and {len(tid) for tid in tids} == {24}


def test_an_idoc_by_trfc_runs_once_however_often_it_is_submitted(
    make: Make, sim: SimulatorProcess, request: pytest.FixtureRequest
) -> None:
    _erpl_cannot_ship_idocs(request)
    with make() as connector:
        tid = connector.get_transaction_id()
        for _ in range(3):
            connector.submit_transaction(tid, IDOC, txtraw("exactly once"))
        connector.confirm_transaction(tid)
        connector.confirm_transaction(tid)  # may be repeated
    (idoc,) = sim.control.idocs()
    assert (idoc["tid"], idoc["status"]) == (tid, "53")
    events = [e["event"] for e in sim.control.command("inspect.events", tid=tid)]
    assert events[0] == "EXECUTED" and events.count("EXECUTED") == 1 and "CONFIRMED" in events
    assert sim.control.tids() == []


@pytest.mark.parametrize("fault", ["drop_before", "drop_after"])
def test_after_a_broken_connection_the_same_tid_delivers_once(
    make: Make, sim: SimulatorProcess, request: pytest.FixtureRequest, fault: str
) -> None:
    _erpl_cannot_ship_idocs(request)
    sim.control.add_fault(fault, function=IDOC)
    connector = make()
    connector.open()
    tid = connector.get_transaction_id()
    with pytest.raises(CommunicationError):
        connector.submit_transaction(tid, IDOC, txtraw(f"after {fault}"))
    connector.close()
    with make() as again:
        again.submit_transaction(tid, IDOC, txtraw(f"after {fault}"))
        again.confirm_transaction(tid)
    assert [idoc["tid"] for idoc in sim.control.idocs()] == [tid]


def test_qrfc_units_run_in_queue_order(make: Make, sim: SimulatorProcess, request: pytest.FixtureRequest) -> None:
    _erpl_cannot_ship_idocs(request)
    tids = []
    with make() as connector:
        for number in range(3):
            records = txtraw(f"queued {number}")
            call = {"QNAME": "CONTRACTQ", "IDOC_CONTROL_REC_40": records["IDOC_CONTROL_REC_40"]}
            call["IDOC_DATA_QUEUE"] = records["IDOC_DATA_REC_40"]
            tid = connector.get_transaction_id()
            connector.submit_transaction(tid, "IDOC_INBOUND_IN_QUEUE", call, queue="CONTRACTQ")
            connector.confirm_transaction(tid)
            tids.append(tid)
    queue = sim.control.command("inspect.queue", queue="CONTRACTQ")
    assert [(entry["tid"], entry["state"]) for entry in queue] == [(tid, "EXECUTED") for tid in tids]
    assert [idoc["data"][0]["SDATA"].strip() for idoc in sim.control.idocs(full=True)] == [
        "queued 0",
        "queued 1",
        "queued 2",
    ]
