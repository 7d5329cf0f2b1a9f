"""``idocbridge log trace ID``: one request's story, by transaction ID or SAP TID, rich or JSON."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine
from typer.testing import CliRunner

from idocbridge.cli.log import log_app
from idocbridge.tlog import LogEntry, TransactionLog, trace
from tests.tlog.conftest import TID, make_entry

SAP_TID = "0A0B0C0D0E0F101112131415"
OTHER = "1" * 40
URN = "urn:IDocService.IDocPort.Send"


def _sap(seconds: float, log_type: str, what: str, detail: str, **fields: Any) -> LogEntry:
    return make_entry(
        seconds=seconds, component="ERP.IDOC_INBOUND_ASYNCHRONOUS", domain="SAPRFC", log_type=log_type,
        param1=what, param2=detail, correlation_id=SAP_TID, service="IDocService", operation="Send", **fields,
    )  # fmt: skip


def _outbox(seconds: float, state: str, detail: str = "entry-7", ok: bool = True) -> LogEntry:
    return make_entry(
        seconds=seconds, component="TRFCOutbox", domain="SAPRFC", log_type="TRANSITION_EXIT", param1=state,
        param2=detail, correlation_id=SAP_TID, state="OK" if ok else "ERROR", request_id=0,
        service="IDocService", operation="Send",
    )  # fmt: skip


STORY = [
    make_entry(component=URN, param1="Send", service="IDocService", operation="Send"),
    _outbox(0.1, "TID_ASSIGNED"),
    _sap(0.2, "IO_ENTER", "outbox:submit", "IDOC_INBOUND_ASYNCHRONOUS"),
    _sap(0.5, "IO_EXIT", "outbox:submit", "COMMUNICATION_FAILURE: partner not reached", elapsed_ms=300, state="ERROR"),
    _outbox(0.5, "RETRY_WAIT", "COMMUNICATION_FAILURE: partner not reached", ok=False),
    make_entry(
        seconds=0.6,
        component=URN,
        log_type="SERVICE_EXIT",
        elapsed_ms=600,
        param1="Send",
        service="IDocService",
        operation="Send",
    ),
    _sap(5, "IO_ENTER", "outbox:submit", "IDOC_INBOUND_ASYNCHRONOUS"),
    _sap(5.25, "IO_EXIT", "outbox:submit", "IDOC_INBOUND_ASYNCHRONOUS", elapsed_ms=250),
    _outbox(5.3, "EXECUTED"),
    _sap(5.4, "IO_EXIT", "outbox:confirm", "", elapsed_ms=10),
    _outbox(5.5, "CONFIRMED"),
]


@pytest.fixture
def state(tmp_path: Path, engine: Engine) -> Path:
    with TransactionLog(engine) as log:
        for entry in STORY:
            log.record(entry)
        log.record(make_entry(seconds=9, transaction_id=OTHER, request_id=4))
    return tmp_path / "state"


def _run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(log_app, list(args), env={"COLUMNS": "200"})
    return result.exit_code, result.stdout, result.stderr


def test_the_story_in_order(state: Path, engine: Engine) -> None:
    (story,) = trace(engine, SAP_TID)
    assert story.transaction_id == TID and (story.service, story.operation) == ("IDocService", "Send")
    assert (story.request_ms, story.request_ok, story.tids) == (600, True, [SAP_TID])
    assert story.outbox_state == "CONFIRMED" and story.status == "OK" and story.idoc_numbers == []
    assert [(step.kind, step.what, step.attempt) for step in story.steps] == [
        ("outbox", "TID_ASSIGNED", 1),
        ("sap-call", "outbox:submit", 1),
        ("outbox", "RETRY_WAIT", 1),
        ("request", "IDocService.Send", 1),
        ("sap-call", "outbox:submit", 2),
        ("outbox", "EXECUTED", 1),
        ("sap-call", "outbox:confirm", 1),
        ("outbox", "CONFIRMED", 1),
    ]
    assert story.errors == [
        "outbox:submit: COMMUNICATION_FAILURE: partner not reached",
        "RETRY_WAIT: COMMUNICATION_FAILURE: partner not reached",
    ]
    assert [s.as_dict() for s in trace(engine, TID)[0].steps] == [s.as_dict() for s in story.steps]


def test_rich_output_tells_the_story(state: Path) -> None:
    code, stdout, _ = _run("trace", TID, "--state", str(state), "--timezone", "UTC")
    assert code == 0
    assert f"transaction {TID}  IDocService.Send  request 3, 0" in stdout
    assert "SOAP call  OK in 600 ms" in stdout and f"TID        {SAP_TID}" in stdout
    assert "IDoc number: not recorded" in stdout and "outbox     CONFIRMED" in stdout
    steps = stdout[stdout.index("TID_ASSIGNED") :]
    order = [steps.index(word) for word in ("TID_ASSIGNED", "RETRY_WAIT", "EXECUTED", "CONFIRMED")]
    assert order == sorted(order)
    assert "15:47:24.500" in stdout and "partner not reached" in stdout


def test_json_output_and_several_transactions_for_one_tid(state: Path, engine: Engine) -> None:
    with TransactionLog(engine) as log:
        log.record(
            make_entry(seconds=20, transaction_id="2" * 40, correlation_id=SAP_TID, param1="DOCNUM=0000000000004711")
        )
    code, stdout, _ = _run("--state", str(state), "trace", SAP_TID, "-f", "json")
    assert code == 0
    story = json.loads(stdout)
    assert story["id"] == SAP_TID
    first, second = story["transactions"]
    assert first["transaction_id"] == TID and first["status"] == "OK" and first["outbox_state"] == "CONFIRMED"
    assert first["request"] == {"elapsed_ms": 600, "state": "OK", "error": None}
    assert first["started"] == "2015-12-08T15:47:24+00:00" and first["idoc_numbers"] == []
    assert [step["kind"] for step in first["steps"]][:2] == ["outbox", "sap-call"]
    assert second["transaction_id"] == "2" * 40 and second["idoc_numbers"] == ["0000000000004711"]
    assert second["request"]["state"] is None
    code, stdout, _ = _run("--state", str(state), "trace", SAP_TID)
    assert f"{SAP_TID} belongs to 2 transactions" in stdout and "IDoc number: 0000000000004711" in stdout


def test_an_unknown_id_is_exit_code_1(state: Path) -> None:
    code, stdout, stderr = _run("trace", "F" * 24, "--state", str(state))
    assert (code, stdout) == (1, "")
    assert "no transaction ID or correlation ID (SAP TID) 'FFFFFFFFFFFFFFFFFFFFFFFF'" in stderr
    code, _, stderr = _run("trace", TID)
    assert code == 2 and "--state DIR" in stderr


def test_the_story_shows_control_characters_escaped_and_never_sends_them(tmp_path: Path, engine: Engine) -> None:
    """An SAP error text or a request's parameter must not reach the terminal as escape sequences."""
    with TransactionLog(engine) as log:
        log.record(make_entry(component=URN, param1="Send", service="IDocService", operation="Send"))
        log.record(_sap(0.2, "IO_EXIT", "outbox:submit\x1b]0;x\x07", "refused\x1b[2J", state="ERROR"))
        log.record(_outbox(0.25, "EXECUTED\x1b[2J"))
        log.record(make_entry(seconds=0.3, component=URN, log_type="SERVICE_EXIT", state="ERROR",
                              param1="Send", param2="failed\x1b]0;x\x07"))  # fmt: skip
    code, stdout, _ = _run("trace", TID, "--state", str(tmp_path / "state"), "--timezone", "UTC")
    assert code == 0
    assert "\x1b" not in stdout and "\x07" not in stdout, stdout
    assert "refused\\x1b[2J" in stdout
