"""SAP calls as the transaction log tells them: IO_ENTER/IO_EXIT around each call, bounded retries.

:func:`logged_step` logs one call on a connection the caller holds; :func:`logged_call` takes a
connection from a pool for it and retries retryable errors as a :class:`RetryPolicy` says. The steps
of an activity and the outbox's deliverer both call SAP through these, so every SAP call is logged
the same way whoever makes it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from idocbridge.connectors.base import Connector
from idocbridge.connectors.errors import ConnectorError
from idocbridge.connectors.pool import ConnectionPool
from idocbridge.tlog.context import RequestContext
from idocbridge.tlog.entry import Domain, LogEntry, LogType
from idocbridge.tlog.writer import TransactionLog
from idocbridge.tracing import sap_call_span

__all__ = ["ONCE", "RetryPolicy", "event_entry", "log_event", "logged_call", "logged_step"]


@dataclass(frozen=True)
class RetryPolicy:
    """How often a call retries a retryable failure within the request, and how long it waits."""

    attempts: int = 3
    delays: tuple[float, ...] = (0.2, 0.5, 1.0)

    def delay(self, attempt: int) -> float:
        return self.delays[min(attempt, len(self.delays) - 1)]


ONCE = RetryPolicy(attempts=1)
"""No retry within the call (the outbox retries later, with backoff)."""


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
    tlog.record(event_entry(request, log_type, component, elapsed_ms, ok, param1, param2, correlation, domain))


def event_entry(
    request: RequestContext,
    log_type: LogType,
    component: str,
    elapsed_ms: int,
    ok: bool,
    param1: str,
    param2: str,
    correlation: str | None,
    domain: str = Domain.SAPRFC,
) -> LogEntry:
    """The entry :func:`log_event` records, stamped now (for callers that write it themselves)."""
    return LogEntry(
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


def logged_step[T](
    tlog: TransactionLog | None,
    request: RequestContext,
    component: str,
    what: str,
    detail: str,
    action: Callable[[], T],
    correlation: str | None,
) -> T:
    """Run ``action`` (one SAP call on a connection the caller holds), logging IO_ENTER and IO_EXIT (and, with
    OpenTelemetry, in a span)."""
    log_event(tlog, request, LogType.IO_ENTER, component, 0, True, what, detail, correlation)
    started = time.monotonic()
    try:
        with sap_call_span(what, component, request.transaction_id, correlation):
            result = action()
    except ConnectorError as exc:
        error = f"{exc.key}: {exc.message}"[:200]
        log_event(tlog, request, LogType.IO_EXIT, component, _ms(started), False, what, error, correlation)
        raise
    log_event(tlog, request, LogType.IO_EXIT, component, _ms(started), True, what, detail, correlation)
    return result


def logged_call[T](
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
            with pool.connection() as connector, sap_call_span(what, component, request.transaction_id, correlation):
                result = action(connector)
        except ConnectorError as exc:
            error = f"{exc.key}: {exc.message}"[:200]
            log_event(tlog, request, LogType.IO_EXIT, component, _ms(started), False, what, error, correlation)
            attempt += 1
            if not exc.retryable or attempt >= retry.attempts:
                raise
            time.sleep(retry.delay(attempt - 1))
            continue
        log_event(tlog, request, LogType.IO_EXIT, component, _ms(started), True, what, detail, correlation)
        return result


def _ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)
