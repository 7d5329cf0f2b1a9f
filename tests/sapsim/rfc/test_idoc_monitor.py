"""Which inbound IDocs a tRFC TID created, and their status, asked over RFC as of an SAP system.

INBOUND_IDOCS_FOR_TID, GET_STATUS_FROM_IDOCNR and IDOC_READ_COMPLETELY, called through the project's
saprfc connector (saprfclib) over classic and WebSocket RFC and through erpl-pyrfc, after the IDocs
arrived by tRFC; the scenario IDOC_MONITOR allows them to IDOCUSER only. Then background processing
(``idocProcessing: {mode: background}``): IDocs wait at status 64 and are posted later, also after
a restart.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

import idocbridge.sapsim
from idocbridge.connectors.errors import ABAPApplicationError, AuthorizationError
from idocbridge.connectors.saprfc import SaprfcConnector
from idocbridge.sapsim.testing import SimulatorProcess, txtraw
from tests.sapsim.rfc.conftest import der_certificate, only_over, saprfc_alias
from tests.waiting import wait_until

IDOC = "IDOC_INBOUND_ASYNCHRONOUS"
FOR_TID = "INBOUND_IDOCS_FOR_TID"
STATUS = "GET_STATUS_FROM_IDOCNR"
READ = "IDOC_READ_COMPLETELY"
POSTED = [
    ("50", "IDoc added"),
    ("64", "IDoc ready to be transferred to application"),
    ("62", "IDoc passed to application"),
    ("53", "Application document posted"),
]

# saprfclib 0.1.8 leaves its socket to the garbage collector when a logon fails inside connect().
pytestmark = pytest.mark.filterwarnings(
    r"ignore:Exception ignored in. <socket.socket:pytest.PytestUnraisableExceptionWarning"
)


def _connector(sim: SimulatorProcess, transport: str = "cpic", user: str = "IDOCUSER") -> SaprfcConnector:
    """The project's saprfc connector for a model alias: classic RFC, or WebSocket RFC trusting the simulator's CA."""
    return SaprfcConnector(saprfc_alias(sim, transport, user), environ={"SAP_PASSWORD": "idocbridge"}, timeout=30)


def _packet(*texts: str) -> dict[str, Any]:
    """IDOC_INBOUND_ASYNCHRONOUS parameters for one TXTRAW01 IDoc per text (a packet: each names its DOCNUM)."""
    control = txtraw("")["IDOC_CONTROL_REC_40"][0]
    numbers = [str(number) for number in range(1, len(texts) + 1)]
    return {
        "IDOC_CONTROL_REC_40": [control | {"DOCNUM": number} for number in numbers],
        "IDOC_DATA_REC_40": [
            {"SEGNAM": "E1TXTRW", "DOCNUM": number, "SDATA": text} for number, text in zip(numbers, texts, strict=True)
        ],
    }


def _send(connector: SaprfcConnector, parameters: dict[str, Any]) -> str:
    """Ship one IDOC_INBOUND_ASYNCHRONOUS call by tRFC and confirm it; its TID."""
    tid = connector.get_transaction_id()
    connector.submit_transaction(tid, IDOC, parameters)
    connector.confirm_transaction(tid)
    return tid


def _numbers(connector: SaprfcConnector, tid: str) -> list[str]:
    return [row["DOCNUM"] for row in connector.call(FOR_TID, {"TID": tid})["IDOC_NUMBERS"]]


def _status(connector: SaprfcConnector, docnum: str) -> str:
    return str(connector.call(STATUS, {"IDOCNR": docnum})["STATUS"])


def _history(idoc: dict[str, Any]) -> list[tuple[str, str]]:
    return [(row["STATUS"], row["STATXT"]) for row in idoc["INT_EDIDS"]]


def test_inbound_idocs_for_tid_lists_the_idocs_of_the_call_in_docnum_order(
    sim: SimulatorProcess, transport: str
) -> None:
    with _connector(sim, transport) as sap:
        packet = _send(sap, _packet("first", "second", "third"))
        single = _send(sap, txtraw("alone"))
        numbers = _numbers(sap, packet)
        alone = _numbers(sap, single)
        unknown = _numbers(sap, "0A0B0C0D0E0F101112131415")
    stored = [idoc["docnum"] for idoc in sim.control.idocs(tid=packet)]
    assert len(numbers) == 3 and numbers == stored == sorted(numbers)
    assert [int(number) for number in numbers] == [int(numbers[0]) + offset for offset in range(3)]
    texts = [sim.control.command("inspect.idoc", docnum=number)["data"][0]["SDATA"] for number in numbers]
    assert texts == ["first", "second", "third"]  # ascending = the order the IDocs came in the call
    assert alone == [idoc["docnum"] for idoc in sim.control.idocs(tid=single)] and alone[0] > numbers[-1]
    assert unknown == []
    assert only_over(sim, transport)[f"rfc:{transport}:{FOR_TID}"] == 3


def test_get_status_from_idocnr_gives_the_latest_status(sim: SimulatorProcess, transport: str) -> None:
    with _connector(sim, transport) as sap:
        (docnum,) = _numbers(sap, _send(sap, txtraw("posted")))
        status = _status(sap, docnum)
        short = _status(sap, str(int(docnum)))  # without leading zeros
        unknown = _status(sap, "9999999999999999")
    assert (status, short, unknown) == ("53", "53", "")


def test_idoc_read_completely_gives_control_status_and_data_records(sim: SimulatorProcess, transport: str) -> None:
    before = dt.datetime.now(dt.UTC).strftime("%Y%m%d")
    with _connector(sim, transport) as sap:
        tid = _send(sap, txtraw("line one", "line two", SNDSAD="ADDRESS001100X0011003"))
        (docnum,) = _numbers(sap, tid)
        idoc = sap.call(READ, {"DOCUMENT_NUMBER": docnum})
    days = {before, dt.datetime.now(dt.UTC).strftime("%Y%m%d")}  # the system's time is UTC
    control = idoc["IDOC_CONTROL"]
    assert (control["DOCNUM"], control["MANDT"], control["STATUS"], control["DIRECT"]) == (docnum, "100", "53", "2")
    assert (control["IDOCTP"], control["MESTYP"], control["SNDPRN"], control["RCVPRN"]) == (
        "TXTRAW01", "TXTRAW", "LEGACY", "SIMCLNT100",
    )  # fmt: skip
    assert (control["SNDPOR"], control["RCVPOR"], control["DOCREL"], control["MAXSEGNUM"]) == (
        "LEGACY", "SAPSIM", "758", "000002",
    )  # fmt: skip
    assert (control["SNDSAD"], control["SNDSMN"], control["SNDSNA"], control["SNDSLF"]) == (
        "ADDRESS001", "100", "X", "003",
    )  # fmt: skip
    assert control["CREDAT"] in days and control["UPDDAT"] in days and control["CRETIM"] <= control["UPDTIM"]
    assert (idoc["NUMBER_OF_DATA_RECORDS"], idoc["NUMBER_OF_STATUS_RECORDS"]) == (2, 4)
    assert _history(idoc) == POSTED
    statuses = idoc["INT_EDIDS"]
    assert [row["COUNTR"] for row in statuses] == [f"{n:016d}" for n in range(1, 5)]
    assert [row["STATYP"] for row in statuses] == ["I", "I", "I", "S"]
    assert {(row["DOCNUM"], row["TID"], row["UNAME"], row["MANDT"]) for row in statuses} == {
        (docnum, tid, "IDOCUSER", "100")
    }
    times = [(row["LOGDAT"], row["LOGTIM"]) for row in statuses]
    assert times == sorted(times) and all(len(date) == 8 and len(clock) == 6 for date, clock in times)
    assert all((row["CREDAT"], row["CRETIM"]) == (row["LOGDAT"], row["LOGTIM"]) for row in statuses)
    assert [(row["SEGNUM"], row["SEGNAM"], row["SDATA"], row["DOCNUM"]) for row in idoc["INT_EDIDD"]] == [
        ("000001", "E1TXTRW", "line one", docnum),
        ("000002", "E1TXTRW", "line two", docnum),
    ]


def test_a_posting_error_is_status_51_with_its_message(sim: SimulatorProcess, transport: str) -> None:
    long = "Material WRENCH-17 is blocked for posting in plant 1000 by user MRP_RUN; " * 3
    sim.control.add_fault("posting_error", function="TXTRAW", message="Material 4711 does not exist")
    with _connector(sim, transport) as sap:
        (blocked,) = _numbers(sap, _send(sap, txtraw("not posted")))
        sim.control.add_fault("posting_error", function="TXTRAW", message=long)
        (locked,) = _numbers(sap, _send(sap, txtraw("not posted either")))
        status = _status(sap, blocked)
        first = sap.call(READ, {"DOCUMENT_NUMBER": blocked})
        second = sap.call(READ, {"DOCUMENT_NUMBER": locked})["INT_EDIDS"][-1]
    assert (status, first["IDOC_CONTROL"]["STATUS"]) == ("51", "51")
    assert _history(first) == [*POSTED[:3], ("51", "Material 4711 does not exist")]
    assert first["INT_EDIDS"][-1]["STATYP"] == "E"
    # Longer than STATXT's 70 characters: SAP's placeholders in STATXT, the text in STAPA1..STAPA4.
    pieces = [second[f"STAPA{n}"] for n in range(1, 5)]
    assert (second["STATUS"], second["STATYP"]) == ("51", "E")
    assert second["STATXT"] == "&" * sum(1 for piece in pieces if piece)
    assert all(len(piece) <= 50 and not piece.endswith(" ") for piece in pieces)
    text = "".join(pieces)
    assert text.endswith("...") and " ".join(long.split()).startswith(text[:-3]) and len(text) > 150


def test_idoc_read_completely_refuses_an_invalid_or_unknown_number(sim: SimulatorProcess, transport: str) -> None:
    with _connector(sim, transport) as sap:
        errors = {}
        for number in ("0", "12AB", "4711"):
            with pytest.raises(ABAPApplicationError) as raised:
                sap.call(READ, {"DOCUMENT_NUMBER": number})
            errors[number] = (raised.value.key, raised.value.message)
    assert errors["0"][0] == errors["12AB"][0] == "DOCUMENT_NUMBER_INVALID"
    assert errors["4711"] == ("DOCUMENT_NOT_EXIST", "IDoc 0000000000004711 does not exist")


def test_the_interfaces_as_rfc_describes_them(sim: SimulatorProcess) -> None:
    with _connector(sim) as sap:
        described = {
            name: sap.call("RFC_GET_FUNCTION_INTERFACE", {"FUNCNAME": name})["PARAMS"]
            for name in (FOR_TID, STATUS, READ)
        }
    shapes = {
        name: [(p["PARAMCLASS"], p["PARAMETER"], p["TABNAME"], p["EXID"], p["INTLENGTH"]) for p in params]
        for name, params in described.items()
    }
    assert shapes == {
        FOR_TID: [("I", "TID", "", "C", 48), ("T", "IDOC_NUMBERS", "ZSIM_IDOC_NUMBER", "u", 32)],
        STATUS: [("I", "IDOCNR", "", "N", 32), ("E", "STATUS", "", "C", 4)],
        READ: [
            ("I", "DOCUMENT_NUMBER", "", "N", 32),
            ("E", "IDOC_CONTROL", "EDIDC", "u", 1084),
            ("E", "NUMBER_OF_DATA_RECORDS", "", "I", 4),
            ("E", "NUMBER_OF_STATUS_RECORDS", "", "I", 4),
            ("T", "INT_EDIDS", "EDIDS", "u", 1044),
            ("T", "INT_EDIDD", "EDIDD", "u", 2128),
        ],
    }


def test_a_user_without_the_idoc_monitor_scenario_is_refused(sim: SimulatorProcess, transport: str) -> None:
    with _connector(sim, transport) as sap:
        tid = _send(sap, txtraw("for IDOCUSER"))
        (docnum,) = _numbers(sap, tid)
    calls = {FOR_TID: {"TID": tid}, STATUS: {"IDOCNR": docnum}, READ: {"DOCUMENT_NUMBER": docnum}}
    refusals = {}
    with _connector(sim, transport, user="READER") as reader:
        for function, parameters in calls.items():
            with pytest.raises(AuthorizationError) as raised:
                reader.call(function, parameters)
            refusals[function] = (raised.value.key, raised.value.message)
    allowlist = "is not on the allowlist of user READER (UCON, WebSocket RFC)"
    assert refusals == {function: ("RFC_NO_AUTHORITY", f"function module {function} {allowlist}") for function in calls}


def test_erpl_pyrfc_asks_which_idocs_a_tid_created(sim: SimulatorProcess, transport: str) -> None:
    pyrfc = pytest.importorskip("pyrfc")
    assert sim.info is not None
    with _connector(sim, transport) as sap:  # erpl-pyrfc cannot ship an IDoc in a tRFC unit (test_erpl_pyrfc)
        tid = _send(sap, _packet("one", "two"))
    if transport == "cpic":
        parameters = {"ashost": sim.info.gateway_host, "sysnr": sim.info.system_number, "client": "100",
                      "user": "IDOCUSER", "passwd": "idocbridge"}  # fmt: skip
    else:
        certificate, key = der_certificate(sim, "IDOCUSER")
        parameters = {"wshost": "localhost", "wsport": str(sim.info.port), "client": "100",
                      "tls_client_cert": str(certificate), "tls_client_key": str(key)}  # fmt: skip
    connection = pyrfc.Connection(**parameters)
    try:
        numbers = [row["DOCNUM"] for row in connection.call(FOR_TID, TID=tid)["IDOC_NUMBERS"]]
        statuses = [connection.call(STATUS, IDOCNR=number)["STATUS"] for number in numbers]
        idoc = connection.call(READ, DOCUMENT_NUMBER=numbers[-1])
        with pytest.raises(pyrfc.ABAPApplicationError) as raised:
            connection.call(READ, DOCUMENT_NUMBER="9999999999999999")
    finally:
        connection.close()
    assert numbers == [idoc["docnum"] for idoc in sim.control.idocs(tid=tid)] and len(numbers) == 2
    assert statuses == ["53", "53"]
    assert (idoc["IDOC_CONTROL"]["DOCNUM"], idoc["NUMBER_OF_STATUS_RECORDS"]) == (numbers[-1], 4)
    assert [(row["STATUS"], row["STATXT"]) for row in idoc["INT_EDIDS"]] == POSTED
    assert [row["SDATA"] for row in idoc["INT_EDIDD"]] == ["two"]
    assert raised.value.key == "DOCUMENT_NOT_EXIST"
    assert only_over(sim, transport)[f"rfc:{transport}:{READ}"] == 2


# -- background processing ---------------------------------------------------------------------------


def _background_config(path: Path, delay: float) -> Path:
    """The default configuration with ``idocProcessing: {mode: background, delaySeconds: delay}``."""
    default = (Path(idocbridge.sapsim.__file__).parent / "default_config.yaml").read_text(encoding="utf-8")
    path.write_text(default + f"idocProcessing: {{mode: background, delaySeconds: {delay}}}\n", encoding="utf-8")
    return path


def _read(sim: SimulatorProcess, docnum: str) -> dict[str, Any]:
    with _connector(sim) as sap:
        return sap.call(READ, {"DOCUMENT_NUMBER": docnum})


def _posted(sim: SimulatorProcess, docnum: str, status: str = "53") -> dict[str, Any] | None:
    """The IDoc, once it has ``status``."""
    idoc = _read(sim, docnum)
    return idoc if idoc["IDOC_CONTROL"]["STATUS"] == status else None


def _logged(row: dict[str, Any]) -> dt.datetime:
    return dt.datetime.strptime(row["LOGDAT"] + row["LOGTIM"], "%Y%m%d%H%M%S").replace(tzinfo=dt.UTC)


def test_in_background_mode_idocs_wait_at_64_until_they_are_processed(tmp_path: Path) -> None:
    config = _background_config(tmp_path / "background.yaml", 3600)
    with SimulatorProcess(tmp_path / "sim", config=config) as sim, _connector(sim) as sap:
        tid = _send(sap, _packet("first", "second"))
        numbers = _numbers(sap, tid)
        waiting = [_status(sap, number) for number in numbers]
        idoc = sap.call(READ, {"DOCUMENT_NUMBER": numbers[0]})
        status = sim.control.command("status")["idoc_processing"]
        posted = sim.control.process_idocs()  # RBDAPP01 by hand: now, whatever the delay
        after = [_status(sap, number) for number in numbers]
        again = sim.control.process_idocs()
    assert waiting == ["64", "64"]
    assert _history(idoc) == POSTED[:2] and idoc["IDOC_CONTROL"]["STATUS"] == "64"
    assert status == {"mode": "background", "delay_seconds": 3600.0, "waiting": 2}
    assert posted == [{"docnum": number, "status": "53"} for number in numbers]
    assert (after, again) == (["53", "53"], [])


def test_in_background_mode_idocs_are_posted_after_the_delay_and_after_a_restart(tmp_path: Path) -> None:
    config = _background_config(tmp_path / "background.yaml", 3600)
    with SimulatorProcess(tmp_path / "sim", config=config) as sim:
        with _connector(sim) as sap:
            (left,) = _numbers(sap, _send(sap, txtraw("left at 64 when the simulator stops")))
            assert _status(sap, left) == "64"
        sim.stop()
        _background_config(config, 1)  # the same state, now posted one second after status 64
        sim.start()
        restarted = wait_until(lambda: _posted(sim, left), what=f"IDoc {left} posted after the restart")
        with _connector(sim) as sap:
            (fresh,) = _numbers(sap, _send(sap, txtraw("posted one second later")))
        posted = wait_until(lambda: _posted(sim, fresh), what=f"IDoc {fresh} posted")
        # A posting_error fault hits when the background job posts the IDoc, not when it arrives.
        sim.control.add_fault("posting_error", function="TXTRAW", message="Material 4711 does not exist")
        with _connector(sim) as sap:
            (failed,) = _numbers(sap, _send(sap, txtraw("not posted one second later")))
        refused = wait_until(lambda: _posted(sim, failed, "51"), what=f"IDoc {failed} not posted (51)")
    assert _history(restarted) == POSTED
    assert _history(posted) == POSTED
    assert _history(refused) == [*POSTED[:3], ("51", "Material 4711 does not exist")]
    for idoc in (posted, refused):
        ready, passed = idoc["INT_EDIDS"][1], idoc["INT_EDIDS"][2]
        assert _logged(passed) - _logged(ready) >= dt.timedelta(seconds=1)  # whole seconds: at least the delay


def test_a_wrong_idoc_processing_setting_is_refused_with_its_place(tmp_path: Path) -> None:
    config = tmp_path / "wrong.yaml"
    config.write_text("systemId: SIM\nidocProcessing: {mode: later}\n", encoding="utf-8")
    with pytest.raises(RuntimeError, match=r"wrong\.yaml:2:.*IDoc processing mode 'later' is not known"):
        SimulatorProcess(tmp_path / "sim", config=config).start()
    config.write_text("systemId: SIM\nidocProcessing: {mode: background, delaySeconds: -1}\n", encoding="utf-8")
    with pytest.raises(RuntimeError, match="delaySeconds -1 is out of range"):
        SimulatorProcess(tmp_path / "sim", config=config).start()


def test_the_simulator_connector_asks_the_same(sim: SimulatorProcess) -> None:
    """The simulator's own JSON protocol serves the same functions and allowlist."""
    with sim.connector() as sap:
        tid = sap.get_transaction_id()
        sap.submit_transaction(tid, IDOC, txtraw("by the JSON protocol"))
        (row,) = sap.call(FOR_TID, {"TID": tid})["IDOC_NUMBERS"]
        status = sap.call(STATUS, {"IDOCNR": int(row["DOCNUM"])})["STATUS"]
        idoc = sap.call(READ, {"DOCUMENT_NUMBER": row["DOCNUM"]})
        with pytest.raises(ABAPApplicationError) as invalid:
            sap.call(READ, {"DOCUMENT_NUMBER": "not a number"})
    with sim.connector(user="READER") as reader, pytest.raises(AuthorizationError) as refused:
        reader.call(STATUS, {"IDOCNR": row["DOCNUM"]})
    assert (status, idoc["NUMBER_OF_STATUS_RECORDS"], _history(idoc)) == ("53", 4, POSTED)
    assert idoc["INT_EDIDS"][0]["TID"] == tid and idoc["INT_EDIDD"][0]["SDATA"] == "by the JSON protocol"
    assert (invalid.value.key, invalid.value.message) == (
        "DOCUMENT_NUMBER_INVALID",
        "'not a number' is not an IDoc number",
    )
    assert refused.value.key == "RFC_NO_AUTHORITY"
