"""Log entries as CSV: a header row, then one row per entry with every field, times in ISO 8601."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from datetime import tzinfo

from idocbridge.tlog.entry import LogEntry

__all__ = ["CSV_FIELDS", "csv_header", "csv_rows"]

CSV_FIELDS: tuple[str, ...] = (
    "at",
    "transaction_id",
    "request_id",
    "component",
    "elapsed_ms",
    "state",
    "domain",
    "log_type",
    "param1",
    "param2",
    "correlation_id",
    "service",
    "operation",
)
"""The columns, in the order of :class:`LogEntry`'s fields."""


def csv_header() -> str:
    """The header row, with its line end."""
    return _write([list(CSV_FIELDS)])


def csv_rows(entries: Iterable[LogEntry], tz: tzinfo) -> str:
    """One row per entry (its time in ``tz``; None values as empty cells), with line ends."""
    rows = []
    for entry in entries:
        values = {**entry.as_dict(), "at": entry.at.astimezone(tz).isoformat()}
        rows.append(["" if values[name] is None else str(values[name]) for name in CSV_FIELDS])
    return _write(rows)


def _write(rows: list[list[str]]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    return buffer.getvalue()
