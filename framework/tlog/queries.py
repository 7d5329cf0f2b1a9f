"""Reading the transaction log back: filters, and entries with their row IDs (for following the log)."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Engine, Select, and_, func, or_, select

from idocbridge.tlog.entry import LogEntry, LogState
from idocbridge.tlog.retention import purge
from idocbridge.tlog.tables import entry_from_row, transaction_log_table

__all__ = ["LogFilter", "last_row_id", "log_select", "purge", "query", "query_rows"]

_t = transaction_log_table


@dataclass(frozen=True, slots=True)
class LogFilter:
    """Entries matching every field that is not None; ``since`` inclusive, ``until`` exclusive (aware)."""

    transaction_id: str | None = None
    correlation_id: str | None = None
    service: str | None = None
    operation: str | None = None
    state: LogState | None = None
    domain: str | None = None
    log_type: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    transactions: Select[Any] | None = None
    """Only the transactions this one-column query selects (``idocbridge log --key``: those with a business
    key); a few, so it is read like ``transaction_id``: by ``ix_transaction_log_transaction_id``."""

    def conditions(self, *, narrow: bool = False) -> list[ColumnElement[bool]]:
        """The WHERE conditions of this filter.

        With ``narrow`` (the caller bounds the rows by ID), or with a transaction or correlation ID or
        ``transactions`` (a handful of rows), the other columns are compared as ``column || ''``: the
        database then cannot pick their indexes, which give the log's order but hold a large part of it.
        SQLite, which keeps no statistics unless told to, would otherwise prefer them and read millions of
        rows for a few.
        """
        narrowed_by = (self.transaction_id, self.correlation_id, self.transactions)
        selective = narrow or any(value is not None for value in narrowed_by)
        conditions: list[ColumnElement[bool]] = []
        if self.transactions is not None:
            conditions.append(_t.c.transaction_id.in_(self.transactions))
        for column, value in (
            (_t.c.transaction_id, self.transaction_id),
            (_t.c.correlation_id, self.correlation_id),
        ):
            if value is not None:
                conditions.append(column == value)
        for column, value in (
            (_t.c.service, self.service),
            (_t.c.operation, self.operation),
            (_t.c.state, self.state),
            (_t.c.domain, self.domain),
            (_t.c.log_type, self.log_type),
        ):
            if value is not None:
                conditions.append((column.concat("") if selective else column) == value)
        if self.since is not None:
            conditions.append(_t.c.at >= _aware(self.since, "since"))
        if self.until is not None:
            conditions.append(_t.c.at < _aware(self.until, "until"))
        return conditions


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
    where = LogFilter(transaction_id, correlation_id, service, operation, state, domain, log_type, since, until)
    return [entry for _, entry in query_rows(engine, where, limit=limit, newest=newest)]


def query_rows(
    engine: Engine,
    where: LogFilter | None = None,
    *,
    after_id: int | None = None,
    up_to_id: int | None = None,
    also_ids: Collection[int] = (),
    limit: int | None = None,
    newest: bool = False,
) -> list[tuple[int, LogEntry]]:
    """(row ID, entry) pairs matching ``where``, oldest first; only rows with ``after_id < id <= up_to_id``
    (each bound if given), plus the rows ``also_ids`` that match ``where``. ``limit``/``newest`` as in :func:`query`.
    """
    statement = log_select(where, after_id=after_id, up_to_id=up_to_id, also_ids=also_ids, limit=limit, newest=newest)
    with engine.connect() as connection:
        rows = [(int(row["id"]), entry_from_row(row)) for row in connection.execute(statement).mappings()]
    return rows[::-1] if newest else rows


def log_select(
    where: LogFilter | None = None,
    *,
    after_id: int | None = None,
    up_to_id: int | None = None,
    also_ids: Collection[int] = (),
    limit: int | None = None,
    newest: bool = False,
) -> Select[Any]:
    """The statement :func:`query_rows` runs (newest first when ``newest``): every filter has an index in
    this order (``at``, ``id``), so that the first ``limit`` entries are read without a sort."""
    if limit is not None and limit < 0:
        raise ValueError(f"the limit is >= 0, not {limit}")
    conditions = (where or LogFilter()).conditions(narrow=after_id is not None)
    window: list[ColumnElement[bool]] = []
    if after_id is not None:
        window.append(_t.c.id > after_id)
    if up_to_id is not None:
        window.append(_t.c.id <= up_to_id)
    if window:
        bounded = and_(*window)
        conditions.append(or_(_t.c.id.in_(list(also_ids)), bounded) if also_ids else bounded)
    order = (_t.c.at.desc(), _t.c.id.desc()) if newest else (_t.c.at, _t.c.id)
    return select(_t).where(*conditions).order_by(*order).limit(limit)


def last_row_id(engine: Engine) -> int:
    """The highest row ID of the log (0 when it is empty): entries written later have higher IDs."""
    with engine.connect() as connection:
        return int(connection.execute(select(func.coalesce(func.max(_t.c.id), 0))).scalar_one())


def _aware(value: datetime, name: str) -> datetime:
    if value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware, not {value!r}")
    return value
