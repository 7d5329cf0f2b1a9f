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
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Executor
from contextlib import contextmanager, suppress
from contextvars import ContextVar
from dataclasses import dataclass, field, replace
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
    "ENDS_A_WAIT",
    "FINAL",
    "AcceptBatch",
    "NotifyingStore",
    "Outbox",
    "PendingDelivery",
    "StateChanges",
    "accept_batch",
    "delivery_receipt",
    "pending_deliveries",
]

FINAL = frozenset({OutboxState.CONFIRMED, OutboxState.FAILED, OutboxState.CANCELLED})
ENDS_A_WAIT = FINAL | {OutboxState.RETRY_WAIT}
"""States that can end a request's wait for its entry (a retry: when due after the wait's end)."""


class _Waiter:
    """One request awaiting entries: the event that wakes it, and what changed since it last looked."""

    __slots__ = ("changed", "event", "loop", "stale")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.event = asyncio.Event()
        self.changed: dict[str, OutboxEntry] = {}
        """Entries changed since :meth:`StateChanges.take`, as the last change left them."""
        self.stale: set[str] = set()
        """Entries changed shortly before the watch began, or by another instance: they must be read."""


class StateChanges:
    """Wakes requests awaiting outbox entries when this process changes their state (thread-safe).

    A waiter registers on its loop (:meth:`watch`); :meth:`notify`, called from any thread with the entry
    as committed, hands it the entry and, when the entry reached a state that can end a wait (final, or
    waiting for a retry), sets its event through ``loop.call_soon_threadsafe``, so the waiter learns the
    new state without reading the database. The steps on the way (a TID, the execution) are handed over
    without waking it: a wake-up costs the event loop more than the step is worth to a request that goes
    on waiting (one whose wait runs out reads the entry as it stands).
    """

    def __init__(self, remember: int = 4096) -> None:
        self._lock = threading.Lock()
        self._waiters: dict[str, list[_Waiter]] = {}
        self._recent: OrderedDict[str, None] = OrderedDict()
        self._remember = remember

    @contextmanager
    def watch(self, *entry_ids: str) -> Iterator[_Waiter]:
        """A waiter woken whenever any of ``entry_ids`` changes, for the duration of the block (on the
        running loop); :meth:`take` hands it the changes.

        A change notified shortly before the watch began (between a commit and the watch) wakes the
        waiter at once and marks the entry ``stale`` (to be read): the IDs of the last ``remember`` changed
        entries are kept for that."""
        waiter = _Waiter(asyncio.get_running_loop())
        with self._lock:
            for entry_id in entry_ids:
                self._waiters.setdefault(entry_id, []).append(waiter)
                if entry_id in self._recent:
                    waiter.stale.add(entry_id)
            if waiter.stale:
                waiter.event.set()
        try:
            yield waiter
        finally:
            with self._lock:
                for entry_id in entry_ids:
                    waiting = self._waiters.get(entry_id, [])
                    waiting.remove(waiter)
                    if not waiting:
                        self._waiters.pop(entry_id, None)

    def take(self, waiter: _Waiter) -> tuple[dict[str, OutboxEntry], set[str]]:
        """What woke ``waiter``: the entries changed (as the last change left them) and the stale IDs; clears
        its event, so the next change wakes it again."""
        with self._lock:
            waiter.event.clear()
            changed, waiter.changed = waiter.changed, {}
            stale, waiter.stale = waiter.stale, set()
        return changed, stale

    def notify(self, entry: OutboxEntry) -> None:
        """``entry`` changed to what it holds now (committed): hand it to whoever awaits it, and wake them when
        it can end their wait."""
        with self._lock:
            self._remember_id(entry.id)
            waiting = list(self._waiters.get(entry.id, ()))
            for waiter in waiting:  # changes of one entry are committed one after another; a final one stays
                latest = waiter.changed.get(entry.id)
                if latest is None or not latest.is_final or entry.is_final:
                    waiter.changed[entry.id] = entry
        if entry.state in ENDS_A_WAIT:
            _wake(waiting)

    def poke(self, entry_ids: Iterable[str]) -> None:
        """``entry_ids`` changed elsewhere (another instance): wake whoever awaits them, to read them, and
        remember them for a watch that begins shortly after."""
        woken: set[_Waiter] = set()
        with self._lock:
            for entry_id in entry_ids:
                self._remember_id(entry_id)
                for waiter in self._waiters.get(entry_id, ()):
                    waiter.stale.add(entry_id)
                    woken.add(waiter)
        _wake(woken)

    def recently_changed(self, entry_id: str) -> bool:
        """True if ``entry_id`` is among the last entries changed here or, as announced, elsewhere."""
        with self._lock:
            return entry_id in self._recent

    def _remember_id(self, entry_id: str) -> None:
        self._recent.pop(entry_id, None)
        self._recent[entry_id] = None
        if len(self._recent) > self._remember:
            self._recent.popitem(last=False)

    def waiting(self) -> int:
        """How many waiters are registered (for health and tests)."""
        with self._lock:
            return sum(len(waiters) for waiters in self._waiters.values())


