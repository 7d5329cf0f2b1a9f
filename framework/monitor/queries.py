"""What the monitor's pages read: requests filtered and counted like BD87, one request's story, the health.

Each list is one indexed query with a limit, paged by the last row shown (creation time and ID), so a page
costs the same on a log of ten million rows as on an empty one (tests/perf/bench_monitor.py measures it).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Engine, Select, and_, exists, func, or_, select

from idocbridge.tlog.tables import transaction_log_table
from idocbridge.transactions.fate import ERROR_STATUSES
from idocbridge.transactions.fate_tables import business_keys_table, sap_idocs_table
from idocbridge.transactions.states import SETTLED_STATES, OutboxState
from idocbridge.transactions.store import oldest_unconfirmed
from idocbridge.transactions.tables import COLUMNS_BUT_PARAMETERS, OutboxEntry, entry_without_parameters, outbox_table

__all__ = [
    "PERIODS",
    "Filters",
    "Health",
    "ListPage",
    "Row",
    "health",
    "list_requests",
]

_T, _K, _I, _L = outbox_table, business_keys_table, sap_idocs_table, transaction_log_table

PERIODS: dict[str, timedelta | None] = {
    "1h": timedelta(hours=1),
    "24h": timedelta(hours=24),
    "7d": timedelta(days=7),
    "30d": timedelta(days=30),
    "all": None,
}
"""The time ranges the list offers (of creation time), by their names in the form."""

PAGE_SIZE = 50

COUNTED = 5_000
"""The counts by group cover this many requests of the range at most (the whole range when it holds fewer; the
newest ones unless a selective filter is set): a bounded cost on any log, like BD87's maximum number of hits."""

_STATES = [state.value for state in OutboxState if state is not OutboxState.REFUSED]
SHOWN_KEYS = ("MESTYP", "IDOCTYP", "SNDPRN", "RCVPRN")
"""The keys the list shows in columns of their own."""


@dataclass(frozen=True, slots=True)
class Filters:
    """The list's filters, as the form sends them (empty: no filter)."""

    state: str = ""
    sap_status: str = ""
    service: str = ""
    operation: str = ""
    alias: str = ""
    message_type: str = ""
    partner: str = ""
    period: str = "24h"

    def since(self, now: datetime) -> datetime | None:
        """The earliest creation time shown."""
        span = PERIODS.get(self.period, PERIODS["24h"])
        return None if span is None else now - span


@dataclass(frozen=True, slots=True)
class Row:
    """One request (an outbox entry) as the list shows it."""

    entry: OutboxEntry
    keys: dict[str, str]
    docnums: tuple[str, ...]
    sap_status: str | None
    sap_status_text: str | None


@dataclass(slots=True)
class ListPage:
    """A page of the list, the counts by group, and where the next page starts."""

    rows: list[Row]
    counts: list[tuple[str, str, str, int]]
    """(state, SAP status, message type, count), largest first: the BD87-like overview of the filtered range."""
    next_after: str | None
    options: dict[str, list[str]] = field(default_factory=dict)
    """The values each filter offers (states, services, operations, aliases)."""
    counted: int = 0
    """How many requests the counts cover (at most :data:`COUNTED`)."""


def _filtered(connection: Any, filters: Filters, now: datetime) -> tuple[list[ColumnElement[bool]], bool]:
    """The conditions of ``filters``, and whether one of them is checked per entry (a common key value)."""
    where: list[ColumnElement[bool]] = [_T.c.packet_size.is_(None)]  # IDocs and calls, not their packets
    per_entry = False
    since = filters.since(now)
    if since is not None:
        where.append(_T.c.created_at >= since)
    if filters.state:
        where.append(_T.c.state == filters.state)
    for column, value in ((_T.c.service, filters.service), (_T.c.operation, filters.operation),
                          (_T.c.alias, filters.alias)):  # fmt: skip
        if value:
            where.append(column == value)
    if filters.message_type:
        clause, common = _has_key(connection, "MESTYP", filters.message_type)
        where.append(clause)
        per_entry |= common
    if filters.partner:
        sender, common_sender = _has_key(connection, "SNDPRN", filters.partner)
        receiver, common_receiver = _has_key(connection, "RCVPRN", filters.partner)
        where.append(or_(sender, receiver))
        per_entry |= common_sender or common_receiver
    if filters.sap_status == "none":  # checked per entry: counted among the newest of the range only
        where.append(~exists().where(_I.c.outbox_id == _T.c.id))
        per_entry = True
    elif filters.sap_status:
        where.append(_T.c.id.in_(select(_I.c.outbox_id).where(_I.c.status == filters.sap_status)))
    return where, per_entry


FEW_KEYS = 2_000

SCANNED = 20_000
"""With a common key value (checked per entry), the counts look at the newest this many requests of the range."""
"""A key value held by at most this many entries is looked up first; a more common one is checked per entry."""


