"""``idocbridge log``: review the transaction log of a service, as a table, classic lines or JSON lines."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, tzinfo
from enum import StrEnum
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import typer
from rich.table import Table
from rich.text import Text
from sqlalchemy import Engine, inspect
from sqlalchemy.exc import SQLAlchemyError

from idocbridge.console import err, out
from idocbridge.db import DatabaseError, DatabaseNotFoundError, create_engine_for, database_url_for_state, display_url
from idocbridge.tlog.classic import format_classic
from idocbridge.tlog.entry import LogEntry
from idocbridge.tlog.queries import query
from idocbridge.tlog.tables import transaction_log_table

__all__ = ["log_app", "parse_time"]

log_app = typer.Typer(help="Review the transaction log: requests, SAP calls, retries and pool waits.")


class OutputFormat(StrEnum):
    table = "table"
    classic = "classic"
    json = "json"


class Status(StrEnum):
    OK = "OK"
    ERROR = "ERROR"


_RELATIVE = re.compile(r"(\d+)\s*([smhdw])")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_time(text: str, zone: tzinfo | None = None, now: datetime | None = None) -> datetime:
    """A point in time: ISO 8601 (``2015-12-08``, ``2015-12-08 16:47``, ``...+01:00``) or an age
    (``90s``, ``15m``, ``2h``, ``7d``, ``1w`` ago). A time without offset is in ``zone`` (None: local)."""
    relative = _RELATIVE.fullmatch(text.strip())
    if relative:
        amount, unit = relative.groups()
        return (now or datetime.now(UTC)) - timedelta(**{_UNITS[unit]: int(amount)})
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(f"not a time: {text!r}; say 2015-12-08, 2015-12-08T16:47:24+01:00 or an age like 2h") from None
    if value.utcoffset() is not None:
        return value
    return value.replace(tzinfo=zone) if zone is not None else value.astimezone()


def _zone(name: str) -> tzinfo | None:
    if name.lower() == "local":
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {name!r}; say local, UTC or a name like Europe/Berlin") from None


def _open(state: Path | None, db: str | None) -> Engine:
    if (state is None) == (db is None):
        err.print("error: say where the log is: --state DIR (the service's state folder) or --db URL")
        raise typer.Exit(2)
    url = database_url_for_state(state) if state is not None else str(db)
    try:
        engine = create_engine_for(url, must_exist=True)
    except DatabaseNotFoundError as exc:
        folder = f"is {state} the service's state folder? " if state is not None else ""
        err.print(f"error: {exc}; {folder}A service creates its database when it starts.", markup=False)
        raise typer.Exit(1) from None
    except DatabaseError as exc:
        err.print(f"error: {exc}", markup=False)
        raise typer.Exit(1) from None
    try:
        has_log = inspect(engine).has_table(transaction_log_table.name)
    except SQLAlchemyError as exc:
        engine.dispose()
        err.print(f"error: cannot open {display_url(url)}: {_reason(exc)}", markup=False)
        raise typer.Exit(1) from None
    if not has_log:
        engine.dispose()
        err.print(
            f"error: {display_url(url)} holds no transaction log (a service creates it when it starts)", markup=False
        )
        raise typer.Exit(1)
    return engine


def _reason(exc: SQLAlchemyError) -> str:
    original = getattr(exc, "orig", None) or exc
    return str(original).strip().splitlines()[0] if str(original).strip() else type(original).__name__


_OPTIONAL_COLUMNS: tuple[tuple[str, Callable[[LogEntry], str]], ...] = (
    ("param 1", lambda entry: entry.param1),
    ("param 2", lambda entry: entry.param2),
    ("correlation", lambda entry: entry.correlation_id or ""),
)
"""Columns of the table shown only when some entry of the transaction has a value."""


def _print_tables(entries: list[LogEntry], zone: tzinfo | None) -> None:
    """One table per transaction (in order of first appearance), as the reference's Analyzer groups them."""
    groups: dict[str, list[LogEntry]] = {}
    for entry in entries:
        groups.setdefault(entry.transaction_id, []).append(entry)
    for number, (transaction_id, group) in enumerate(groups.items()):
        if number:
            out.print()
        out.print(_title(transaction_id, group, zone), soft_wrap=True)
        out.print(_table(group, zone))


def _title(transaction_id: str, group: list[LogEntry], zone: tzinfo | None) -> Text:
    first = group[0]
    title = Text.assemble(("transaction ", "dim"), (transaction_id, "bold"), ("  ", ""))
    title.append(f"{first.at.astimezone(zone):%Y-%m-%d %z}")
    requests = sorted({entry.request_id for entry in group})
    title.append(f"  request {', '.join(map(str, requests))}")
    where = ".".join(part for part in (first.service, first.operation) if part)
    if where:
        title.append(f"  {where}")
    return title


