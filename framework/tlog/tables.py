"""The transaction-log table (created by migration 0001) and the conversion between rows and entries."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    DateTime,
    Dialect,
    Index,
    Integer,
    String,
    Table,
    Text,
    TypeDecorator,
)
from sqlalchemy.engine import RowMapping
from sqlmodel import Field, SQLModel

from idocbridge.db.prepared import Prepared
from idocbridge.tlog.entry import LogEntry

__all__ = [
    "TransactionLogRow",
    "UTCDateTime",
    "entry_from_row",
    "insert_rows",
    "row_from_entry",
    "transaction_log_table",
]


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware datetimes stored in UTC (SQLite keeps no offset: the text sorts as the time does)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.utcoffset() is None:
            raise ValueError(f"a naive datetime cannot be stored: {value!r}")
        utc = value.astimezone(UTC)
        return utc.replace(tzinfo=None) if dialect.name == "sqlite" else utc

    def bind_processor(self, dialect: Dialect) -> Callable[[Any], Any] | None:
        """On SQLite, the text SQLAlchemy's DATETIME stores (``YYYY-MM-DD HH:MM:SS.ffffff``), made by the C
        ``isoformat`` instead of a format string filled per value: every write of the outbox binds several."""
        if dialect.name != "sqlite":
            return super().bind_processor(dialect)

        def to_text(value: datetime | None) -> str | None:
            utc = self.process_bind_param(value, dialect)
            return None if utc is None else utc.isoformat(" ", "microseconds")

        return to_text

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class TransactionLogRow(SQLModel, table=True):
    """One row of ``transaction_log``; ``id`` orders entries logged in the same instant."""

    __tablename__ = "transaction_log"
    __table_args__ = (
        Index("ix_transaction_log_transaction_id", "transaction_id"),
        Index("ix_transaction_log_correlation_id", "correlation_id"),
        Index("ix_transaction_log_at", "at", "id"),
        # Every filter of the log, in the order it is read (migration 0005).
        Index("ix_transaction_log_state_at", "state", "at", "id"),
        Index("ix_transaction_log_domain_at", "domain", "at", "id"),
        Index("ix_transaction_log_log_type_at", "log_type", "at", "id"),
        Index("ix_transaction_log_service_at", "service", "at", "id"),
        Index("ix_transaction_log_operation_at", "operation", "at", "id"),
    )

    id: int | None = Field(
        default=None,
        sa_column=Column(BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True),
    )
    at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    transaction_id: str = Field(sa_column=Column(String(40), nullable=False))
    request_id: int = Field(sa_column=Column(BigInteger(), nullable=False))
    component: str = Field(sa_column=Column(String(255), nullable=False))
    elapsed_ms: int = Field(sa_column=Column(BigInteger(), nullable=False))
    state: str = Field(sa_column=Column(String(5), nullable=False))
    domain: str = Field(sa_column=Column(String(40), nullable=False))
    log_type: str = Field(sa_column=Column(String(40), nullable=False))
    param1: str = Field(default="", sa_column=Column(Text(), nullable=False, server_default=""))
    param2: str = Field(default="", sa_column=Column(Text(), nullable=False, server_default=""))
    correlation_id: str | None = Field(default=None, sa_column=Column(String(40), nullable=True))
    service: str | None = Field(default=None, sa_column=Column(String(255), nullable=True))
    operation: str | None = Field(default=None, sa_column=Column(String(255), nullable=True))


transaction_log_table = cast(Table, TransactionLogRow.__table__)  # type: ignore[attr-defined]
"""The Core table, for typed SQLAlchemy statements."""


def _text(value: str) -> str:
    """``value`` as every database can store it: NUL (PostgreSQL) and lone surrogates become U+FFFD."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        value = "".join("\ufffd" if 0xD800 <= ord(char) <= 0xDFFF else char for char in value)
    return value.replace("\x00", "\ufffd")


def row_from_entry(entry: LogEntry) -> dict[str, Any]:
    """The column values of ``entry`` (in the parameters, NUL and lone surrogates become U+FFFD)."""
    return {
        "at": entry.at,
        "transaction_id": entry.transaction_id,
        "request_id": entry.request_id,
        "component": entry.component,
        "elapsed_ms": entry.elapsed_ms,
        "state": entry.state,
        "domain": entry.domain,
        "log_type": entry.log_type,
        "param1": _text(entry.param1),
        "param2": _text(entry.param2),
        "correlation_id": entry.correlation_id,
        "service": entry.service,
        "operation": entry.operation,
    }


def entry_from_row(row: RowMapping) -> LogEntry:
    """The entry a ``transaction_log`` row holds."""
    return LogEntry(
        at=row["at"],
        transaction_id=row["transaction_id"],
        request_id=row["request_id"],
        component=row["component"],
        elapsed_ms=row["elapsed_ms"],
        state=row["state"],
        domain=row["domain"],
        log_type=row["log_type"],
        param1=row["param1"],
        param2=row["param2"],
        correlation_id=row["correlation_id"],
        service=row["service"],
        operation=row["operation"],
    )


_INSERT = Prepared(transaction_log_table.insert())


def insert_rows(connection: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert ``rows`` (:func:`row_from_entry`) in the caller's transaction; nothing for none."""
    if rows:
        _INSERT.execute_many(connection, rows)
