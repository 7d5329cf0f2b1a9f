"""The serial writer: many threads' writes in shared transactions, each caller answered after the commit,
one failing write failing alone; and what the outbox's delivery writes per entry through it."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import Connection, Engine, event, func, select, text

from idocbridge.db.writer import SerialWriter, serial_writer
from idocbridge.tlog.tables import transaction_log_table
from idocbridge.transactions import OutboxState, OutboxStore
from idocbridge.transactions.store import LeaseLost
from idocbridge.transactions.tables import outbox_table
from tests.transactions.conftest import LEASE, TID, new_entry


def _make_table(engine: Engine) -> None:
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE writer_probe (n INTEGER PRIMARY KEY)"))


def _rows(engine: Engine) -> list[int]:
    with engine.connect() as connection:
        return [row[0] for row in connection.execute(text("SELECT n FROM writer_probe ORDER BY n"))]


def _commits(engine: Engine) -> list[int]:
    commits = [0]

    @event.listens_for(engine, "commit")
    def _count(_connection: Any) -> None:
        commits[0] += 1

    return commits


@contextmanager
def _writer_held(writer: SerialWriter, threads: ThreadPoolExecutor) -> Iterator[Callable[[], None]]:
    """Hold ``writer`` busy with one work until the returned function is called, so that others queue up."""
    release = threading.Event()
    started = threading.Event()

    def blocker(connection: Connection) -> None:
        started.set()
        release.wait(30)

    held = threads.submit(writer.run, blocker)
    assert started.wait(30)
    yield release.set
    release.set()
    held.result(timeout=60)


def _insert(number: int) -> Any:
    def work(connection: Connection) -> int:
        connection.execute(text("INSERT INTO writer_probe (n) VALUES (:n)"), {"n": number})
        return number

    return work


def test_writes_of_many_threads_share_transactions_and_each_sees_its_own_result(engine: Engine) -> None:
    _make_table(engine)
    commits = _commits(engine)
    writer = SerialWriter(engine)
    with ThreadPoolExecutor(210) as threads, _writer_held(writer, threads) as release:
        results = [threads.submit(writer.run, _insert(number)) for number in range(200)]
        _wait_until(lambda: writer.pending() == 200)
        release()
        assert sorted(result.result(timeout=60) for result in results) == list(range(200))
    assert _rows(engine) == list(range(200))
    stats = writer.stats()
    assert stats.works == 201
    assert stats.commits == commits[0] < 10, "the 200 queued writes were not batched"


def test_a_failing_write_fails_alone_and_the_others_of_its_batch_commit(engine: Engine) -> None:
    _make_table(engine)
    writer = SerialWriter(engine)

    def duplicate(connection: Connection) -> None:
        connection.execute(text("INSERT INTO writer_probe (n) VALUES (1000)"))
        connection.execute(text("INSERT INTO writer_probe (n) VALUES (1000)"))

    with ThreadPoolExecutor(30) as threads, _writer_held(writer, threads) as release:
        good = [threads.submit(writer.run, _insert(number)) for number in range(10)]
        bad = threads.submit(writer.run, duplicate)
        more = [threads.submit(writer.run, _insert(number)) for number in range(10, 20)]
        _wait_until(lambda: writer.pending() == 21)
        release()
        with pytest.raises(Exception, match=r"(?i)unique|duplicate"):
            bad.result(timeout=60)
        assert [future.result(timeout=60) for future in good + more] == list(range(20))
    assert _rows(engine) == list(range(20)), "the failing write left a row, or took another write with it"


def test_a_write_cannot_start_another_write(engine: Engine) -> None:
    writer = SerialWriter(engine)

    def nested(connection: Connection) -> None:
        writer.run(lambda inner: None)

    with pytest.raises(RuntimeError, match="cannot start another write"):
        writer.run(nested)


def test_one_writer_per_engine(engine: Engine) -> None:
    assert serial_writer(engine) is serial_writer(engine)


def test_a_delivery_writes_each_state_with_its_log_entry_in_one_transaction(engine: Engine) -> None:
    store = OutboxStore(engine)
    entry = store.accept(new_entry()).entry
    commits = _commits(engine)
    claimed = store.claim("worker", datetime.now(UTC), 1, LEASE)
    assert [item.id for item in claimed] == [entry.id]
    row = {"at": datetime.now(UTC), "transaction_id": entry.transaction_id, "request_id": 0, "component": "T",
           "elapsed_ms": 0, "state": "OK", "domain": "SAPRFC", "log_type": "TRANSITION_EXIT",
           "param1": "TID_ASSIGNED", "param2": entry.id, "correlation_id": TID, "service": "S",
           "operation": "O"}  # fmt: skip
    statements: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
    assigned = store.assign_tid(entry.id, "worker", TID, renew=LEASE, log=[row])
    executed = store.mark_executed(entry.id, "worker", confirm_sending=True, renew=LEASE,
                                   log=[{**row, "param1": "EXECUTED"}])  # fmt: skip
    confirmed = store.mark_confirmed(entry.id, "worker", {"state": "CONFIRMED"}, log=[{**row, "param1": "CONFIRMED"}])
    assert commits[0] == 4, "claim, TID, execution with the confirm's going out, confirm: one transaction each"
    reads = [sql for sql in statements if sql.startswith("SELECT") and "FROM trfc_outbox" in sql]
    assert not reads, "each state change matched the entry as the store knew it, without reading it"
    assert (assigned.state, executed.state, confirmed.state) == (
        OutboxState.TID_ASSIGNED, OutboxState.EXECUTED, OutboxState.CONFIRMED)  # fmt: skip
    assert executed.confirm_sent and executed.lease_until is not None and executed.lease_until > datetime.now(UTC)
    assert confirmed.lease_owner is None and confirmed.parameters == entry.parameters
    assert store.get(entry.id) == confirmed, "the entry a state change returns is the entry as stored"
    with engine.connect() as connection:
        logged = connection.execute(select(transaction_log_table.c.param1).order_by(transaction_log_table.c.id))
        assert list(logged.scalars()) == ["TID_ASSIGNED", "EXECUTED", "CONFIRMED"]


def test_a_state_change_refused_writes_no_log_entry(engine: Engine) -> None:
    store = OutboxStore(engine)
    entry = store.accept(new_entry()).entry
    assert store.claim_one(entry.id, "worker", datetime.now(UTC), LEASE) is not None
    row = {"at": datetime.now(UTC), "transaction_id": entry.transaction_id, "request_id": 0, "component": "T",
           "elapsed_ms": 0, "state": "OK", "domain": "SAPRFC", "log_type": "TRANSITION_EXIT",
           "param1": "TID_ASSIGNED", "param2": entry.id, "correlation_id": TID, "service": "S",
           "operation": "O"}  # fmt: skip
    with pytest.raises(LeaseLost):
        store.assign_tid(entry.id, "another worker", TID, log=[row])
    with engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(transaction_log_table)).scalar_one() == 0
        assert connection.execute(select(outbox_table.c.tid)).scalar_one() is None


def _wait_until(condition: Any, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "the condition did not come true"
        time.sleep(0.005)


def test_a_work_marked_alone_gets_a_transaction_of_its_own(engine: Engine) -> None:
    _make_table(engine)
    commits = _commits(engine)
    writer = SerialWriter(engine)
    with ThreadPoolExecutor(30) as threads, _writer_held(writer, threads) as release:
        before = [threads.submit(writer.run, _insert(number)) for number in range(10)]
        _wait_until(lambda: writer.pending() == 10)
        alone = threads.submit(writer.run, _insert(100), alone=True)
        _wait_until(lambda: writer.pending() == 11)
        after = [threads.submit(writer.run, _insert(number)) for number in range(10, 20)]
        _wait_until(lambda: writer.pending() == 21)
        release()
        for future in [*before, alone, *after]:
            future.result(timeout=60)
    assert commits[0] == 4, "the blocker's, the ten before, the one alone, the ten after"


@pytest.mark.parametrize("url", ["postgresql"], indirect=True)  # SQLite has one lock, bounded by its busy timeout
def test_a_write_waiting_for_a_lock_fails_alone_and_the_writer_goes_on(engine: Engine) -> None:
    pg_engine = engine
    store = OutboxStore(pg_engine)
    entry = store.accept(new_entry()).entry
    assert store.claim_one(entry.id, "worker", datetime.now(UTC), LEASE) is not None
    setattr(pg_engine, "_idocbridge_serial_writer", SerialWriter(pg_engine, lock_timeout=0.5))  # noqa: B010
    with pg_engine.connect() as operator:  # an operator's session holds the row
        operator.execute(select(outbox_table.c.id).where(outbox_table.c.id == entry.id).with_for_update())
        with pytest.raises(Exception, match="lock timeout"):
            store.assign_tid(entry.id, "worker", TID)
        other = store.accept(new_entry(transaction_id="another")).entry  # the writer was not held up
        operator.rollback()
    assert store.get(other.id) is not None
    assert store.assign_tid(entry.id, "worker", TID).tid == TID
