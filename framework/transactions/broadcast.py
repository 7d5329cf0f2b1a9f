"""State changes told to the other instances that share a PostgreSQL database (LISTEN/NOTIFY).

A request waits for its outbox entry on the instance that accepted it, but any instance may deliver the
entry. Within one process, :class:`~idocbridge.transactions.outbox.StateChanges` wakes the waiter with the
changed entry. Across processes, each committed change is announced on the channel ``idocbridge_outbox``
(``pg_notify``, payload: the announcing instance and the entry IDs), and each instance listens on a
connection of its own and wakes the waiters of those IDs, which then read their entries. Without this, a
request whose IDoc another instance delivered learned of it only at its next poll (``poll_interval``).

Announcements are a shortcut, never the guarantee: a waiter still polls, so a lost notification (the
listener reconnecting, say) only costs the time to the next poll. SQLite has one writer process and
needs none of this.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Sequence

from sqlalchemy import Engine, text

__all__ = ["CHANNEL", "ChangeBroadcast"]

log = logging.getLogger("idocbridge.transactions")

CHANNEL = "idocbridge_outbox"
_PAYLOAD_LIMIT = 7900
"""PostgreSQL refuses a payload of 8,000 bytes or more: longer lists of IDs go in several notifications."""
_RECONNECT_SECONDS = (1.0, 2.0, 5.0, 10.0, 30.0)
_NOTIFY = text("SELECT pg_notify(:channel, :payload)")


class ChangeBroadcast:
    """Announces this instance's committed state changes, and hands other instances' to ``woken`` (called
    with the entry IDs, on the listener's thread) until :meth:`stop`."""

    def __init__(self, engine: Engine, instance: str, woken: Callable[[Sequence[str]], None]) -> None:
        self._engine = engine
        self._instance = instance
        self._woken = woken
        self._stopping = threading.Event()
        self._listening = threading.Event()
        self._thread = threading.Thread(target=self._listen_loop, name="idocbridge-outbox-listen", daemon=True)

    def start(self) -> None:
        """Start listening (returns at once; :meth:`wait_listening` waits until the LISTEN is in place)."""
        self._thread.start()

    def wait_listening(self, timeout: float) -> bool:
        """True once the listener has subscribed (for start-up and tests)."""
        return self._listening.wait(timeout)

    def stop(self) -> None:
        self._stopping.set()
        if self._thread.is_alive():
            self._thread.join(10)

    def announce(self, entry_ids: Iterable[str]) -> None:
        """Tell the other instances that ``entry_ids`` changed (call after the commit). A failure is logged,
        not raised: the change is committed, and the waiters elsewhere will poll."""
        payloads = list(_payloads(self._instance, entry_ids))
        if not payloads:
            return
        try:
            with self._engine.connect() as connection:
                autocommit = connection.execution_options(isolation_level="AUTOCOMMIT")
                for payload in payloads:
                    autocommit.execute(_NOTIFY, {"channel": CHANNEL, "payload": payload})
        except Exception:
            log.warning("announcing outbox state changes failed; other instances will poll", exc_info=True)

    def _listen_loop(self) -> None:
        failures = 0
        while not self._stopping.is_set():
            try:
                self._listen()
                failures = 0
            except Exception:
                self._listening.clear()
                pause = _RECONNECT_SECONDS[min(failures, len(_RECONNECT_SECONDS) - 1)]
                failures += 1
                log.warning("listening for outbox state changes failed; again in %.0f s (requests poll meanwhile)",
                            pause, exc_info=True)  # fmt: skip
                self._stopping.wait(pause)

    def _listen(self) -> None:
        import psycopg  # noqa: PLC0415 - the PostgreSQL driver is an optional dependency; only PostgreSQL gets here

        conninfo = self._engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        with psycopg.connect(conninfo, autocommit=True) as connection:
            connection.execute(f"LISTEN {CHANNEL}")
            self._listening.set()
            while not self._stopping.is_set():
                for notification in connection.notifies(timeout=1.0):
                    instance, _, ids = notification.payload.partition(" ")
                    if instance != self._instance and ids:
                        self._woken(ids.split(","))


def _payloads(instance: str, entry_ids: Iterable[str]) -> Iterable[str]:
    """``instance id1,id2,...``, split so that no payload passes the limit."""
    batch: list[str] = []
    size = len(instance) + 1
    for entry_id in entry_ids:
        if batch and size + len(entry_id) + 1 > _PAYLOAD_LIMIT:
            yield f"{instance} {','.join(batch)}"
            batch, size = [], len(instance) + 1
        batch.append(entry_id)
        size += len(entry_id) + 1
    if batch:
        yield f"{instance} {','.join(batch)}"
