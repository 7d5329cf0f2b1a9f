"""Retention: deleting old transaction-log entries in short batches, and counting them first."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Engine, delete, func, select

from idocbridge.db.writer import delete_in_batches
from idocbridge.tlog.tables import transaction_log_table

__all__ = ["count_older", "purge", "purge_log"]

_t = transaction_log_table


def purge_log(engine: Engine, older_than: datetime, batch_size: int = 10_000) -> int:
    """Delete entries logged before ``older_than`` (timezone-aware); the number deleted.

    Deletes at most ``batch_size`` rows per transaction (oldest IDs first), on the process's database
    writer, so neither SQLite's write lock nor PostgreSQL's row locks are held long while the service
    keeps writing.
    """
    cutoff = _aware(older_than)
    if batch_size < 1:
        raise ValueError(f"the batch size is >= 1, not {batch_size}")
    oldest = select(_t.c.id).where(_t.c.at < cutoff).order_by(_t.c.id).limit(batch_size)
    return delete_in_batches(engine, delete(_t).where(_t.c.id.in_(oldest)), batch_size)


def purge(engine: Engine, older_than: datetime, *, chunk: int = 5000) -> int:
    """:func:`purge_log` under its older name (``chunk`` rows per transaction)."""
    return purge_log(engine, older_than, chunk)


def count_older(engine: Engine, older_than: datetime) -> int:
    """How many entries :func:`purge_log` would delete now."""
    cutoff = _aware(older_than)
    with engine.connect() as connection:
        return int(connection.execute(select(func.count()).select_from(_t).where(_t.c.at < cutoff)).scalar_one())


def _aware(value: datetime) -> datetime:
    if value.utcoffset() is None:
        raise ValueError(f"older_than must be timezone-aware, not {value!r}")
    return value
