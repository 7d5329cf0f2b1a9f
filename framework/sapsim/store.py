"""The simulator's durable state, in SQLite (WAL) in its state folder.

Commits are not synced as they are made: a call is answered once :meth:`SimulatorStore.sync` has put them on
disk, off the event loop, one sync for the calls that finish together (:mod:`idocbridge.sapsim.group_commit`).

``trfc_state`` models SAP's ARFCRSTATE: a TID is there from execution until confirm. Everything
a function does under a TID commits in the same database transaction as the TID's state, so a crash
can never leave an IDoc without its TID or a TID marked executed without its IDoc.

``qrfc_inbound`` models SAP's inbound qRFC queue table (TRFCQIN, SMQ2): the calls of a queue that have
not run yet, because the queue stopped at a call that failed (SYSFAIL, its head) and holds the calls
that came after it (READY) until the failed one is restarted or deleted.

``idocs`` and ``idoc_status`` model EDIDC (with EDID4's data records) and EDIDS: each status record
with its counter, time and the user it was written for (UNAME). IDocs whose last status is 64 wait to
be posted (background processing, :mod:`idocbridge.sapsim.idoc_processing`).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import sqlite3
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["IDocRecord", "QueuedCall", "SimulatorStore", "StatusRecord", "TidEvent", "private_file", "private_folder"]

log = logging.getLogger("idocbridge.sapsim")

MAX_TEXT = 255
"""Characters of an event's detail and a queued call's error that are stored (an error may quote client input)."""
_JOURNALS = ("-wal", "-shm", "-journal")
"""The files SQLite keeps next to a database; they hold its data too."""

SCHEMA_VERSION = 2
"""2: idoc_status.uname (the user a status record was written for, EDIDS-UNAME)."""

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS trfc_state (
    tid TEXT PRIMARY KEY, function TEXT NOT NULL, queue TEXT, client TEXT NOT NULL, user TEXT NOT NULL,
    executed_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS tid_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT, tid TEXT NOT NULL, event TEXT NOT NULL, function TEXT,
    queue TEXT, detail TEXT, at TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS tid_events_tid ON tid_events (tid);
CREATE TABLE IF NOT EXISTS queue_log (
    queue TEXT NOT NULL, position INTEGER NOT NULL, tid TEXT NOT NULL, function TEXT NOT NULL,
    executed_at TEXT NOT NULL, PRIMARY KEY (queue, position));
CREATE TABLE IF NOT EXISTS qrfc_inbound (
    queue TEXT NOT NULL, seq INTEGER NOT NULL, tid TEXT NOT NULL, function TEXT NOT NULL, params TEXT NOT NULL,
    client TEXT NOT NULL, user TEXT NOT NULL, language TEXT NOT NULL, state TEXT NOT NULL, error TEXT,
    stored_at TEXT NOT NULL, PRIMARY KEY (queue, seq));
CREATE TABLE IF NOT EXISTS idocs (
    docnum TEXT PRIMARY KEY, tid TEXT, client TEXT NOT NULL, idoctyp TEXT NOT NULL, cimtyp TEXT NOT NULL,
    mestyp TEXT NOT NULL, sndprn TEXT NOT NULL, rcvprn TEXT NOT NULL, control TEXT NOT NULL,
    data TEXT NOT NULL, created_at TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS idocs_tid ON idocs (tid);
CREATE TABLE IF NOT EXISTS idoc_status (
    docnum TEXT NOT NULL, position INTEGER NOT NULL, status TEXT NOT NULL, text TEXT NOT NULL,
    at TEXT NOT NULL, uname TEXT NOT NULL DEFAULT '', PRIMARY KEY (docnum, position));
"""


def _tighten(path: Path, mode: int) -> None:
    """Give ``path`` exactly ``mode`` if others or its group may read or write it now (with a log line)."""
    current = stat.S_IMODE(path.stat().st_mode)
    if current & 0o077:
        try:
            path.chmod(mode)
        except OSError as exc:  # e.g. a shared folder someone else owns: say so, and go on
            log.warning("cannot tighten the permissions of %s (%04o): %s; it holds business data", path, current, exc)
            return
        log.warning("tightened the permissions of %s from %04o to %04o: it holds business data", path, current, mode)