def _wake(waiters: Iterable[_Waiter]) -> None:
    """Set the waiters' events, each on its own loop (from any thread)."""
    for waiter in waiters:
        with suppress(RuntimeError):  # the loop closed meanwhile: nobody is left to wake
            waiter.loop.call_soon_threadsafe(waiter.event.set)


class NotifyingStore(OutboxStore):
    """An :class:`OutboxStore` that tells ``changes`` of each state change it commits (the other instances
    hear of them from the store's announcements, see :mod:`idocbridge.transactions.broadcast`)."""

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
class AcceptBatch:
    """The calls of a request that carries many IDocs, collected instead of committed one by one.

    The chain hands each call here (see :data:`accept_batch`); the request then accepts them all in
    one transaction (:meth:`Outbox.accept_all`), so the request is kept whole or not at all."""

    entries: list[NewEntry] = field(default_factory=list)
    waits: list[float] = field(default_factory=list)
    """Seconds the answer waits for each entry (its operation's delivery policy)."""

    def add(self, entry: NewEntry, wait: float) -> None:
        self.entries.append(entry)
        self.waits.append(wait)


accept_batch: ContextVar[AcceptBatch | None] = ContextVar("idocbridge_accept_batch", default=None)
"""Set while a request of many IDocs runs its operation once per IDoc: the chain collects the calls there
(answering a receipt of state ACCEPTED without a TID) instead of committing each."""


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

    def accept_all(self, batch: AcceptBatch) -> list[PendingDelivery]:
        """Commit the batch's entries in one transaction (or find their twins by message ID) and wake the worker."""
        accepted = self.store.accept_all(batch.entries)
        if any(one.created for one in accepted):
            self.worker.wake()
        return [  # without their parameters: a request of many IDocs holds them only until the commit
            PendingDelivery(replace(one.entry, parameters={}), wait)
            for one, wait in zip(accepted, batch.waits, strict=True)
        ]

    def wait_seconds(self, synchronous: bool) -> float:
        """How long an answer waits for its entry under the operation's delivery policy."""
        return self.synchronous_wait if synchronous else self.guaranteed_wait

    def notify(self, entry: OutboxEntry) -> None:
        """``entry`` changed (call after each committed state change, from any thread)."""
        self.changes.notify(entry)

    async def wait_for(self, entry: OutboxEntry, timeout: float, executor: Executor | None = None) -> OutboxEntry:
        """The entry once final, or as it stands after ``timeout`` seconds, awaited without holding a thread.

        ``entry`` is the entry as the caller last saw it (at its commit). State changes of this process
        hand the waiter the changed entry; the entry is read, on ``executor``, only when another instance
        announced a change (PostgreSQL), a change came before the watch began, or none came for
        ``poll_interval`` seconds. Returns early when the entry waits in RETRY_WAIT for a try due after the
        deadline. EntryNotFound when it was purged meanwhile.
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
                if remaining <= 0:  # changes handed over (or notified) just before the deadline
                    current = _later(current, self.changes.take(waiter)[0].get(entry.id))
                if current.state in FINAL or remaining <= 0 or _retries_after(current, latest_retry):
                    return current
                try:
                    await asyncio.wait_for(waiter.event.wait(), min(remaining, self.poll_interval))
                except TimeoutError:
                    self.changes.take(waiter)  # what was handed over so far: the read is at least as new
                    current = await loop.run_in_executor(executor, self.store.get, entry.id)
                    continue
                changed, stale = self.changes.take(waiter)
                latest = changed.get(entry.id)
                if latest is None or (stale and not latest.is_final):  # changed before the watch, or elsewhere
                    current = await loop.run_in_executor(executor, self.store.get, entry.id)
                else:
                    current = _later(current, latest)

    async def wait_for_all(
        self, entries: Sequence[OutboxEntry], timeout: float, executor: Executor | None = None
    ) -> list[OutboxEntry]:
        """:meth:`wait_for` for the entries of one request together: each once final, or as it stands after
        ``timeout`` seconds (in the order given), with one waiter, and one read of all the open ones
        (without their parameters) when no change came for ``poll_interval`` seconds. An entry purged
        meanwhile is answered as last seen."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        moment = datetime.now(UTC) + timedelta(seconds=timeout)
        current = {entry.id: entry for entry in entries}

        def still_open() -> list[str]:
            return [key for key, one in current.items() if one.state not in FINAL and not _retries_after(one, moment)]

        def update(read: dict[str, OutboxEntry]) -> None:
            for key, one in read.items():
                if key in current and (one.is_final or not current[key].is_final):
                    current[key] = one

        def hand(changed: dict[str, OutboxEntry]) -> None:
            for key, one in changed.items():
                if key in current:
                    current[key] = _later(current[key], one)

        with self.changes.watch(*current) as waiter:
            while (waiting := still_open()) and (remaining := deadline - loop.time()) > 0:
                try:
                    await asyncio.wait_for(waiter.event.wait(), min(remaining, self.poll_interval))
                except TimeoutError:
                    # read the open entries and those changed elsewhere (the read is at least as new as what was
                    # handed over for them); what was handed over for the others stands
                    changed, stale = self.changes.take(waiter)
                    hand({key: one for key, one in changed.items() if key not in waiting and key not in stale})
                    reading = sorted({*waiting, *(key for key in stale if key in current)})
                    update(await loop.run_in_executor(executor, self.store.states, reading))
                    continue
                changed, stale = self.changes.take(waiter)
                hand(changed)
                if stale:  # changed before the watch began, or by another instance (perhaps after a change here)
                    update(await loop.run_in_executor(executor, self.store.states, sorted(stale)))
            hand(self.changes.take(waiter)[0])  # changes handed over (or notified) just before the deadline
        return [current[entry.id] for entry in entries]

    @staticmethod
    def receipt(entry: OutboxEntry) -> dict[str, Any]:
        """The receipt of ``entry`` (see :func:`delivery_receipt`)."""
        return delivery_receipt(entry.transaction_id, entry.delivery_tid, entry.state, entry.packet_position)


def _later(held: OutboxEntry, handed: OutboxEntry | None) -> OutboxEntry:
    """What a waiter holds, or the change handed to it if that came later: a final state stands, otherwise the
    later state change (``updated_at``; a read of the entry may be newer than a step handed before it)."""
    if handed is None or (held.is_final and not handed.is_final):
        return held
    if handed.is_final and not held.is_final:
        return handed
    return handed if handed.updated_at >= held.updated_at else held


def _retries_after(entry: OutboxEntry, moment: datetime) -> bool:
    """True if ``entry`` waits for a retry due after ``moment``: waiting longer cannot change the answer."""
    due = entry.next_attempt_at
    return entry.state == OutboxState.RETRY_WAIT and due is not None and due > moment
