"""The tables of business keys and of the IDocs' fate in SAP (migration 0007).

- ``business_keys``: what identifies an accepted call to people, one row per key and value;
- ``sap_idocs``: the IDocs SAP created for a delivered TID, their latest status, and when to read it again;
- ``sap_idoc_status``: each IDoc's status records as SAP keeps them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import cast

from sqlalchemy import BigInteger, Boolean, Column, Index, Integer, String, Table, Text, false
from sqlmodel import Field, SQLModel

from idocbridge.tlog.tables import UTCDateTime

__all__ = [
    "BusinessKeyRow",
    "SapIDoc",
    "SapIDocRow",
    "SapIDocStatusRow",
    "SapStatus",
    "business_keys_table",
    "sap_idoc_status_table",
    "sap_idocs_table",
]

KEY_VALUE_LENGTH = 255
"""Longest key value kept (longer ones are cut: a key is for finding, not for storing the document)."""


def _id_column() -> Column[int]:
    return Column(BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True)


class BusinessKeyRow(SQLModel, table=True):
    """One key of an accepted call: ``name`` (``MessageId``, ``MESTYP``, ``E1EDK01-BELNR`` ...) and its value."""

    __tablename__ = "business_keys"
    __table_args__ = (
        Index("ix_business_keys_value", "value"),
        Index("ix_business_keys_name_value", "name", "value"),
        Index("ix_business_keys_outbox_id", "outbox_id", "name", "value"),  # covering: an entry's keys
        Index("ix_business_keys_transaction_id", "transaction_id"),
        Index("ix_business_keys_at", "at"),
    )

    id: int | None = Field(default=None, sa_column=_id_column())
    outbox_id: str | None = Field(default=None, sa_column=Column(String(32), nullable=True))
    transaction_id: str = Field(sa_column=Column(String(40), nullable=False))
    name: str = Field(sa_column=Column(String(64), nullable=False))
    value: str = Field(sa_column=Column(String(KEY_VALUE_LENGTH), nullable=False))
    at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class SapIDocRow(SQLModel, table=True):
    """One IDoc SAP created for a delivered TID: its number there and its latest status."""

    __tablename__ = "sap_idocs"
    __table_args__ = (
        Index("ux_sap_idocs_docnum", "alias", "docnum", unique=True),
        Index("ix_sap_idocs_tid", "tid"),
        Index("ix_sap_idocs_outbox_id", "outbox_id", "status"),  # covering: an entry's statuses
        Index("ix_sap_idocs_docnum_only", "docnum"),
        Index("ix_sap_idocs_due", "next_read_at"),
        Index("ix_sap_idocs_created_at", "created_at"),  # retention
        Index("ix_sap_idocs_status", "status", "outbox_id"),  # covering: the entries with a status
    )

    id: int | None = Field(default=None, sa_column=_id_column())
    alias: str = Field(sa_column=Column(String(255), nullable=False))
    docnum: str = Field(sa_column=Column(String(16), nullable=False))
    tid: str = Field(sa_column=Column(String(24), nullable=False))
    outbox_id: str = Field(sa_column=Column(String(32), nullable=False))
    """The outbox entry of the IDoc: the one accepted for it (a packet's IDoc: its own entry, by position)."""
    status: str | None = Field(default=None, sa_column=Column(String(2), nullable=True))
    status_text: str | None = Field(default=None, sa_column=Column(Text(), nullable=True))
    status_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    final: bool = Field(default=False, sa_column=Column(Boolean(), nullable=False, server_default=false()))
    reads: int = Field(default=0, sa_column=Column(Integer(), nullable=False, server_default="0"))
    next_read_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    updated_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class SapIDocStatusRow(SQLModel, table=True):
    """One status record of an IDoc in SAP (EDIDS): its counter, status, text, when and by whom."""

    __tablename__ = "sap_idoc_status"
    __table_args__ = (Index("ux_sap_idoc_status", "alias", "docnum", "counter", unique=True),)

    id: int | None = Field(default=None, sa_column=_id_column())
    alias: str = Field(sa_column=Column(String(255), nullable=False))
    docnum: str = Field(sa_column=Column(String(16), nullable=False))
    counter: int = Field(sa_column=Column(Integer(), nullable=False))
    status: str = Field(sa_column=Column(String(2), nullable=False))
    text: str = Field(default="", sa_column=Column(Text(), nullable=False, server_default=""))
    logged_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    uname: str = Field(default="", sa_column=Column(String(12), nullable=False, server_default=""))


business_keys_table = cast(Table, BusinessKeyRow.__table__)  # type: ignore[attr-defined]
sap_idocs_table = cast(Table, SapIDocRow.__table__)  # type: ignore[attr-defined]
sap_idoc_status_table = cast(Table, SapIDocStatusRow.__table__)  # type: ignore[attr-defined]


@dataclass(frozen=True, slots=True)
class SapStatus:
    """One status record of an IDoc in SAP."""

    counter: int
    status: str
    text: str
    logged_at: datetime | None
    uname: str = ""


@dataclass(frozen=True, slots=True)
class SapIDoc:
    """An IDoc in SAP created by a delivered TID, as last read, with its status history (oldest first)."""

    alias: str
    docnum: str
    tid: str
    outbox_id: str
    status: str | None
    status_text: str | None
    status_at: datetime | None
    final: bool
    reads: int
    next_read_at: datetime | None
    created_at: datetime | None = None
    history: tuple[SapStatus, ...] = ()
