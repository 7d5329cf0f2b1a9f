"""``idocbridge tx``: the tRFC outbox for operators: list, show, retry, cancel.

An entry of a qRFC queue waits for the entries of its queue accepted before it; a FAILED one stops its
queue until it is retried or cancelled. ``list`` names each stopped queue and the entry that stops it;
``show`` names the entry an entry waits for (``waits_for``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from idocbridge.cli.console import err, out, print_json

if TYPE_CHECKING:
    from idocbridge.transactions.store import OutboxStore
    from idocbridge.transactions.tables import OutboxEntry

# The outbox (idocbridge.transactions, SQLAlchemy) is imported inside the commands that open it:
# `idocbridge --help` builds these commands too, and must not load it.

__all__ = ["tx_app"]

tx_app = typer.Typer(help="The tRFC outbox: what was accepted, where delivery stands, retry or cancel.")

Key = Annotated[str, typer.Argument(help="Entry ID or SAP TID.")]
StateDir = Annotated[Path | None, typer.Option("--state", "-d", help="The service's state folder (runtime.db).")]
Url = Annotated[str | None, typer.Option("--db", help="Database URL instead of --state.")]


class EntryState(StrEnum):
    """What ``--status`` takes: the states of :class:`~idocbridge.transactions.states.OutboxState`, in its order.

    Named here because importing idocbridge.transactions loads SQLAlchemy, which ``idocbridge --help`` must
    not; tests/test_cli_imports.py checks that the two agree."""

    ACCEPTED = "ACCEPTED"
    TID_ASSIGNED = "TID_ASSIGNED"
    EXECUTED = "EXECUTED"
    CONFIRMED = "CONFIRMED"
    RETRY_WAIT = "RETRY_WAIT"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"
    PACKED = "PACKED"
    REFUSED = "REFUSED"


@contextmanager
def _store(state: Path | None, db: str | None) -> Iterator[OutboxStore]:
    """The outbox of the database ``--state`` or ``--db`` names, closed again after the command."""
    # imported here: --help must not load SQLAlchemy
    from idocbridge.cli.db_options import open_runtime_database  # noqa: PLC0415
    from idocbridge.transactions.store import OutboxStore  # noqa: PLC0415
    from idocbridge.transactions.tables import outbox_table  # noqa: PLC0415

    engine = open_runtime_database(state, db, outbox_table.name, "tRFC outbox")
    try:
        yield OutboxStore(engine)
    finally:
        engine.dispose()


def _row(entry: OutboxEntry) -> dict[str, object]:
    return {
        "id": entry.id,
        "state": str(entry.state),
        "tid": entry.tid,
        "service": entry.service,
        "operation": entry.operation,
        "alias": entry.alias,
        "function": entry.function,
        "queue": entry.queue,
        "queue_seq": entry.queue_seq,
        "message_id": entry.message_id,
        "transaction_id": entry.transaction_id,
        "attempts": entry.attempts,
        "executed": entry.executed,
        "last_error": entry.last_error,
        "last_error_key": entry.last_error_key,
        "created_at": entry.created_at.isoformat(),
        "updated_at": entry.updated_at.isoformat(),
        "next_attempt_at": entry.next_attempt_at.isoformat() if entry.next_attempt_at else None,
        "lease_owner": entry.lease_owner,
        "packet_id": entry.packet_id,
        "packet_position": entry.packet_position,
        "packet_tid": entry.packet_tid,
        "packet_size": entry.packet_size,
    }


@tx_app.command("list")
def list_entries(
    state: StateDir = None,
    db: Url = None,
    status: Annotated[
        EntryState | None, typer.Option("--status", case_sensitive=False, help="Only entries in this state (any case).")
    ] = None,
    service: Annotated[str | None, typer.Option(help="Only this service.")] = None,
    limit: Annotated[int, typer.Option(min=1)] = 100,
    as_json: Annotated[bool, typer.Option("--json", help="JSON lines.")] = False,
) -> None:
    """List outbox entries, newest first, with the count per state."""
    from idocbridge.transactions.states import OutboxState  # noqa: PLC0415 - --help must not load SQLAlchemy

    with _store(state, db) as store:
        only = None if status is None else OutboxState(status.value)
        entries = store.list(state=only, service=service, limit=limit, newest=True)
        stopped = {(head.alias, head.queue): head for head in store.stopped_queues()}
        counts = ", ".join(f"{name}: {count}" for name, count in sorted(store.counts().items()))
    if as_json:
        print_json([_row(entry) | {"stopped_by": _stopped_by(entry, stopped)} for entry in entries], lines=True)
        return
    table = Table(title=f"tRFC outbox ({counts or 'empty'})", title_justify="left")
    for column in ("id", "state", "tid", "operation", "attempts", "last error"):
        table.add_column(column, overflow="fold")
    for entry in entries:
        table.add_row(
            entry.id,
            str(entry.state),
            _tid_shown(entry),
            f"{entry.service}.{entry.operation}",
            str(entry.attempts),
            (entry.last_error or "")[:80],
        )
    out.print(table)
    for head in stopped.values():
        out.print(
            f"qRFC queue {head.queue} of {head.alias} is stopped by FAILED entry {head.id}: "
            f"{(head.last_error or '')[:80]}; later entries wait until 'idocbridge tx retry {head.id}' "
            f"delivers it or 'idocbridge tx cancel {head.id}' gives it up",
            markup=False,
        )


def _tid_shown(entry: OutboxEntry) -> str:
    """The entry's TID; for an IDoc in a packet its packet's, with its position (``TID #3``)."""
    if entry.tid is None and entry.packet_position is not None:
        return f"{entry.packet_tid or '-'} #{entry.packet_position}"
    return entry.tid or "-"


def _stopped_by(entry: OutboxEntry, stopped: dict[tuple[str, str | None], OutboxEntry]) -> str | None:
    """The ID of the FAILED entry that stops ``entry``'s queue before it, or None."""
    head = stopped.get((entry.alias, entry.queue)) if entry.queue is not None and not entry.is_final else None
    if head is None or head.id == entry.id:
        return None
    before = (head.queue_seq or 0, head.created_at) < (entry.queue_seq or 0, entry.created_at)
    return head.id if before else None


def _entry(store: OutboxStore, key: str) -> OutboxEntry:
    entry = store.get(key) or store.find_by_tid(key)
    if entry is None:
        err.print(f"error: no outbox entry with ID or TID {key}", markup=False)
        raise typer.Exit(1)
    return entry


@tx_app.command()
def show(key: Key, state: StateDir = None, db: Url = None) -> None:
    """One entry in full (the function parameters are left out: they hold business data), and the entry of
    its qRFC queue it waits for, if any (``waits_for``: a FAILED one stops the queue)."""
    with _store(state, db) as store:
        entry = _entry(store, key)
        blocker = store.queue_blocker(entry)
    waits_for = None if blocker is None else {"id": blocker.id, "state": str(blocker.state)}
    print_json(_row(entry) | {"waits_for": waits_for})


def _act(
    state: Path | None, db: str | None, key: str, action: Callable[[OutboxStore, str], OutboxEntry]
) -> OutboxEntry:
    """Apply an operator ``action`` to the entry ``key`` names; exit 1 with the reason if it is refused."""
    from idocbridge.transactions.states import OutboxError  # noqa: PLC0415 - --help must not load SQLAlchemy

    with _store(state, db) as store:
        try:
            return action(store, _entry(store, key).id)
        except (OutboxError, ValueError) as exc:
            err.print(f"error: {exc}", markup=False)
            raise typer.Exit(1) from None


@tx_app.command()
def retry(
    keys: Annotated[list[str] | None, typer.Argument(help="Entry IDs or SAP TIDs.", show_default=False)] = None,
    status: Annotated[
        EntryState | None,
        typer.Option("--status", case_sensitive=False, help="Every entry in this state (FAILED, RETRY_WAIT)."),
    ] = None,
    since: Annotated[
        str | None,
        typer.Option(
            help="With --status: only entries accepted since this ISO time "
            "(2026-12-01 or 2026-12-01T08:00+01:00; UTC if no zone)."
        ),
    ] = None,
    state: StateDir = None,
    db: Url = None,
) -> None:
    """Deliver FAILED or waiting entries again now, each with its TID (if it has one): those named, or with
    --status every one in that state (--since: accepted since then). Says what became of each; exits 1 if
    any could not be retried (one a worker holds right now: try again in a moment)."""
    from idocbridge.transactions.states import OutboxError, OutboxState  # noqa: PLC0415 - as above

    if (keys and status is not None) or (not keys and status is None) or (since is not None and status is None):
        err.print("error: name the entries (IDs or TIDs), or give --status STATE [--since TIME]; not both")
        raise typer.Exit(2)
    refused = 0
    with _store(state, db) as store:
        if status is not None:
            chosen = store.list(state=OutboxState(status.value), limit=1_000_000, since=_since(since))
            ids = [entry.id for entry in chosen]
        else:
            ids = [_entry(store, key).id for key in keys or []]
        for entry_id in ids:
            try:
                entry = store.retry_now(entry_id)
            except (OutboxError, ValueError) as exc:
                err.print(f"error: {exc}", markup=False)
                refused += 1
                continue
            out.print(f"{entry.id}: {entry.state}, due now; a running service delivers it", markup=False)
    if status is not None:
        out.print(f"{len(ids) - refused} of {len(ids)} {status.value} entries retried", markup=False)
    if refused:
        raise typer.Exit(1)


def _since(text: str | None) -> datetime | None:
    """``--since`` as an aware time (UTC if the text names no zone); exit 2 with the format if unreadable."""
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        err.print(f"error: --since {text!r} is no ISO time: write 2026-12-01 or 2026-12-01T08:00+01:00", markup=False)
        raise typer.Exit(2) from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


@tx_app.command()
def cancel(key: Key, state: StateDir = None, db: Url = None) -> None:
    """Give an entry up: before it has a TID (from then on the call may already be in SAP), or a FAILED
    one (SAP refused it), which lets the rest of its qRFC queue go on."""
    from idocbridge.transactions.store import OutboxStore  # noqa: PLC0415 - --help must not load SQLAlchemy

    entry = _act(state, db, key, OutboxStore.cancel)
    out.print(f"{entry.id}: {entry.state}", markup=False)
