"""Queries by every filter, in time order; purging old entries (retention)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import Engine

from idocbridge.tlog import LogEntry, TransactionLog, purge, query
from tests.tlog.conftest import T0, TID, make_entry

OTHER = "1" * 40
SAP_TID = "0A0B0C0D0E0F101112131415"


def _write(engine: Engine, entries: list[LogEntry]) -> None:
    with TransactionLog(engine) as log:
        for entry in entries:
            assert log.record(entry)
    assert log.stats().written == len(entries)


@pytest.fixture
def logged(engine: Engine) -> list[LogEntry]:
    entries = [
        make_entry(seconds=0, service="IDocService", operation="Send"),
        make_entry(
            seconds=1, domain="SAPRFC", log_type="IO_ENTER", component="SAPConnectionPool", param1="PoolExhausted"
        ),
        make_entry(seconds=2, domain="SAPRFC", log_type="IO_EXIT", correlation_id=SAP_TID, elapsed_ms=1000),
        make_entry(seconds=2, domain="SAPRFC", log_type="IO_EXIT", correlation_id=SAP_TID, state="ERROR"),
        make_entry(seconds=3, log_type="SERVICE_EXIT", state="ERROR", service="IDocService", operation="Send"),
        make_entry(seconds=4, transaction_id=OTHER, request_id=4, service="IDocService", operation="Status"),
        make_entry(seconds=-3600, transaction_id=OTHER, service="Other", operation="Send"),
    ]
    _write(engine, entries)
    return entries


def test_everything_comes_back_oldest_first_ties_in_written_order(engine: Engine, logged: list[LogEntry]) -> None:
    found = query(engine)
    assert found == [logged[6], *logged[:6]]
    assert all(entry.at.tzinfo is UTC for entry in found)


def test_filters(engine: Engine, logged: list[LogEntry]) -> None:
    assert query(engine, transaction_id=OTHER) == [logged[6], logged[5]]
    assert query(engine, correlation_id=SAP_TID) == logged[2:4]
    assert query(engine, service="IDocService") == [logged[0], logged[4], logged[5]]
    assert query(engine, service="IDocService", operation="Send") == [logged[0], logged[4]]
    assert query(engine, operation="Send") == [logged[6], logged[0], logged[4]]
    assert query(engine, state="ERROR") == [logged[3], logged[4]]
    assert query(engine, domain="SAPRFC") == logged[1:4]
    assert query(engine, log_type="IO_EXIT", state="OK") == [logged[2]]
    assert query(engine, since=T0 + timedelta(seconds=2)) == logged[2:6]
    assert query(engine, until=T0 + timedelta(seconds=2)) == [logged[6], *logged[:2]]
    cet = timezone(timedelta(hours=1))
    assert (
        query(engine, since=datetime(2015, 12, 8, 16, 47, 25, tzinfo=cet), until=T0 + timedelta(seconds=3))
        == (logged[1:4])
    ), "times in other zones compare as instants"
    assert query(engine, transaction_id="no such") == []


def test_limit_keeps_the_oldest_or_the_newest(engine: Engine, logged: list[LogEntry]) -> None:
    assert query(engine, limit=2) == [logged[6], logged[0]]
    assert query(engine, limit=2, newest=True) == [logged[4], logged[5]]
    assert query(engine, transaction_id=TID, limit=0) == []
    with pytest.raises(ValueError, match="limit"):
        query(engine, limit=-1)


def test_naive_times_are_refused(engine: Engine) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        query(engine, since=datetime(2015, 12, 8))
    with pytest.raises(ValueError, match="timezone-aware"):
        purge(engine, datetime(2015, 12, 8))


def test_stored_text_keeps_every_character_a_database_can_hold(engine: Engine) -> None:
    entry = make_entry(param1="Müller ✓ \U0001f600 \n\t", param2="nul\x00here", correlation_id=SAP_TID)
    _write(engine, [entry])
    (found,) = query(engine)
    assert found.param1 == entry.param1
    assert found.param2 == "nul\ufffdhere", "NUL, which PostgreSQL cannot store, becomes U+FFFD"


def test_purge_deletes_what_is_older_than_the_retention_in_chunks(engine: Engine) -> None:
    days = 40
    _write(engine, [make_entry(seconds=-86400 * age, elapsed_ms=age) for age in range(days) for _ in range(3)])
    cutoff = T0 - timedelta(days=30) + timedelta(seconds=1)
    assert purge(engine, cutoff, chunk=7) == 3 * 10
    assert sorted({e.elapsed_ms for e in query(engine)}) == list(range(30))
    assert purge(engine, cutoff) == 0
    assert purge(engine, T0 + timedelta(days=1)) == 90
    assert query(engine) == []
