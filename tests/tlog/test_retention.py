"""Retention: ``purge_log`` in batches, and ``idocbridge log purge`` with --dry-run."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine
from typer.testing import CliRunner

from idocbridge.cli.log import log_app
from idocbridge.tlog import TransactionLog, count_older, purge, purge_log, query
from tests.tlog.conftest import T0, make_entry


def _fill(engine: Engine, old: int, recent: int) -> None:
    with TransactionLog(engine) as log:
        for number in range(old):
            log.record(make_entry(seconds=number))
        for number in range(recent):
            log.record(make_entry(seconds=86400 * 40 + number, request_id=9))


def test_purge_log_deletes_only_older_entries_in_batches(engine: Engine) -> None:
    _fill(engine, old=7, recent=2)
    cutoff = T0 + timedelta(days=30)
    assert count_older(engine, cutoff) == 7
    assert purge_log(engine, cutoff, batch_size=3) == 7
    assert [entry.request_id for entry in query(engine)] == [9, 9]
    assert purge_log(engine, cutoff, batch_size=3) == 0
    assert purge(engine, T0 + timedelta(days=50), chunk=1) == 2, "the older name still works"


def test_purge_log_refuses_naive_times_and_bad_batches(engine: Engine) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        purge_log(engine, datetime(2015, 12, 8))
    with pytest.raises(ValueError, match="batch size"):
        purge_log(engine, T0, batch_size=0)


def test_the_purge_command_counts_with_dry_run_and_deletes_without(engine: Engine, tmp_path: Path) -> None:
    _fill(engine, old=3, recent=0)
    with TransactionLog(engine) as log:
        log.record(make_entry(at=datetime.now(UTC) - timedelta(days=1)))
    state = str(tmp_path / "state")
    result = CliRunner().invoke(log_app, ["purge", "--older-than", "30d", "--state", state, "--dry-run"])
    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith("would delete 3 entries logged before ")
    assert len(query(engine)) == 4
    result = CliRunner().invoke(log_app, ["--state", state, "purge", "--older-than", "30d", "--batch-size", "2"])
    assert result.exit_code == 0 and result.stdout.startswith("deleted 3 entries logged before "), "--state before"
    assert len(query(engine)) == 1
    result = CliRunner().invoke(log_app, ["purge", "--older-than", "2015-12-09", "--db", f"sqlite:///{state}/x.db"])
    assert result.exit_code == 1 and "no database" in result.stderr
    result = CliRunner().invoke(log_app, ["purge", "--older-than", "soon", "--state", state])
    assert result.exit_code == 2 and "not a time" in result.stderr
    result = CliRunner().invoke(log_app, ["purge", "--older-than", "30d"])
    assert result.exit_code == 2 and "--state DIR" in result.stderr
