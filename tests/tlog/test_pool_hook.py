"""Pool waits reach the transaction log as PoolExhausted entries of the waiting request."""

from __future__ import annotations

import contextvars
import re
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta, timezone

import pytest
from sqlalchemy import Engine

from idocbridge.connectors.pool import ConnectionPool, PoolTimeoutError, PoolWaitEvent
from idocbridge.tlog import (
    NO_TRANSACTION,
    LogEntry,
    RequestContext,
    TransactionLog,
    current_transaction,
    format_classic,
    new_transaction_id,
    next_request_id,
    pool_wait_recorder,
    query,
    request_scope,
)
from tests.null_connector import NullConnector
from tests.tlog.conftest import make_entry
from tests.waiting import wait_until


def _hold(pool: ConnectionPool, holding: threading.Event, release: threading.Event) -> None:
    with pool.connection():
        holding.set()
        release.wait(60)


def test_a_request_waiting_for_a_connection_logs_pool_exhausted_each_second(engine: Engine) -> None:
    log = TransactionLog(engine)
    record = pool_wait_recorder(log)
    waited_a_second = threading.Event()

    def on_wait(event: PoolWaitEvent) -> None:
        record(event)
        if event.phase == "exit":
            waited_a_second.set()  # the holder lets go once a full second of waiting was reported

    pool = ConnectionPool("SIM/100/IDOCUSER", NullConnector, size=1, timeout=60, on_wait=on_wait)
    request = RequestContext(new_transaction_id(), next_request_id(), "IDocService", "SendAnyIDoc")
    holding = threading.Event()
    holder = threading.Thread(target=_hold, args=(pool, holding, waited_a_second))
    holder.start()
    holding.wait(60)
    with request_scope(request), pool.connection():
        pass
    holder.join()
    pool.close()
    log.close()

    entries = query(engine)
    # each full second of waiting is an IO_EXIT of 1000 ms and a new IO_ENTER; the last IO_EXIT is the part second
    # (one pair per second: a machine stalled for a second between report and release adds a pair)
    assert len(entries) >= 4 and [e.log_type for e in entries] == ["IO_ENTER", "IO_EXIT"] * (len(entries) // 2)
    assert [e.elapsed_ms for e in entries[:-1]] == [0, 1000] * (len(entries) // 2 - 1) + [0]
    assert 0 <= entries[-1].elapsed_ms <= 1000
    assert all(
        (e.transaction_id, e.request_id, e.service, e.operation) == (request.transaction_id, request.request_id,
                                                                        "IDocService", "SendAnyIDoc")
        and (e.component, e.domain, e.state, e.param1, e.param2) == ("SAPConnectionPool", "SAPRFC", "OK",
                                                                     "PoolExhausted", "")
        for e in entries
    )  # fmt: skip
    assert entries[1].at - entries[0].at >= timedelta(seconds=0.9), "the 1000 ms IO_EXIT comes after a second"
    cet = timezone(timedelta(hours=1))
    tid, number = request.transaction_id, request.request_id
    assert re.fullmatch(rf"\S+ \S+ \+0100 {tid} {number} SAPConnectionPool 0    OK SAPRFC IO_ENTER PoolExhausted",
                        format_classic(entries[0], cet))  # fmt: skip
    assert format_classic(entries[1], cet).endswith(
        f" {number} SAPConnectionPool 1000 OK SAPRFC IO_EXIT  PoolExhausted"
    )


def test_the_context_follows_requests_into_worker_threads(engine: Engine) -> None:
    log = TransactionLog(engine)
    pool = ConnectionPool("P", NullConnector, size=1, timeout=0.3, on_wait=pool_wait_recorder(log))
    holding, release = threading.Event(), threading.Event()
    holder = threading.Thread(target=_hold, args=(pool, holding, release))
    holder.start()
    holding.wait(60)

    def acquire() -> str:
        with pytest.raises(PoolTimeoutError):
            pool.acquire()
        context = current_transaction.get()
        return context.transaction_id if context else NO_TRANSACTION

    request = RequestContext(new_transaction_id(), 7)
    with request_scope(request), ThreadPoolExecutor(1) as executor:
        copied = executor.submit(contextvars.copy_context().run, acquire).result()
    bare = acquire()  # outside any request
    release.set()
    holder.join()
    pool.close()
    log.close()
    assert (copied, bare) == (request.transaction_id, NO_TRANSACTION)
    assert [(e.transaction_id, e.request_id, e.log_type) for e in query(engine)] == [
        (request.transaction_id, 7, "IO_ENTER"),
        (request.transaction_id, 7, "IO_EXIT"),
        (NO_TRANSACTION, 0, "IO_ENTER"),
        (NO_TRANSACTION, 0, "IO_EXIT"),
    ]
    assert current_transaction.get() is None


def test_the_hook_is_quiet_below_level_io_and_never_waits_or_raises(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = TransactionLog(engine, "Service", batch_size=1, capacity=1, wait=3600)  # a full queue waits an hour
    hook = pool_wait_recorder(log)
    hook(PoolWaitEvent("P", "enter", 0, 1))
    assert log.stats().recorded == 0
    log.level = "IO"
    taken, release = threading.Event(), threading.Event()
    insert = log._insert

    def stuck(batch: list[LogEntry]) -> None:  # the database takes nothing until released
        taken.set()
        release.wait(60)
        insert(batch)

    monkeypatch.setattr(log, "_insert", stuck)
    assert log.record(make_entry(), wait=0)
    assert taken.wait(60), "the writer took the first entry"
    assert log.record(make_entry(), wait=0) and not log.record(make_entry(), wait=0), "the queue is full"
    dropped = log.stats().dropped
    hooked = threading.Thread(target=hook, args=(PoolWaitEvent("P", "exit", 1000, 1),), daemon=True)
    hooked.start()
    wait_until(
        lambda: not hooked.is_alive(), what="the hook returning at once with the queue full (the pool's lock is held)"
    )
    assert log.stats().dropped == dropped + 1
    release.set()
    log.close()  # a closed log refuses entries: the hook still returns quietly
    hook(PoolWaitEvent("P", "exit", 1000, 1))
    assert log.stats().dropped == dropped + 2
