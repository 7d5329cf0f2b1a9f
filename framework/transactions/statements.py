"""The outbox's hot statements, built once with bound parameters.

Building a SQLAlchemy statement and its cache key costs more than SQLite takes to run it; the
statements the delivery of every entry runs (accept, claim, state changes) are therefore built here
once, and executed with their parameters only. SQLAlchemy compiles each once per dialect and caches it;
the writes every entry makes (its INSERT, its state changes) are :class:`~idocbridge.db.prepared.Prepared`
too, which also spares them SQLAlchemy's per-execution parameter handling.
Parameter names start with ``b_`` so that they never clash with a column of the SET clause.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, Select, and_, bindparam, exists, insert, not_, or_, select, update

from idocbridge.db.prepared import Prepared
from idocbridge.transactions.states import ACTIVE_STATES, QUEUE_OPEN_STATES, OutboxState
from idocbridge.transactions.tables import COLUMNS_BUT_PARAMETERS, outbox_table

__all__ = [
    "ANY_DUE",
    "CLAIM_DUE",
    "DUE",
    "INSERT_ENTRY",
    "LEASE_ENTRIES",
    "LOCK_STATE",
    "MUTABLE_COLUMNS",
    "OF_ALIASES",
    "ROWS_BY_ID",
    "SET_OWNED",
    "SET_UNCHANGED",
    "STATES_BY_ID",
    "any_due",
    "claim_due",
    "comes_before",
]

_T = outbox_table
_QUEUE_OPEN = tuple(sorted(state.value for state in QUEUE_OPEN_STATES))
"""States of an earlier entry that hold the next entry of its qRFC queue back (FAILED stops the queue; only
CONFIRMED and CANCELLED let it go). Open entries are few, so the check can start from the state index."""

MUTABLE_COLUMNS = (
    _T.c.state,
    _T.c.tid,
    _T.c.executed,
    _T.c.attempts,
    _T.c.last_error,
    _T.c.last_error_key,
    _T.c.updated_at,
    _T.c.next_attempt_at,
    _T.c.lease_owner,
    _T.c.lease_until,
    _T.c.receipt,
    _T.c.confirm_sent,
    _T.c.packet_id,
    _T.c.packet_position,
    _T.c.packet_tid,
    _T.c.fate_due_at,
)
"""The columns a state change may change; the others keep what the entry was accepted with."""


def comes_before(first: object, second: object) -> ColumnElement[bool]:
    """``first`` was accepted into the queue before ``second``: by ``queue_seq``; entries accepted before
    migration 0003 have none and come first, in creation order."""
    a, b = first.c, second.c  # type: ignore[attr-defined]
    by_creation = or_(a.created_at < b.created_at, and_(a.created_at == b.created_at, a.id < b.id))
    return or_(
        a.queue_seq < b.queue_seq,
        and_(a.queue_seq.is_(None), b.queue_seq.is_not(None)),
        and_(a.queue_seq.is_(None), b.queue_seq.is_(None), by_creation),
    )


def _queue_head() -> ColumnElement[bool]:
    """An entry without a queue, or one whose queue holds no earlier entry still open (FAILED included).

    A packet holds no place in its queue of its own: its IDocs do. It is the head when no open entry
    outside it comes before its first IDoc (its IDocs follow each other in the queue: packets of a queue
    are gathered from its head on, and split in order)."""
    earlier = _T.alias("earlier")
    blocked = exists().where(
        earlier.c.alias == _T.c.alias,
        earlier.c.queue == _T.c.queue,
        earlier.c.state.in_(_QUEUE_OPEN),
        earlier.c.packet_size.is_(None),
        comes_before(earlier, _T),
    )
    member, other = _T.alias("member"), _T.alias("other")
    packet_blocked = exists().where(
        member.c.packet_id == _T.c.id,
        member.c.packet_position == 1,
        member.c.state == OutboxState.PACKED.value,
        other.c.alias == member.c.alias,
        other.c.queue == member.c.queue,
        other.c.state.in_(_QUEUE_OPEN),
        other.c.packet_size.is_(None),
        or_(other.c.packet_id.is_(None), other.c.packet_id != _T.c.id),
        comes_before(other, member),
    )
    return or_(
        _T.c.queue.is_(None),
        and_(_T.c.packet_size.is_(None), not_(blocked)),
        and_(_T.c.packet_size.is_not(None), not_(packet_blocked)),
    )


DUE = and_(
    _T.c.state.in_(sorted(state.value for state in ACTIVE_STATES)),
    _T.c.next_attempt_at <= bindparam("b_now"),
    or_(_T.c.lease_owner.is_(None), _T.c.lease_until <= bindparam("b_now")),
    _queue_head(),
)
"""Due for a worker at ``b_now``: active, its time come, its lease free or expired, the head of its queue."""

OF_ALIASES = _T.c.alias.in_(bindparam("b_aliases", expanding=True))
"""An entry of one of the SAP aliases ``b_aliases``: those a worker can deliver to."""


def any_due(*also: ColumnElement[bool]) -> Select[tuple[str]]:
    """Whether anything is due at ``b_now`` (and meets ``also``): read without the write lock before claiming."""
    return select(_T.c.id).where(DUE, *also).limit(1)


def claim_due(*also: ColumnElement[bool]) -> Select[tuple[str]]:
    """Up to ``b_limit`` due entries (that meet ``also``), oldest first; PostgreSQL skips rows other instances
    are claiming (SQLite renders no FOR UPDATE and relies on the write lock)."""
    return (
        select(_T.c.id)
        .where(DUE, *also)
        .order_by(_T.c.created_at, _T.c.id)
        .limit(bindparam("b_limit"))
        .with_for_update(skip_locked=True)
    )


ANY_DUE = any_due()
CLAIM_DUE = claim_due()

LEASE_ENTRIES = (
    update(_T)
    .where(_T.c.id.in_(bindparam("b_ids", expanding=True)))
    .values(lease_owner=bindparam("b_owner"), lease_until=bindparam("b_until"))
)
"""Lease the entries ``b_ids`` to ``b_owner`` until ``b_until``."""

ROWS_BY_ID = select(_T).where(_T.c.id.in_(bindparam("b_ids", expanding=True))).order_by(_T.c.created_at, _T.c.id)
"""The full rows of the entries ``b_ids``, oldest first."""

STATES_BY_ID = select(*COLUMNS_BUT_PARAMETERS).where(_T.c.id.in_(bindparam("b_ids", expanding=True)))
"""The entries ``b_ids`` without their parameters: what a request awaiting them needs."""

LOCK_STATE = select(*MUTABLE_COLUMNS).where(_T.c.id == bindparam("b_id")).with_for_update()
"""The changeable columns of entry ``b_id``, its row locked (PostgreSQL) for the state change."""

SET_OWNED = Prepared(update(_T).where(_T.c.id == bindparam("b_id"), _T.c.lease_owner == bindparam("b_owner")))
"""Set the columns named by the other parameters on entry ``b_id`` while ``b_owner`` holds it."""

SET_UNCHANGED = Prepared(
    update(_T).where(
        _T.c.id == bindparam("b_id"),
        _T.c.lease_owner == bindparam("b_owner"),
        _T.c.state == bindparam("b_state"),
        _T.c.updated_at == bindparam("b_updated_at"),
    )
)
"""Like SET_OWNED, and only while the entry is still in ``b_state`` as last changed at ``b_updated_at`` (every
state change sets ``updated_at``): a state change without reading the row first, when the store knows it."""

INSERT_ENTRY = Prepared(insert(_T))
"""A new entry (the columns named by the parameters)."""
