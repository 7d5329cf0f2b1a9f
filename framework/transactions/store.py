"""The outbox store: accepts tRFC calls, hands due ones to workers under leases, records each step.

Every method has committed when it returns. Writes run on the engine's
:class:`idocbridge.db.writer.SerialWriter` (one writer thread per process, writes of many callers in one
transaction, each caller answered after the commit), which begins them with
:func:`idocbridge.db.begin_write` (``BEGIN IMMEDIATE`` on SQLite: one writer at a time, across
processes); on PostgreSQL :meth:`OutboxStore.claim` locks with ``FOR UPDATE SKIP LOCKED`` so instances
claim side by side, and each state change locks its row: by its conditional ``UPDATE`` when the store knows
the entry as it stands, else with ``SELECT ... FOR UPDATE`` first.

qRFC order: an entry with a queue gets the next ``queue_seq`` of its queue (alias and queue name) when
it is accepted; accepts of one queue are serialised (SQLite: the write lock; PostgreSQL: a transaction
advisory lock on the queue), so commit order is sequence order. A queued entry is claimed only when
every earlier entry of its queue is CONFIRMED or CANCELLED: one entry of a queue in flight at a time,
a head waiting in RETRY_WAIT holds its queue, and a FAILED head stops it until an operator retries or
cancels it (:meth:`OutboxStore.queue_blocker` names it).
"""

from __future__ import annotations

import hashlib
import threading
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any, NamedTuple, NoReturn

from sqlalchemy import (
    ColumnElement,
    Connection,
    Engine,
    and_,
    bindparam,
    delete,
    exists,
    func,
    not_,
    select,
    text,
    update,
)
from sqlalchemy.exc import IntegrityError

from idocbridge.db.writer import delete_in_batches, write
from idocbridge.tlog.tables import insert_rows
from idocbridge.transactions import packets
from idocbridge.transactions.broadcast import announce_now, sender_name
from idocbridge.transactions.fate import fate_due
from idocbridge.transactions.keys import insert_keys, key_rows
from idocbridge.transactions.packets import Gathered, MemberLog, PacketMember, PacketRule
from idocbridge.transactions.statements import (
    ANY_DUE,
    CLAIM_DUE,
    DUE,
    INSERT_ENTRY,
    LEASE_ENTRIES,
    LOCK_STATE,
    OF_ALIASES,
    ROWS_BY_ID,
    SET_OWNED,
    SET_UNCHANGED,
    STATES_BY_ID,
    any_due,
    claim_due,
    comes_before,
)
from idocbridge.transactions.states import (
    ACTIVE_STATES,
    QUEUE_OPEN_STATES,
    SETTLED_STATES,
    InvalidTransition,
    OutboxError,
    OutboxState,
    check_transition,
)
from idocbridge.transactions.tables import (
    TID_LENGTH,
    NewEntry,
    OutboxEntry,
    encode_parameters,
    entry_fields,
    entry_from_row,
    entry_without_parameters,
    outbox_table,
    to_json,
)

__all__ = [
    "Accepted",
    "DuplicateTid",
    "EntryBusy",
    "EntryNotFound",
    "LeaseLost",
    "MessageIdReused",
    "NewEntry",
    "OutboxEntry",
    "OutboxStore",
    "RequestPartlyPurged",
    "many_message_id",
    "request_digest",
]

MAX_ERROR_LENGTH = 4000
"""Longer error texts are cut to this many characters."""

_T = outbox_table
_S = OutboxState
_Entries = list[OutboxEntry]
_LogRows = Sequence[Mapping[str, Any]]
"""Rows of ``transaction_log`` (:func:`idocbridge.tlog.tables.row_from_entry`) to write with a state change."""
_QUEUE_OPEN = tuple(sorted(state.value for state in QUEUE_OPEN_STATES))
"""States of an earlier entry that hold the next entry of its qRFC queue back (see statements.DUE)."""
_PURGE_BATCH = 5000
_KNOWN_LIMIT = 1024
"""More entries under a lease of this store than a service has delivery threads: the cache is cleared."""
_QUEUE_LOCK = "idocbridge.trfc_outbox.queue:"


class LeaseLost(OutboxError):
    """The caller no longer holds the entry's lease (it expired and another worker took the entry)."""


class EntryNotFound(OutboxError):
    """No outbox entry has this ID."""


class DuplicateTid(OutboxError):
    """A TID that another outbox entry holds already: one TID is never shared by two entries."""


class EntryBusy(OutboxError):
    """An operator action met an entry a worker holds under a live lease; try again when it ends."""


def many_message_id(message_id: str | None, number: int) -> str | None:
    """The message ID of call ``number`` (from 1) of a request of many with ``message_id``: the first keeps
    it, the others are ``<message_id>#<number>``."""
    if message_id is None or number == 1:
        return message_id
    return f"{message_id}#{number}"


class RequestPartlyPurged(OutboxError):
    """A request of many calls came again, and the outbox holds only some of their entries (``entries``, of
    ``count``): retention purged the others, so how they ended is not known here; nothing is accepted again."""

    def __init__(self, entries: list[OutboxEntry], count: int) -> None:
        first = entries[0]
        super().__init__(
            f"message ID {first.message_id} was accepted before (transaction {first.transaction_id}) for "
            f"{count} calls, of which the outbox holds {len(entries)}: the others were purged"
        )
        self.entries = entries
        self.count = count


