"""Connection-pool waits as transaction-log entries, as the reference runtime writes them (SAP-FACTS §1)::

    2015-12-08 16:47:24 +0100 00000001...e3d869aa 3 SAPConnectionPool 0    OK SAPRFC IO_ENTER PoolExhausted
    2015-12-08 16:47:25 +0100 00000001...e3d869aa 3 SAPConnectionPool 1000 OK SAPRFC IO_EXIT  PoolExhausted

Pass the hook as a pool's ``on_wait``::

    pools = PoolSet(model, factory, on_wait=pool_wait_recorder(log))
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextvars import ContextVar
from datetime import UTC, datetime

from idocbridge.connectors.pool import PoolWaitEvent
from idocbridge.tlog.context import RequestContext, current_transaction
from idocbridge.tlog.entry import NO_TRANSACTION, Domain, LogEntry, LogType
from idocbridge.tlog.writer import TransactionLog

__all__ = ["POOL_COMPONENT", "POOL_EXHAUSTED", "pool_wait_recorder"]

POOL_COMPONENT = "SAPConnectionPool"
POOL_EXHAUSTED = "PoolExhausted"

logger = logging.getLogger("idocbridge.tlog")


def pool_wait_recorder(
    log: TransactionLog, context: ContextVar[RequestContext | None] = current_transaction
) -> Callable[[PoolWaitEvent], None]:
    """An ``on_wait`` hook that records each wait event as an IO_ENTER or IO_EXIT entry.

    The entry carries the waiting request's transaction ID, request ID, service and operation from
    ``context`` (the pool calls the hook in the waiting thread); outside a request, the transaction
    ID is :data:`NO_TRANSACTION` and the request ID 0. param1 is PoolExhausted and param2 empty, as in
    the reference (the request's next SAPRFC entry names the SAP system). The hook only queues the
    entry, never waits for room in the queue (the pool's lock is held) and never raises.
    """

    def hook(event: PoolWaitEvent) -> None:
        log_type = LogType.IO_ENTER if event.phase == "enter" else LogType.IO_EXIT
        if not log.enabled_for(log_type):
            return
        request = context.get()
        try:
            entry = LogEntry(
                at=datetime.now(UTC),
                transaction_id=request.transaction_id if request else NO_TRANSACTION,
                request_id=request.request_id if request else 0,
                component=POOL_COMPONENT,
                elapsed_ms=event.elapsed_ms,
                state="OK",
                domain=Domain.SAPRFC,
                log_type=log_type,
                param1=POOL_EXHAUSTED,
                service=request.service if request else None,
                operation=request.operation if request else None,
            )
            log.record(entry, wait=0)
        except Exception:
            logger.exception("transaction log: a pool wait event could not be recorded")

    return hook