def _has_key(connection: Any, name: str, value: str) -> tuple[ColumnElement[bool], bool]:
    """The entry has key ``name`` with ``value``. A rare value (a partner, an order number) is read once from the
    (name, value) index as a set of entries; a common one (the message type most requests have) is checked for
    each entry the list reads, newest first, in the covering (outbox_id, name, value) index: either way the list
    reads about as many rows as it shows. The flag says which: True for the check per entry."""
    holders = select(_K.c.outbox_id).where(_K.c.name == name, _K.c.value == value)
    many = connection.execute(select(func.count()).select_from(holders.limit(FEW_KEYS + 1).subquery())).scalar_one()
    if many <= FEW_KEYS:
        return _T.c.id.in_(holders), False
    return exists().where(_K.c.outbox_id == _T.c.id, _K.c.name == name, _K.c.value == value), True


def list_requests(engine: Engine, filters: Filters, *, after: str | None = None, now: datetime | None = None,
                  page_size: int = PAGE_SIZE, choices: dict[str, list[str]] | None = None) -> ListPage:  # fmt: skip
    """The newest requests matching ``filters`` (after the row ``after`` names: "<iso time>|<id>")."""
    now = now or datetime.now(UTC)
    with engine.connect() as connection:
        return _list(connection, filters, after, now, page_size, choices)


def _list(connection: Any, filters: Filters, after: str | None, now: datetime, page_size: int,
          choices: dict[str, list[str]] | None) -> ListPage:  # fmt: skip
    where, per_entry = _filtered(connection, filters, now)
    query: Select[Any] = select(*COLUMNS_BUT_PARAMETERS).where(*where)
    position = _position(after)
    if position is not None:
        at, last_id = position
        query = query.where(or_(_T.c.created_at < at, and_(_T.c.created_at == at, _T.c.id < last_id)))
    query = query.order_by(_T.c.created_at.desc(), _T.c.id.desc()).limit(page_size + 1)
    entries = [entry_without_parameters(row) for row in connection.execute(query).mappings()]
    more = len(entries) > page_size
    entries = entries[:page_size]
    rows = _rows(connection, entries)
    selective = bool(filters.state or filters.sap_status or filters.message_type or filters.partner)
    counted_where = where
    if per_entry:  # a common key value is checked per entry: among the newest SCANNED of the range only
        window, _ = _filtered(connection, Filters(period=filters.period, service=filters.service,
                                                  operation=filters.operation, alias=filters.alias), now)  # fmt: skip
        oldest = connection.execute(
            select(_T.c.created_at).where(*window).order_by(_T.c.created_at.desc()).offset(SCANNED).limit(1)
        ).scalar()
        counted_where = [*where, _T.c.created_at > oldest] if oldest is not None else where
    counts, counted = _counts(connection, counted_where, newest_first=not selective or per_entry)
    options = {"state": _STATES, **(choices or _recent_choices(connection))}
    last = entries[-1] if more and entries else None
    next_after = None if last is None else f"{last.created_at.isoformat()}|{last.id}"
    return ListPage(rows, counts, next_after, options, counted)


def _position(after: str | None) -> tuple[datetime, str] | None:
    """The (creation time, ID) an ``after`` value names, None for a missing or malformed one (the first page)."""
    at_text, _, last_id = (after or "").partition("|")
    try:
        at = datetime.fromisoformat(at_text)
        at.astimezone(UTC)
    except (ValueError, OverflowError):
        return None
    if at.utcoffset() is None or not last_id.isalnum() or len(last_id) > 32:
        return None
    return at, last_id


def _rows(connection: Any, entries: Sequence[OutboxEntry]) -> list[Row]:
    ids = [entry.id for entry in entries]
    keys: dict[str, dict[str, str]] = {}
    idocs: dict[str, list[tuple[str, str | None, str | None]]] = {}
    if ids:
        for outbox_id, name, value in connection.execute(
            select(_K.c.outbox_id, _K.c.name, _K.c.value).where(_K.c.outbox_id.in_(ids), _K.c.name.in_(SHOWN_KEYS))
        ):
            keys.setdefault(outbox_id, {}).setdefault(name, value)
        for outbox_id, docnum, status, text in connection.execute(
            select(_I.c.outbox_id, _I.c.docnum, _I.c.status, _I.c.status_text)
            .where(_I.c.outbox_id.in_(ids))
            .order_by(_I.c.docnum)
        ):
            idocs.setdefault(outbox_id, []).append((docnum, status, text))
    rows = []
    for entry in entries:
        found = idocs.get(entry.id, [])
        worst = _worst(found)
        rows.append(Row(entry, keys.get(entry.id, {}), tuple(docnum for docnum, _, _ in found),
                        worst[0] if worst else None, worst[1] if worst else None))  # fmt: skip
    return rows


