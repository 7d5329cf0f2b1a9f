"""The transaction log: one entry per request, adapter call, retry and pool wait (SAP-FACTS §5).

Entries are :class:`LogEntry` values; :class:`TransactionLog` writes them in the background into the
runtime database (:mod:`idocbridge.db`); :func:`query` and :class:`LogFollower` read it;
:func:`trace` tells one request's story; :func:`purge_log` trims it;
:func:`format_classic` prints an entry as the reference runtime's log line.
"""

from __future__ import annotations

from idocbridge.tlog.classic import format_classic, parse_classic
from idocbridge.tlog.context import RequestContext, current_transaction, next_request_id, request_scope
from idocbridge.tlog.entry import (
    NO_TRANSACTION,
    Domain,
    LogEntry,
    LogState,
    LogType,
    level_of,
    new_transaction_id,
    records,
)
from idocbridge.tlog.follow import LogFollower
from idocbridge.tlog.pool_hook import POOL_COMPONENT, POOL_EXHAUSTED, pool_wait_recorder
from idocbridge.tlog.queries import LogFilter, purge, query
from idocbridge.tlog.retention import count_older, purge_log
from idocbridge.tlog.tables import TransactionLogRow, transaction_log_table
from idocbridge.tlog.trace import Step, Trace, trace
from idocbridge.tlog.writer import TransactionLog, TransactionLogStats

__all__ = [
    "NO_TRANSACTION",
    "POOL_COMPONENT",
    "POOL_EXHAUSTED",
    "Domain",
    "LogEntry",
    "LogFilter",
    "LogFollower",
    "LogState",
    "LogType",
    "RequestContext",
    "Step",
    "Trace",
    "TransactionLog",
    "TransactionLogRow",
    "TransactionLogStats",
    "count_older",
    "current_transaction",
    "format_classic",
    "level_of",
    "new_transaction_id",
    "next_request_id",
    "parse_classic",
    "pool_wait_recorder",
    "purge",
    "purge_log",
    "query",
    "records",
    "request_scope",
    "trace",
    "transaction_log_table",
]
