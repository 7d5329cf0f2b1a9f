"""``idocbridge log``: review the transaction log (table, classic lines, JSON lines or CSV; ``--follow``),
trace one request (``log trace ID``) and trim it (``log purge``)."""

from __future__ import annotations

import json
import re
import signal
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, tzinfo
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import typer
from rich.text import Text

from idocbridge.cli.columns import Cell, Column, render_columns
from idocbridge.cli.console import err, out

if TYPE_CHECKING:
    from sqlalchemy import Engine, Select

    from idocbridge.tlog.entry import LogEntry
    from idocbridge.tlog.follow import LogFollower

# The transaction log (SQLAlchemy), the database and the simulator's client are imported inside the
# commands that read them: `idocbridge --help` builds these commands too, and must not load them.

__all__ = ["log_app", "parse_time"]

log_app = typer.Typer(
    help="Review the transaction log: requests, SAP calls, retries and pool waits.\n\n"
    "Without a command: list entries (idocbridge log --state DIR [filters]).",
)

StateOption = Annotated[Path | None, typer.Option("--state", "-d", help="The service's state folder (runtime.db).")]
DbOption = Annotated[str | None, typer.Option("--db", help="Database URL: sqlite:///FILE or postgresql+psycopg://...")]
TimezoneOption = Annotated[
    str | None,
    typer.Option(
        "--timezone", help="Show times in: local, UTC, Europe/Berlin... (default: local; CSV, JSON trace: UTC)"
    ),
]


class OutputFormat(StrEnum):
    table = "table"
    classic = "classic"
    json = "json"
    csv = "csv"


class TraceFormat(StrEnum):
    rich = "rich"
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
    # imported here: --help must not load SQLAlchemy
    from idocbridge.cli.db_options import open_runtime_database  # noqa: PLC0415
    from idocbridge.tlog.tables import transaction_log_table  # noqa: PLC0415

    return open_runtime_database(state, db, transaction_log_table.name, "transaction log")


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
        out.print(_table(group, zone), soft_wrap=True)


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


def _table(group: list[LogEntry], zone: tzinfo | None) -> Text:
    days = {entry.at.astimezone(zone).date() for entry in group}
    time_format = "%H:%M:%S" if len(days) == 1 else "%Y-%m-%d %H:%M:%S"
    optional = [(name, value) for name, value in _OPTIONAL_COLUMNS if any(value(entry) for entry in group)]
    columns = [
        Column("time"),
        Column("component", fold=True),
        Column("ms", justify="right"),
        Column("state"),
        Column("domain"),
        Column("log type"),
        *(Column(name, fold=True) for name, _ in optional),
    ]
    rows: list[list[Cell]] = [
        [
            f"{entry.at.astimezone(zone):{time_format}}",
            entry.component,
            str(entry.elapsed_ms),
            (entry.state, "bold red") if entry.state == "ERROR" else entry.state,
            entry.domain,
            entry.log_type,
            *(value(entry) for _, value in optional),
        ]
        for entry in group
    ]
    return render_columns(columns, rows, out.width)


