"""The simulator's function modules, as a client sees them."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from idocbridge.connectors import ABAPApplicationError, ABAPRuntimeError
from idocbridge.sapsim.testing import SimulatorProcess, txtraw
from tests.sapsim.conftest import ORDERS05, shared_file

IDOC = "IDOC_INBOUND_ASYNCHRONOUS"


def test_stfc_connection_echoes_and_describes(sim: SimulatorProcess) -> None:
    with sim.connector() as sap:
        result = sap.call("STFC_CONNECTION", {"REQUTEXT": "Hello SAP"})
    assert result["ECHOTEXT"] == "Hello SAP"
    today = dt.datetime.now(dt.UTC).strftime("%Y%m%d")
    assert result["RESPTEXT"].startswith("SAP R/3 Rel. 758   Sysid: SIM      Date: ")
    assert today in result["RESPTEXT"]
    assert result["RESPTEXT"].endswith("Logon_Data: 100/IDOCUSER/E")


def test_rfc_system_info(sim: SimulatorProcess) -> None:
    with sim.connector() as sap:
        info = sap.call("RFC_SYSTEM_INFO", {})["RFCSI_EXPORT"]
    assert (info["RFCSYSID"], info["RFCSAPRL"], info["RFCPROTO"]) == ("SIM", "758", "011")


def test_rfc_get_function_interface(sim: SimulatorProcess) -> None:
    with sim.connector() as sap:
        params = sap.call("RFC_GET_FUNCTION_INTERFACE", {"FUNCNAME": "STFC_CONNECTION"})["PARAMS"]
        tables = sap.call("RFC_GET_FUNCTION_INTERFACE", {"FUNCNAME": IDOC})["PARAMS"]
        with pytest.raises(ABAPApplicationError) as raised:
            sap.call("RFC_GET_FUNCTION_INTERFACE", {"FUNCNAME": "Z_NOTHING"})
    assert [(p["PARAMCLASS"], p["PARAMETER"], p["EXID"], p["INTLENGTH"]) for p in params] == [
        ("I", "REQUTEXT", "C", 255),
        ("E", "ECHOTEXT", "C", 255),
        ("E", "RESPTEXT", "C", 255),
    ]
    assert [(p["PARAMCLASS"], p["PARAMETER"], p["TABNAME"], p["INTLENGTH"]) for p in tables] == [
        ("T", "IDOC_CONTROL_REC_40", "EDI_DC40", 524),
        ("T", "IDOC_DATA_REC_40", "EDI_DD40", 1063),
    ]
    assert raised.value.key == "FU_NOT_FOUND"


def test_a_valid_idoc_is_posted(sim: SimulatorProcess) -> None:
    with sim.connector() as sap:
        tid = sap.get_transaction_id()
        sap.submit_transaction(tid, IDOC, txtraw("first line", "second line"))
    (idoc,) = sim.control.idocs()
    assert len(idoc["docnum"]) == 16 and idoc["docnum"].isdigit()
    assert (idoc["idoctyp"], idoc["mestyp"], idoc["tid"], idoc["segments"]) == ("TXTRAW01", "TXTRAW", tid, 2)
    assert [s["status"] for s in idoc["statuses"]] == ["50", "64", "62", "53"]
    full = sim.control.command("inspect.idoc", docnum=idoc["docnum"])
    assert [(d["SEGNUM"], d["SDATA"]) for d in full["data"]] == [("000001", "first line"), ("000002", "second line")]
    assert full["control"]["DOCNUM"] == idoc["docnum"] and full["control"]["MANDT"] == "100"


def test_docnums_count_up_across_idocs(sim: SimulatorProcess) -> None:
    with sim.connector() as sap:
        for text in ("a", "b", "c"):
            sap.submit_transaction(sap.get_transaction_id(), IDOC, txtraw(text))
    numbers = [int(idoc["docnum"]) for idoc in sim.control.idocs()]
    assert numbers == [numbers[0], numbers[0] + 1, numbers[0] + 2]


@pytest.mark.parametrize(
    ("control", "text"),
    [
        ({"DIRECT": "1"}, "control record: DIRECT must be 2 (inbound)"),
        ({"IDOCTYP": "NOSUCH01"}, "control record: basic type NOSUCH01 does not exist in this system"),
        ({"SNDPRN": ""}, "control record: no sender partner (SNDPRN); no partner profile can be found"),
        ({"MESTYP": ""}, "control record: no message type (MESTYP)"),
    ],
)
def test_an_unusable_control_record_gives_status_56(sim: SimulatorProcess, control: dict[str, str], text: str) -> None:
    with sim.connector() as sap:
        sap.submit_transaction(sap.get_transaction_id(), IDOC, txtraw("line", **control))
    (idoc,) = sim.control.idocs()
    assert [s["status"] for s in idoc["statuses"]] == ["50", "56"]
    assert idoc["statuses"][1]["text"] == text


def test_segments_the_type_does_not_allow_give_status_60(sim: SimulatorProcess) -> None:
    params = txtraw("a line")
    params["IDOC_DATA_REC_40"].append({"SEGNAM": "E1EDK01", "SDATA": "not a TXTRAW segment"})
    with sim.connector() as sap:
        sap.submit_transaction(sap.get_transaction_id(), IDOC, params)
    (idoc,) = sim.control.idocs()
    assert [s["status"] for s in idoc["statuses"]] == ["50", "60"]
    assert "E1EDK01" in idoc["statuses"][1]["text"] and "2" in idoc["statuses"][1]["text"]


def test_several_idocs_in_one_call_are_matched_by_docnum(sim: SimulatorProcess) -> None:
    first, second = txtraw("one", DOCNUM="1"), txtraw("two", DOCNUM="2")
    params = {
        "IDOC_CONTROL_REC_40": first["IDOC_CONTROL_REC_40"] + second["IDOC_CONTROL_REC_40"],
        "IDOC_DATA_REC_40": [d | {"DOCNUM": "2"} for d in second["IDOC_DATA_REC_40"]]
        + [d | {"DOCNUM": "1"} for d in first["IDOC_DATA_REC_40"]],
    }
    with sim.connector() as sap:
        sap.submit_transaction(sap.get_transaction_id(), IDOC, params)
    idocs = sim.control.idocs()
    texts = [[d["SDATA"] for d in sim.control.command("inspect.idoc", docnum=i["docnum"])["data"]] for i in idocs]
    assert texts == [["one"], ["two"]]


def test_data_records_without_their_control_record_are_an_abap_exception(sim: SimulatorProcess) -> None:
    params = txtraw("x", DOCNUM="1")
    params["IDOC_CONTROL_REC_40"].append(txtraw("y", DOCNUM="2")["IDOC_CONTROL_REC_40"][0])
    params["IDOC_DATA_REC_40"] = [{"SEGNAM": "E1TXTRW", "SDATA": "x", "DOCNUM": "3"}]
    with sim.connector() as sap, pytest.raises(ABAPApplicationError) as raised:
        sap.submit_transaction(sap.get_transaction_id(), IDOC, params)
    assert raised.value.key == "DATA_WITHOUT_CONTROL_RECORD"
    assert sim.control.idocs() == []


def test_custom_function_modules_and_missing_functions(tmp_path: Path) -> None:
    package = tmp_path / "modules"
    package.mkdir()
    (package / "z_orders.py").write_text(
        "from idocbridge.sapsim.functions import AbapError, Parameter, function_module\n"
        "@function_module('Z_ORDER_STATUS', parameters=[Parameter('I', 'ORDER', 'CHAR(10)'),"
        " Parameter('E', 'STATUS', 'CHAR(2)')])\n"
        "def order_status(context, params):\n"
        "    if not params.get('ORDER'):\n"
        "        raise AbapError('ORDER_NOT_FOUND', 'no order number given')\n"
        "    return {'STATUS': 'OK', 'CALLER': context.user}\n",
        encoding="utf-8",
    )
    config = tmp_path / "sim.yaml"
    config.write_text(
        "systemId: QAS\nusers:\n  - name: APP\n    client: '200'\n    password: pw\n"
        "    functions: [Z_ORDER_STATUS, Z_MISSING, RFC_GET_FUNCTION_INTERFACE]\n"
        "functionModules: [z_orders]\n",
        encoding="utf-8",
    )
    environment = {"PYTHONPATH": str(package)}
    with SimulatorProcess(tmp_path / "state", config=config, environment=environment) as sim:
        with sim.connector("APP", "pw", "200") as sap:
            assert sap.call("Z_ORDER_STATUS", {"ORDER": "4711"}) == {"STATUS": "OK", "CALLER": "APP"}
            with pytest.raises(ABAPApplicationError) as application:
                sap.call("Z_ORDER_STATUS", {})
            with pytest.raises(ABAPRuntimeError) as runtime:
                sap.call("Z_MISSING", {})
            params = sap.call("RFC_GET_FUNCTION_INTERFACE", {"FUNCNAME": "Z_ORDER_STATUS"})["PARAMS"]
        assert sim.control.command("status")["system_id"] == "QAS"
    assert (application.value.key, application.value.message) == ("ORDER_NOT_FOUND", "no order number given")
    assert runtime.value.key == "CALL_FUNCTION_NOT_FOUND"
    assert [(p["PARAMCLASS"], p["PARAMETER"]) for p in params] == [("I", "ORDER"), ("E", "STATUS")]


def test_idoctype_read_complete_knows_txtraw01_and_orders05(sim: SimulatorProcess) -> None:
    with sim.connector() as sap:
        txt = sap.call("IDOCTYPE_READ_COMPLETE", {"PI_IDOCTYP": "TXTRAW01"})
        assert txt["PE_HEADER"]["IDOCTYP"] == "TXTRAW01"
        assert [s["SEGMENTTYP"] for s in txt["PT_SEGMENTS"]] == ["E1TXTRW"]
        assert [(f["FIELDNAME"], f["INTLEN"]) for f in txt["PT_FIELDS"]] == [("TLINE", 72)]
        with pytest.raises(ABAPApplicationError) as raised:
            sap.call("IDOCTYPE_READ_COMPLETE", {"PI_IDOCTYP": "NOSUCH01"})
        assert raised.value.key == "OBJECT_UNKNOWN"
        shared_file(ORDERS05)
        orders = sap.call("IDOCTYPE_READ_COMPLETE", {"PI_IDOCTYP": "ORDERS05"})
    segments = orders["PT_SEGMENTS"]
    assert len(segments) == 57
    first = segments[0]
    assert (first["SEGMENTTYP"], first["SEGMENTDEF"], first["MUSTFL"], first["OCCMIN"], first["OCCMAX"]) == (
        "E1EDK01",
        "E2EDK01005",
        "X",
        1,
        1,
    )
    action = next(f for f in orders["PT_FIELDS"] if f["SEGMENTTYP"] == "E1EDK01" and f["FIELDNAME"] == "ACTION")
    assert (action["BYTE_FIRST"], action["INTLEN"]) == (64, 3)
