"""The pyrfc connector: against the real library, and its tRFC flow with PyRFC-compatible test libraries.

The tests marked by ``real_pyrfc`` use the installed library with no mocks: every parameter set of
test_pyrfc_params.CASES is opened against a closed local port and must fail as a communication error
(the library took the parameters), or be refused by the connector and by the library alike.
"""

from __future__ import annotations

import logging
import re
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest

from idocbridge.connectors import pyrfc_libraries as library_module
from idocbridge.connectors.errors import (
    ABAPApplicationError,
    ABAPRuntimeError,
    AuthorizationError,
    CommunicationError,
    ConfirmNotSentError,
    ConnectorConfigurationError,
    ConnectorError,
    LogonError,
)
from idocbridge.connectors.pyrfc import PyRFCConnector, map_error
from idocbridge.connectors.pyrfc_libraries import (
    ERPL_INSPECTED_VERSIONS,
    ERPL_KNOWN_PARAMETERS,
    UnitSemantics,
    detect_library,
)
from idocbridge.connectors.pyrfc_params import connection_parameters
from idocbridge.connectors.unit import TrfcUnit, UnitCall
from tests.connectors.test_pyrfc_params import CASES, ENV, PASSWORD, USER, Case, Endpoint, alias, write_credentials

TID = "0A0B0C0D0E0F101112131415"
OTHER_TID = "AAAABBBBCCCCDDDDEEEEFFFF"


def _free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