def _table(group: list[LogEntry], zone: tzinfo | None) -> Table:
    days = {entry.at.astimezone(zone).date() for entry in group}
    time_format = "%H:%M:%S" if len(days) == 1 else "%Y-%m-%d %H:%M:%S"
    optional = [(name, value) for name, value in _OPTIONAL_COLUMNS if any(value(entry) for entry in group)]
    table = Table(show_edge=False, pad_edge=False, header_style="bold", box=None)
    table.add_column("time", no_wrap=True)
    table.add_column("component", overflow="fold")
    table.add_column("ms", justify="right", no_wrap=True)
    for name in ("state", "domain", "log type"):
        table.add_column(name, no_wrap=True)
    for name, _ in optional:
        table.add_column(name, overflow="fold")
    for entry in group:
        table.add_row(
            f"{entry.at.astimezone(zone):{time_format}}",
            Text(entry.component),
            str(entry.elapsed_ms),
            Text(entry.state, style="bold red" if entry.state == "ERROR" else ""),
            Text(entry.domain),
            Text(entry.log_type),
            *(Text(value(entry)) for _, value in optional),
        )
    return table


@log_app.callback(invoke_without_command=True)
def show(
    state: Annotated[
        Path | None, typer.Option("--state", "-d", help="The service's state folder (runtime.db).")
    ] = None,
    db: Annotated[
        str | None, typer.Option("--db", help="Database URL: sqlite:///FILE or postgresql+psycopg://...")
    ] = None,
    transaction_id: Annotated[str | None, typer.Option("--transaction-id", "-t", help="One request.")] = None,
    correlation_id: Annotated[str | None, typer.Option("--correlation-id", "-c", help="An SAP TID.")] = None,
    service: Annotated[str | None, typer.Option(help="Service name.")] = None,
    operation: Annotated[str | None, typer.Option(help="Operation name.")] = None,
    status: Annotated[Status | None, typer.Option(help="OK or ERROR.", case_sensitive=False)] = None,
    domain: Annotated[str | None, typer.Option(help="INTERFACE, SAPRFC, ...")] = None,
    log_type: Annotated[str | None, typer.Option("--type", help="SERVICE_ENTER, IO_EXIT, ...")] = None,
    since: Annotated[str | None, typer.Option(help="From this time on: 2015-12-08T16:00, or an age: 2h.")] = None,
    until: Annotated[str | None, typer.Option(help="Before this time (same forms as --since).")] = None,
    limit: Annotated[int, typer.Option(min=1, help="At most this many entries.")] = 1000,
    newest: Annotated[bool, typer.Option("--newest", help="With --limit: the newest entries, not the oldest.")] = False,
    output: Annotated[OutputFormat, typer.Option("--format", "-f", help="table, classic or json (lines).")] = (
        OutputFormat.table
    ),
    timezone: Annotated[str, typer.Option("--timezone", help="Show times in: local, UTC, Europe/Berlin...")] = "local",
) -> None:
    """Show transaction-log entries, oldest first, filtered by every option given."""
    try:
        zone = _zone(timezone)
        start = parse_time(since, zone) if since is not None else None
        end = parse_time(until, zone) if until is not None else None
    except ValueError as exc:
        err.print(f"error: {exc}", markup=False)
        raise typer.Exit(2) from None
    engine = _open(state, db)
    try:
        entries = query(
            engine,
            transaction_id=transaction_id,
            correlation_id=correlation_id,
            service=service,
            operation=operation,
            state=None if status is None else status.value,
            domain=domain,
            log_type=log_type,
            since=start,
            until=end,
            limit=limit,
            newest=newest,
        )
    except SQLAlchemyError as exc:
        err.print(f"error: cannot read the transaction log: {_reason(exc)}", markup=False)
        raise typer.Exit(1) from None
    finally:
        engine.dispose()
    if output is OutputFormat.classic:
        for entry in entries:
            typer.echo(format_classic(entry, zone))
    elif output is OutputFormat.json:
        for entry in entries:
            typer.echo(json.dumps({**entry.as_dict(), "at": entry.at.astimezone(zone).isoformat()}))
    elif entries:
        _print_tables(entries, zone)
    else:
        err.print("no entries match")
    if len(entries) == limit:
        err.print(
            f"showing the {'newest' if newest else 'oldest'} {limit} entries; raise --limit or narrow the filters"
        )
