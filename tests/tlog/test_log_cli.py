"""``idocbridge log``: filters, the three output formats, and clear errors."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine
from typer.testing import CliRunner

from idocbridge.cli.log import log_app, parse_time
from idocbridge.db import create_engine_for, database_url_for_state
from idocbridge.tlog import TransactionLog, format_classic
from tests.tlog.conftest import T0, TID, make_entry

SAP_TID = "0A0B0C0D0E0F101112131415"
OTHER = "1" * 40


@pytest.fixture
def state(tmp_path: Path, engine: Engine) -> Path:
    with TransactionLog(engine) as log:
        log.record(make_entry(service="IDocService", operation="Send"))
        log.record(
            make_entry(
                seconds=1,
                domain="SAPRFC",
                log_type="IO_EXIT",
                correlation_id=SAP_TID,
                param1="IDOC_INBOUND_ASYNCHRONOUS",
            )
        )
        log.record(make_entry(seconds=2, log_type="SERVICE_EXIT", state="ERROR", param1="[red]markup[/] is text"))
        log.record(make_entry(seconds=3, transaction_id=OTHER, request_id=4, service="IDocService", operation="Status"))
    return tmp_path / "state"


def _run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(log_app, list(args), env={"COLUMNS": "200"})
    return result.exit_code, result.stdout, result.stderr


def test_classic_lines_filtered_by_transaction(state: Path) -> None:
    code, stdout, _ = _run("--state", str(state), "--format", "classic", "--timezone", "Europe/Berlin", "-t", TID)
    assert code == 0
    assert stdout.splitlines() == [
        f"2015-12-08 16:47:24 +0100 {TID} 3 urn:IDocInterface.SendAnyIDoc 0    OK INTERFACE SERVICE_ENTER",
        f"2015-12-08 16:47:25 +0100 {TID} 3 urn:IDocInterface.SendAnyIDoc 0    OK SAPRFC IO_EXIT  "
        f'IDOC_INBOUND_ASYNCHRONOUS "" {SAP_TID}',
        f"2015-12-08 16:47:26 +0100 {TID} 3 urn:IDocInterface.SendAnyIDoc 0    ERROR INTERFACE SERVICE_EXIT "
        '"[red]markup[/] is text"',
    ]


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        (["--correlation-id", SAP_TID], [1]),
        (["--service", "IDocService"], [0, 3]),
        (["--service", "IDocService", "--operation", "Status"], [3]),
        (["--status", "error"], [2]),
        (["--status", "OK", "--domain", "SAPRFC"], [1]),
        (["--type", "SERVICE_EXIT"], [2]),
        (["--since", "2015-12-08T15:47:25Z", "--until", "2015-12-08 16:47:27+01:00"], [1, 2]),
        (["--since", "2015-12-08 16:47:26", "--timezone", "Europe/Berlin"], [2, 3]),
        (["--limit", "2"], [2, 3]),  # the newest, in the order they were written
        (["--limit", "2", "--oldest"], [0, 1]),
        (["--limit", "1", "--newest"], [3]),
    ],
)
def test_json_lines_and_every_filter(state: Path, options: list[str], expected: list[int]) -> None:
    code, stdout, _ = _run("--db", database_url_for_state(state), "-f", "json", "--timezone", "UTC", *options)
    assert code == 0
    records = [json.loads(line) for line in stdout.splitlines()]
    assert [int(r["at"][17:19]) - 24 for r in records] == expected
    offset = "+01:00" if "Europe/Berlin" in options else "+00:00"  # the last --timezone wins; December: CET
    assert [r["at"][-6:] for r in records] == [offset] * len(expected)


def test_the_table_groups_entries_by_transaction(state: Path) -> None:
    code, stdout, stderr = _run("--state", str(state), "--timezone", "UTC")
    assert code == 0 and stderr == ""
    assert stdout.index(f"transaction {TID}  2015-12-08 +0000  request 3  IDocService.Send") < stdout.index(
        f"transaction {OTHER}  2015-12-08 +0000  request 4  IDocService.Status"
    )
    assert "15:47:26" in stdout and "ERROR" in stdout and "[red]markup[/] is text" in stdout


def test_the_limit_is_mentioned_when_reached_and_no_match_is_said(state: Path) -> None:
    _, _, stderr = _run("--state", str(state), "--limit", "4")
    assert "showing the newest 4 entries" in stderr
    _, _, stderr = _run("--state", str(state), "--limit", "4", "--oldest")
    assert "showing the oldest 4 entries" in stderr
    code, stdout, stderr = _run("--state", str(state), "--service", "none")
    assert (code, stdout, stderr.strip()) == (0, "", "no entries match")


def test_errors_are_clear(tmp_path: Path) -> None:
    code, _, stderr = _run("--state", str(tmp_path / "nowhere"))
    assert code == 1 and f"no database at {tmp_path / 'nowhere' / 'runtime.db'}" in stderr.replace("\n", "")
    assert "state folder?" in stderr
    assert not (tmp_path / "nowhere").exists()
    code, _, stderr = _run()
    assert code == 2 and "--state DIR" in stderr and "--db URL" in stderr
    code, _, stderr = _run("--db", "mysql://u:secret@h/db")
    assert code == 1 and "unsupported database URL" in stderr and "secret" not in stderr
    empty = create_engine_for(database_url_for_state(tmp_path / "empty"))
    with empty.connect():
        pass
    empty.dispose()
    code, _, stderr = _run("--state", str(tmp_path / "empty"))
    assert code == 1 and "holds no transaction log" in stderr
    code, _, stderr = _run("--state", str(tmp_path), "--since", "yesterday")
    assert code == 2 and "not a time" in stderr
    code, _, stderr = _run("--state", str(tmp_path), "--timezone", "Mars/Olympus")
    assert code == 2 and "unknown time zone" in stderr


def test_times_are_iso_or_ages() -> None:
    now = datetime(2015, 12, 8, 16, 0, tzinfo=UTC)
    assert parse_time("90s", now=now) == now - timedelta(seconds=90)
    assert parse_time("2h", now=now) == now - timedelta(hours=2)
    assert parse_time("7d", now=now) == now - timedelta(days=7)
    assert parse_time("2015-12-08", UTC) == datetime(2015, 12, 8, tzinfo=UTC)
    assert parse_time("2015-12-08T16:47:24+01:00") == T0
    assert parse_time("2015-12-08 15:47:24").utcoffset() is not None, "no offset: local time"
    assert format_classic(make_entry(), UTC).startswith("2015-12-08 15:47:24 +0000")


def test_the_table_shows_control_characters_escaped_and_never_sends_them(tmp_path: Path, engine: Engine) -> None:
    """A parameter comes from a request: a terminal must not receive its escape sequences."""
    with TransactionLog(engine) as log:
        log.record(make_entry(param1="clear\x1b[2J\x1b]0;title\x07", param2="two\nlines"))
    code, stdout, _ = _run("--state", str(tmp_path / "state"), "--timezone", "UTC")
    assert code == 0
    assert "\x1b" not in stdout and "\x07" not in stdout
    assert "clear\\x1b[2J\\x1b]0;title\\x07" in stdout
    lines = stdout.splitlines()
    assert any(line.endswith("two") for line in lines) and any(line.strip() == "lines" for line in lines), stdout