@log_app.callback(invoke_without_command=True)
def show(
    ctx: typer.Context,
    state: StateOption = None,
    db: DbOption = None,
    transaction_id: Annotated[str | None, typer.Option("--transaction-id", "-t", help="One request.")] = None,
    correlation_id: Annotated[str | None, typer.Option("--correlation-id", "-c", help="An SAP TID.")] = None,
    key: Annotated[
        str | None,
        typer.Option(
            "--key",
            "-k",
            help="The requests with this business key: VALUE, or NAME=VALUE (MessageId=..., MESTYP=ORDERS, "
            "E1EDK01-BELNR=4711).",
        ),
    ] = None,
    service: Annotated[str | None, typer.Option(help="Service name.")] = None,
    operation: Annotated[str | None, typer.Option(help="Operation name.")] = None,
    status: Annotated[Status | None, typer.Option(help="OK or ERROR.", case_sensitive=False)] = None,
    domain: Annotated[str | None, typer.Option(help="INTERFACE, SAPRFC, ...")] = None,
    log_type: Annotated[str | None, typer.Option("--type", help="SERVICE_ENTER, IO_EXIT, ...")] = None,
    since: Annotated[str | None, typer.Option(help="From this time on: 2015-12-08T16:00, or an age: 2h.")] = None,
    until: Annotated[str | None, typer.Option(help="Before this time (same forms as --since).")] = None,
    limit: Annotated[int, typer.Option(min=1, help="At most this many entries.")] = 1000,
    newest: Annotated[
        bool, typer.Option("--newest/--oldest", help="The newest --limit entries (the default), or the oldest.")
    ] = True,
    output: Annotated[OutputFormat, typer.Option("--format", "-f", help="table, classic, json (lines) or csv.")] = (
        OutputFormat.table
    ),
    timezone: TimezoneOption = None,
    follow: Annotated[
        bool, typer.Option("--follow", "-F", help="Then keep printing new matching entries until Ctrl-C.")
    ] = False,
    interval: Annotated[float, typer.Option(min=0.05, help="With --follow: seconds between polls.")] = 1.0,
) -> None:
    """Show transaction-log entries filtered by every option given: the newest --limit of them, in the order
    they were written (--oldest: the first ones)."""
    if ctx.invoked_subcommand is not None:
        ctx.obj = {"state": state, "db": db}
        return
    # imported here: --help must not load SQLAlchemy
    from sqlalchemy.exc import SQLAlchemyError  # noqa: PLC0415

    from idocbridge.cli.db_options import reason  # noqa: PLC0415
    from idocbridge.tlog.csv_format import csv_header  # noqa: PLC0415
    from idocbridge.tlog.follow import LogFollower  # noqa: PLC0415
    from idocbridge.tlog.queries import LogFilter  # noqa: PLC0415

    if key is not None and not key.strip():
        err.print("error: --key needs a value: VALUE or NAME=VALUE")
        raise typer.Exit(2)
    default_zone = "UTC" if output is OutputFormat.csv else "local"
    try:
        zone = _zone(timezone or default_zone)
        start = parse_time(since, zone) if since is not None else None
        end = parse_time(until, zone) if until is not None else None
    except ValueError as exc:
        err.print(f"error: {exc}", markup=False)
        raise typer.Exit(2) from None
    where = LogFilter(
        transaction_id=transaction_id,
        correlation_id=correlation_id,
        service=service,
        operation=operation,
        state=None if status is None else status.value,
        domain=domain,
        log_type=log_type,
        since=start,
        until=end,
        transactions=None if key is None else _with_key(key),
    )
    engine = _open(state, db)
    try:
        follower = LogFollower(engine, where)
        try:
            entries = follower.start(limit=limit, newest=newest)
        except SQLAlchemyError as exc:
            err.print(f"error: cannot read the transaction log: {reason(exc)}", markup=False)
            raise typer.Exit(1) from None
        if output is OutputFormat.csv:
            typer.echo(csv_header(), nl=False)
        if entries:
            _print(entries, output, zone)
        elif output is OutputFormat.table and not follow:
            err.print("no entries match")
        if len(entries) == limit:
            err.print(
                f"showing the {'newest' if newest else 'oldest'} {limit} entries; raise --limit or narrow the filters"
            )
        if follow:
            _follow(follower, output, zone, interval)
    finally:
        engine.dispose()


def _with_key(key: str) -> Select[Any]:
    """The transaction IDs of the requests with the business key ``key``, as a subquery."""
    # imported here: only --key needs the outbox's tables
    from idocbridge.transactions.search import transactions_with_key  # noqa: PLC0415

    return transactions_with_key(key)


def _print(entries: list[LogEntry], output: OutputFormat, zone: tzinfo | None) -> None:
    # imported here: --help must not load SQLAlchemy
    from idocbridge.tlog.classic import format_classic  # noqa: PLC0415
    from idocbridge.tlog.csv_format import csv_rows  # noqa: PLC0415

    if output is OutputFormat.classic:
        for entry in entries:
            typer.echo(format_classic(entry, zone))
    elif output is OutputFormat.json:
        for entry in entries:
            typer.echo(json.dumps({**entry.as_dict(), "at": entry.at.astimezone(zone).isoformat()}))
    elif output is OutputFormat.csv:
        typer.echo(csv_rows(entries, zone or _local()), nl=False)
    else:
        _print_tables(entries, zone)
        out.print()


def _local() -> tzinfo:
    local = datetime.now().astimezone().tzinfo
    assert local is not None
    return local


def _follow(follower: LogFollower, output: OutputFormat, zone: tzinfo | None, interval: float) -> None:
    """Poll for new entries until Ctrl-C (or SIGTERM); a database error is reported and polling goes on.

    The signal only sets a flag, so that it never lands inside a database read, where it could be
    taken for a database error and polling would go on.
    """
    # imported here: --help must not load SQLAlchemy
    from sqlalchemy.exc import SQLAlchemyError  # noqa: PLC0415

    from idocbridge.cli.db_options import reason  # noqa: PLC0415

    stop = threading.Event()
    previous = {signum: signal.signal(signum, lambda *_: stop.set()) for signum in (signal.SIGINT, signal.SIGTERM)}
    reported = False
    try:
        while not stop.wait(interval):
            try:
                entries = follower.poll()
            except SQLAlchemyError as exc:
                if not reported:
                    err.print(f"warning: cannot read the transaction log: {reason(exc)}; retrying", markup=False)
                reported = True
                continue
            reported = False
            if entries:
                _print(entries, output, zone)
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def _source(ctx: typer.Context, state: Path | None, db: str | None) -> Engine:
    """The database named on the subcommand, or else before it (``idocbridge log --state DIR trace ID``)."""
    parent = ctx.obj if isinstance(ctx.obj, dict) else {}
    if state is None and db is None:
        state, db = parent.get("state"), parent.get("db")
    return _open(state, db)


