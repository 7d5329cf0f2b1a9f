"""IDoc packets: many IDocs in one tRFC unit, as SAP's guidance asks (10-200 IDocs per call).

An alias with a :class:`PacketRule` gathers the IDoc entries accepted for it: entries of one function
and one qRFC queue, each carrying exactly one IDoc, are packed into a packet of up to ``size`` IDocs.
The packet is an outbox entry of its own (``packet_size`` set): one TID, the IDocs' control records
and data records one after another, all or nothing in SAP. Its IDocs are PACKED, each with the
packet's ID and its position there; when the packet is CONFIRMED they are too, in the same transaction.

Gathering waits for no one by default: a worker packs what is waiting when it polls, so packets grow
with the load and a lone IDoc goes alone at once. ``wait`` holds a new IDoc back up to that long for
others to join it.

SAP checks a packet as a whole: when it refuses one (an ABAP exception), nothing of it was posted.
The packet is then REFUSED and its IDocs split in two halves, each a new packet with a new TID
(bisection): the good IDocs go on, and after at most log2(size) refusals the bad one is alone and
FAILS with SAP's error, as it would have without packets. Not in a qRFC queue: there SAP keeps the
refused call at the head of the queue (SYSFAIL), so the packet FAILS with its TID, as an entry would.

Within a packet each IDoc's DOCNUM is its position (16 digits): that is how SAP tells the data records
of one IDoc from those of the next (it assigns IDoc numbers of its own on arrival).
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from sqlalchemy import Connection, and_, bindparam, func, or_, select, update

from idocbridge.tlog.entry import new_transaction_id
from idocbridge.tlog.tables import insert_rows
from idocbridge.transactions.states import QUEUE_OPEN_STATES, OutboxState
from idocbridge.transactions.tables import (
    COLUMNS_BUT_PARAMETERS,
    OutboxEntry,
    decode_parameters,
    encode_parameters,
    entry_without_parameters,
    outbox_table,
)

__all__ = [
    "MAX_PACKET_SIZE",
    "PACKABLE_FUNCTIONS",
    "PACKET_OPERATION",
    "Gathered",
    "MemberLog",
    "PacketMember",
    "PacketRule",
    "due_at",
    "follow",
    "gather",
    "is_packable",
    "members",
    "packet_parameters",
    "split",
]

_T = outbox_table
_S = OutboxState
_QUEUE_OPEN = tuple(sorted(state.value for state in QUEUE_OPEN_STATES))
_PACKETS_PER_GATHER = 10
"""At most this many packets per group (alias, function, queue) and gathering."""
_MOST_PER_GROUP = 5000
"""And at most this many IDocs per group and gathering (well within every driver's limit of parameters)."""
PACKET_OPERATION = "(IDoc packet)"
"""The operation a packet entry names (its IDocs name their own)."""

PACKABLE_FUNCTIONS: Mapping[str, tuple[str, str]] = {
    "IDOC_INBOUND_ASYNCHRONOUS": ("IDOC_CONTROL_REC_40", "IDOC_DATA_REC_40"),
    "IDOC_INBOUND_IN_QUEUE": ("IDOC_CONTROL_REC_40", "IDOC_DATA_QUEUE"),
}
"""The function modules whose calls can carry many IDocs: their control-record and data-record tables."""
_SCALARS = frozenset({"QNAME"})
"""Parameters besides the two tables a packable call may have; they must be the same in the whole packet."""


MAX_PACKET_SIZE = 1000
"""The most IDocs a packet holds (as the model's ``idocPackets.size`` allows)."""


@dataclass(frozen=True, slots=True)
class PacketRule:
    """How an alias gathers IDocs into packets."""

    size: int = 100
    """At most this many IDocs per packet, 2 to :data:`MAX_PACKET_SIZE` (SAP: 10-200 for most IDoc types, 1-10
    for very large ones); a packet of one IDoc would be an IDoc alone, with a second entry."""
    wait: float = 0.0
    """Seconds a new IDoc may wait for others to join its packet; 0: pack only what is already waiting."""

    def __post_init__(self) -> None:
        if not 2 <= self.size <= MAX_PACKET_SIZE:
            raise ValueError(f"a packet holds 2 to {MAX_PACKET_SIZE} IDocs, not {self.size}")
        if self.wait < 0:
            raise ValueError(f"a packet's wait cannot be negative: {self.wait}")


class PacketMember(NamedTuple):
    """An IDoc entry in a packet, as its log entries need it."""

    id: str
    transaction_id: str
    service: str
    operation: str
    position: int


MemberLog = Callable[[PacketMember, str, str | None, str, bool], list[dict[str, Any]]]
"""Log rows telling that a packet's IDoc reached a state: (member, state, TID, text, ok) -> rows."""


def is_packable(function: str, parameters: Mapping[str, Any]) -> bool:
    """Whether a call of ``function`` with ``parameters`` is one IDoc that a packet can carry."""
    tables = PACKABLE_FUNCTIONS.get(function)
    if tables is None or set(parameters) - {*tables, *_SCALARS}:
        return False
    controls, data = parameters.get(tables[0]), parameters.get(tables[1], [])
    return (
        isinstance(controls, list)
        and len(controls) == 1
        and isinstance(controls[0], dict)
        and (isinstance(data, list) and all(isinstance(record, dict) for record in data))
    )


def _scalars(parameters: Mapping[str, Any]) -> tuple[tuple[str, Any], ...]:
    return tuple(sorted((name, parameters[name]) for name in _SCALARS if name in parameters))


def packet_parameters(function: str, members: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The parameters of one call carrying the IDocs of ``members`` (each :func:`is_packable`), in order:
    their control records, then their data records, each IDoc's DOCNUM its position (16 digits)."""
    control_table, data_table = PACKABLE_FUNCTIONS[function]
    controls: list[dict[str, Any]] = []
    data: list[dict[str, Any]] = []
    for position, parameters in enumerate(members, 1):
        docnum = f"{position:016d}"
        controls.append({**parameters[control_table][0], "DOCNUM": docnum})
        data.extend({**record, "DOCNUM": docnum} for record in parameters.get(data_table) or ())
    packet: dict[str, Any] = dict(_scalars(members[0])) if members else {}
    packet[control_table] = controls
    packet[data_table] = data
    return packet


# -- in the outbox's transactions ----------------------------------------------------------------------------

_CANDIDATE = and_(
    _T.c.state == _S.ACCEPTED.value,
    _T.c.packable.is_(True),
    _T.c.packet_id.is_(None),
    or_(_T.c.lease_owner.is_(None), _T.c.lease_until <= bindparam("b_now")),
)
"""An IDoc that may join a packet now: ACCEPTED, packable, in none yet, and no worker's lease on it."""
_GROUPS = (
    select(_T.c.alias, _T.c.function, _T.c.queue)
    .where(_CANDIDATE)
    .group_by(_T.c.alias, _T.c.function, _T.c.queue)
    .having(func.count() >= 2)
)
"""The (alias, function, queue) groups with at least two IDocs that may join a packet."""
_OLDEST_IN_GROUP = (
    select(_T.c.id, _T.c.next_attempt_at)
    .where(
        _CANDIDATE,
        _T.c.alias == bindparam("b_alias"),
        _T.c.function == bindparam("b_function"),
        _T.c.queue.is_(None),
    )
    .order_by(_T.c.created_at, _T.c.id)
    .limit(bindparam("b_limit"))
    .with_for_update(skip_locked=True)
)
"""The oldest IDocs of a group without a queue that may join a packet, locked (PostgreSQL: others skipped)."""
_QUEUE_FRONT = (
    select(_T.c.id)
    .where(
        _T.c.alias == bindparam("b_alias"),
        _T.c.queue == bindparam("b_queue"),
        _T.c.state.in_(_QUEUE_OPEN),
        _T.c.packet_size.is_(None),
    )
    .order_by(_T.c.queue_seq.is_not(None), _T.c.queue_seq, _T.c.created_at, _T.c.id)
    .limit(bindparam("b_limit"))
)
"""The first open entries of a queue, in queue order."""
_LOCK_CANDIDATES = (
    select(_T.c.id, _T.c.next_attempt_at)
    .where(_CANDIDATE, _T.c.function == bindparam("b_function"), _T.c.id.in_(bindparam("b_ids", expanding=True)))
    .with_for_update(skip_locked=True)
)
"""Those of ``b_ids`` that may join a packet of ``b_function``, locked."""
_MEMBER_ROWS = select(
    _T.c.id, _T.c.service, _T.c.operation, _T.c.transaction_id, _T.c.parameters, _T.c.created_at
).where(_T.c.id.in_(bindparam("b_ids", expanding=True)))
_MEMBERS = (
    select(_T.c.id, _T.c.transaction_id, _T.c.service, _T.c.operation, _T.c.packet_position)
    .where(_T.c.packet_id == bindparam("b_packet"), _T.c.state == _S.PACKED.value)
    .order_by(_T.c.packet_position)
)
_PACKED_ROWS = (
    select(*COLUMNS_BUT_PARAMETERS)
    .where(_T.c.packet_id == bindparam("b_packet"), _T.c.state == _S.PACKED.value)
    .order_by(_T.c.packet_position)
)
"""The IDocs still PACKED in a packet, without their parameters (the packet carries them)."""
_PACK = (
    update(_T)
    .where(_T.c.id == bindparam("b_id"))
    .values(
        state=_S.PACKED.value,
        packet_id=bindparam("b_packet"),
        packet_position=bindparam("b_position"),
        packet_tid=None,
        updated_at=bindparam("b_now"),
        lease_owner=None,
        lease_until=None,
    )
)
_MEMBERS_TID = (
    update(_T)
    .where(_T.c.packet_id == bindparam("b_packet"), _T.c.state == _S.PACKED.value)
    .values(packet_tid=bindparam("b_tid"), updated_at=bindparam("b_now"))
)
_MEMBERS_CONFIRMED = (
    update(_T)
    .where(_T.c.packet_id == bindparam("b_packet"), _T.c.state == _S.PACKED.value)
    .values(
        state=_S.CONFIRMED.value, packet_tid=bindparam("b_tid"), updated_at=bindparam("b_now"), next_attempt_at=None
    )
)


@dataclass(frozen=True, slots=True)
class Gathered:
    """What one gathering did: the packets it made and the IDoc entries it packed."""

    packets: list[str]
    members: list[str]


def gather(connection: Connection, rules: Mapping[str, PacketRule], now: datetime, log: MemberLog | None) -> Gathered:
    """Pack the waiting IDocs of aliases with a rule: full packets at once, the rest once its oldest is due;
    per group (alias, function, queue) at most ``_PACKETS_PER_GATHER`` packets, so that no group waits
    behind another."""
    gathered = Gathered([], [])
    for alias, function, queue in connection.execute(_GROUPS, {"b_now": now}).all():
        rule = rules.get(alias)
        if rule is None:
            continue
        target = _Target(alias, function, queue)
        limit = min(rule.size * _PACKETS_PER_GATHER, _MOST_PER_GROUP)
        if queue is None:
            waiting = connection.execute(
                _OLDEST_IN_GROUP, {"b_now": now, "b_alias": alias, "b_function": function, "b_limit": limit}
            ).all()
        else:
            waiting = _from_queue_head(connection, target, now, limit)
        for chunk in _chunks(waiting, rule.size, now):
            _pack(connection, target, [row.id for row in chunk], now, log, gathered)
    return gathered


class _Target(NamedTuple):
    alias: str
    function: str
    queue: str | None


def _from_queue_head(connection: Connection, target: _Target, now: datetime, limit: int) -> list[Any]:
    """The IDocs of a queue that may join a packet and follow each other from its head on (a packet keeps
    queue order): none when the head is anything else (in flight, waiting to retry, FAILED)."""
    front = connection.execute(_QUEUE_FRONT, {"b_alias": target.alias, "b_queue": target.queue, "b_limit": limit})
    ids = list(front.scalars())
    parameters = {"b_now": now, "b_function": target.function, "b_ids": ids}
    locked = {row.id: row for row in connection.execute(_LOCK_CANDIDATES, parameters)}
    return list(itertools.takewhile(lambda row: row is not None, (locked.get(entry_id) for entry_id in ids)))


def _chunks(waiting: Sequence[Any], size: int, now: datetime) -> Iterable[Sequence[Any]]:
    """Packets of ``size`` from the front; a smaller rest once its oldest IDoc is due; never a packet of 1."""
    for start in range(0, len(waiting), size):
        chunk = waiting[start : start + size]
        if len(chunk) < 2:
            return
        if len(chunk) < size and chunk[0].next_attempt_at is not None and chunk[0].next_attempt_at > now:
            return
        yield chunk


def _pack(
    connection: Connection,
    target: _Target,
    ids: Sequence[str],
    now: datetime,
    log: MemberLog | None,
    gathered: Gathered,
    *,
    smallest: int = 2,
) -> None:
    """Make one packet of the entries ``ids`` (in this order) for ``target``; the entries whose other
    parameters (QNAME) differ from the first's are left out (in a queue: the packet ends before the first of
    them); nothing when fewer than ``smallest`` remain."""
    rows = {row.id: row for row in connection.execute(_MEMBER_ROWS, {"b_ids": list(ids)})}
    calls = [(entry_id, decode_parameters(rows[entry_id].parameters)) for entry_id in ids]
    scalars = _scalars(calls[0][1])
    if target.queue is None:  # the others stay waiting for a packet of their own
        calls = [(entry_id, parameters) for entry_id, parameters in calls if _scalars(parameters) == scalars]
    else:  # in a queue an IDoc left out would be overtaken: the packet ends before it
        calls = list(itertools.takewhile(lambda call: _scalars(call[1]) == scalars, calls))
    if len(calls) < smallest:
        return
    packet_id = uuid.uuid4().hex
    head = rows[calls[0][0]]
    connection.execute(
        _T.insert(),
        {
            "id": packet_id,
            "service": head.service,
            "operation": PACKET_OPERATION,
            "alias": target.alias,
            "function": target.function,
            "queue": target.queue,
            "parameters": encode_parameters(packet_parameters(target.function, [p for _, p in calls])),
            "transaction_id": new_transaction_id(),
            "state": _S.ACCEPTED.value,
            "executed": False,
            "attempts": 0,
            "created_at": min(rows[entry_id].created_at for entry_id, _ in calls),  # claimed in its IDocs' turn
            "updated_at": now,
            "next_attempt_at": now,
            "packet_size": len(calls),
        },
    )
    positions = [
        {"b_id": entry_id, "b_packet": packet_id, "b_position": position, "b_now": now}
        for position, (entry_id, _) in enumerate(calls, 1)
    ]
    connection.execute(_PACK, positions)
    if log is not None:
        logged: list[dict[str, Any]] = []
        for position, (entry_id, _) in enumerate(calls, 1):
            row = rows[entry_id]
            member = PacketMember(entry_id, row.transaction_id, row.service, row.operation, position)
            text = f"packet {packet_id} position {position} of {len(calls)}"
            logged += log(member, _S.PACKED.value, None, text, True)
        insert_rows(connection, logged)
    gathered.packets.append(packet_id)
    gathered.members.extend(entry_id for entry_id, _ in calls)


def members(connection: Connection, packet_id: str) -> list[PacketMember]:
    """The IDocs still PACKED in the packet ``packet_id``, in position order."""
    return [PacketMember(*row) for row in connection.execute(_MEMBERS, {"b_packet": packet_id})]


def follow(
    connection: Connection, packet_id: str, new: OutboxState, tid: str | None, now: datetime, log: MemberLog | None
) -> list[OutboxEntry]:
    """Let the IDocs of packet ``packet_id`` follow its change to ``new`` (in its transaction): they learn its
    TID when it gets one, and are CONFIRMED with it. Returns the entries that changed, as changed, for those
    who wait for them: without their parameters (not read: the packet carries them)."""
    if new not in (_S.TID_ASSIGNED, _S.CONFIRMED) or tid is None:
        return []
    packed = connection.execute(_PACKED_ROWS, {"b_packet": packet_id}).mappings()
    inside = [entry_without_parameters(row) for row in packed]
    if not inside:
        return []
    statement = _MEMBERS_CONFIRMED if new is _S.CONFIRMED else _MEMBERS_TID
    connection.execute(statement, {"b_packet": packet_id, "b_tid": tid, "b_now": now})
    changes: dict[str, Any] = {"packet_tid": tid, "updated_at": now}
    if new is _S.CONFIRMED:
        changes |= {"state": _S.CONFIRMED, "next_attempt_at": None}
        if log is not None:
            rows: list[dict[str, Any]] = []
            for entry in inside:
                member = PacketMember(entry.id, entry.transaction_id, entry.service, entry.operation,
                                      entry.packet_position or 0)  # fmt: skip
                text = f"packet {packet_id} position {member.position} of {len(inside)}"
                rows += log(member, _S.CONFIRMED.value, tid, text, True)
            insert_rows(connection, rows)
    return [replace(entry, **changes) for entry in inside]


def split(
    connection: Connection,
    packet: Mapping[str, Any],
    reason: str,
    now: datetime,
    log: MemberLog | None,
    fail: Callable[[PacketMember], None],
) -> Gathered:
    """Let the IDocs of the refused ``packet`` (its row) go on in two halves, each a new packet of its own
    TID; an IDoc that was alone is failed by ``fail`` instead. Returns the new packets and their IDocs."""
    inside = members(connection, packet["id"])
    gathered = Gathered([], [])
    if len(inside) == 1:
        fail(inside[0])
        gathered.members.append(inside[0].id)
        return gathered
    if log is not None:
        text = f"packet {packet['id']} refused by SAP ({reason})"[:180] + "; goes on in a smaller packet"
        tid = packet.get("tid")  # the refused packet's: its IDocs are found under it
        insert_rows(connection, [row for member in inside for row in log(member, _S.PACKED.value, tid, text, False)])
    target = _Target(packet["alias"], packet["function"], packet["queue"])
    middle = (len(inside) + 1) // 2
    for half in (inside[:middle], inside[middle:]):  # a half of one IDoc is a packet too: it tells which one
        _pack(connection, target, [member.id for member in half], now, log, gathered, smallest=1)
    return gathered


def due_at(now: datetime, rule: PacketRule | None) -> datetime:
    """When a newly accepted IDoc becomes due: at once, or after its rule's wait."""
    return now if rule is None or rule.wait <= 0 else now + timedelta(seconds=rule.wait)
