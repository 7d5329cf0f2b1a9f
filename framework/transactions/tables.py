"""The ``trfc_outbox`` table (migrations 0002 and 0003), its entries, and the conversion between the two."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import BigInteger, Boolean, Column, Index, Integer, String, Table, Text, false
from sqlmodel import Field, SQLModel

from idocbridge.tlog.tables import UTCDateTime
from idocbridge.transactions.states import FINAL_STATES, OutboxState, Phase, resume_phase
from idocbridge.values import json_default, loads

__all__ = [
    "COLUMNS_BUT_PARAMETERS",
    "NewEntry",
    "OutboxEntry",
    "TrfcOutboxRow",
    "decode_parameters",
    "encode_parameters",
    "entry_fields",
    "entry_from_row",
    "entry_without_parameters",
    "outbox_table",
    "to_json",
]

TID_LENGTH = 24
"""A tRFC TID has 24 characters (SAP-FACTS §3)."""


class TrfcOutboxRow(SQLModel, table=True):
    """One row of ``trfc_outbox``: one tRFC call to deliver exactly once."""

    __tablename__ = "trfc_outbox"
    __table_args__ = (
        Index("ix_trfc_outbox_claim", "state", "next_attempt_at"),
        Index("ux_trfc_outbox_tid", "tid", unique=True),
        Index("ux_trfc_outbox_message", "service", "operation", "message_id", unique=True),
        Index("ix_trfc_outbox_created_at", "created_at"),
        Index("ix_trfc_outbox_transaction_id", "transaction_id"),
        Index("ux_trfc_outbox_queue_seq", "alias", "queue", "queue_seq", unique=True),
        Index("ix_trfc_outbox_packet", "packet_id"),
        Index("ix_trfc_outbox_fate_due", "fate_due_at"),
    )

    id: str = Field(sa_column=Column(String(32), primary_key=True))
    service: str = Field(sa_column=Column(String(255), nullable=False))
    operation: str = Field(sa_column=Column(String(255), nullable=False))
    alias: str = Field(sa_column=Column(String(255), nullable=False))
    function: str = Field(sa_column=Column(String(255), nullable=False))
    queue: str | None = Field(default=None, sa_column=Column(String(255), nullable=True))
    parameters: str = Field(sa_column=Column(Text(), nullable=False))
    message_id: str | None = Field(default=None, sa_column=Column(String(255), nullable=True))
    transaction_id: str = Field(sa_column=Column(String(40), nullable=False))
    tid: str | None = Field(default=None, sa_column=Column(String(TID_LENGTH), nullable=True))
    state: str = Field(sa_column=Column(String(20), nullable=False))
    executed: bool = Field(sa_column=Column(Boolean(), nullable=False))
    attempts: int = Field(sa_column=Column(Integer(), nullable=False))
    last_error: str | None = Field(default=None, sa_column=Column(Text(), nullable=True))
    last_error_key: str | None = Field(default=None, sa_column=Column(String(255), nullable=True))
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    updated_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    next_attempt_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    lease_owner: str | None = Field(default=None, sa_column=Column(String(255), nullable=True))
    lease_until: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    receipt: str | None = Field(default=None, sa_column=Column(Text(), nullable=True))
    request_digest: str | None = Field(default=None, sa_column=Column(String(64), nullable=True))
    """SHA-256 (hex) of operation and parameters: a MessageId sent again must come with the same request."""
    queue_seq: int | None = Field(default=None, sa_column=Column(BigInteger(), nullable=True))
    """Acceptance order within the entry's qRFC queue (per alias and queue); None without a queue."""
    confirm_sent: bool = Field(default=False, sa_column=Column(Boolean(), nullable=False, server_default=false()))
    """A confirm went out for the TID (SAP may have forgotten it): the unit is never submitted again."""
    packable: bool = Field(default=False, sa_column=Column(Boolean(), nullable=False, server_default=false()))
    """One IDoc for an alias that gathers packets: it may join a packet while it is ACCEPTED."""
    packet_id: str | None = Field(default=None, sa_column=Column(String(32), nullable=True))
    """On a PACKED IDoc entry: the packet entry that delivers it."""
    packet_position: int | None = Field(default=None, sa_column=Column(Integer(), nullable=True))
    """On a PACKED IDoc entry: its place in its packet, from 1."""
    packet_size: int | None = Field(default=None, sa_column=Column(Integer(), nullable=True))
    """On a packet entry: how many IDocs it carries (a packet entry is one that has a size)."""
    packet_tid: str | None = Field(default=None, sa_column=Column(String(TID_LENGTH), nullable=True))
    """On a PACKED IDoc entry: the TID of its packet, once the packet has one."""
    fate_due_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    """On a CONFIRMED entry with a TID of its own: when to ask SAP which IDocs the TID created (None: not to ask,
    or asked). See :mod:`idocbridge.transactions.fate`."""


