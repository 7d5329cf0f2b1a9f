"""The writer: level filter, batches off the request path, nothing lost silently, database errors contained."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from idocbridge.db import create_engine_for, database_url_for_state, upgrade
from idocbridge.models.composite import LogLevel
from idocbridge.tlog import LogEntry, TransactionLog, TransactionLogStats, query
from tests.tlog.conftest import make_entry
from tests.waiting import wait_until


def _count(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(connection.execute(text("SELECT count(*) FROM transaction_log")).scalar_one())


@pytest.mark.parametrize(("level", "kept"), [("None", 0), ("Custom", 1), ("Service", 3), ("IO", 5)])
def test_the_level_decides_what_is_recorded(engine: Engine, level: LogLevel, kept: int) -> None:
    types = ["CUSTOM", "SERVICE_ENTER", "TRANSITION_ENTER", "IO_ENTER", "IO_EXIT"]
    with TransactionLog(engine, level) as log:
        accepted = [log.record(make_entry(log_type=t)) for t in types]
    assert sum(accepted) == kept == _count(engine)
    assert log.stats() == TransactionLogStats(kept, kept, 0, 0, 0)


def test_the_level_can_change_while_running_and_must_be_known(engine: Engine) -> None:
    with TransactionLog(engine, "Service") as log:
        assert not log.enabled_for("IO_EXIT")
        log.level = "IO"
        assert log.enabled_for("IO_EXIT") and log.record(make_entry(log_type="IO_EXIT"))
        with pytest.raises(ValueError, match="unknown log level"):
            log.level = "Debug"  # type: ignore[assignment]


def test_many_threads_recording_at_once_get_every_entry_written_exactly_once(engine: Engine) -> None:
    threads, each = 16, 500
    log = TransactionLog(engine, batch_size=64, flush_interval=0.05)
    barrier = threading.Barrier(threads)

    def request(number: int) -> None:
        barrier.wait()
        for i in range(each):
            log.record(make_entry(request_id=number, elapsed_ms=i, seconds=i))

    workers = [threading.Thread(target=request, args=(n,)) for n in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    log.close()
    assert log.stats() == TransactionLogStats(threads * each, threads * each, 0, 0, 0)
    with engine.connect() as connection:
        rows = connection.execute(text("SELECT request_id, elapsed_ms FROM transaction_log")).all()
    assert sorted((r.request_id, r.elapsed_ms) for r in rows) == [(n, i) for n in range(threads) for i in range(each)]


def test_recording_does_not_wait_for_the_database(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    with TransactionLog(engine, batch_size=1000, flush_interval=60) as log:
        release = _hold_writes(log, monkeypatch)  # the database takes no row until released
        assert all(log.record(make_entry(elapsed_ms=i)) for i in range(2000))
        assert log.stats().written == 0, "every record returned while the database write was still held"
        release.set()
        assert log.flush(timeout=60)
        assert _count(engine) == 2000


def test_a_batch_is_written_when_full_or_when_its_oldest_entry_is_due(engine: Engine) -> None:
    with TransactionLog(engine, batch_size=10, flush_interval=3600) as log:
        for _ in range(10):
            log.record(make_entry())
        wait_until(lambda: log.stats().written == 10, what="a full batch goes at once, long before flush_interval")
    with TransactionLog(engine, batch_size=1000, flush_interval=0.1) as log:
        log.record(make_entry())
        wait_until(lambda: log.stats().written == 1, what="a lone entry goes after flush_interval, without a flush")


def test_a_database_error_never_reaches_the_caller_and_is_counted(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    engine = create_engine_for(database_url_for_state(tmp_path))  # never migrated: no table
    try:
        with TransactionLog(engine, retry_delay=0) as log:
            assert log.record(make_entry())
            assert log.flush(timeout=10)
            assert log.stats().failed == 1
            assert any("refused 1 entries" in r.message and r.levelno == logging.ERROR for r in caplog.records)
            upgrade(engine)  # the table comes: recording goes on
            assert log.record(make_entry())
        assert log.stats() == TransactionLogStats(2, 1, 0, 1, 0)
        assert len(query(engine)) == 1
    finally:
        engine.dispose()


def test_a_row_the_database_refuses_costs_only_that_row(engine: Engine) -> None:
    with engine.begin() as connection:
        connection.execute(
            text(
                "CREATE TRIGGER refuse BEFORE INSERT ON transaction_log WHEN NEW.param1 = 'poison' "
                "BEGIN SELECT RAISE(ABORT, 'constraint failed: refused'); END"
            )
        )
    with TransactionLog(engine, batch_size=50, flush_interval=60) as log:
        for i in range(20):
            log.record(make_entry(elapsed_ms=i, param1="poison" if i == 7 else ""))
    assert log.stats() == TransactionLogStats(20, 19, 0, 1, 0)
    assert [e.elapsed_ms for e in query(engine)] == [i for i in range(20) if i != 7]


def _hold_writes(log: TransactionLog, monkeypatch: pytest.MonkeyPatch) -> threading.Event:
    """Make the writer wait in its next insert until the returned event is set."""
    release = threading.Event()
    original = log._insert

    def held(batch: list[LogEntry]) -> None:
        release.wait(10)
        original(batch)

    monkeypatch.setattr(log, "_insert", held)
    return release


def _in_thread[T](work: Callable[[], T]) -> Future[T]:
    """Run ``work`` in a daemon thread (a test that fails never waits for it); its future."""
    future: Future[T] = Future()
    threading.Thread(target=lambda: future.set_result(work()), daemon=True).start()
    return future


def test_a_full_queue_drops_and_counts_and_the_writer_reports_it(
    engine: Engine, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = TransactionLog(engine, batch_size=5, capacity=10, flush_interval=0.01, wait=3600)
    release = _hold_writes(log, monkeypatch)
    accepted = [log.record(make_entry(elapsed_ms=i), wait=0.05) for i in range(40)]
    refused = _in_thread(lambda: log.record(make_entry(), wait=0))  # the log's own wait is an hour
    assert wait_until(refused.done, what="record(wait=0) returning at once, not after the log's wait")
    assert refused.result() is False
    release.set()
    log.close()
    stats = log.stats()
    assert stats.recorded == sum(accepted) and stats.written == stats.recorded
    assert stats.dropped == 41 - stats.recorded >= 20
    assert any("dropped" in r.message and r.levelno == logging.WARNING for r in caplog.records)


def test_an_event_loop_never_waits_for_room(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    log = TransactionLog(engine, batch_size=1, capacity=1, flush_interval=0.01, wait=3600)
    release = _hold_writes(log, monkeypatch)

    async def serve() -> list[bool]:
        return [log.record(make_entry()) for _ in range(5)]

    served = _in_thread(lambda: asyncio.run(serve()))  # a plain thread would wait an hour for room
    assert wait_until(served.done, what="the event loop's records returning without waiting for room")
    assert served.result().count(False) >= 3
    release.set()
    log.close()
    assert log.stats().dropped >= 3


def test_close_drains_everything_and_later_entries_are_dropped(engine: Engine) -> None:
    log = TransactionLog(engine, batch_size=1000, flush_interval=60)
    for _ in range(500):
        log.record(make_entry())
    log.close()
    log.close()
    assert _count(engine) == 500
    assert not log.record(make_entry())
    assert log.stats() == TransactionLogStats(500, 500, 1, 0, 0)
    assert log.flush(timeout=1)


def test_bad_settings_are_refused(engine: Engine) -> None:
    with pytest.raises(ValueError, match="batch_size"):
        TransactionLog(engine, batch_size=0)
    with pytest.raises(ValueError, match="capacity"):
        TransactionLog(engine, batch_size=10, capacity=5)