class MessageIdReused(OutboxError):
    """A message ID came again with a different request; ``entry`` is the first request's entry."""

    def __init__(self, entry: OutboxEntry) -> None:
        super().__init__(
            f"message ID {entry.message_id} was first sent with a different request (transaction "
            f"{entry.transaction_id}, outbox entry {entry.id}, state {entry.state})"
        )
        self.entry = entry


def request_digest(operation: str, parameters: Mapping[str, Any]) -> str:
    """SHA-256 (hex) of the canonical text (the parameter codec, keys sorted) of operation and parameters."""
    text = encode_parameters({"operation": operation, "parameters": parameters}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


def oldest_unconfirmed(connection: Connection) -> dict[str, datetime]:
    """Per alias, when the oldest entry that holds a TID SAP has not confirmed was accepted: SM58's oldest entry.

    FAILED entries count (their TID may wait in SAP's tRFC table for an operator); a packet SAP refused does not
    (SAP rolled its call back, and its IDocs went on under TIDs of their own). Read from the state index, since
    open entries are few: grouped by alias directly, SQLite would walk the alias index through every entry."""
    open_states = [state.value for state in OutboxState if state not in SETTLED_STATES]
    unconfirmed = (
        select(_T.c.alias, _T.c.created_at)
        .where(_T.c.tid.is_not(None), _T.c.state.in_(open_states))
        .order_by(_T.c.state)
        .subquery()
    )
    query = select(unconfirmed.c.alias, func.min(unconfirmed.c.created_at)).group_by(unconfirmed.c.alias)
    return {row[0]: row[1] for row in connection.execute(query)}


class Accepted(NamedTuple):
    """What :meth:`OutboxStore.accept` returns: the entry, and whether this call created it."""

    entry: OutboxEntry
    created: bool


def _utcnow() -> datetime:
    return datetime.now(UTC)


class OutboxStore:
    """The tRFC outbox in the runtime database of ``engine`` (migrated to revision 0002 or later)."""

    def __init__(
        self,
        engine: Engine,
        *,
        clock: Callable[[], datetime] = _utcnow,
        packets: Mapping[str, PacketRule] | None = None,
        announcer: Callable[[Sequence[OutboxEntry]], None] | None = None,
        follow_fate: Iterable[str] = (),
        aliases: Iterable[str] | None = None,
    ) -> None:
        self._engine = engine
        self.aliases: frozenset[str] | None = None if aliases is None else frozenset(aliases)
        """The SAP aliases this store's worker can deliver to: it claims only their entries (None: every alias).
        Another instance, with other settings, delivers the rest; :meth:`undeliverable` counts what none of
        these would."""
        self._clock = clock
        self._announcer: Callable[[Sequence[OutboxEntry]], None] | None = None
        """On PostgreSQL, what tells the other instances of the state changes a waiting request ends on
        (:mod:`idocbridge.transactions.broadcast`): a served deployment's ``announcer`` sends from a thread
        of its own; without one (the command line), they go out right after the commit, under a name of
        this store's."""
        if engine.dialect.name == "postgresql":
            self._announcer = announcer or partial(announce_now, engine, sender_name())
        self.follow_fate: frozenset[str] = frozenset(follow_fate or ())
        """The aliases whose confirmed IDoc units are followed in SAP (:mod:`idocbridge.transactions.fate`)."""
        self.packets: Mapping[str, PacketRule] = dict(packets or {})
        """The aliases that gather IDocs into packets, and how (:mod:`idocbridge.transactions.packets`)."""
        self._any_due = ANY_DUE if self.aliases is None else any_due(OF_ALIASES)
        self._claim_due = CLAIM_DUE if self.aliases is None else claim_due(OF_ALIASES)
        self._known: dict[str, OutboxEntry] = {}
        """Entries this store holds under a lease, as it last left them: a state change starts from one without
        reading the row (the parameters above all), while the row is unchanged since (state, owner,
        ``updated_at``); kept current by renewals and :meth:`mark_confirm_sent`, dropped when the lease ends."""
        self._known_lock = threading.Lock()

    # -- accepting and reading -------------------------------------------------------------------------------

    def accept(self, new: NewEntry) -> Accepted:
        """Insert ``new`` as ACCEPTED, due now, and commit; with a ``message_id`` seen before for the same
        service and operation, return that entry instead (``created`` False), also under concurrent calls.

        MessageIdReused when that entry was accepted for a different request (operation and parameters,
        compared by :func:`request_digest`; entries accepted before digests were kept match any request;
        a request of many calls is a different request, see :meth:`accept_all`)."""
        return self.accept_all([new])[0]

    def accept_all(self, entries: Sequence[NewEntry]) -> list[Accepted]:
        """Accept the calls of one request as :meth:`accept` does, all in one transaction: all or none.

        The calls share service, operation and message ID. For more than one call, the first keeps the
        message ID ``M`` and the others get ``M#2``, ``M#3``, ... in request order, and one digest covers
        the whole request. Sent again, the request finds its entries. ``M`` with other calls (more or fewer
        too, or on a request of one call where one of many used it, or the other way round) is
        MessageIdReused, also when both come at once (the first entry of each holds ``M``: the unique
        index lets one in), and then none is accepted. RequestPartlyPurged when the request's entries are
        found but not all of them (retention purged some): none is accepted again. The calls keep their
        order: a qRFC queue gets them one after the other, and entries created in the same moment are
        claimed and packed in this order."""
        if not entries:
            return []
        first = entries[0]
        if any((new.service, new.operation, new.message_id) != (first.service, first.operation, first.message_id)
               for new in entries):  # fmt: skip
            raise ValueError("the calls of one request share their service, operation and message ID")
        now = self._clock()
        base = uuid.uuid4().hex[:24]
        rows = [self._new_row(new, now, f"{base}{number:08x}") for number, new in enumerate(entries)]
        sent_as = first.message_id
        if len(rows) > 1:
            digest = hashlib.sha256("".join(row["request_digest"] for row in rows).encode()).hexdigest()
            for number, row in enumerate(rows, start=1):
                row["request_digest"] = digest
                row["message_id"] = many_message_id(sent_as, number)

        def work(connection: Connection) -> list[Accepted]:
            if sent_as is not None:
                names = [row["message_id"] for row in rows]
                found = self._by_message_ids(connection, first.service, first.operation, names)
                if found:
                    pairs = zip(names, rows, strict=True)
                    kept = [_same_request(found[name], row["request_digest"]) for name, row in pairs if name in found]
                    if len(kept) < len(rows):
                        raise RequestPartlyPurged([one.entry for one in kept], len(rows))
                    return kept
            accepted: list[Accepted] = []
            keys: list[dict[str, Any]] = []
            for new, values in zip(entries, rows, strict=True):
                row = dict(values)
                if new.queue is not None:
                    row["queue_seq"] = self._next_queue_seq(connection, new.alias, new.queue)
                INSERT_ENTRY.execute(connection, row)
                accepted.append(Accepted(_entry_from_values(row), True))
                keys.extend(key_rows(row["id"], new.transaction_id, new.keys, now, sent_as))
            insert_keys(connection, keys)
            return accepted

        alone = any(new.queue is not None for new in entries)  # a queued accept takes its queue's lock (PostgreSQL):
        try:  # alone, so instances cannot deadlock
            return write(self._engine, work, alone=alone)
        except IntegrityError:  # a concurrent request with the same message ID committed first: theirs is the entry
            if sent_as is None:
                raise
            return write(self._engine, work, alone=alone)

    def _new_row(self, new: NewEntry, now: datetime, entry_id: str) -> dict[str, Any]:
        """The values of the row that accepts ``new`` (without its queue's sequence number)."""
        rule = self.packets.get(new.alias)
        packable = rule is not None and packets.is_packable(new.function, new.parameters)
        return {
            "id": entry_id,
            "service": new.service,
            "operation": new.operation,
            "alias": new.alias,
            "function": new.function,
            "queue": new.queue,
            "parameters": encode_parameters(new.parameters),
            "message_id": new.message_id,
            "transaction_id": new.transaction_id,
            "state": _S.ACCEPTED.value,
            "executed": False,
            "attempts": 0,
            "created_at": now,
            "updated_at": now,
            "next_attempt_at": packets.due_at(now, rule) if packable else now,
            "request_digest": request_digest(new.operation, new.parameters),
            "packable": packable,
        }

    def get(self, entry_id: str) -> OutboxEntry | None:
        """The entry with this ID, or None."""
        with self._engine.connect() as connection:
            return self._one(connection, _T.c.id == entry_id)

    def states(self, entry_ids: Sequence[str]) -> dict[str, OutboxEntry]:
        """The entries with these IDs (those that exist) by ID, without their parameters (left empty)."""
        with self._engine.connect() as connection:
            rows = connection.execute(STATES_BY_ID, {"b_ids": list(entry_ids)}).mappings()
            return {row["id"]: entry_without_parameters(row) for row in rows}

    def find_by_tid(self, tid: str) -> OutboxEntry | None:
        """The entry that holds this SAP TID, or None."""
        with self._engine.connect() as connection:
            return self._one(connection, _T.c.tid == tid)

    def find_by_message_id(self, service: str, operation: str, message_id: str) -> OutboxEntry | None:
        """The entry of the client's message ``message_id`` to ``service``/``operation``, or None."""
        with self._engine.connect() as connection:
            return self._one(connection, self._message_clause(service, operation, message_id))

    def counts(self) -> dict[OutboxState, int]:
        """How many entries are in each state (every state, zeros included)."""
        result = dict.fromkeys(OutboxState, 0)
        with self._engine.connect() as connection:
            for state, count in connection.execute(select(_T.c.state, func.count()).group_by(_T.c.state)):
                result[OutboxState(state)] = count
        return result

    def undeliverable(self) -> dict[str, int]:
        """Per SAP alias outside :attr:`aliases`, how many entries wait to be delivered to it: this store's worker
        does not claim them (empty when it claims every alias)."""
        if self.aliases is None:
            return {}
        waiting = (
            select(_T.c.alias, func.count())
            .where(_T.c.state.in_(sorted(state.value for state in ACTIVE_STATES)), _T.c.alias.not_in(self.aliases))
            .group_by(_T.c.alias)
            .order_by(_T.c.alias)
        )
        with self._engine.connect() as connection:
            return {str(alias): int(count) for alias, count in connection.execute(waiting)}

    def oldest_unconfirmed(self) -> dict[str, datetime]:
        """Per alias, when the oldest entry that holds a TID SAP has not confirmed was accepted (see
        :func:`oldest_unconfirmed`); aliases without one are left out."""
        with self._engine.connect() as connection:
            return oldest_unconfirmed(connection)

    # -- claims and leases -----------------------------------------------------------------------------------

    def claim(self, owner: str, now: datetime, limit: int, lease: timedelta, *, look_first: bool = True) -> _Entries:
        """Lease up to ``limit`` due entries, oldest first, to ``owner`` until ``now + lease``; ``look_first``:
        read without the write lock whether anything is due at all before claiming (for a poll on a timer).

        Due: ACCEPTED, TID_ASSIGNED or EXECUTED, or RETRY_WAIT with ``next_attempt_at <= now``, whose
        lease is free or expired, and, for an entry of a qRFC queue, whose earlier entries in that queue
        are all CONFIRMED or CANCELLED. No entry is ever handed to two owners whose leases are both live.
        """
        return self._claim(owner, now, limit, lease, None, look_first=look_first)

    def claim_one(self, entry_id: str, owner: str, now: datetime, lease: timedelta) -> OutboxEntry | None:
        """Lease the entry ``entry_id`` like :meth:`claim` (e.g. to deliver it right after accepting it);
        None when it is not due or another owner's lease on it is live."""
        claimed = self._claim(owner, now, 1, lease, _T.c.id == entry_id)
        return claimed[0] if claimed else None

    def renew(self, entry_id: str, owner: str, until: datetime) -> None:
        """Extend ``owner``'s lease to ``until``; LeaseLost when ``owner`` no longer holds it."""
        _check_aware(until, "until")

        def work(connection: Connection) -> None:
            changed = connection.execute(
                update(_T).where(_T.c.id == entry_id, _T.c.lease_owner == owner).values(lease_until=until)
            ).rowcount
            if not changed:
                self._lease_lost(connection, entry_id, owner)

        write(self._engine, work)
        self._remember(entry_id, lease_until=until)

    def release(self, entry_id: str, owner: str) -> bool:
        """Give up ``owner``'s lease, leaving the state as it is; False when ``owner`` did not hold it."""
        statement = (
            update(_T).where(_T.c.id == entry_id, _T.c.lease_owner == owner).values(lease_owner=None, lease_until=None)
        )
        with self._known_lock:
            self._known.pop(entry_id, None)
        return bool(write(self._engine, lambda connection: connection.execute(statement).rowcount))

    def release_all(self, owner: str) -> int:
        """Give up every lease of ``owner`` (at shutdown); how many there were."""
        statement = update(_T).where(_T.c.lease_owner == owner).values(lease_owner=None, lease_until=None)
        with self._known_lock:
            self._known.clear()
        return int(write(self._engine, lambda connection: connection.execute(statement).rowcount))

    # -- a worker's state changes (under its lease) ----------------------------------------------------------

    def assign_tid(
        self,
        entry_id: str,
        owner: str,
        tid: str,
        *,
        renew: timedelta | None = None,
        log: _LogRows = (),
        member_log: MemberLog | None = None,
    ) -> OutboxEntry:
        """Commit the SAP TID (write-ahead: before the submit); the lease stays with ``owner`` (running
        ``renew`` from now, if given). ``log``: transaction-log rows written in the same transaction."""
        if len(tid) != TID_LENGTH or not tid.isascii() or not tid.isprintable() or " " in tid:
            raise ValueError(f"a TID has {TID_LENGTH} visible ASCII characters: {tid!r}")
        try:
            return self._transition(entry_id, owner, _S.TID_ASSIGNED, {"tid": tid}, keep_lease=True, renew=renew,
                                    log=log, member_log=member_log)  # fmt: skip
        except IntegrityError:
            holder = self.find_by_tid(tid)
            other = holder.id if holder else "?"
            message = f"TID {tid} is held by outbox entry {other} already; a unit needs a TID of its own"
            raise DuplicateTid(message) from None

    def mark_executed(
        self,
        entry_id: str,
        owner: str,
        *,
        confirm_sending: bool = False,
        renew: timedelta | None = None,
        log: _LogRows = (),
    ) -> OutboxEntry:
        """SAP ran the call (submit succeeded); the lease stays with ``owner`` for the confirm.

        With ``confirm_sending`` this also records that the confirm goes out next (see
        :meth:`mark_confirm_sent`): one transaction instead of two when the confirm follows at once."""
        values: dict[str, Any] = {"executed": True}
        if confirm_sending:
            values["confirm_sent"] = True
        return self._transition(entry_id, owner, _S.EXECUTED, values, keep_lease=True, renew=renew, log=log)

    def mark_confirm_sent(self, entry_id: str, owner: str) -> None:
        """Record, before the confirm goes out, that it goes out: from then on the unit is never submitted
        again (SAP may forget the TID at any moment). LeaseLost when ``owner`` no longer holds the entry."""

        def work(connection: Connection) -> None:
            changed = connection.execute(
                update(_T)
                .where(_T.c.id == entry_id, _T.c.lease_owner == owner, _T.c.executed.is_(True))
                .values(confirm_sent=True)
            ).rowcount
            if not changed:
                current = self._require(connection, entry_id)
                if current.lease_owner == owner:
                    raise InvalidTransition(f"outbox entry {entry_id} has not run in SAP: there is nothing to confirm")
                self._lease_lost(connection, entry_id, owner)

        write(self._engine, work)
        self._remember(entry_id, confirm_sent=True)

    def _remember(self, entry_id: str, **changed: Any) -> None:
        """Keep a known entry current after a write that changed ``changed`` but not its state."""
        with self._known_lock:
            known = self._known.get(entry_id)
            if known is not None:
                self._known[entry_id] = replace(known, **changed)

    def mark_confirmed(
        self,
        entry_id: str,
        owner: str,
        receipt: dict[str, Any],
        *,
        log: _LogRows = (),
        member_log: MemberLog | None = None,
    ) -> OutboxEntry:
        """The confirm succeeded: CONFIRMED, with ``receipt`` (JSON values); the lease ends. A packet's IDocs
        are CONFIRMED with it."""
        values = {"receipt": to_json(receipt), "next_attempt_at": None}
        return self._transition(entry_id, owner, _S.CONFIRMED, values, log=log, member_log=member_log)

    def mark_retry(
        self, entry_id: str, owner: str, error: str, key: str | None, next_attempt_at: datetime, *, log: _LogRows = ()
    ) -> OutboxEntry:
        """A temporary error: RETRY_WAIT until ``next_attempt_at``, keeping TID and phase; the lease ends.

        ``error`` is shown to operators: it must hold no secret."""
        _check_aware(next_attempt_at, "next_attempt_at")
        values = {"next_attempt_at": next_attempt_at, **_error(error, key)}
        return self._transition(entry_id, owner, _S.RETRY_WAIT, values, log=log)

    def mark_failed(self, entry_id: str, owner: str, error: str, key: str | None, *, log: _LogRows = ()) -> OutboxEntry:
        """A permanent error: FAILED (not after execution); the lease ends. ``error`` must hold no secret."""
        return self._transition(entry_id, owner, _S.FAILED, {"next_attempt_at": None, **_error(error, key)}, log=log)

    def refuse_packet(
        self,
        entry_id: str,
        owner: str,
        error: str,
        key: str | None,
        *,
        log: _LogRows = (),
        member_log: MemberLog | None = None,
    ) -> tuple[OutboxEntry, Gathered]:
        """SAP refused the packet ``entry_id`` (not in a qRFC queue): REFUSED (final), and its IDocs go on in two
        smaller packets, or, when it carried one, that one FAILS with ``error`` (see :func:`packets.split`); one
        transaction. Returns the packet as refused and the new packets with their IDocs."""
        now = self._clock()
        failed = _error(f"SAP refused it (alone in a packet): {error}", key)

        alone: list[OutboxEntry] = []

        def fail(member: PacketMember, connection: Connection, tid: str | None) -> None:
            connection.execute(
                update(_T)
                .where(_T.c.id == member.id, _T.c.state == _S.PACKED.value)
                .values(state=_S.FAILED.value, updated_at=now, next_attempt_at=None, **failed)
            )
            if member_log is not None:
                text = f"{key}: {error}"[:200]
                insert_rows(connection, member_log(member, _S.FAILED.value, tid, text, False))
            alone.append(self._require(connection, member.id))

        def work(connection: Connection) -> tuple[OutboxEntry, Gathered]:
            current = self._locked(connection, entry_id)
            if current.lease_owner != owner:
                self._lease_lost(connection, entry_id, owner)
            if not current.is_packet:
                raise InvalidTransition(f"outbox entry {entry_id} is no packet: it fails, it is not split")
            if current.queue is not None:
                raise InvalidTransition(
                    f"packet {entry_id} is in qRFC queue {current.queue}, where SAP keeps a refused call (SYSFAIL): "
                    "it fails with its TID, it is not split"
                )
            check_transition(current.state, _S.REFUSED, current.phase)
            changes = {"state": _S.REFUSED.value, "updated_at": now, "next_attempt_at": None, "lease_owner": None,
                       "lease_until": None, "attempts": current.attempts + 1, **_error(error, key)}  # fmt: skip
            SET_OWNED.execute(connection, {"b_id": entry_id, "b_owner": owner, **changes})
            insert_rows(connection, list(log))
            row = {"id": entry_id, "alias": current.alias, "function": current.function, "queue": current.queue,
                   "tid": current.tid}  # fmt: skip
            gathered = packets.split(connection, row, f"{key}: {error}", now, member_log,
                                     lambda member: fail(member, connection, current.tid))  # fmt: skip
            return replace(current, **entry_fields(changes)), gathered

        entry, gathered = write(self._engine, work)
        with self._known_lock:
            self._known.pop(entry_id, None)
        self._announce(alone)
        self._members_changed(alone)
        return entry, gathered

    def gather(self, now: datetime, member_log: MemberLog | None = None) -> Gathered:
        """Pack the IDocs waiting for aliases with a packet rule into packets (one transaction; see
        :func:`packets.gather`); nothing to do without rules or with fewer than two IDocs waiting."""
        _check_aware(now, "now")
        if not self.packets:
            return Gathered([], [])
        with self._engine.connect() as connection:
            if len(connection.execute(_PACKABLE_WAITING).all()) < 2:
                return Gathered([], [])
        return write(self._engine, lambda connection: packets.gather(connection, self.packets, now, member_log))

    # -- operator actions ------------------------------------------------------------------------------------

    def retry_now(self, entry_id: str) -> OutboxEntry:
        """FAILED or RETRY_WAIT -> RETRY_WAIT due now, same TID; EntryBusy while a worker's lease is live."""
        return self._operator(entry_id, _S.RETRY_WAIT, {_S.FAILED, _S.RETRY_WAIT})

    def cancel(self, entry_id: str) -> OutboxEntry:
        """CANCELLED: before a TID was assigned, or a FAILED entry (SAP refused it: nothing of it runs in
        SAP, and its qRFC queue goes on); EntryBusy while a worker's lease is live."""
        return self._operator(entry_id, _S.CANCELLED, {_S.ACCEPTED, _S.RETRY_WAIT, _S.FAILED})

    def stopped_queues(self) -> _Entries:
        """The FAILED entries of qRFC queues: each stops its queue (alias and queue) until an operator acts."""
        query = select(_T).where(_T.c.state == _S.FAILED.value, _T.c.queue.is_not(None))
        with self._engine.connect() as connection:
            rows = connection.execute(query.order_by(_T.c.alias, _T.c.queue, _T.c.queue_seq)).mappings()
            return [entry_from_row(row) for row in rows]

    def queue_blocker(self, entry: OutboxEntry) -> OutboxEntry | None:
        """The earliest entry of ``entry``'s qRFC queue that is not CONFIRMED or CANCELLED and comes before
        it (the queue's head, which ``entry`` waits for); None when ``entry`` is the head or has no queue."""
        if entry.queue is None:
            return None
        earlier = _T.alias()
        with self._engine.connect() as connection:
            row = (
                connection.execute(
                    select(_T)
                    .where(
                        _T.c.alias == entry.alias,
                        _T.c.queue == entry.queue,
                        _T.c.state.in_(_QUEUE_OPEN),
                        _T.c.id != entry.id,
                        comes_before(_T, earlier),
                        earlier.c.id == entry.id,
                    )
                    .order_by(_T.c.queue_seq.is_not(None), _T.c.queue_seq, _T.c.created_at, _T.c.id)
                    .limit(1)
                )
                .mappings()
                .first()
            )
        return None if row is None else entry_from_row(row)

    def purge(self, older_than: datetime) -> int:
        """Delete CONFIRMED, CANCELLED and REFUSED (packet) entries last changed before ``older_than`` (their
        message IDs are then forgotten). FAILED entries stay, however old: each waits for an operator's
        decision, and a FAILED one stops the rest of its qRFC queue."""
        _check_aware(older_than, "older_than")
        final = [_S.CONFIRMED.value, _S.CANCELLED.value, _S.REFUSED.value]
        member = _T.alias("member")
        named = exists().where(member.c.packet_id == _T.c.id, member.c.state == _S.FAILED.value)
        oldest = (
            select(_T.c.id)
            .where(_T.c.state.in_(final), _T.c.updated_at < older_than, not_(named))  # a FAILED IDoc names it
            .limit(_PURGE_BATCH)
        )
        return delete_in_batches(self._engine, delete(_T).where(_T.c.id.in_(oldest)), _PURGE_BATCH)

    def list(
        self,
        state: OutboxState | None = None,
        service: str | None = None,
        limit: int = 100,
        since: datetime | None = None,
        newest: bool = False,
    ) -> _Entries:
        """Up to ``limit`` entries, oldest (or ``newest``) first, filtered by state, service and creation time."""
        order = (_T.c.created_at.desc(), _T.c.id.desc()) if newest else (_T.c.created_at, _T.c.id)
        query = select(_T).order_by(*order).limit(limit)
        if state is not None:
            query = query.where(_T.c.state == OutboxState(state).value)
        if service is not None:
            query = query.where(_T.c.service == service)
        if since is not None:
            _check_aware(since, "since")
            query = query.where(_T.c.created_at >= since)
        with self._engine.connect() as connection:
            return [entry_from_row(row) for row in connection.execute(query).mappings()]

    # -- internals -------------------------------------------------------------------------------------------

    def _claim(
        self,
        owner: str,
        now: datetime,
        limit: int,
        lease: timedelta,
        extra: ColumnElement[bool] | None,
        *,
        look_first: bool = False,
    ) -> _Entries:
        _check_aware(now, "now")
        if lease <= timedelta(0):
            raise ValueError(f"a lease must be positive: {lease}")
        if limit <= 0:
            return []
        parameters: dict[str, Any] = {"b_now": now, "b_limit": limit}
        if self.aliases is not None:
            parameters["b_aliases"] = sorted(self.aliases)
        if extra is None:
            if look_first:  # without the write lock
                with self._engine.connect() as connection:
                    if connection.execute(self._any_due, parameters).first() is None:
                        return []
            claim = self._claim_due
        else:
            due = DUE if self.aliases is None else and_(DUE, OF_ALIASES)
            claim = select(_T.c.id).where(due, extra).limit(bindparam("b_limit")).with_for_update(skip_locked=True)

        def work(connection: Connection) -> _Entries:
            chosen = list(connection.execute(claim, parameters).scalars())
            if not chosen:
                return []
            connection.execute(LEASE_ENTRIES, {"b_ids": chosen, "b_owner": owner, "b_until": now + lease})
            return [entry_from_row(row) for row in connection.execute(ROWS_BY_ID, {"b_ids": chosen}).mappings()]

        claimed = write(self._engine, work)
        with self._known_lock:
            if len(self._known) > _KNOWN_LIMIT:
                self._known.clear()
            self._known.update((entry.id, entry) for entry in claimed)
        return claimed

    def _transition(
        self,
        entry_id: str,
        owner: str,
        new: OutboxState,
        values: dict[str, Any],
        *,
        keep_lease: bool = False,
        renew: timedelta | None = None,
        log: _LogRows = (),
        member_log: MemberLog | None = None,
    ) -> OutboxEntry:
        """Change the entry ``owner`` holds to ``new`` with ``values``, and insert the ``log`` rows, in one
        transaction. With ``keep_lease`` the lease stays (running ``renew`` from now, if given); otherwise
        it ends. The IDocs of a packet follow it (``member_log`` gives their log rows)."""

        with self._known_lock:
            known = self._known.get(entry_id)
        followers: list[OutboxEntry] = []

        def changes_from(current: OutboxEntry) -> dict[str, Any]:
            now = self._clock()
            # attempts: submits and confirms done, and tries that failed at any step (getting a TID too)
            counted = new is not _S.TID_ASSIGNED
            changes = {**values, "state": new.value, "updated_at": now}
            if new is _S.CONFIRMED and current.alias in self.follow_fate and current.tid is not None:
                changes["fate_due_at"] = fate_due(current.function, True, now)
            changes["attempts"] = current.attempts + (1 if counted else 0)
            if not keep_lease:
                changes.update(lease_owner=None, lease_until=None)
            elif renew is not None:
                changes["lease_until"] = now + renew
            return changes

        def work(connection: Connection) -> OutboxEntry:
            changed = 0
            if known is not None and known.lease_owner == owner and _allowed(known, new):  # unchanged since?
                current, changes = known, changes_from(known)
                unchanged = {"b_id": entry_id, "b_owner": owner, "b_state": known.state.value,
                             "b_updated_at": known.updated_at}  # fmt: skip
                changed = SET_UNCHANGED.execute(connection, {**unchanged, **changes})
            if not changed:  # read the row, and say what is wrong
                row = connection.execute(LOCK_STATE, {"b_id": entry_id}).mappings().first()
                if row is None:
                    raise EntryNotFound(f"no outbox entry {entry_id}")
                current = self._require(connection, entry_id) if known is None else replace(known, **entry_fields(row))
                if current.lease_owner != owner:
                    self._lease_lost(connection, entry_id, owner)
                check_transition(current.state, new, current.phase)
                changes = changes_from(current)
                SET_OWNED.execute(connection, {"b_id": entry_id, "b_owner": owner, **changes})
            now = changes["updated_at"]
            insert_rows(connection, list(log))
            if current.is_packet:
                tid = changes.get("tid", current.tid)
                followers[:] = packets.follow(connection, entry_id, new, tid, now, member_log)
            return replace(current, **entry_fields(changes))

        try:
            entry = write(self._engine, work)
        except (LeaseLost, EntryNotFound):
            with self._known_lock:
                self._known.pop(entry_id, None)
            raise
        with self._known_lock:
            if keep_lease:
                self._known[entry_id] = entry  # the next state change can start from it
            else:
                self._known.pop(entry_id, None)
        self._announce([entry, *followers])
        if followers:
            self._members_changed(followers)
        return entry

    def _announce(self, entries: Sequence[OutboxEntry]) -> None:
        """Announce ``entries`` (committed) to the other instances (PostgreSQL only; see ``announcer``)."""
        if self._announcer is not None:
            self._announcer(entries)

    def _members_changed(self, entries: Sequence[OutboxEntry]) -> None:
        """The IDoc entries ``entries`` changed with their packet, to what they hold (committed); a hook for
        subclasses. (Gathering IDocs into packets changes nothing a waiting request needs to know.)"""

    def _operator(self, entry_id: str, new: OutboxState, sources: set[OutboxState]) -> OutboxEntry:
        now = self._clock()

        def work(connection: Connection) -> OutboxEntry:
            current = self._locked(connection, entry_id)
            if current.lease_owner is not None and current.lease_until is not None and current.lease_until > now:
                raise EntryBusy(
                    f"outbox entry {entry_id} is being worked on by {current.lease_owner} (lease until "
                    f"{current.lease_until.isoformat()}); try again later"
                )
            if current.state == _S.PACKED:
                raise InvalidTransition(
                    f"outbox entry {entry_id} travels in IDoc packet {current.packet_id}: act on the packet"
                )
            if current.state not in sources:
                raise InvalidTransition(f"an operator cannot change an outbox entry in {current.state} to {new}")
            check_transition(current.state, new, current.phase)
            due = now if new == _S.RETRY_WAIT else None
            values: dict[str, Any] = {"state": new.value, "updated_at": now, "next_attempt_at": due,
                                      "lease_owner": None, "lease_until": None}  # fmt: skip
            if current.packet_id is not None and new == _S.RETRY_WAIT:  # failed alone in a packet: now it goes alone
                values |= {"packet_id": None, "packet_position": None, "packet_tid": None}
            connection.execute(update(_T).where(_T.c.id == entry_id).values(**values))
            if current.is_packet and new == _S.CANCELLED:  # its IDocs are given up with it
                inside = packets.members(connection, entry_id)
                connection.execute(
                    update(_T)
                    .where(_T.c.packet_id == entry_id, _T.c.state == _S.PACKED.value)
                    .values(state=_S.CANCELLED.value, updated_at=now, next_attempt_at=None)
                )
                followers[:] = [self._require(connection, member.id) for member in inside]
            return self._require(connection, entry_id)

        followers: list[OutboxEntry] = []
        entry = write(self._engine, work)
        self._announce([entry, *followers])
        if followers:
            self._members_changed(followers)
        return entry

    def _next_queue_seq(self, connection: Connection, alias: str, queue: str) -> int:
        """The next sequence number of the queue; on PostgreSQL first wait for the queue's other accepts."""
        if connection.dialect.name == "postgresql":
            digest = hashlib.sha256(f"{_QUEUE_LOCK}{alias}\x00{queue}".encode()).digest()
            key = int.from_bytes(digest[:8], "big", signed=True)
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})
        highest = connection.execute(
            select(func.max(_T.c.queue_seq)).where(_T.c.alias == alias, _T.c.queue == queue)
        ).scalar_one()
        return 1 if highest is None else int(highest) + 1

    @staticmethod
    def _message_clause(service: str, operation: str, message_id: str) -> ColumnElement[bool]:
        return and_(_T.c.service == service, _T.c.operation == operation, _T.c.message_id == message_id)

    @staticmethod
    def _by_message_ids(connection: Connection, service: str, operation: str,
                        message_ids: Sequence[str | None]) -> dict[str, OutboxEntry]:  # fmt: skip
        """The entries of ``service``/``operation`` with any of these message IDs, by message ID."""
        query = select(_T).where(_T.c.service == service, _T.c.operation == operation,
                                 _T.c.message_id.in_(message_ids))  # fmt: skip
        entries = (entry_from_row(row) for row in connection.execute(query).mappings())
        return {entry.message_id: entry for entry in entries if entry.message_id is not None}

    @staticmethod
    def _one(connection: Connection, where: ColumnElement[bool]) -> OutboxEntry | None:
        row = connection.execute(select(_T).where(where).order_by(_T.c.created_at).limit(1)).mappings().first()
        return None if row is None else entry_from_row(row)

    def _require(self, connection: Connection, entry_id: str) -> OutboxEntry:
        entry = self._one(connection, _T.c.id == entry_id)
        if entry is None:
            raise EntryNotFound(f"no outbox entry {entry_id}")
        return entry

    def _locked(self, connection: Connection, entry_id: str) -> OutboxEntry:
        row = connection.execute(select(_T).where(_T.c.id == entry_id).with_for_update()).mappings().first()
        if row is None:
            raise EntryNotFound(f"no outbox entry {entry_id}")
        return entry_from_row(row)

    def _lease_lost(self, connection: Connection, entry_id: str, owner: str) -> NoReturn:
        holder = self._require(connection, entry_id).lease_owner
        raise LeaseLost(f"{owner} no longer holds the lease of outbox entry {entry_id} (held by {holder or 'nobody'})")


