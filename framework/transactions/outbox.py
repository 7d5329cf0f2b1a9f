"""What a SOAP request does with a tRFC chain: accept it into the outbox, then await its state on the event loop.

The blocking part ends with the commit (:meth:`Outbox.accept`). The request then awaits the entry
(:meth:`Outbox.wait_for`) without holding a thread: :class:`StateChanges` wakes it when this process
changes the entry's state, and a slow database poll catches changes another instance makes.
``guaranteed`` operations wait briefly so that the reply can usually name the TID and CONFIRMED;
``synchronous`` ones wait for the confirm. A message ID makes a request idempotent: the same ID with
the same request returns the same entry (see :meth:`OutboxStore.accept`).
"""

from __future__ import annotations

import asyncio
import threading
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from concurrent.futures import Executor
from contextlib import contextmanager, suppress
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine

from idocbridge.transactions.packets import Gathered
from idocbridge.transactions.receipts import delivery_receipt
from idocbridge.transactions.scheduler import OutboxWorker
from idocbridge.transactions.states import OutboxState
from idocbridge.transactions.store import Accepted, EntryNotFound, OutboxStore
from idocbridge.transactions.tables import NewEntry, OutboxEntry

__all__ = [
    "FINAL",
    "NotifyingStore",
    "Outbox",
    "PendingDelivery",
    "StateChanges",
    "delivery_receipt",
    "pending_deliveries",
]

FINAL = frozenset({OutboxState.CONFIRMED, OutboxState.FAILED, OutboxState.CANCELLED})


class _Waiter:
    """One request awaiting an entry: the event that wakes it and the entry as the last change left it."""

    __slots__ = ("event", "latest", "loop")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.event = asyncio.Event()
        self.latest: OutboxEntry | None = None


class StateChanges:
    """Wakes requests awaiting an outbox entry when this process changes its state (thread-safe).

    A waiter registers on its loop (:meth:`watch`); :meth:`notify`, called from any thread with the entry
    as committed, hands it the entry and sets its event through ``loop.call_soon_threadsafe``, so the
    waiter learns the new state without reading the database.
    """

    def __init__(self, remember: int = 4096) -> None:
        self._lock = threading.Lock()
        self._waiters: dict[str, list[_Waiter]] = {}
        self._recent: OrderedDict[str, None] = OrderedDict()
        self._remember = remember

    @contextmanager
    def watch(self, entry_id: str) -> Iterator[_Waiter]:
        """A waiter woken whenever ``entry_id`` changes, for the duration of the block (on the running loop).

        A change notified shortly before the watch began (between a commit and the watch) wakes the
        waiter at once, without an entry (it then reads it): the IDs of the last ``remember`` changed
        entries are kept for that."""
        waiter = _Waiter(asyncio.get_running_loop())
        with self._lock:
            self._waiters.setdefault(entry_id, []).append(waiter)
            if entry_id in self._recent:
                waiter.event.set()
        try:
            yield waiter
        finally:
            with self._lock:
                waiting = self._waiters.get(entry_id, [])
                waiting.remove(waiter)
                if not waiting:
                    self._waiters.pop(entry_id, None)

    def notify(self, entry: OutboxEntry) -> None:
        """``entry`` changed to what it holds now (committed): wake whoever awaits it."""
        with self._lock:
            self._remember_id(entry.id)
            waiting = list(self._waiters.get(entry.id, ()))
            for waiter in waiting:  # changes of one entry are committed one after another; a final one stays
                if waiter.latest is None or not waiter.latest.is_final or entry.is_final:
                    waiter.latest = entry
        for waiter in waiting:
            with suppress(RuntimeError):  # the loop closed meanwhile: nobody is left to wake
                waiter.loop.call_soon_threadsafe(waiter.event.set)

    def _remember_id(self, entry_id: str) -> None:
        self._recent.pop(entry_id, None)
        self._recent[entry_id] = None
        if len(self._recent) > self._remember:
            self._recent.popitem(last=False)

    def waiting(self) -> int:
        """How many waiters are registered (for health and tests)."""
        with self._lock:
            return sum(len(waiters) for waiters in self._waiters.values())