@pytest.fixture
def closed(tmp_path: Path) -> Endpoint:
    """127.0.0.1 with a port nothing listens on, and a system number whose gateway port (33NN) is free."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    sysnr = next((f"{n:02d}" for n in range(100) if _free(3300 + n)), None)
    if sysnr is None:
        pytest.skip("every port 3300-3399 on 127.0.0.1 is taken")
    write_credentials(tmp_path)
    return Endpoint(host="127.0.0.1", port=port, sysnr=sysnr, folder=tmp_path)


@pytest.fixture
def real_pyrfc() -> Any:
    pyrfc = pytest.importorskip("pyrfc")
    if detect_library().name != "erpl-pyrfc":
        pytest.skip("these expectations describe erpl-pyrfc")
    return pyrfc


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.id)
def test_every_mapped_set_reaches_the_network_or_is_refused_like_the_library_does(
    case: Case, closed: Endpoint, real_pyrfc: Any
) -> None:
    target = alias(**case.fields(closed))
    connector = PyRFCConnector(target, environ=ENV, config={"timeout": 5})
    if case.erpl_refuses is not None:
        with pytest.raises(ConnectorConfigurationError, match=re.escape(case.erpl_refuses)):
            connector.open()
        with pytest.raises(real_pyrfc.RFCError) as refused:
            real_pyrfc.Connection(**connection_parameters(target, ENV))
        assert type(refused.value) is real_pyrfc.ExternalRuntimeError
        return
    params = connector.connection_parameters()
    with pytest.raises(real_pyrfc.CommunicationError, match="Connection refused"):  # it dialled the closed port
        real_pyrfc.Connection(config={"timeout": 5}, **params)
    with pytest.raises(CommunicationError, match="Connection refused") as failed:
        connector.open()
    error = failed.value
    assert error.retryable and error.key == "RFC_COMMUNICATION_FAILURE"
    assert isinstance(error.__cause__, real_pyrfc.CommunicationError)
    assert not connector.is_open and PASSWORD not in str(error)
    connector.close()


def test_websocket_certificates_are_converted_for_erpl_and_removed_on_close(closed: Endpoint, real_pyrfc: Any) -> None:
    case = next(case for case in CASES if case.id == "websocket-certificate")
    connector = PyRFCConnector(alias(**case.fields(closed)), environ=ENV)
    params = connector.connection_parameters()
    cert = Path(params["tls_client_cert"])
    assert cert.suffix == ".der" and cert.parent != closed.folder and cert.exists()
    with pytest.raises(real_pyrfc.ExternalRuntimeError, match="is PEM; wsRFC needs DER"):
        real_pyrfc.Connection(**connection_parameters(connector.alias, ENV))
    connector.close()
    assert not cert.parent.exists()


def test_an_unreadable_key_leaves_no_copies_behind(closed: Endpoint, real_pyrfc: Any) -> None:
    case = next(case for case in CASES if case.id == "websocket-certificate")
    (closed.folder / "client.key").write_text("not a key")
    before = set(Path(tempfile.gettempdir()).glob("idocbridge-pyrfc-*"))
    with pytest.raises(ConnectorConfigurationError, match="not a readable private key"):
        PyRFCConnector(alias(**case.fields(closed)), environ=ENV).open()
    assert set(Path(tempfile.gettempdir()).glob("idocbridge-pyrfc-*")) == before


def test_the_library_is_detected_with_its_parameters_and_unit_semantics(real_pyrfc: Any) -> None:
    library = detect_library()
    assert library.connection_class is real_pyrfc.Connection and library.confirm_anywhere
    assert library.profile.accepted == ERPL_KNOWN_PARAMETERS == real_pyrfc._connection.KNOWN_PARAMS
    assert library.version in ERPL_INSPECTED_VERSIONS, (
        f"erpl-pyrfc {library.version} was not inspected: check that fill_and_submit_unit still calls "
        "ARFC_DEST_SHIP and confirm_unit API_CLEAR_TID (docs/connectors.md), then add the version"
    )
    assert library.semantics is UnitSemantics.SUBMIT_EXECUTES


def test_an_uninspected_erpl_release_follows_its_documentation(
    real_pyrfc: Any, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(library_module, "ERPL_INSPECTED_VERSIONS", frozenset())
    library_module._warn_uninspected.cache_clear()
    with caplog.at_level(logging.WARNING):
        assert detect_library().semantics is UnitSemantics.CONFIRM_EXECUTES
    assert "were not inspected" in caplog.text
    library_module._warn_uninspected.cache_clear()


def test_a_trfc_alias_refuses_an_unchecked_erpl_release_unless_the_settings_accept_it(
    real_pyrfc: Any, closed: Endpoint, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(library_module, "ERPL_INSPECTED_VERSIONS", frozenset())
    library_module._warn_uninspected.cache_clear()
    fields = {"host": closed.host, "systemNumber": closed.sysnr, "client": "100", "user": USER}
    with pytest.raises(ConnectorConfigurationError, match=r"was not checked.*acceptUncheckedRfcLibrary: true"):
        PyRFCConnector(alias(**fields), environ=ENV).open()
    with pytest.raises(CommunicationError):  # accepted: it gets as far as the network
        PyRFCConnector(alias(**fields), environ=ENV, accept_unchecked_units=True).open()
    with pytest.raises(CommunicationError):  # plain RFC needs no unit calls
        PyRFCConnector(alias(**fields, protocol="rfc"), environ=ENV).open()
    library_module._warn_uninspected.cache_clear()


def test_bad_parameters_the_library_refuses_are_configuration_errors(real_pyrfc: Any) -> None:
    with pytest.raises(real_pyrfc.ExternalRuntimeError) as unknown:
        real_pyrfc.Connection(ashost="127.0.0.1", sysnr="00", client="100", user="U", passwd="P", bogus="1")
    error = map_error(unknown.value)
    assert type(error) is ConnectorConfigurationError and not error.retryable and error.key == "RFC_INVALID_PARAMETER"
    with pytest.raises(real_pyrfc.CommunicationError) as service:  # erpl-pyrfc 2026.9.3 reports it so
        real_pyrfc.Connection(mshost="127.0.0.1", msserv="sapmsNOSUCHSERVICE", group="PUBLIC", sysid="QAS",
                              client="100", user="U", passwd="P")  # fmt: skip
    error = map_error(service.value)
    assert type(error) is ConnectorConfigurationError and not error.retryable


@pytest.mark.parametrize(
    ("name", "opening", "expected", "retryable"),
    [
        ("CommunicationError", False, CommunicationError, True),
        ("LogonError", True, LogonError, False),
        ("ABAPApplicationError", False, ABAPApplicationError, False),
        ("ABAPRuntimeError", False, ABAPRuntimeError, False),
        ("ExternalAuthorizationError", False, AuthorizationError, False),
        ("ExternalRuntimeError", True, ConnectorConfigurationError, False),
        ("ExternalRuntimeError", False, ConnectorError, False),
        ("ExternalApplicationError", False, ConnectorError, False),
        ("RFCError", False, ConnectorError, False),
    ],
)
def test_pyrfc_errors_become_project_errors(
    name: str, opening: bool, expected: type[ConnectorError], retryable: bool
) -> None:
    pyrfc = pytest.importorskip("pyrfc")
    cls = getattr(pyrfc, name)
    exc = cls("it failed") if name == "RFCError" else cls("it failed", code=1, key="SOME_KEY")
    error = map_error(exc, function="IDOC_INBOUND_ASYNCHRONOUS", tid=TID, opening=opening)
    assert type(error) is expected and error.retryable is retryable
    assert error.function == "IDOC_INBOUND_ASYNCHRONOUS" and error.tid == TID
    assert error.key == ("SOME_KEY" if name != "RFCError" else "RFC_FAILURE")
    assert map_error(ValueError("not a library error")) is None


def test_abap_messages_and_authorization_keys_are_kept() -> None:
    pyrfc = pytest.importorskip("pyrfc")
    exc = pyrfc.ABAPRuntimeError("no RFC authorization", key="RFC_AUTHORIZATION_FAILURE", msg_class="SR", msg_type="E")
    exc.msg_number = "005"
    error = map_error(exc)
    assert isinstance(error, AuthorizationError) and "[ABAP message E005(SR)]" in str(error)


def test_without_pyrfc_the_connector_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pyrfc", None)
    connector = PyRFCConnector(alias(client="100", user=USER), environ=ENV)
    with pytest.raises(ConnectorConfigurationError, match=r"install idocbridge\[sap\] \(erpl-pyrfc\) or SAP's PyRFC"):
        connector.open()


def test_the_module_imports_without_pyrfc() -> None:
    code = "import sys; sys.modules['pyrfc'] = None; import idocbridge.connectors.pyrfc; print('ok')"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert result.stdout.strip() == "ok", result.stderr


# --- the tRFC flow, with PyRFC-compatible libraries that keep SAP's state in memory ----------------------


class RFCError(Exception):
    def __init__(self, message: str, key: str | None = None) -> None:
        super().__init__(message)
        self.message, self.key = message, key


class CommunicationFailure(RFCError):
    pass


CommunicationFailure.__name__ = "CommunicationError"


class ABAPFailure(RFCError):
    pass


ABAPFailure.__name__ = "ABAPApplicationError"


class SAPSystem:
    """SAP's side of tRFC: ARFCRSTATE and what ran."""

    def __init__(self) -> None:
        self.known: set[str] = set()
        self.executed: list[tuple[str, str, dict[str, Any], str | None]] = []
        self.lose_next_reply = False

    def run(self, tid: str, calls: list[tuple[str, dict[str, Any]]], queue: str | None) -> None:
        if tid not in self.known:  # onCheckTID: a known TID is not run again
            self.known.add(tid)
            self.executed.extend((tid, name, params, queue) for name, params in calls)
        if self.lose_next_reply:
            self.lose_next_reply = False
            raise CommunicationFailure("connection reset by peer", key="RFC_COMMUNICATION_FAILURE")


