"""A transaction-log entry (SAP-FACTS §5), transaction IDs, and which log types each level records."""

from __future__ import annotations

import itertools
import secrets
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

from idocbridge.models.composite import LOG_LEVELS, LogLevel

__all__ = [
    "NO_TRANSACTION",
    "Domain",
    "LogEntry",
    "LogState",
    "LogType",
    "level_of",
    "new_transaction_id",
    "records",
]

LogState = Literal["OK", "ERROR"]


class LogType(StrEnum):
    """The log types the runtime writes; user-defined types are allowed as well (level Custom)."""

    SERVICE_ENTER = "SERVICE_ENTER"
    SERVICE_EXIT = "SERVICE_EXIT"
    IO_ENTER = "IO_ENTER"
    IO_EXIT = "IO_EXIT"
    TRANSITION_ENTER = "TRANSITION_ENTER"
    TRANSITION_EXIT = "TRANSITION_EXIT"
    CUSTOM = "CUSTOM"


class Domain(StrEnum):
    """The domains the runtime writes; user-defined domains are allowed as well."""

    INTERFACE = "INTERFACE"
    SAPRFC = "SAPRFC"


_LEVEL_OF: Mapping[str, LogLevel] = {
    LogType.CUSTOM: "Custom",
    LogType.SERVICE_ENTER: "Service",
    LogType.SERVICE_EXIT: "Service",
    LogType.TRANSITION_ENTER: "Service",
    LogType.TRANSITION_EXIT: "Service",
    LogType.IO_ENTER: "IO",
    LogType.IO_EXIT: "IO",
}
_RANK = {level: rank for rank, level in enumerate(LOG_LEVELS)}


def level_of(log_type: str) -> LogLevel:
    """The lowest level that records ``log_type``; a user-defined type counts as CUSTOM."""
    return _LEVEL_OF.get(log_type, "Custom")


def records(level: LogLevel, log_type: str) -> bool:
    """Whether a log at ``level`` records entries of ``log_type`` (levels are cumulative)."""
    return _RANK[level] >= _RANK[level_of(log_type)]


NO_TRANSACTION = "0" * 40
"""The transaction ID of entries written outside any request (for example, a pool wait of a retry job)."""

_counter = itertools.count()
_counter_lock = threading.Lock()


def new_transaction_id() -> str:
    """A new transaction ID: 40 lowercase hex characters, ordered by creation time.

    16 hex digits of microseconds since 1970, 8 of a per-process counter, 16 random ones.
    """
    with _counter_lock:
        count = next(_counter) & 0xFFFFFFFF
    return f"{time.time_ns() // 1000:016x}{count:08x}{secrets.token_hex(8)}"


def _is_token(value: object, longest: int) -> bool:
    """A non-empty, printable value without blanks: safe as one column of the classic line."""
    return isinstance(value, str) and 0 < len(value) <= longest and value.isprintable() and " " not in value


@dataclass(frozen=True, slots=True)
class LogEntry:
    """One event of the transaction log. Constructing one checks it (ValueError on a bad field).

    Transaction ID, component, domain, log type and correlation ID are single words without blanks
    (as the classic line format needs); the parameters are free text.
    """

    at: datetime
    """When it happened (timezone-aware)."""
    transaction_id: str
    """Traces one service request through the call stack: up to 40 visible ASCII characters
    (:func:`new_transaction_id` makes 40 hex digits)."""
    request_id: int
    """The request's number in this runtime process."""
    component: str
    """The operation's URN, an adapter, or SAPConnectionPool."""
    elapsed_ms: int
    """Milliseconds the step took; 0 means under 1 ms."""
    state: LogState
    domain: str
    """INTERFACE for service operations, SAPRFC for SAP adapters, or user-defined."""
    log_type: str
    """A :class:`LogType` or a user-defined type."""
    param1: str = ""
    param2: str = ""
    correlation_id: str | None = None
    """Relates an adapter call to its response; for tRFC steps, the SAP TID."""
    service: str | None = None
    operation: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.at, datetime) or self.at.utcoffset() is None:
            raise ValueError(f"the time of a log entry must be timezone-aware, not {self.at!r}")
        if not (_is_token(self.transaction_id, 40) and self.transaction_id.isascii()):
            raise ValueError(f"a transaction ID is 1 to 40 visible ASCII characters, not {self.transaction_id!r}")
        for name, number in (("request ID", self.request_id), ("elapsed time", self.elapsed_ms)):
            if not isinstance(number, int) or isinstance(number, bool) or number < 0:
                raise ValueError(f"the {name} must be an int >= 0, not {number!r}")
        if self.state not in ("OK", "ERROR"):
            raise ValueError(f"the state is OK or ERROR, not {self.state!r}")
        for name, word, longest in (
            ("component", self.component, 255),
            ("domain", self.domain, 40),
            ("log type", self.log_type, 40),
        ):
            if not _is_token(word, longest):
                raise ValueError(f"the {name} must be 1 to {longest} printable characters without blanks: {word!r}")
        if self.correlation_id is not None and not _is_token(self.correlation_id, 40):
            raise ValueError(
                f"a correlation ID is 1 to 40 printable characters without blanks: {self.correlation_id!r}"
            )
        for name, text in (("service", self.service), ("operation", self.operation)):
            if text is not None and not (isinstance(text, str) and 0 < len(text) <= 255 and text.isprintable()):
                raise ValueError(f"the {name} is 1 to 255 printable characters or None, not {text!r}")
        if not isinstance(self.param1, str) or not isinstance(self.param2, str):
            raise ValueError("the parameters are strings")
        for name in ("domain", "log_type"):  # a StrEnum member becomes its plain value
            object.__setattr__(self, name, str(getattr(self, name)))

    def as_dict(self) -> dict[str, Any]:
        """The fields as JSON-ready values (``at`` in ISO 8601 with its offset)."""
        return {
            "at": self.at.isoformat(),
            "transaction_id": self.transaction_id,
            "request_id": self.request_id,
            "component": self.component,
            "elapsed_ms": self.elapsed_ms,
            "state": self.state,
            "domain": self.domain,
            "log_type": self.log_type,
            "param1": self.param1,
            "param2": self.param2,
            "correlation_id": self.correlation_id,
            "service": self.service,
            "operation": self.operation,
        }
