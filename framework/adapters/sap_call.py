"""One call to SAP: a pooled connection, IO_ENTER/IO_EXIT in the log, bounded retries.

:func:`logged_call` is the one place that takes a connection from a pool; steps of a request use it
through :func:`call_sap`, the outbox's background delivery directly.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TypeVar

from idocbridge.adapters.context import ChainContext, RetryPolicy
from idocbridge.connectors.base import Connector
from idocbridge.connectors.errors import ConnectorError
from idocbridge.connectors.pool import ConnectionPool
from idocbridge.tlog.context import RequestContext
from idocbridge.tlog.entry import Domain, LogEntry, LogType
from idocbridge.tlog.writer import TransactionLog

__all__ = ["call_sap", "log_event", "logged_call"]

T = TypeVar("T")


def log_event(
    tlog: TransactionLog | None,
    request: RequestContext,
    log_type: LogType,
    component: str,
    elapsed_ms: int,
    ok: bool,
    param1: str,
    param2: str,
    correlation: str | None,
    domain: str = Domain.SAPRFC,
) -> None:
    """Record one entry for ``request`` (if the log records ``log_type`` at its level)."""
    if tlog is None or not tlog.enabled_for(log_type):
        return
    tlog.record(
        LogEntry(
            at=datetime.now(UTC),
            transaction_id=request.transaction_id,
            request_id=request.request_id,
            component=component,
            elapsed_ms=elapsed_ms,
            state="OK" if ok else "ERROR",
            domain=domain,
            log_type=log_type,
            param1=param1,
            param2=param2,
            correlation_id=correlation,
            service=request.service,
            operation=request.operation,
        )
    )


def logged_call(
    pool: ConnectionPool,
    tlog: TransactionLog | None,
    request: RequestContext,
    component: str,
    what: str,
    detail: str,
    action: Callable[[Connector], T],
    correlation: str | None,
    retry: RetryPolicy,
) -> T:
    """Run ``action`` on a pooled connection, logging IO_ENTER/IO_EXIT, retrying retryable errors."""
    attempt = 0
    while True:
        log_event(tlog, request, LogType.IO_ENTER, component, 0, True, what, detail, correlation)
        started = time.monotonic()
        try:
            with pool.connection() as connector:
                result = action(connector)
        except ConnectorError as exc:
            elapsed = int((time.monotonic() - started) * 1000)
            error = f"{exc.key}: {exc.message}"[:200]
            log_event(tlog, request, LogType.IO_EXIT, component, elapsed, False, what, error, correlation)
            attempt += 1
            if not exc.retryable or attempt >= retry.attempts:
                raise
            time.sleep(retry.delay(attempt - 1))
            continue
        elapsed = int((time.monotonic() - started) * 1000)
        log_event(tlog, request, LogType.IO_EXIT, component, elapsed, True, what, detail, correlation)
        return result


def call_sap(
    context: ChainContext,
    alias: str,
    what: str,
    detail: str,
    action: Callable[[Connector], T],
    correlation: str | None = None,
) -> T:
    """A step's SAP call: ``what`` names the step, ``detail`` the function, the TID is the correlation ID."""
    component = f"{alias}.{detail}" if detail else alias
    pool = context.pools.for_alias(alias)
    return logged_call(
        pool, context.tlog, context.transaction, component, what, detail, action, correlation, context.retry
    )