class SDKConnection:
    """SAP's PyRFC: submit runs the call; confirm works only for the unit this connection submitted."""

    sap: ClassVar[SAPSystem]
    opened: ClassVar[list[tuple[dict[str, Any] | None, dict[str, str]]]] = []

    def __init__(self, config: dict[str, Any] | None = None, **params: str) -> None:
        if params.get("passwd") == "hunter2":
            logon_error = type("LogonError", (RFCError,), {})
            raise logon_error(f"password {params['passwd']} is incorrect", "RFC_LOGON_FAILURE")
        self.opened.append((config, params))
        self.alive = True
        self.active: str | None = None
        self.calls: list[tuple[str, Any]] = []

    def close(self) -> None:
        self.alive = False
        raise RFCError("already gone")

    def ping(self) -> None:
        self.calls.append(("ping", None))

    def call(self, function: str, **params: Any) -> dict[str, Any]:
        if function == "Z_FAILS":
            raise ABAPFailure("raised", key="NOT_FOUND")
        return {"ECHOTEXT": params.get("REQUTEXT")}

    def initialize_unit(self, background: bool = True) -> dict[str, Any]:
        assert background is False
        return {"background": False, "id": TID, "queued": False}

    def fill_and_submit_unit(
        self, unit: dict[str, Any], calls: list[Any], queue_names: list[str] | None = None
    ) -> None:
        assert type(unit) is dict and type(calls[0][1]) is dict
        self.calls.append(("submit", queue_names))
        self.active = unit["id"]
        self.sap.run(unit["id"], calls, queue_names[0] if queue_names else None)

    def confirm_unit(self, unit: dict[str, Any]) -> None:
        if self.active != unit["id"]:
            raise RFCError("No transaction handle for this connection available.")
        self.calls.append(("confirm", unit["id"]))
        self.sap.known.discard(unit["id"])
        self.active = None

    def destroy_unit(self, unit: dict[str, Any]) -> None:
        self.calls.append(("destroy", unit["id"]))
        self.active = None


