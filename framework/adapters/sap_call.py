"""One call to SAP from a step: a pooled connection, IO_ENTER/IO_EXIT in the log, bounded retries."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TypeVar

from idocbridge.adapters.context import ChainContext
from idocbridge.connectors.base import Connector
from idocbridge.connectors.errors import ConnectorError
from idocbridge.tlog.entry import Domain, LogEntry, LogType

__all__ = ["call_sap"]

T = TypeVar("T")


def _log(context: ChainContext, log_type: LogType, component: str, elapsed_ms: int, ok: bool,
         param1: str, param2: str, correlation: str | None) -> None:  # fmt: skip
    if context.tlog is None or not context.tlog.enabled_for(log_type):
        return
    request = context.transaction
    context.tlog.record(
        LogEntry(
            at=datetime.now(UTC),
            transaction_id=request.transaction_id,
            request_id=request.request_id,
            component=component,
            elapsed_ms=elapsed_ms,
            state="OK" if ok else "ERROR",
            domain=Domain.SAPRFC,
            log_type=log_type,
            param1=param1,
            param2=param2,
            correlation_id=correlation,
            service=request.service,
            operation=request.operation,
        )
    )


def call_sap(
    context: ChainContext,
    alias: str,
    what: str,
    detail: str,
    action: Callable[[Connector], T],
    correlation: str | None = None,
) -> T:
    """Run ``action`` on a connection of ``alias``'s pool, logging it, retrying retryable errors.

    ``what`` names the step (its stereotype and name) and ``detail`` the function; both appear in the
    log as parameters, the TID as correlation ID. The last error is raised when retries run out.
    """
    pool = context.pools.for_alias(alias)
    component = f"{alias}.{detail}" if detail else alias
    attempt = 0
    while True:
        _log(context, LogType.IO_ENTER, component, 0, True, what, detail, correlation)
        started = time.monotonic()
        try:
            with pool.connection() as connector:
                result = action(connector)
        except ConnectorError as exc:
            elapsed = int((time.monotonic() - started) * 1000)
            _log(
                context,
                LogType.IO_EXIT,
                component,
                elapsed,
                False,
                what,
                f"{exc.key}: {exc.message}"[:200],
                correlation,
            )
            attempt += 1
            if not exc.retryable or attempt >= context.retry.attempts:
                raise
            time.sleep(context.retry.delay(attempt - 1))
            continue
        elapsed = int((time.monotonic() - started) * 1000)
        _log(context, LogType.IO_EXIT, component, elapsed, True, what, detail, correlation)
        return result
