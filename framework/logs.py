"""The service's own log (not the transaction log): one line per event, with time, level, logger and the
request's transaction ID where there is one, as text for people or JSON lines for log collectors.

    2026-12-07T02:32:22.123Z INFO idocbridge.access [tx 000662...] POST /IDocService 200 12.3 ms SendTextIDoc ok

``configure(level, style)`` sets up the root logger once per process (``idocbridge serve --log-level INFO
--log-format json``): records go to standard error; uvicorn's own loggers and APScheduler's speak through the
same handler, APScheduler at WARNING at the least. The access log (:func:`access`) writes one line per
request to the logger ``idocbridge.access``: method, path without the query's values, status, duration,
operation and outcome; never a header or a body.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from datetime import UTC, datetime
from typing import Literal, TextIO

from idocbridge.tlog.context import current_transaction

__all__ = ["ACCESS", "LogStyle", "access", "configure"]

LogStyle = Literal["text", "json"]
ACCESS = logging.getLogger("idocbridge.access")
_QUIET = {"apscheduler": logging.WARNING, "uvicorn.access": logging.WARNING}
"""Loggers held to at least this level whatever the service's level: APScheduler reports every run of the
daily retention job at INFO, and the service writes its own access log."""


class _TransactionFilter(logging.Filter):
    """Gives every record the transaction ID of the request being handled (``-`` outside a request)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "transaction_id"):
            context = current_transaction.get()
            record.transaction_id = context.transaction_id if context is not None else "-"
        return True


def _timestamp(record: logging.LogRecord) -> str:
    moment = datetime.fromtimestamp(record.created, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


class _TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        transaction = getattr(record, "transaction_id", "-")
        where = f" [tx {transaction}]" if transaction != "-" else ""
        message = record.getMessage().replace("\r", "\\r").replace("\n", "\\n")  # one event, one line
        line = f"{_timestamp(record)} {record.levelname} {record.name}{where} {message}"
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


class _JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {"time": _timestamp(record), "level": record.levelname, "logger": record.name,
                                    "message": record.getMessage()}  # fmt: skip
        transaction = getattr(record, "transaction_id", "-")
        if transaction != "-":
            entry["transactionId"] = transaction
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def configure(level: str = "INFO", style: LogStyle = "text", stream: TextIO | None = None) -> None:
    """Send every log record of at least ``level`` to ``stream`` (standard error), as ``style`` says.
    ValueError for an unknown level or style."""
    numeric = logging.getLevelName(level.upper())
    if not isinstance(numeric, int):
        raise ValueError(f"unknown log level {level!r}: DEBUG, INFO, WARNING, ERROR or CRITICAL")
    if style not in ("text", "json"):
        raise ValueError(f"unknown log format {style!r}: text or json")
    handler = logging.StreamHandler(sys.stderr if stream is None else stream)
    handler.setFormatter(_JsonFormatter() if style == "json" else _TextFormatter())
    handler.addFilter(_TransactionFilter())
    root = logging.getLogger()
    for existing in list(root.handlers):
        root.removeHandler(existing)
    root.addHandler(handler)
    root.setLevel(numeric)
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers.clear()
        logging.getLogger(name).propagate = True
    for name, quiet in _QUIET.items():
        logging.getLogger(name).setLevel(max(quiet, numeric))


def access(method: str, path: str, status: int, started: float, operation: str, outcome: str,
           transaction_id: str = "-") -> None:  # fmt: skip
    """One line of the access log for a request answered with ``status`` that began at ``started``
    (``time.perf_counter()``); ``path`` without its query's values."""
    if ACCESS.isEnabledFor(logging.INFO):
        elapsed = (time.perf_counter() - started) * 1000
        ACCESS.info("%s %s %d %.1f ms %s %s", method, path, status, elapsed, operation, outcome,
                    extra={"transaction_id": transaction_id})  # fmt: skip