def _worst(idocs: list[tuple[str, str | None, str | None]]) -> tuple[str | None, str | None] | None:
    """The status to show for an entry's IDocs: an error before anything else, then the least advanced."""
    if not idocs:
        return None
    errors = [(status, text) for _, status, text in idocs if status and status != "53"]
    return errors[0] if errors else (idocs[0][1], idocs[0][2])


def _counts(
    connection: Any, where: list[ColumnElement[bool]], newest_first: bool
) -> tuple[list[tuple[str, str, str, int]], int]:
    """The counts by group of up to :data:`COUNTED` matching requests, and how many were counted: the newest ones
    when ``newest_first`` (for a range filtered by time and service alone), else any (a selective filter lets the
    database start from its index, where the newest first would make it walk the time index past most rows)."""
    chosen = select(_T.c.id, _T.c.state).where(*where)
    if newest_first:
        chosen = chosen.order_by(_T.c.created_at.desc(), _T.c.id.desc())
    newest = chosen.limit(COUNTED).subquery()
    mestyp = select(_K.c.value).where(_K.c.outbox_id == newest.c.id, _K.c.name == "MESTYP").limit(1)
    status = select(func.max(_I.c.status)).where(_I.c.outbox_id == newest.c.id)
    inner = select(
        newest.c.state.label("state"),
        status.scalar_subquery().label("sap_status"),
        mestyp.scalar_subquery().label("mestyp"),
    ).subquery()
    query = (
        select(inner.c.state, inner.c.sap_status, inner.c.mestyp, func.count())
        .group_by(inner.c.state, inner.c.sap_status, inner.c.mestyp)
        .order_by(func.count().desc())
    )
    groups = [(state, sap or "", mestyp or "", count) for state, sap, mestyp, count in connection.execute(query)]
    return groups[:40], sum(count for *_, count in groups)


def _recent_choices(connection: Any) -> dict[str, list[str]]:
    """Services, operations and aliases of the newest entries (when the deployment does not say)."""
    recent = select(_T.c.service, _T.c.operation, _T.c.alias).order_by(_T.c.created_at.desc()).limit(1000)
    rows = connection.execute(recent).all()
    return {name: sorted({row[index] for row in rows}) for index, name in enumerate(("service", "operation", "alias"))}


@dataclass(frozen=True, slots=True)
class Health:
    """The service at a glance."""

    depth: dict[str, int]
    """Outbox entries by state: every open one; CONFIRMED and CANCELLED of the last 24 hours."""
    oldest_unconfirmed: dict[str, datetime]
    """Per alias, when the oldest entry holding a TID SAP has not confirmed was accepted."""
    circuits: dict[str, str]
    """Per alias, closed or open."""
    errors_last_hour: int
    requests_last_hour: int
    sap_errors: int
    """IDocs whose last status in SAP is an error (51, 56, 60, 63, 65), read in the last 7 days."""

    @property
    def error_rate(self) -> float:
        """Share of the last hour's requests that ended in an error (0 without requests)."""
        return self.errors_last_hour / self.requests_last_hour if self.requests_last_hour else 0.0


def health(engine: Engine, circuits: dict[str, str], now: datetime | None = None) -> Health:
    """The outbox's depth, oldest unconfirmed TIDs, circuits and the last hour's error rate."""
    now = now or datetime.now(UTC)
    hour = now - timedelta(hours=1)
    open_states = [state.value for state in OutboxState if state not in SETTLED_STATES]
    with engine.connect() as connection:
        depth = dict.fromkeys(_STATES, 0)
        # open entries are few: counted from the state index; packets are counted by their IDocs
        for state, count in connection.execute(
            select(_T.c.state, func.count())
            .where(_T.c.state.in_(open_states), _T.c.packet_size.is_(None))
            .group_by(_T.c.state)
        ):
            depth[state] = count
        # ended ones are many: those of the last 24 hours, read in time order from the time index (grouped directly,
        # SQLite would walk the state index to save the sort, through every CONFIRMED entry)
        recent = (
            select(_T.c.state)
            .where(_T.c.created_at >= now - timedelta(hours=24), _T.c.packet_size.is_(None))
            .order_by(_T.c.created_at)
            .subquery()
        )
        for state, count in connection.execute(select(recent.c.state, func.count()).group_by(recent.c.state)):
            if state not in open_states:
                depth[state] = count
        oldest = oldest_unconfirmed(connection)
        exits = select(_L.c.state, func.count()).where(_L.c.log_type == "SERVICE_EXIT", _L.c.at >= hour)
        by_state: dict[str, int] = {row[0]: row[1] for row in connection.execute(exits.group_by(_L.c.state))}
        sap_errors = connection.execute(
            select(func.count()).select_from(_I).where(_I.c.status.in_(sorted(ERROR_STATUSES)),
                                                       _I.c.updated_at >= now - timedelta(days=7))
        ).scalar_one()  # fmt: skip
    requests = sum(by_state.values())
    return Health(depth, oldest, circuits, by_state.get("ERROR", 0), requests, int(sap_errors))