class QueueingConnection(SDKConnection):
    """erpl-pyrfc as its docstrings describe it: submit only queues, confirm runs the work and forgets."""

    def fill_and_submit_unit(
        self, unit: dict[str, Any], calls: list[Any], queue_names: list[str] | None = None
    ) -> None:
        self.calls.append(("queue", queue_names))
        self.queued = (unit["id"], calls, queue_names[0] if queue_names else None)

    def confirm_unit(self, unit: dict[str, Any]) -> None:
        self.calls.append(("release", unit["id"]))
        self.sap.run(*self.queued)
        self.sap.known.discard(unit["id"])


@pytest.fixture
def sap() -> Iterator[SAPSystem]:
    SDKConnection.sap = SAPSystem()
    SDKConnection.opened = []
    yield SDKConnection.sap


def _connector(cls: type[SDKConnection] = SDKConnection, **kwargs: Any) -> PyRFCConnector:
    connector = PyRFCConnector(alias(client="100", user=USER), environ=ENV, connection_class=cls, **kwargs)
    connector.open()
    return connector


def test_submit_runs_once_and_confirm_forgets(sap: SAPSystem) -> None:
    connector = _connector()
    assert connector.library.semantics is UnitSemantics.SUBMIT_EXECUTES and not connector.library.confirm_anywhere
    tid = connector.get_transaction_id()
    connector.submit_transaction(tid, "IDOC_INBOUND_ASYNCHRONOUS", {"IDOC_CONTROL_REC_40": [{"DOCNUM": "1"}]})
    assert [(t, name) for t, name, _, _ in sap.executed] == [(tid, "IDOC_INBOUND_ASYNCHRONOUS")] and tid in sap.known
    connector.confirm_transaction(tid)
    connector.confirm_transaction(tid)  # may be repeated
    assert tid not in sap.known
    assert connector._connection.calls == [("submit", None), ("confirm", tid)]


def test_a_lost_reply_is_retried_with_the_same_tid_and_runs_once(sap: SAPSystem) -> None:
    connector = _connector()
    sap.lose_next_reply = True
    with pytest.raises(CommunicationError) as lost:
        connector.submit_transaction(TID, "IDOC_INBOUND_ASYNCHRONOUS", {}, queue="IDOCQ")
    assert lost.value.retryable and lost.value.tid == TID and lost.value.function == "IDOC_INBOUND_ASYNCHRONOUS"
    retry = _connector()
    retry.submit_transaction(TID, "IDOC_INBOUND_ASYNCHRONOUS", {}, queue="IDOCQ")
    assert len(sap.executed) == 1 and sap.executed[0][3] == "IDOCQ"
    retry.confirm_transaction(TID)
    assert TID not in sap.known


def test_a_unit_stays_on_the_pyrfc_connection_it_started_on(sap: SAPSystem) -> None:
    """The outbox gives other connections back between a unit's calls; a pyrfc connection it keeps to the end,
    as the library holds the unit's handle on the connection that submitted it."""
    assert _connector().keeps_units_on_one_connection


def test_a_tid_submitted_elsewhere_is_never_reported_as_confirmed_through_sap_pyrfc(sap: SAPSystem) -> None:
    _connector().submit_transaction(TID, "F", {})
    other = _connector()
    assert not other.can_confirm(TID)
    with pytest.raises(ConfirmNotSentError, match="was not submitted on this connection") as refused:
        other.confirm_transaction(TID)
    assert refused.value.retryable and refused.value.tid == TID
    assert TID in sap.known and ("confirm", TID) not in other._connection.calls


def test_a_unit_resumed_on_another_connection_is_submitted_again_then_confirmed(sap: SAPSystem) -> None:
    call = UnitCall("IDOC_INBOUND_ASYNCHRONOUS", {"IDOC_CONTROL_REC_40": [{"DOCNUM": "1"}]})
    first = TrfcUnit()
    first.assign_tid(_connector())
    first.submit(_connector(), call)
    resumed = TrfcUnit(tid=first.tid, executed=True)  # as the outbox resumes an executed entry
    other = _connector()
    resumed.confirm(other, call)
    assert resumed.confirmed and TID not in sap.known
    assert len(sap.executed) == 1  # SAP skipped the second submit: its TID had run
    assert other._connection.calls == [("submit", None), ("confirm", TID)]


def test_an_unconfirmed_unit_is_released_before_the_next_one(sap: SAPSystem) -> None:
    connector = _connector()
    connector.submit_transaction(TID, "F", {})
    connector.submit_transaction(OTHER_TID, "F", {})
    assert connector._connection.calls == [("submit", None), ("destroy", TID), ("submit", None)]