def _allowed(entry: OutboxEntry, new: OutboxState) -> bool:
    """Whether ``entry`` may change to ``new`` (else the caller reads the row and raises the right error)."""
    try:
        check_transition(entry.state, new, entry.phase)
    except InvalidTransition:
        return False
    return True


def _same_request(existing: OutboxEntry, digest: str) -> Accepted:
    """``existing`` as the answer to a request sent again, if it is the same request."""
    if existing.request_digest is not None and existing.request_digest != digest:
        raise MessageIdReused(existing)
    return Accepted(existing, False)


def _check_aware(value: datetime, name: str) -> None:
    if value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware: {value!r}")


def _error(error: str, key: str | None) -> dict[str, Any]:
    """The error columns: NUL and lone surrogates become U+FFFD, the text is cut to MAX_ERROR_LENGTH."""
    text = "".join("\ufffd" if char == "\x00" or 0xD800 <= ord(char) <= 0xDFFF else char for char in error)
    return {"last_error": text[:MAX_ERROR_LENGTH], "last_error_key": key}


def _entry_from_values(row: Mapping[str, Any]) -> OutboxEntry:
    """The entry a new row holds, from the values inserted (no read back)."""
    return entry_from_row({**_NEW_ROW_DEFAULTS, **row})


_NEW_ROW_DEFAULTS: dict[str, Any] = dict.fromkeys(
    (
        *("tid", "last_error", "last_error_key", "lease_owner", "lease_until", "receipt", "queue_seq"),
        *("packet_id", "packet_position", "packet_size", "packet_tid"),
    )
) | {"confirm_sent": False}
_PACKABLE_WAITING = (
    select(_T.c.id).where(_T.c.state == _S.ACCEPTED.value, _T.c.packable.is_(True), _T.c.packet_id.is_(None)).limit(2)
)
