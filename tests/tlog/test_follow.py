"""``idocbridge log --follow``: the CLI in a subprocess prints entries as the real writer adds them."""

from __future__ import annotations

import json
import queue
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import IO

from sqlalchemy import Engine, insert

from idocbridge.tlog import LogFilter, LogFollower, TransactionLog
from idocbridge.tlog.tables import row_from_entry, transaction_log_table
from tests.tlog.conftest import make_entry

OTHER = "1" * 40


def _lines(stream: IO[str]) -> queue.Queue[str]:
    """The lines of ``stream`` as they come, then "" at its end (the reader closes the stream)."""
    lines: queue.Queue[str] = queue.Queue()

    def read() -> None:
        with stream:
            for line in stream:
                lines.put(line)
        lines.put("")

    threading.Thread(target=read, daemon=True).start()
    return lines


def _stop(child: subprocess.Popen[str]) -> None:
    """Kill ``child`` if it still runs; its stdout is closed by its reader, its stderr here."""
    if child.poll() is None:
        child.kill()
    child.wait(timeout=20)
    if child.stderr is not None:
        child.stderr.close()


def _take(lines: queue.Queue[str], count: int) -> list[str]:
    return [lines.get(timeout=20) for _ in range(count)]


def _follow(state: Path, *options: str) -> subprocess.Popen[str]:
    command = [sys.executable, "-m", "idocbridge", "log", "--state", str(state), "--follow", "--interval", "0.1"]
    return subprocess.Popen([*command, *options], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_follow_prints_new_matching_entries_once_and_stops_cleanly_on_ctrl_c(engine: Engine, tmp_path: Path) -> None:
    log = TransactionLog(engine, flush_interval=0.05)
    log.record(make_entry(param1="before"))
    log.flush()
    child = _follow(tmp_path / "state", "-f", "json", "--domain", "SAPRFC", "--limit", "5")
    try:
        lines = _lines(child.stdout)  # type: ignore[arg-type]
        log.record(make_entry(seconds=1, domain="SAPRFC", param1="first"))
        assert json.loads(_take(lines, 1)[0])["param1"] == "first"
        log.record(make_entry(seconds=2, param1="filtered out"))
        for number in range(3):
            log.record(make_entry(seconds=3 + number, domain="SAPRFC", param1=f"batch {number}"))
        assert [json.loads(line)["param1"] for line in _take(lines, 3)] == ["batch 0", "batch 1", "batch 2"]
        child.send_signal(signal.SIGINT)
        assert child.wait(timeout=20) == 0
        stderr = child.stderr.read()  # type: ignore[union-attr]
    finally:
        _stop(child)
        log.close()
    assert "Traceback" not in stderr
    assert _take(lines, 1) == [""], "nothing printed twice, nothing filtered out printed, up to the end of the output"


def test_follow_with_csv_and_table(engine: Engine, tmp_path: Path) -> None:
    with TransactionLog(engine) as log:
        log.record(make_entry(param1="old"))
    csv_child = _follow(tmp_path / "state", "-f", "csv", "--newest", "--limit", "1")
    table_child = _follow(tmp_path / "state", "--timezone", "UTC")
    try:
        csv_lines, table_lines = _lines(csv_child.stdout), _lines(table_child.stdout)  # type: ignore[arg-type]
        assert _take(csv_lines, 2)[0].startswith("at,transaction_id,")
        assert "transaction 0000000182469dcd" in _take(table_lines, 1)[0]
        with TransactionLog(engine) as log:
            log.record(make_entry(seconds=1, transaction_id=OTHER, param1="new"))
        assert _take(csv_lines, 1)[0].startswith(f"2015-12-08T15:47:25+00:00,{OTHER},")
        while f"transaction {OTHER}" not in table_lines.get(timeout=20):
            pass
        for child in (csv_child, table_child):
            child.send_signal(signal.SIGINT)
            assert child.wait(timeout=20) == 0
    finally:
        _stop(csv_child)
        _stop(table_child)


def test_the_follower_reads_rows_that_commit_out_of_order(engine: Engine) -> None:
    """On PostgreSQL a lower row ID can commit after a higher one: the follower reads it later."""
    with TransactionLog(engine) as log:
        log.record(make_entry(param1="start"))
    follower = LogFollower(engine, LogFilter(domain="SAPRFC"))
    assert follower.start() == []
    with engine.begin() as connection:
        row = {**row_from_entry(make_entry(domain="SAPRFC", param1="late")), "id": follower.last_id + 5}
        connection.execute(insert(transaction_log_table), [row])
    assert [entry.param1 for entry in follower.poll()] == ["late"]
    with engine.begin() as connection:
        row = {**row_from_entry(make_entry(domain="SAPRFC", param1="gap")), "id": follower.last_id - 2}
        connection.execute(insert(transaction_log_table), [row])
    assert [entry.param1 for entry in follower.poll()] == ["gap"]
    assert follower.poll() == []