def test_with_a_queueing_library_submit_releases_the_work(sap: SAPSystem) -> None:
    connector = _connector(QueueingConnection, unit_semantics=UnitSemantics.CONFIRM_EXECUTES)
    connector.submit_transaction(TID, "IDOC_INBOUND_ASYNCHRONOUS", {})
    assert len(sap.executed) == 1
    connector.confirm_transaction(TID)
    assert connector._connection.calls == [("queue", None), ("release", TID)]


def test_the_wrong_semantics_would_run_nothing_at_submit(sap: SAPSystem) -> None:
    connector = _connector(QueueingConnection)  # a foreign library is taken for SAP's semantics by default
    connector.submit_transaction(TID, "IDOC_INBOUND_ASYNCHRONOUS", {})
    assert sap.executed == []  # why unit_semantics exists: pass CONFIRM_EXECUTES for such a library


def test_calls_and_errors_cross_the_boundary_as_project_errors(sap: SAPSystem) -> None:
    connector = _connector()
    assert connector.call("STFC_CONNECTION", {"REQUTEXT": "hi"}) == {"ECHOTEXT": "hi"}
    connector.ping()
    with pytest.raises(ABAPApplicationError) as failed:
        connector.call("Z_FAILS", {})
    assert failed.value.key == "NOT_FOUND" and failed.value.function == "Z_FAILS"
    with pytest.raises(ValueError, match="24 characters"):
        connector.submit_transaction("short", "F", {})
    connector.close()
    connector.close()  # idempotent, even though the library's close raised
    assert not connector.is_open
    with pytest.raises(CommunicationError, match="not open"):
        connector.call("STFC_CONNECTION", {})


def test_a_refused_logon_never_shows_the_password(sap: SAPSystem) -> None:
    connector = PyRFCConnector(
        alias(client="100", user=USER), environ={"SAP_PASSWORD": "hunter2"}, connection_class=SDKConnection
    )
    with pytest.raises(LogonError) as refused:
        connector.open()
    assert str(refused.value) == "password *** is incorrect (key RFC_LOGON_FAILURE)"
    assert "hunter2" not in repr(connector) and not connector.is_open


def test_the_connector_passes_the_mapped_parameters_and_config(sap: SAPSystem) -> None:
    _connector(config={"timeout": 3})
    params = {"ashost": "localhost", "sysnr": "00", "client": "100", "user": "IDOCUSER", "passwd": PASSWORD}
    assert SDKConnection.opened == [({"timeout": 3}, params)]


class ConfirmLostConnection(SDKConnection):
    """SAP's PyRFC where the confirm reaches SAP (the TID is forgotten) and its reply is lost."""

    def confirm_unit(self, unit: dict[str, Any]) -> None:
        super().confirm_unit(unit)
        raise CommunicationFailure("connection reset by peer", key="RFC_COMMUNICATION_FAILURE")


class RecordingJournal:
    """A journal that keeps what it was told, in order (the outbox commits each of these)."""

    def __init__(self) -> None:
        self.steps: list[str] = []

    def tid_assigned(self, tid: str) -> None:
        self.steps.append("tid_assigned")

    def before_change(self) -> None:
        return None

    def executed(self, tid: str, confirm_sending: bool = False) -> None:
        self.steps.append("executed")

    def confirm_sending(self, tid: str) -> None:
        self.steps.append("confirm_sending")

    def confirmed(self, tid: str) -> None:
        self.steps.append("confirmed")


def test_a_unit_whose_confirm_may_have_reached_sap_is_never_submitted_again(sap: SAPSystem) -> None:
    call = UnitCall("IDOC_INBOUND_ASYNCHRONOUS", {"IDOC_CONTROL_REC_40": [{"DOCNUM": "1"}]})
    journal = RecordingJournal()
    unit = TrfcUnit(journal)
    first = _connector(ConfirmLostConnection)
    unit.assign_tid(first)
    unit.submit(first, call)
    with pytest.raises(CommunicationError):
        unit.confirm(first, call)
    assert journal.steps == ["tid_assigned", "executed", "confirm_sending"], "written down before it was sent"
    assert TID not in sap.known, "SAP took the confirm and forgot the TID"

    resumed = TrfcUnit(journal, tid=TID, executed=True, confirm_sent=True)  # as the outbox resumes it
    other = _connector()
    resumed.confirm(other, call)
    assert resumed.confirmed and journal.steps[-1] == "confirmed"
    assert len(sap.executed) == 1, "a submit after the confirm would have run the IDoc again"
    assert other._connection.calls == []