class NotifyingStore(OutboxStore):
    """An :class:`OutboxStore` that tells ``changes`` of each state change it commits."""

    def __init__(self, engine: Engine, changes: StateChanges, **options: Any) -> None:
        super().__init__(engine, **options)
        self._changes = changes

    def _changed(self, entry: OutboxEntry) -> OutboxEntry:
        self._changes.notify(entry)
        return entry

    def _members_changed(self, entries: Sequence[OutboxEntry]) -> None:
        for entry in entries:
            self._changes.notify(entry)

    def refuse_packet(self, entry_id: str, owner: str, error: str, key: str | None,
                      **options: Any) -> tuple[OutboxEntry, Gathered]:  # fmt: skip
        entry, gathered = super().refuse_packet(entry_id, owner, error, key, **options)
        return self._changed(entry), gathered

    def assign_tid(self, entry_id: str, owner: str, tid: str, **options: Any) -> OutboxEntry:
        return self._changed(super().assign_tid(entry_id, owner, tid, **options))

    def mark_executed(self, entry_id: str, owner: str, **options: Any) -> OutboxEntry:
        return self._changed(super().mark_executed(entry_id, owner, **options))

    def mark_confirmed(self, entry_id: str, owner: str, receipt: dict[str, Any], **options: Any) -> OutboxEntry:
        return self._changed(super().mark_confirmed(entry_id, owner, receipt, **options))

    def mark_retry(
        self, entry_id: str, owner: str, error: str, key: str | None, next_attempt_at: datetime, **options: Any
    ) -> OutboxEntry:
        return self._changed(super().mark_retry(entry_id, owner, error, key, next_attempt_at, **options))

    def mark_failed(self, entry_id: str, owner: str, error: str, key: str | None, **options: Any) -> OutboxEntry:
        return self._changed(super().mark_failed(entry_id, owner, error, key, **options))

    def retry_now(self, entry_id: str) -> OutboxEntry:
        return self._changed(super().retry_now(entry_id))

    def cancel(self, entry_id: str) -> OutboxEntry:
        return self._changed(super().cancel(entry_id))


@dataclass(frozen=True)
class PendingDelivery:
    """An entry a request committed to the outbox, and how long the answer waits for it."""

    entry: OutboxEntry
    wait: float
    """Seconds the answer waits for the entry (its operation's delivery policy)."""

    @property
    def receipt(self) -> dict[str, Any]:
        """The receipt as it stood at the commit."""
        return Outbox.receipt(self.entry)


pending_deliveries: ContextVar[list[PendingDelivery] | None] = ContextVar("idocbridge_pending", default=None)
"""Where the chain hands the entries it committed to the code serving the request (which awaits them).

The SOAP app sets a list before it runs an operation in a worker thread (the context is copied, so the
list is shared); None means nobody awaits: the chain answers the receipt of the commit.
"""


@dataclass
class Outbox:
    store: OutboxStore
    worker: OutboxWorker
    guaranteed_wait: float = 2.0
    synchronous_wait: float = 60.0
    poll_interval: float = 2.0
    """How often a waiting request reads its entry when no state change of this process woke it."""
    changes: StateChanges = field(default_factory=StateChanges)

    def accept(self, entry: NewEntry) -> Accepted:
        """Commit ``entry`` (or find its twin by message ID) and wake the worker for a new one (blocking)."""
        accepted = self.store.accept(entry)
        if accepted.created:
            self.worker.wake()
        return accepted

    def wait_seconds(self, synchronous: bool) -> float:
        """How long an answer waits for its entry under the operation's delivery policy."""
        return self.synchronous_wait if synchronous else self.guaranteed_wait

    def notify(self, entry: OutboxEntry) -> None:
        """``entry`` changed (call after each committed state change, from any thread)."""
        self.changes.notify(entry)

    async def wait_for(self, entry: OutboxEntry, timeout: float, executor: Executor | None = None) -> OutboxEntry:
        """The entry once final, or as it stands after ``timeout`` seconds, awaited without holding a thread.

        ``entry`` is the entry as the caller last saw it (at its commit). State changes of this process
        hand the waiter the changed entry; the entry is read, on ``executor``, only when none came for
        ``poll_interval`` seconds (another instance may be delivering it) or a change came before the
        watch began. Returns early when the entry
        waits in RETRY_WAIT for a try due after the deadline. EntryNotFound when it was purged meanwhile.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        latest_retry = datetime.now(UTC) + timedelta(seconds=timeout)
        with self.changes.watch(entry.id) as waiter:
            current: OutboxEntry | None = entry
            while True:
                if current is None:  # only possible with a retention shorter than a request
                    raise EntryNotFound(f"outbox entry {entry.id} disappeared while the request waited for it")
                remaining = deadline - loop.time()
                if current.state in FINAL or remaining <= 0 or _retries_after(current, latest_retry):
                    return current
                try:
                    await asyncio.wait_for(waiter.event.wait(), min(remaining, self.poll_interval))
                except TimeoutError:
                    current = await loop.run_in_executor(executor, self.store.get, entry.id)
                    continue
                waiter.event.clear()
                latest, waiter.latest = waiter.latest, None
                if latest is None:  # woken by a change made before the watch began
                    latest = await loop.run_in_executor(executor, self.store.get, entry.id)
                current = latest

    @staticmethod
    def receipt(entry: OutboxEntry) -> dict[str, Any]:
        """The receipt of ``entry`` (see :func:`delivery_receipt`)."""
        return delivery_receipt(entry.transaction_id, entry.delivery_tid, entry.state, entry.packet_position)


def _retries_after(entry: OutboxEntry, moment: datetime) -> bool:
    """True if ``entry`` waits for a retry due after ``moment``: waiting longer cannot change the answer."""
    due = entry.next_attempt_at
    return entry.state == OutboxState.RETRY_WAIT and due is not None and due > moment