outbox_table = cast(Table, TrfcOutboxRow.__table__)  # type: ignore[attr-defined]
"""The Core table, for typed SQLAlchemy statements."""


@dataclass(frozen=True, slots=True)
class NewEntry:
    """A tRFC call to put into the outbox (:meth:`OutboxStore.accept`).

    ``parameters`` are the function's import and table parameters as RFC values (decimals and bytes
    included: :func:`encode_parameters` stores them);
    ``message_id`` is the client's ID of the message: one (service, operation, message_id) is one entry.
    """

    service: str
    operation: str
    alias: str
    function: str
    parameters: Mapping[str, Any]
    transaction_id: str
    queue: str | None = None
    message_id: str | None = None
    keys: tuple[tuple[str, str], ...] = ()
    """Business keys (name, value) to record with the entry, e.g. ("MESTYP", "ORDERS"); see
    :mod:`idocbridge.transactions.keys`."""


@dataclass(frozen=True, slots=True)
class OutboxEntry:
    """One outbox entry as stored; times are UTC."""

    id: str
    service: str
    operation: str
    alias: str
    function: str
    queue: str | None
    parameters: dict[str, Any]
    message_id: str | None
    transaction_id: str
    tid: str | None
    state: OutboxState
    executed: bool
    attempts: int
    last_error: str | None
    last_error_key: str | None
    created_at: datetime
    updated_at: datetime
    next_attempt_at: datetime | None
    lease_owner: str | None
    lease_until: datetime | None
    receipt: dict[str, Any] | None
    request_digest: str | None = None
    queue_seq: int | None = None
    confirm_sent: bool = False
    packable: bool = False
    packet_id: str | None = None
    packet_position: int | None = None
    packet_size: int | None = None
    packet_tid: str | None = None
    fate_due_at: datetime | None = None

    @property
    def phase(self) -> Phase:
        """What a worker does next: get a TID, submit with the stored TID, or only confirm."""
        return resume_phase(self.tid, self.executed)

    @property
    def is_final(self) -> bool:
        """CONFIRMED, FAILED, CANCELLED or REFUSED."""
        return self.state in FINAL_STATES

    @property
    def is_packet(self) -> bool:
        """Whether this entry is an IDoc packet, delivering the entries gathered into it."""
        return self.packet_size is not None

    @property
    def delivery_tid(self) -> str | None:
        """The TID this entry's call went (or goes) to SAP under: its own, or its packet's."""
        return self.tid or self.packet_tid


def to_json(value: dict[str, Any]) -> str:
    """``value`` as JSON text that every database stores unchanged (ASCII, so no NUL or lone surrogate)."""
    return json.dumps(value, ensure_ascii=True, separators=(",", ":"), allow_nan=False)


def encode_parameters(parameters: Mapping[str, Any], *, sort_keys: bool = False) -> str:
    """The one codec of outbox parameters: RFC values as JSON text (decimals and bytes tagged as in
    :mod:`idocbridge.values`), ASCII so that every database stores it unchanged; ``sort_keys`` gives
    the canonical text (for digests)."""
    return json.dumps(
        parameters, default=json_default, ensure_ascii=True, separators=(",", ":"), allow_nan=False, sort_keys=sort_keys
    )


def decode_parameters(text: str) -> dict[str, Any]:
    """The RFC values :func:`encode_parameters` wrote, decimals and bytes restored."""
    value: dict[str, Any] = loads(text)
    return value


def entry_from_row(row: Mapping[Any, Any]) -> OutboxEntry:
    """The entry a ``trfc_outbox`` row holds."""
    return OutboxEntry(**entry_fields(row))


COLUMNS_BUT_PARAMETERS = tuple(column for column in outbox_table.c if column.name != "parameters")
"""The columns an entry is read by when its parameters are not needed (see :func:`entry_without_parameters`)."""


def entry_without_parameters(row: Mapping[Any, Any]) -> OutboxEntry:
    """The entry of a row read by :data:`COLUMNS_BUT_PARAMETERS`, its parameters empty."""
    return OutboxEntry(**entry_fields({**row, "parameters": "{}"}))


def entry_fields(columns: Mapping[Any, Any]) -> dict[str, Any]:
    """Some or all columns of a ``trfc_outbox`` row as :class:`OutboxEntry` field values (the parameters and
    the receipt decoded, the state an :class:`OutboxState`, the flags booleans)."""
    return {name: _DECODE[name](value) if name in _DECODE else value for name, value in columns.items()}


def _receipt(text: str | None) -> dict[str, Any] | None:
    return None if text is None else cast(dict[str, Any], json.loads(text))


_DECODE: dict[str, Any] = {
    "parameters": decode_parameters,
    "state": OutboxState,
    "executed": bool,
    "confirm_sent": bool,
    "packable": bool,
    "receipt": _receipt,
}