@log_app.command("trace")
def trace_command(
    ctx: typer.Context,
    identifier: Annotated[str, typer.Argument(metavar="ID", help="A transaction ID or a correlation ID (SAP TID).")],
    state: StateOption = None,
    db: DbOption = None,
    output: Annotated[TraceFormat, typer.Option("--format", "-f", help="rich (default) or json.")] = (TraceFormat.rich),
    timezone: TimezoneOption = None,
    simulator: Annotated[
        Path | None,
        typer.Option("--simulator", help="State folder of a running SAP simulator: ask it for the IDoc numbers."),
    ] = None,
) -> None:
    """Tell one request's story: SOAP call, TIDs, SAP calls, retries, outbox states, errors, IDoc number."""
    # imported here: --help must not load SQLAlchemy or the simulator
    from sqlalchemy.exc import SQLAlchemyError  # noqa: PLC0415

    from idocbridge.cli.db_options import reason  # noqa: PLC0415
    from idocbridge.cli.trace_view import render_trace  # noqa: PLC0415
    from idocbridge.sapsim.control_client import ControlError, SimulatorControl  # noqa: PLC0415
    from idocbridge.tlog.trace import add_simulator_idocs, trace  # noqa: PLC0415

    try:
        zone = _zone(timezone or ("UTC" if output is TraceFormat.json else "local"))
    except ValueError as exc:
        err.print(f"error: {exc}", markup=False)
        raise typer.Exit(2) from None
    engine = _source(ctx, state, db)
    try:
        stories = trace(engine, identifier.strip())
    except SQLAlchemyError as exc:
        err.print(f"error: cannot read the transaction log: {reason(exc)}", markup=False)
        raise typer.Exit(1) from None
    finally:
        engine.dispose()
    if not stories:
        err.print(f"error: no transaction ID or correlation ID (SAP TID) {identifier!r} in the log", markup=False)
        raise typer.Exit(1)
    if simulator is not None:
        try:
            add_simulator_idocs(stories, SimulatorControl.for_state(simulator))
        except ControlError as exc:
            err.print(f"error: {exc}", markup=False)
            raise typer.Exit(1) from None
    if output is TraceFormat.json:
        story_list = [story.as_dict(zone or _local()) for story in stories]
        typer.echo(json.dumps({"id": identifier, "transactions": story_list}, indent=2))
        return
    if len(stories) > 1:
        out.print(f"{identifier} belongs to {len(stories)} transactions", markup=False)
    for number, story in enumerate(stories):
        if number or len(stories) > 1:
            out.print()
        out.print(render_trace(story, zone))


@log_app.command("purge")
def purge_command(
    ctx: typer.Context,
    older_than: Annotated[
        str, typer.Option("--older-than", help="Delete entries older than an age (30d, 12h, 2w) or a time.")
    ],
    state: StateOption = None,
    db: DbOption = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Only count what would be deleted.")] = False,
    batch_size: Annotated[int, typer.Option(min=1, help="Rows deleted per transaction.")] = 10_000,
    timezone: TimezoneOption = None,
) -> None:
    """Delete transaction-log entries older than --older-than, in short batches; print how many."""
    # imported here: --help must not load SQLAlchemy
    from sqlalchemy.exc import SQLAlchemyError  # noqa: PLC0415

    from idocbridge.cli.db_options import reason  # noqa: PLC0415
    from idocbridge.tlog.retention import count_older, purge_log  # noqa: PLC0415

    try:
        cutoff = parse_time(older_than, _zone(timezone or "local"))
    except ValueError as exc:
        err.print(f"error: {exc}", markup=False)
        raise typer.Exit(2) from None
    engine = _source(ctx, state, db)
    try:
        count = count_older(engine, cutoff) if dry_run else purge_log(engine, cutoff, batch_size)
    except SQLAlchemyError as exc:
        err.print(f"error: cannot purge the transaction log: {reason(exc)}", markup=False)
        raise typer.Exit(1) from None
    finally:
        engine.dispose()
    before = cutoff.astimezone(UTC).isoformat(timespec="seconds")
    verb = "would delete" if dry_run else "deleted"
    out.print(f"{verb} {count} {'entry' if count == 1 else 'entries'} logged before {before}", markup=False)
