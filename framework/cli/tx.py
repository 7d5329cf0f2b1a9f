"""``idocbridge tx``: the tRFC outbox for operators: list, show, retry, cancel.

An entry of a qRFC queue waits for the entries of its queue accepted before it; a FAILED one stops its
queue until it is retried or cancelled. ``list`` names each stopped queue and the entry that stops it;
``show`` names the entry an entry waits for (``waits_for``), its business keys and its IDocs' fate in SAP; it
finds the entry by whatever the operator has: its ID, the request's transaction ID, a TID, SAP's DOCNUM, the
MessageId or another business key (:func:`idocbridge.transactions.search.find_requests`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer
from rich.table import Table

from idocbridge.cli.console import err, out, print_json

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from idocbridge.transactions.fate_tables import SapIDoc, SapStatus
    from idocbridge.transactions.search import Match
    from idocbridge.transactions.store import OutboxStore
    from idocbridge.transactions.tables import OutboxEntry

# The outbox (idocbridge.transactions, SQLAlchemy) is imported inside the commands that open it:
# `idocbridge --help` builds these commands too, and must not load it.

__all__ = ["tx_app"]

tx_app = typer.Typer(help="The tRFC outbox: what was accepted, where delivery stands, retry or cancel.")

Key = Annotated[str, typer.Argument(help="Entry ID or SAP TID.")]
Found = Annotated[
    str,
    typer.Argument(
        metavar="ID_OR_KEY",
        help="Entry ID, transaction ID, SAP TID, SAP DOCNUM, MessageId or another business key "
        "(VALUE, or NAME=VALUE: MESTYP=ORDERS, E1EDK01-BELNR=4711).",
    ),
]
ByKey = Annotated[
    str | None,
    typer.Option(
        "--key",
        help="Only entries with this business key: VALUE, or NAME=VALUE (MessageId=..., E1EDK01-BELNR=4711).",
    ),
]
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


SHOWN_AT_MOST = 50
"""How many of the entries a ``tx show`` text matches it lists."""


@contextmanager
def _database(state: Path | None, db: str | None) -> Iterator[Engine]:
    """The database ``--state`` or ``--db`` names (it must hold the outbox), closed again after the command."""
    # imported here: --help must not load SQLAlchemy
    from idocbridge.cli.db_options import open_runtime_database  # noqa: PLC0415
    from idocbridge.transactions.tables import outbox_table  # noqa: PLC0415

    engine = open_runtime_database(state, db, outbox_table.name, "tRFC outbox")
    try:
        yield engine
    finally:
        engine.dispose()


@contextmanager
def _store(state: Path | None, db: str | None) -> Iterator[OutboxStore]:
    """The outbox of the database ``--state`` or ``--db`` names, closed again after the command."""
    from idocbridge.transactions.store import OutboxStore  # noqa: PLC0415 - --help must not load SQLAlchemy

    with _database(state, db) as engine:
        yield OutboxStore(engine)


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
    key: ByKey = None,
    limit: Annotated[int, typer.Option(min=1)] = 100,
    as_json: Annotated[bool, typer.Option("--json", help="JSON lines.")] = False,
) -> None:
    """List outbox entries, newest first, with the count per state."""
    # imported here: --help must not load SQLAlchemy
    from idocbridge.transactions.search import entries_with_key  # noqa: PLC0415
    from idocbridge.transactions.states import OutboxState  # noqa: PLC0415
    from idocbridge.transactions.store import OutboxStore  # noqa: PLC0415

    with _database(state, db) as engine:
        store = OutboxStore(engine)
        only = None if status is None else OutboxState(status.value)
        if key is None:
            entries = store.list(state=only, service=service, limit=limit, newest=True)
        else:
            entries = entries_with_key(engine, key, state=only, service=service, limit=limit)
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
def show(key: Found, state: StateDir = None, db: Url = None) -> None:
    """One entry in full as JSON (the function parameters are left out: they hold business data): the entry of
    its qRFC queue it waits for, if any (``waits_for``: a FAILED one stops the queue), its business keys
    (``keys``), and its IDocs' fate in SAP (``sap_idocs``, ``sap_fate``). Found by the request's transaction
    ID, its ID, a TID (a packet's: the packet), SAP's DOCNUM or a business key, the first that matches; when
    that names several entries, lists them."""
    # imported here: --help must not load SQLAlchemy
    from sqlalchemy.exc import SQLAlchemyError  # noqa: PLC0415

    from idocbridge.cli.db_options import reason  # noqa: PLC0415
    from idocbridge.transactions.search import find_requests  # noqa: PLC0415
    from idocbridge.transactions.store import OutboxStore  # noqa: PLC0415

    wanted = key.strip()
    with _database(state, db) as engine:
        store = OutboxStore(engine)
        try:
            found = find_requests(engine, wanted, limit=SHOWN_AT_MOST + 1)
            # a TID shows the entry that holds it: a packet's shows the packet (with its IDocs' fate)
            entry = store.find_by_tid(wanted) if found.matched == "TID" else None
            if entry is None and len(found.outbox_ids) > 1:
                _list_found(store, found, wanted)
                return
            if entry is None and found.outbox_ids:
                entry = store.get(found.outbox_ids[0])
            if entry is None:
                _not_found(found, wanted)
            blocker = store.queue_blocker(entry)
            details = _details(engine, store, entry)
        except SQLAlchemyError as exc:
            err.print(f"error: cannot read the outbox: {reason(exc)}", markup=False)
            raise typer.Exit(1) from None
    waits_for = None if blocker is None else {"id": blocker.id, "state": str(blocker.state)}
    print_json(_row(entry) | {"waits_for": waits_for} | details)


_ID_KINDS = frozenset({"transaction ID", "outbox ID", "TID", "SAP DOCNUM"})
"""What :func:`find_requests` may take a text for, other than a business key's name."""


def _not_found(found: Match, wanted: str) -> NoReturn:
    """Exit 1, saying that no outbox entry has ``wanted``, and where the log has it if it does."""
    if not found.transaction_ids:
        err.print(f"error: no outbox entry with ID or TID {wanted}, and no request, SAP DOCNUM or business key "
                  "with that value either", markup=False)  # fmt: skip
        raise typer.Exit(1)
    count = len(found.transaction_ids)
    first = found.transaction_ids[-1]
    look = f"idocbridge log --key {wanted}" if found.matched not in _ID_KINDS else f"idocbridge log trace {first}"
    err.print(f"error: no outbox entry for {found.matched} {wanted} (delivered directly, or purged); the transaction "
              f"log has {'its request' if count == 1 else f'{count} requests'} {', '.join(found.transaction_ids[-3:])}"
              f"{' ...' if count > 3 else ''}: see {look}", markup=False)  # fmt: skip
    raise typer.Exit(1)


def _list_found(store: OutboxStore, found: Match, wanted: str) -> None:
    """The entries ``wanted`` matches, newest first, and how to show one or find fewer."""
    ids = found.outbox_ids[-SHOWN_AT_MOST:]
    entries = store.states(ids)
    more = len(found.outbox_ids) > SHOWN_AT_MOST
    count = f"more than {SHOWN_AT_MOST}" if more else str(len(found.outbox_ids))
    newest = f"; the newest {SHOWN_AT_MOST}" if more else ""
    table = Table(title=f"{count} outbox entries match {wanted} ({found.matched}{newest})", title_justify="left")
    for column in ("id", "state", "tid", "operation", "message id", "accepted"):
        table.add_column(column, overflow="fold")
    for entry_id in reversed(ids):
        entry = entries.get(entry_id)
        if entry is not None:
            table.add_row(entry.id, str(entry.state), _tid_shown(entry), f"{entry.service}.{entry.operation}",
                          entry.message_id or "-", entry.created_at.isoformat(timespec="seconds"))  # fmt: skip
    out.print(table)
    out.print("show one: idocbridge tx show ID", markup=False)
    if found.matched not in _ID_KINDS:
        names = found.matched.split(" or ")
        value = wanted.partition("=")[2].strip() if "=" in wanted else wanted
        if len(names) > 1:
            choices = " or ".join(f"{name}={value}" for name in names)
            out.print(f"{value} is the value of more than one key; narrow to one: {choices}", markup=False)
        out.print("or search by a key particular to one entry: its MessageId, or NAME=VALUE of a key the model "
                  "names (E1EDK01-BELNR=...)", markup=False)  # fmt: skip


def _details(engine: Engine, store: OutboxStore, entry: OutboxEntry) -> dict[str, Any]:
    """``entry``'s business keys, and its IDocs in SAP (a packet's: those of its IDoc entries) with the
    ``sap_fate`` in a word: final, followed, no longer followed, not read yet, not followed."""
    # imported here: --help must not load SQLAlchemy
    from idocbridge.transactions.fate import FateStore  # noqa: PLC0415
    from idocbridge.transactions.keys import KEYS_OF  # noqa: PLC0415
    from idocbridge.transactions.packets import MAX_PACKET_SIZE  # noqa: PLC0415
    from idocbridge.transactions.search import find_requests  # noqa: PLC0415

    with engine.connect() as connection:
        keys = [{"name": row.name, "value": row.value} for row in connection.execute(KEYS_OF, {"b_ids": [entry.id]})]
    owners = [entry.id]
    if entry.is_packet and entry.tid is not None:  # its IDocs by their own entries (by position in it)
        owners += [owner for owner in find_requests(engine, entry.tid, limit=MAX_PACKET_SIZE).outbox_ids
                   if owner != entry.id]  # fmt: skip
    by_owner = FateStore(engine).idocs_of(owners)
    idocs = [idoc for owner in owners for idoc in by_owner.get(owner, [])]
    unit = entry if entry.tid is not None or entry.packet_id is None else store.get(entry.packet_id)
    return {"keys": keys, "sap_fate": _fate(idocs, unit), "sap_idocs": [_idoc(idoc) for idoc in idocs]}


def _fate(idocs: Sequence[SapIDoc], unit: OutboxEntry | None) -> str:
    """The IDocs' fate in a word, from their reading, or from the unit that delivered them (the entry with
    the TID: the entry, or its packet) when none is recorded."""
    from idocbridge.transactions.states import OutboxState  # noqa: PLC0415 - --help must not load SQLAlchemy

    if idocs:
        if all(idoc.final for idoc in idocs):
            return "final"
        return "followed" if any(idoc.next_read_at is not None for idoc in idocs if not idoc.final) else (
            "no longer followed")  # fmt: skip
    if unit is None or unit.state is not OutboxState.CONFIRMED or unit.fate_due_at is not None:
        return "not read yet"
    return "not followed"


def _idoc(idoc: SapIDoc) -> dict[str, Any]:
    return {
        "alias": idoc.alias,
        "docnum": idoc.docnum,
        "tid": idoc.tid,
        "outbox_id": idoc.outbox_id,
        "status": idoc.status,
        "status_text": idoc.status_text,
        "status_at": _time(idoc.status_at),
        "final": idoc.final,
        "reads": idoc.reads,
        "next_read_at": _time(idoc.next_read_at),
        "history": [_status(record) for record in idoc.history],
    }


def _status(record: SapStatus) -> dict[str, Any]:
    return {
        "counter": record.counter,
        "status": record.status,
        "text": record.text,
        "logged_at": _time(record.logged_at),
        "uname": record.uname,
    }


def _time(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


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