def _sync_folder(folder: Path) -> None:
    """Put the folder's entries (the names of the files in it) on disk."""
    descriptor = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def private_folder(path: Path) -> None:
    """Create ``path`` readable by its owner only (0700), or tighten it if it exists with a looser mode."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    _tighten(path, 0o700)


def private_file(path: Path) -> None:
    """Create ``path`` empty and readable by its owner only (0600), or tighten it if it exists."""
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        _tighten(path, 0o600)


def _bounded(text: str | None) -> str | None:
    """``text`` cut to :data:`MAX_TEXT` characters (marked with "...")."""
    if text is None or len(text) <= MAX_TEXT:
        return text
    return text[: MAX_TEXT - 3] + "..."


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="microseconds")


@dataclass(frozen=True)
class StatusRecord:
    """One status record (EDIDS): status, text, when (UTC, ISO 8601) and for which user."""

    status: str
    text: str
    at: str
    uname: str = ""


@dataclass(frozen=True)
class IDocRecord:
    """An inbound IDoc as the simulator stored it."""

    docnum: str
    tid: str | None
    client: str
    idoctyp: str
    cimtyp: str
    mestyp: str
    sndprn: str
    rcvprn: str
    control: dict[str, Any]
    data: list[dict[str, Any]]
    created_at: str
    statuses: tuple[StatusRecord, ...]

    @property
    def status(self) -> str:
        return self.statuses[-1].status if self.statuses else ""


@dataclass(frozen=True)
class TidEvent:
    tid: str
    event: str
    function: str | None
    queue: str | None
    detail: str | None
    at: str


@dataclass(frozen=True)
class QueuedCall:
    """A call of an inbound qRFC queue that has not run: the failed head (SYSFAIL) or one behind it (READY)."""

    queue: str
    seq: int
    tid: str
    function: str
    params: dict[str, Any]
    client: str
    user: str
    language: str
    state: str
    error: str | None
    stored_at: str


class SimulatorStore:
    """All durable state. One instance per process; used from the simulator's event loop thread."""

    def __init__(self, path: Path) -> None:
        """Open (or create) the database at ``path``: its folder 0700, the database and its journals 0600."""
        private_folder(path.parent)
        private_file(path)
        self._tighten_journals(path)
        self.path = path
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        mode = self._db.execute("PRAGMA journal_mode=WAL").fetchone()[0]
        if str(mode).lower() != "wal":
            self._db.close()
            raise RuntimeError(f"{path}: SQLite kept journal mode {mode} instead of WAL, which the simulator needs "
                               "(a network file system?): put the state folder on a local disk")  # fmt: skip
        self._tighten_journals(path)  # SQLite creates them with the database's mode: this only checks
        # Commits are synced by sync(), off the event loop, before a call's answer leaves (group_commit.py).
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._durable_commits = 0
        self._counted = 0
        self._db.executescript(_SCHEMA)
        version = self._db.execute("SELECT value FROM meta WHERE name = 'schema'").fetchone()
        if version is None:
            self._db.execute("INSERT INTO meta VALUES ('schema', ?)", (str(SCHEMA_VERSION),))
        elif int(version[0]) > SCHEMA_VERSION:
            raise RuntimeError(f"{path} was written by a newer simulator (schema {version[0]})")
        elif int(version[0]) < SCHEMA_VERSION:
            self._upgrade(int(version[0]))
        # The log exists from the schema's first write on, and stays while this connection is open.
        self._log = os.open(path.with_name(path.name + "-wal"), os.O_RDONLY)
        self.sync()  # the schema, and what an earlier run committed without syncing, before the first answer
        _sync_folder(path.parent)  # the log's name, if this start created the file

    def _upgrade(self, version: int) -> None:
        """Bring a database an older simulator wrote up to :data:`SCHEMA_VERSION`, keeping its data."""
        with self.transaction():
            columns = {row[1] for row in self._db.execute("PRAGMA table_info(idoc_status)")}
            if version < 2 and "uname" not in columns:
                self._db.execute("ALTER TABLE idoc_status ADD COLUMN uname TEXT NOT NULL DEFAULT ''")
            self._db.execute("UPDATE meta SET value = ? WHERE name = 'schema'", (str(SCHEMA_VERSION),))

    @staticmethod
    def _tighten_journals(path: Path) -> None:
        for suffix in _JOURNALS:
            journal = path.with_name(path.name + suffix)
            if journal.exists():
                _tighten(journal, 0o600)

    def close(self) -> None:
        try:
            self._db.close()
        finally:
            os.close(self._log)

    @property
    def durable_commits(self) -> int:
        """Commits since the store was opened that changed more than counters: a call is answered once a
        :meth:`sync` begun after its commit has ended (:mod:`idocbridge.sapsim.group_commit`)."""
        return self._durable_commits

    def sync(self) -> None:
        """Put every commit so far on disk: an fsync of the write-ahead log, where WAL mode writes each commit
        (checkpoints sync the database themselves). Blocking: call it off the event loop. It may run on another
        thread while the event loop writes: it touches the file only, not the connection."""
        os.fsync(self._log)

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """One atomic unit: everything inside commits together or not at all. One that changed more than
        counters (statistics, which a lost machine may lose unnoticed) counts as a durable commit."""
        self._db.execute("BEGIN IMMEDIATE")
        before, self._counted = self._db.total_changes, 0
        try:
            yield
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        changed = self._db.total_changes - before - self._counted
        self._db.execute("COMMIT")
        if changed:
            self._durable_commits += 1

    def next_counter(self, name: str) -> int:
        """The next value of a durable counter (call inside a transaction); a transaction that only counts is
        not waited for."""
        self._counted += 1
        self._db.execute(
            "INSERT INTO counters VALUES (?, 1) ON CONFLICT(name) DO UPDATE SET value = value + 1", (name,)
        )
        return int(self._db.execute("SELECT value FROM counters WHERE name = ?", (name,)).fetchone()[0])

    def counters(self) -> dict[str, int]:
        return dict(self._db.execute("SELECT name, value FROM counters ORDER BY name"))

    # -- tRFC -------------------------------------------------------------------------------------

    def executed(self, tid: str) -> bool:
        return self._db.execute("SELECT 1 FROM trfc_state WHERE tid = ?", (tid,)).fetchone() is not None

    def owner(self, tid: str) -> tuple[str, str, str] | None:
        """(client, user, function) of an executed TID, or None."""
        row = self._db.execute("SELECT client, user, function FROM trfc_state WHERE tid = ?", (tid,)).fetchone()
        return (str(row[0]), str(row[1]), str(row[2])) if row else None

    def mark_executed(self, tid: str, function: str, queue: str | None, client: str, user: str) -> None:
        self._db.execute(
            "INSERT INTO trfc_state VALUES (?, ?, ?, ?, ?, ?)", (tid, function, queue, client, user, _now())
        )

    def forget(self, tid: str) -> bool:
        """Delete the TID (confirm); True if it was known."""
        return self._db.execute("DELETE FROM trfc_state WHERE tid = ?", (tid,)).rowcount > 0

    def log_event(
        self, tid: str, event: str, function: str | None = None, queue: str | None = None, detail: str | None = None
    ) -> None:
        self._db.execute(
            "INSERT INTO tid_events (tid, event, function, queue, detail, at) VALUES (?, ?, ?, ?, ?, ?)",
            (tid, event, function, queue, _bounded(detail), _now()),
        )

    def log_queue(self, queue: str, tid: str, function: str) -> int:
        position = self.next_counter(f"queue:{queue}")
        self._db.execute("INSERT INTO queue_log VALUES (?, ?, ?, ?, ?)", (queue, position, tid, function, _now()))
        return position

    # -- inbound qRFC queues (calls that wait) --------------------------------------------------

    def hold_call(
        self,
        queue: str,
        tid: str,
        function: str,
        params: dict[str, Any],
        who: tuple[str, str, str],
        state: str,
        error: str | None = None,
    ) -> int:
        """Store a call at the end of ``queue``'s waiting calls; ``who`` is (client, user, language)."""
        seq = self.next_counter(f"qrfc:{queue}")
        client, user, language = who
        self._db.execute(
            "INSERT INTO qrfc_inbound VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (queue, seq, tid, function, json.dumps(params), client, user, language, state, _bounded(error), _now()),
        )
        return seq

    def set_call_state(self, queue: str, seq: int, state: str, error: str | None) -> None:
        self._db.execute(
            "UPDATE qrfc_inbound SET state = ?, error = ? WHERE queue = ? AND seq = ?",
            (state, _bounded(error), queue, seq),
        )

    def remove_call(self, queue: str, seq: int) -> None:
        self._db.execute("DELETE FROM qrfc_inbound WHERE queue = ? AND seq = ?", (queue, seq))

    def waiting_calls(self, queue: str) -> list[QueuedCall]:
        """The calls of ``queue`` that have not run, head first."""
        rows = self._db.execute("SELECT * FROM qrfc_inbound WHERE queue = ? ORDER BY seq", (queue,))
        return [
            QueuedCall(queue, seq, tid, function, json.loads(params), client, user, language, state, error, at)
            for queue, seq, tid, function, params, client, user, language, state, error, at in rows
        ]

    def tids(self) -> list[dict[str, Any]]:
        """Every TID in the TID table (executed, not yet confirmed)."""
        rows = self._db.execute(
            "SELECT tid, function, queue, client, user, executed_at FROM trfc_state ORDER BY executed_at"
        )
        keys = ("tid", "function", "queue", "client", "user", "executed_at")
        return [dict(zip(keys, row, strict=True)) for row in rows]

    def events(self, tid: str | None = None) -> list[TidEvent]:
        query = "SELECT tid, event, function, queue, detail, at FROM tid_events"
        rows = self._db.execute(
            query + (" WHERE tid = ? ORDER BY id" if tid else " ORDER BY id"), (tid,) if tid else ()
        )
        return [TidEvent(*row) for row in rows]

    def queue_log(self, queue: str) -> list[tuple[int, str, str]]:
        rows = self._db.execute(
            "SELECT position, tid, function FROM queue_log WHERE queue = ? ORDER BY position", (queue,)
        )
        return [(int(position), tid, function) for position, tid, function in rows]

    # -- IDocs ------------------------------------------------------------------------------------

    def next_docnum(self) -> str:
        return f"{self.next_counter('docnum'):016d}"

    def add_idoc(
        self, docnum: str, tid: str | None, client: str, control: dict[str, Any], data: list[dict[str, Any]]
    ) -> None:
        def field(name: str) -> str:
            return str(control.get(name) or "").strip()

        self._db.execute(
            "INSERT INTO idocs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                docnum,
                tid,
                client,
                field("IDOCTYP"),
                field("CIMTYP"),
                field("MESTYP"),
                field("SNDPRN"),
                field("RCVPRN"),
                json.dumps(control),
                json.dumps(data),
                _now(),
            ),
        )

    def add_status(self, docnum: str, status: str, text: str, uname: str = "") -> None:
        """Append a status record to ``docnum`` (its counter is the next one), written now for ``uname``."""
        position = self._db.execute("SELECT COUNT(*) FROM idoc_status WHERE docnum = ?", (docnum,)).fetchone()[0]
        self._db.execute(
            "INSERT INTO idoc_status (docnum, position, status, text, at, uname) VALUES (?, ?, ?, ?, ?, ?)",
            (docnum, position + 1, status, text, _now(), uname),
        )

    def idocs_at_status(self, status: str) -> list[tuple[str, str, str, str]]:
        """(DOCNUM, message type, when, user) of each IDoc whose last status is ``status``, from that status
        record, in DOCNUM order (e.g. 64: the IDocs that wait to be posted)."""
        rows = self._db.execute(
            "SELECT s.docnum, i.mestyp, s.at, s.uname FROM idoc_status s JOIN idocs i ON i.docnum = s.docnum "
            "WHERE s.status = ? AND s.position = (SELECT MAX(position) FROM idoc_status t WHERE t.docnum = s.docnum) "
            "ORDER BY s.docnum",
            (status,),
        )
        return [(str(docnum), str(mestyp), str(at), str(uname)) for docnum, mestyp, at, uname in rows]

    def idocs(self, *, tid: str | None = None, status: str | None = None, limit: int | None = None) -> list[IDocRecord]:
        query = "SELECT * FROM idocs"
        conditions, arguments = [], []
        if tid is not None:
            conditions.append("tid = ?")
            arguments.append(tid)
        if conditions:
            query += " WHERE " + " AND ".join(conditions)
        query += " ORDER BY docnum"
        records = [self._idoc(row) for row in self._db.execute(query, arguments)]
        if status is not None:
            records = [record for record in records if record.status == status]
        return records[:limit] if limit is not None else records

    def idoc(self, docnum: str) -> IDocRecord | None:
        row = self._db.execute("SELECT * FROM idocs WHERE docnum = ?", (docnum.zfill(16),)).fetchone()
        return self._idoc(row) if row else None

    def _idoc(self, row: tuple[Any, ...]) -> IDocRecord:
        statuses = tuple(
            StatusRecord(status, text, at, uname)
            for status, text, at, uname in self._db.execute(
                "SELECT status, text, at, uname FROM idoc_status WHERE docnum = ? ORDER BY position", (row[0],)
            )
        )
        docnum, tid, client, idoctyp, cimtyp, mestyp, sndprn, rcvprn, control, data, created_at = row
        return IDocRecord(
            docnum,
            tid,
            client,
            idoctyp,
            cimtyp,
            mestyp,
            sndprn,
            rcvprn,
            json.loads(control),
            json.loads(data),
            created_at,
            statuses,
        )

    def reset(self) -> None:
        """Forget everything (for tests and demos that want a clean system)."""
        with self.transaction():
            for table in ("counters", "trfc_state", "tid_events", "queue_log", "qrfc_inbound", "idocs", "idoc_status"):
                self._db.execute(f"DELETE FROM {table}")
