"""Pool waits reach the transaction log as PoolExhausted entries of the waiting request."""

from __future__ import annotations

import contextvars
import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta, timezone

import pytest
from sqlalchemy import Engine

from idocbridge.connectors import Connector, Parameters, Result
from idocbridge.connectors.pool import ConnectionPool, PoolTimeoutError, PoolWaitEvent
from idocbridge.tlog import (
    NO_TRANSACTION,
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


class _Connector(Connector):
    """A connection that connects to nothing: the pool's logic is all that is tested."""

    def __init__(self) -> None:
        self._open = False

    def open(self) -> None:
        self._open = True

    def close(self) -> None:
        self._open = False

    @property
    def is_open(self) -> bool:
        return self._open

    def ping(self) -> None:
        pass

    def call(self, function: str, parameters: Parameters) -> Result:
        return {}

    def get_transaction_id(self) -> str:
        return "0A0B0C0D0E0F101112131415"

    def submit_transaction(self, tid: str, function: str, parameters: Parameters, queue: str | None = None) -> None:
        pass

    def confirm_transaction(self, tid: str) -> None:
        pass


def _hold(pool: ConnectionPool, seconds: float, holding: threading.Event) -> None:
    with pool.connection():
        holding.set()
        time.sleep(seconds)


def test_a_request_waiting_for_a_connection_logs_pool_exhausted_each_second(engine: Engine) -> None:
    log = TransactionLog(engine)
    pool = ConnectionPool("SIM/100/IDOCUSER", _Connector, size=1, timeout=10, on_wait=pool_wait_recorder(log))
    request = RequestContext(new_transaction_id(), next_request_id(), "IDocService", "SendAnyIDoc")
    holding = threading.Event()
    holder = threading.Thread(target=_hold, args=(pool, 1.5, holding))
    holder.start()
    holding.wait(5)
    with request_scope(request), pool.connection():
        pass
    holder.join()
    pool.close()
    log.close()

    entries = query(engine)
    assert [(e.log_type, e.elapsed_ms == 1000) for e in entries] == [
        ("IO_ENTER", False),
        ("IO_EXIT", True),
        ("IO_ENTER", False),
        ("IO_EXIT", False),
    ]
    assert all(
        (e.transaction_id, e.request_id, e.service, e.operation) == (request.transaction_id, request.request_id,
                                                                        "IDocService", "SendAnyIDoc")
        and (e.component, e.domain, e.state, e.param1, e.param2) == ("SAPConnectionPool", "SAPRFC", "OK",
                                                                     "PoolExhausted", "")
        for e in entries
    )  # fmt: skip
    assert entries[0].elapsed_ms == 0 and 100 <= entries[3].elapsed_ms < 1000
    assert entries[1].at - entries[0].at >= timedelta(seconds=0.9)
    cet = timezone(timedelta(hours=1))
    tid, number = request.transaction_id, request.request_id
    assert re.fullmatch(rf"\S+ \S+ \+0100 {tid} {number} SAPConnectionPool 0    OK SAPRFC IO_ENTER PoolExhausted",
                        format_classic(entries[0], cet))  # fmt: skip
    assert format_classic(entries[1], cet).endswith(
        f" {number} SAPConnectionPool 1000 OK SAPRFC IO_EXIT  PoolExhausted"
    )


def test_the_context_follows_requests_into_worker_threads(engine: Engine) -> None:
    log = TransactionLog(engine)
    pool = ConnectionPool("P", _Connector, size=1, timeout=0.3, on_wait=pool_wait_recorder(log))
    holding = threading.Event()
    holder = threading.Thread(target=_hold, args=(pool, 1.0, holding))
    holder.start()
    holding.wait(5)

    def acquire() -> str:
        with pytest.raises(PoolTimeoutError):
            pool.acquire()
        context = current_transaction.get()
        return context.transaction_id if context else NO_TRANSACTION

    request = RequestContext(new_transaction_id(), 7)
    with request_scope(request), ThreadPoolExecutor(1) as executor:
        copied = executor.submit(contextvars.copy_context().run, acquire).result()
    bare = acquire()  # outside any request
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


def test_the_hook_is_quiet_below_level_io_and_never_waits_or_raises(engine: Engine) -> None:
    log = TransactionLog(engine, "Service")
    hook = pool_wait_recorder(log)
    hook(PoolWaitEvent("P", "enter", 0, 1))
    assert log.stats().recorded == 0
    log.level = "IO"
    log.close()  # a closed log refuses entries: the hook still returns quietly
    started = time.perf_counter()
    hook(PoolWaitEvent("P", "exit", 1000, 1))
    assert time.perf_counter() - started < 0.05
    assert log.stats().dropped == 1
