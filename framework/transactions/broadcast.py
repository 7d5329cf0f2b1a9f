"""State changes told to the other instances that share a PostgreSQL database (LISTEN/NOTIFY).

A request waits for its outbox entry on the instance that accepted it, but any instance may deliver the
entry, and an operator may act on it from the command line. Within one process,
:class:`~idocbridge.transactions.outbox.StateChanges` wakes the waiter with the changed entry. Across
processes, the store announces the changes a waiter ends on (final states and RETRY_WAIT) with
``pg_notify`` once they are committed: a served instance from a thread of its own (:class:`Announcer`),
so that neither a delivery nor a commit ever waits for an announcement (``pg_notify`` takes a lock of the
whole server at commit, and fails a commit when the server's notification queue is full); the command
line right after its commit (:func:`announce_now`). Each instance listens on a connection of its own
(:class:`ChangeListener`) and wakes the waiters of the announced entries, which then read them. Without
this, such a request learnt of the change only at its next read (every ``poll_interval`` seconds).

The channel is the schema's (``idocbridge_outbox_`` and 16 hex digits of the MD5 of the schema's name,
worked out by PostgreSQL on both sides), so deployments in different schemas of one database do not hear
each other. A payload is the announcing store's name and the entry IDs: ``host:pid:tag id1,id2``.

Announcements are a shortcut, never the guarantee: a waiter still reads its entry every
``poll_interval`` seconds, so a lost notification (a listener reconnecting) only costs that time. SQLite
has one writing process and needs none of this.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

from sqlalchemy import Engine, text

from idocbridge.transactions.states import OutboxState
from idocbridge.transactions.tables import OutboxEntry

__all__ = ["ANNOUNCED", "Announcer", "ChangeListener", "announce_now", "sender_name"]

log = logging.getLogger("idocbridge.transactions")

ANNOUNCED = frozenset({OutboxState.CONFIRMED, OutboxState.FAILED, OutboxState.CANCELLED, OutboxState.RETRY_WAIT})
"""The states a waiting request may end on (the others it learns at its deadline, when it reads its entry)."""

_CHANNEL = "'idocbridge_outbox_' || left(md5(current_schema()), 16)"
_NOTIFY = text(f"SELECT pg_notify({_CHANNEL}, :payload)")
_PAYLOAD_LIMIT = 7900
"""PostgreSQL refuses a payload of 8,000 bytes or more: longer lists of IDs go in several notifications."""
_RECONNECT_SECONDS = (1.0, 2.0, 5.0, 10.0, 30.0)
_CHECK_SECONDS = 30.0
"""How often an idle listener checks its connection (a connection dropped without a word hears nothing)."""
_CONNECTION_OPTIONS: dict[str, Any] = {
    "connect_timeout": 10, "keepalives": 1, "keepalives_idle": 30, "keepalives_interval": 10, "keepalives_count": 3,
}  # fmt: skip
"""libpq options for the listening connection where the database URL sets none: a dead peer is noticed."""


def sender_name() -> str:
    """A name for a store's announcements: host, process ID and a random part."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def announce_now(engine: Engine, sender: str, entries: Sequence[OutboxEntry]) -> None:
    """Announce the committed ``entries`` whose state a waiter ends on, now, on a connection of ``engine``'s
    pool; a failure is logged, not raised (the change is committed; the waiters read their entries)."""
    _send(engine, sender, _announced_ids(entries))


def _announced_ids(entries: Sequence[OutboxEntry]) -> list[str]:
    return [entry.id for entry in entries if entry.state in ANNOUNCED]


def _pause(failures: int) -> float:
    """Seconds to wait after ``failures`` failures in a row (the first is 0)."""
    return _RECONNECT_SECONDS[min(failures, len(_RECONNECT_SECONDS) - 1)]


def _send(engine: Engine, sender: str, entry_ids: Sequence[str]) -> bool:
    if not entry_ids:
        return True
    try:
        with engine.connect() as connection:
            autocommit = connection.execution_options(isolation_level="AUTOCOMMIT")
            for payload in _payloads(sender, entry_ids):
                autocommit.execute(_NOTIFY, {"payload": payload})
    except Exception as exc:
        log.warning("announcing outbox state changes failed (%s: %s); other instances read their entries",
                    type(exc).__name__, _first_line(exc))  # fmt: skip
        return False
    return True


