"""Reading the transaction log back, and purging it (retention)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ColumnElement, Engine, delete, select

from idocbridge.db.engine import begin_write
from idocbridge.tlog.entry import LogEntry, LogState
from idocbridge.tlog.tables import entry_from_row, transaction_log_table

__all__ = ["purge", "query"]

_t = transaction_log_table


def query(
    engine: Engine,
    *,
    transaction_id: str | None = None,
    correlation_id: str | None = None,
    service: str | None = None,
    operation: str | None = None,
    state: LogState | None = None,
    domain: str | None = None,
    log_type: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int | None = None,
    newest: bool = False,
) -> list[LogEntry]:
    """Entries matching every given filter, oldest first (ties in the order they were written).

    ``since`` is inclusive, ``until`` exclusive; both must be timezone-aware. ``limit`` keeps the
    first entries, or with ``newest`` the last ones (still returned oldest first).
    """
    conditions: list[ColumnElement[bool]] = []
    for column, value in (
        (_t.c.transaction_id, transaction_id),
        (_t.c.correlation_id, correlation_id),
        (_t.c.service, service),
        (_t.c.operation, operation),
        (_t.c.state, state),
        (_t.c.domain, domain),
        (_t.c.log_type, log_type),
    ):
        if value is not None:
            conditions.append(column == value)
    if since is not None:
        conditions.append(_t.c.at >= _aware(since, "since"))
    if until is not None:
        conditions.append(_t.c.at < _aware(until, "until"))
    if limit is not None and limit < 0:
        raise ValueError(f"the limit is >= 0, not {limit}")
    order = (_t.c.at.desc(), _t.c.id.desc()) if newest else (_t.c.at, _t.c.id)
    statement = select(_t).where(*conditions).order_by(*order).limit(limit)
    with engine.connect() as connection:
        entries = [entry_from_row(row) for row in connection.execute(statement).mappings()]
    return entries[::-1] if newest else entries


def purge(engine: Engine, older_than: datetime, *, chunk: int = 5000) -> int:
    """Delete entries logged before ``older_than``; the number deleted.

    Deletes ``chunk`` rows per transaction, so that the writer never waits long for SQLite's lock.
    """
    cutoff = _aware(older_than, "older_than")
    if chunk < 1:
        raise ValueError(f"the chunk is >= 1, not {chunk}")
    oldest = select(_t.c.id).where(_t.c.at < cutoff).order_by(_t.c.id).limit(chunk)
    total = 0
    while True:
        with begin_write(engine) as connection:
            deleted = connection.execute(delete(_t).where(_t.c.id.in_(oldest))).rowcount
        total += deleted
        if deleted < chunk:
            return total


def _aware(value: datetime, name: str) -> datetime:
    if value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware, not {value!r}")
    return value
