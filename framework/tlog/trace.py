"""One request's story from the transaction log: the SOAP call, its TIDs, SAP calls, retries, outbox states.

:func:`trace` looks an ID up as a transaction ID and as a correlation ID (SAP TID) and returns one
:class:`Trace` per transaction ID found, its :class:`Step` s in the order they were logged.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from typing import Any, Protocol

from sqlalchemy import Engine, or_, select

from idocbridge.tlog.entry import LogEntry, LogType
from idocbridge.tlog.tables import entry_from_row, transaction_log_table

__all__ = ["OUTBOX_COMPONENT", "POOL_WAIT", "IDocSource", "Step", "Trace", "add_simulator_idocs", "trace"]

OUTBOX_COMPONENT = "TRFCOutbox"
"""The component of the outbox's state transitions (TRANSITION_EXIT, the state in param1)."""
POOL_WAIT = "PoolExhausted"

_t = transaction_log_table
_DOCNUM = re.compile(r"\bDOCNUM\b\W{0,3}(\d{1,16})\b", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Step:
    """One event of the story: ``kind`` is request, sap-call, outbox, pool-wait or other."""

    at: datetime
    kind: str
    component: str
    what: str
    detail: str
    elapsed_ms: int
    ok: bool
    tid: str | None
    attempt: int = 1
    """For SAP calls: 1 for the first call of this step and function, 2 for its first retry, ..."""

    def as_dict(self, tz: tzinfo = UTC) -> dict[str, Any]:
        """JSON-ready fields, the time in ``tz``."""
        return {
            "at": self.at.astimezone(tz).isoformat(),
            "kind": self.kind,
            "component": self.component,
            "what": self.what,
            "detail": self.detail,
            "elapsed_ms": self.elapsed_ms,
            "state": "OK" if self.ok else "ERROR",
            "tid": self.tid,
            "attempt": self.attempt,
        }


@dataclass(slots=True)
class Trace:
    """The story of one transaction ID."""

    transaction_id: str
    service: str | None = None
    operation: str | None = None
    request_ids: list[int] = field(default_factory=list)
    started: datetime | None = None
    ended: datetime | None = None
    request_ms: int | None = None
    """The SOAP call's duration (its SERVICE_EXIT), None if not logged."""
    request_ok: bool | None = None
    request_error: str = ""
    tids: list[str] = field(default_factory=list)
    idoc_numbers: list[str] = field(default_factory=list)
    """DOCNUMs found in the entries' parameters; empty when the log does not record them."""
    outbox_state: str | None = None
    """The last outbox transition (TID_ASSIGNED, EXECUTED, CONFIRMED, RETRY_WAIT, FAILED)."""
    steps: list[Step] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def status(self) -> str:
        """ERROR if any step failed for good, else OK; the outbox state wins when there is one."""
        if self.outbox_state in ("FAILED", "RETRY_WAIT") or self.request_ok is False:
            return "ERROR"
        return "OK"

    def as_dict(self, tz: tzinfo = UTC) -> dict[str, Any]:
        """JSON-ready story, times in ``tz``."""
        return {
            "transaction_id": self.transaction_id,
            "service": self.service,
            "operation": self.operation,
            "request_ids": self.request_ids,
            "started": None if self.started is None else self.started.astimezone(tz).isoformat(),
            "ended": None if self.ended is None else self.ended.astimezone(tz).isoformat(),
            "request": {
                "elapsed_ms": self.request_ms,
                "state": None if self.request_ok is None else ("OK" if self.request_ok else "ERROR"),
                "error": self.request_error or None,
            },
            "tids": self.tids,
            "idoc_numbers": self.idoc_numbers,
            "outbox_state": self.outbox_state,
            "status": self.status,
            "errors": self.errors,
            "steps": [step.as_dict(tz) for step in self.steps],
        }


def trace(engine: Engine, identifier: str) -> list[Trace]:
    """The stories of ``identifier``, a transaction ID or an SAP TID (one per transaction ID; [] if unknown)."""
    with engine.connect() as connection:
        found = connection.execute(
            select(_t.c.transaction_id, _t.c.correlation_id)
            .where(or_(_t.c.transaction_id == identifier, _t.c.correlation_id == identifier))
            .order_by(_t.c.at, _t.c.id)
        ).all()
        transaction_ids = list(dict.fromkeys(row.transaction_id for row in found))
        traces = []
        for transaction_id in transaction_ids:
            rows = connection.execute(
                select(_t).where(_t.c.transaction_id == transaction_id).order_by(_t.c.at, _t.c.id)
            ).mappings()
            traces.append(story(transaction_id, [entry_from_row(row) for row in rows]))
    return traces


def story(transaction_id: str, entries: list[LogEntry]) -> Trace:
    """The :class:`Trace` told by ``entries`` (all of one transaction, oldest first)."""
    result = Trace(transaction_id)
    attempts: dict[tuple[str, str, str | None], int] = {}
    for entry in entries:
        result.service = result.service or entry.service
        result.operation = result.operation or entry.operation
        if entry.request_id not in result.request_ids:
            result.request_ids.append(entry.request_id)
        result.started = result.started or entry.at
        result.ended = entry.at
        if entry.correlation_id and entry.correlation_id not in result.tids:
            result.tids.append(entry.correlation_id)
        for text in (entry.param1, entry.param2):
            for number in _DOCNUM.findall(text):
                if number not in result.idoc_numbers:
                    result.idoc_numbers.append(number)
        step = _step(entry, result, attempts)
        if step is not None:
            result.steps.append(step)
            if not step.ok and step.detail:
                result.errors.append(f"{step.what or step.component}: {step.detail}")
    return result


def _step(entry: LogEntry, result: Trace, attempts: dict[tuple[str, str, str | None], int]) -> Step | None:
    ok = entry.state == "OK"
    tid = entry.correlation_id
    if entry.log_type == LogType.SERVICE_EXIT:
        result.request_ms, result.request_ok = entry.elapsed_ms, ok
        result.request_error = "" if ok else entry.param2
        what = ".".join(part for part in (entry.service, entry.operation) if part)
        return Step(entry.at, "request", entry.component, what, entry.param2, entry.elapsed_ms, ok, tid)
    if entry.log_type == LogType.TRANSITION_EXIT and entry.component == OUTBOX_COMPONENT:
        result.outbox_state = entry.param1
        return Step(entry.at, "outbox", entry.component, entry.param1, entry.param2, 0, ok, tid)
    if entry.log_type == LogType.IO_EXIT and entry.param1 == POOL_WAIT:
        return Step(entry.at, "pool-wait", entry.component, entry.param1, entry.param2, entry.elapsed_ms, ok, tid)
    if entry.log_type == LogType.IO_EXIT:
        key = (entry.component, entry.param1, tid)
        attempts[key] = attempts.get(key, 0) + 1
        return Step(
            entry.at, "sap-call", entry.component, entry.param1, entry.param2, entry.elapsed_ms, ok, tid, attempts[key]
        )
    if entry.log_type in (LogType.SERVICE_ENTER, LogType.IO_ENTER, LogType.TRANSITION_ENTER):
        return None
    return Step(entry.at, "other", entry.component, entry.log_type, entry.param1, entry.elapsed_ms, ok, tid)


class IDocSource(Protocol):
    """What can tell which IDocs a TID created (the simulator's inspection)."""

    def idocs(self, **filters: Any) -> list[dict[str, Any]]: ...


def add_simulator_idocs(stories: list[Trace], source: IDocSource) -> None:
    """Add the IDoc numbers (and their status) that ``source`` holds for each story's TIDs."""
    for story in stories:
        for tid in story.tids:
            for idoc in source.idocs(tid=tid):
                number = f"{idoc['docnum']} (status {idoc['status']})"
                if number not in story.idoc_numbers:
                    story.idoc_numbers.append(number)