class Announcer:
    """Announces committed changes from a thread of its own: callers hand over the entries and go on.

    What it could not send is dropped after a logged failure (the waiters elsewhere read their entries);
    at most ``limit`` IDs wait, the oldest dropped first."""

    def __init__(self, engine: Engine, sender: str, limit: int = 10_000) -> None:
        self._engine = engine
        self._sender = sender
        self._waiting: deque[str] = deque(maxlen=limit)  # full, it drops the oldest
        self._condition = threading.Condition()
        self._stopping = False
        self._thread = threading.Thread(target=self._loop, name="idocbridge-outbox-announce", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Send what waits, then end."""
        with self._condition:
            self._stopping = True
            self._condition.notify()
        if self._thread.is_alive():
            self._thread.join(15)

    def __call__(self, entries: Sequence[OutboxEntry]) -> None:
        ids = _announced_ids(entries)
        if not ids:
            return
        with self._condition:
            self._waiting.extend(ids)
            self._condition.notify()

    def _loop(self) -> None:
        failures = 0
        while True:
            with self._condition:
                while not self._waiting and not self._stopping:
                    self._condition.wait()
                if not self._waiting:
                    return
                batch = list(self._waiting)
                self._waiting.clear()
            if _send(self._engine, self._sender, batch):
                failures = 0
            else:  # dropped; pause before the next try, so that a database that is down is not hammered
                pause = _pause(failures)
                failures += 1
                with self._condition:
                    if not self._stopping:
                        self._condition.wait(pause)


def _payloads(sender: str, entry_ids: Iterable[str]) -> Iterator[str]:
    """``sender id1,id2,...``, split so that no payload passes the limit (in bytes)."""
    batch: list[str] = []
    size = len(sender.encode()) + 1
    for entry_id in entry_ids:
        length = len(entry_id.encode()) + 1
        if batch and size + length > _PAYLOAD_LIMIT:
            yield f"{sender} {','.join(batch)}"
            batch, size = [], len(sender.encode()) + 1
        batch.append(entry_id)
        size += length
    if batch:
        yield f"{sender} {','.join(batch)}"


class ChangeListener:
    """Hears the other stores' announcements on ``engine``'s database and schema, and hands the entry IDs to
    ``woken`` (on the listener's thread), leaving out those of ``sender`` (this instance's own), until
    :meth:`stop`. It connects as the engine does (same URL and options), on a connection of its own."""

    def __init__(self, engine: Engine, sender: str, woken: Callable[[Sequence[str]], None]) -> None:
        self._engine = engine
        self._sender = sender
        self._woken = woken
        self._stopping = threading.Event()
        self._listening = threading.Event()
        self._thread = threading.Thread(target=self._listen_loop, name="idocbridge-outbox-listen", daemon=True)
        self.last_pause = 0.0
        """Seconds the listener last waited before reconnecting (0: it never had to)."""

    @property
    def listening(self) -> bool:
        """True while the listener is subscribed (for health)."""
        return self._listening.is_set()

    def start(self) -> None:
        """Start listening (returns at once; :meth:`wait_listening` waits until the LISTEN is in place)."""
        self._thread.start()

    def wait_listening(self, timeout: float) -> bool:
        """True once the listener has subscribed (for start-up and tests)."""
        return self._listening.wait(timeout)

    def stop(self) -> None:
        self._stopping.set()
        if self._thread.is_alive():
            self._thread.join(15)

    def _listen_loop(self) -> None:
        failures = 0
        while not self._stopping.is_set():
            try:
                self._listen()
            except Exception as exc:
                if self._listening.is_set():  # it had listened: a new run of failures begins
                    failures = 0
                self._listening.clear()
                self.last_pause = _pause(failures)
                failures += 1
                log.warning("listening for outbox state changes failed (%s: %s); again in %.0f s, requests read "
                            "their entries meanwhile", type(exc).__name__, _first_line(exc),
                            self.last_pause)  # fmt: skip
                self._stopping.wait(self.last_pause)

    def _listen(self) -> None:
        from psycopg import sql  # noqa: PLC0415 - the PostgreSQL driver is an optional dependency

        arguments, options = self._engine.dialect.create_connect_args(self._engine.url)
        connection: Any = self._engine.dialect.connect(*arguments, **{**_CONNECTION_OPTIONS, **options})
        with connection:
            connection.autocommit = True
            channel = connection.execute(f"SELECT {_CHANNEL}").fetchone()[0]
            connection.execute(sql.SQL("LISTEN {}").format(sql.Identifier(channel)))
            self._listening.set()
            checked = time.monotonic()
            while not self._stopping.is_set():
                for notification in connection.notifies(timeout=1.0):
                    sender, _, ids = notification.payload.partition(" ")
                    if sender != self._sender and ids:
                        self._woken(ids.split(","))
                if time.monotonic() - checked > _CHECK_SECONDS:
                    connection.execute("SELECT 1")  # a dropped connection raises here, and is made again
                    checked = time.monotonic()


def _first_line(error: Exception) -> str:
    return (str(error).strip().splitlines() or [""])[0][:200]
