"""When the outbox worker polls: at once after a wake-up, and after a delivery only if the last poll left work behind.

Each test runs the worker's polls by hand (its loop not started) against a real store, with a deliverer that ends
each delivery as a real one would (the entry FAILED, its lease ended), and counts the worker's wake-ups once every
delivery thread has finished.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, cast

import pytest
from sqlalchemy import Engine

from idocbridge.connectors.pool import ConnectionPool
from idocbridge.connectors.pool_set import PoolSet
from idocbridge.db.writer import serial_writer
from idocbridge.transactions import OutboxState, OutboxStore
from idocbridge.transactions.delivery import Deliverer
from idocbridge.transactions.packets import PacketRule
from idocbridge.transactions.receipts import delivery_receipt
from idocbridge.transactions.scheduler import OutboxWorker
from idocbridge.transactions.tables import OutboxEntry
from tests.null_connector import NullConnector
from tests.transactions.conftest import TID, OnePool, new_entry
from tests.waiting import wait_until

OWNER = "instance-1"


class _EndingDeliverer(Deliverer):
    """Ends each delivery without SAP, as ``ending`` says: the entry FAILED (lease ended), its lease kept for the
    worker to release, CONFIRMED as SAP's answers would leave it, a packet refused, or an error raised."""

    def __init__(self, store: OutboxStore, ending: str = "fail") -> None:
        super().__init__(store, cast(PoolSet, None), None, OWNER)
        self.ending = ending
        self.delivered: list[str] = []

    def deliver(self, entry: OutboxEntry) -> bool:
        self.delivered.append(entry.id)
        if self.ending == "keep_lease":
            return True  # the worker releases the lease: the entry is due again
        if self.ending == "raise":
            raise RuntimeError("a delivery that went wrong")
        if self.ending == "refuse" and len(self.delivered) == 1:  # the first packet; its halves go through
            self.store.assign_tid(entry.id, OWNER, TID)
            self.store.refuse_packet(entry.id, OWNER, "refused by the test", "TEST")
        elif self.ending in ("confirm", "refuse"):
            tid = f"{len(self.delivered):024X}"
            self.store.assign_tid(entry.id, OWNER, tid)
            self.store.mark_executed(entry.id, OWNER)
            self.store.mark_confirmed(entry.id, OWNER, delivery_receipt(entry.transaction_id, tid, "CONFIRMED"))
        else:
            self.store.mark_failed(entry.id, OWNER, "ended by the test", "TEST")
        return False


class _CountingWorker(OutboxWorker):
    def __init__(self, store: OutboxStore, deliverer: Deliverer, workers: int, interval: float = 3600) -> None:
        super().__init__(store, deliverer, workers=workers, interval=interval)
        self.wakes = 0
        self.looks: list[bool] = []
        """Each poll's ``look_first``."""

    def poll(self, look_first: bool = True) -> int:
        self.looks.append(look_first)
        return super().poll(look_first)

    def wake(self) -> None:
        self.wakes += 1
        super().wake()

    def finish_deliveries(self) -> None:
        """Wait for every delivery thread to end (the executor's shutdown)."""
        self._executor.shutdown(wait=True)


def _accepted(store: OutboxStore, count: int) -> list[str]:
    return [store.accept(new_entry()).entry.id for _ in range(count)]


@pytest.mark.parametrize(
    ("ending", "wakes", "state"),
    [
        ("fail", 0, OutboxState.FAILED),  # its poll claimed all that was due: nothing to wake the worker for
        ("keep_lease", 1, OutboxState.ACCEPTED),  # released by the worker, the entry is due again at once
        ("raise", 0, OutboxState.ACCEPTED),  # released, but tried again by the poll on the timer, not in a loop
    ],
)
def test_whether_a_delivery_that_ends_alone_wakes_the_worker(
    engine: Engine, ending: str, wakes: int, state: OutboxState
) -> None:
    store = OutboxStore(engine)
    deliverer = _EndingDeliverer(store, ending)
    worker = _CountingWorker(store, deliverer, workers=2)
    (entry_id,) = _accepted(store, 1)

    assert worker.poll() == 1
    worker.finish_deliveries()

    assert deliverer.delivered == [entry_id]
    assert worker.wakes == wakes
    assert store.counts()[state] == 1
    ended = store.get(entry_id)
    assert ended is not None and ended.lease_owner is None and ended.state == state


def test_a_delivery_that_ends_wakes_the_worker_when_its_poll_left_due_entries_for_want_of_a_thread(
    engine: Engine,
) -> None:
    store = OutboxStore(engine)
    deliverer = _EndingDeliverer(store)
    worker = _CountingWorker(store, deliverer, workers=1)
    first, second = _accepted(store, 2)

    assert worker.poll() == 1  # one thread: the second entry is left behind
    worker.finish_deliveries()

    assert deliverer.delivered == [first]
    assert worker.wakes == 1
    assert store.get(second).state == OutboxState.ACCEPTED  # type: ignore[union-attr]


def test_a_poll_on_the_timer_reads_before_it_takes_the_write_lock_and_one_after_a_wake_up_claims_at_once(
    engine: Engine,
) -> None:
    store = OutboxStore(engine)
    worker = _CountingWorker(store, _EndingDeliverer(store), workers=2)
    writer = serial_writer(engine)
    before = writer.stats().transactions

    assert worker.poll(look_first=True) == 0  # nothing due: the writer is not troubled
    assert writer.stats().transactions == before

    assert worker.poll(look_first=False) == 0  # told something is due: it claims in a write transaction
    assert writer.stats().transactions == before + 1
    worker.finish_deliveries()


def _running(worker: OutboxWorker) -> OutboxWorker:
    worker.start()  # an interval of an hour: only wake-ups make it poll after its first poll
    return worker


def test_the_next_entry_of_a_qrfc_queue_goes_as_soon_as_the_one_before_it_is_confirmed(engine: Engine) -> None:
    store = OutboxStore(engine)
    worker = _running(_CountingWorker(store, _EndingDeliverer(store, "confirm"), workers=2))
    try:
        queued = [store.accept(new_entry(queue="Q1")).entry.id for _ in range(3)]
        worker.wake()
        wait_until(lambda: all(_state(store, entry_id) == OutboxState.CONFIRMED for entry_id in queued),
                   timeout=30, what="the queue confirmed in order, without a poll on the timer")  # fmt: skip
    finally:
        worker.stop()


def test_the_idocs_of_a_refused_packet_go_on_at_once(engine: Engine) -> None:
    store = OutboxStore(engine, packets={"ERP": PacketRule(2)})
    deliverer = _EndingDeliverer(store, "refuse")
    idoc: dict[str, Any] = {"IDOC_CONTROL_REC_40": [{"DOCNUM": "1"}], "IDOC_DATA_REC_40": []}
    idocs = [store.accept(new_entry(parameters=idoc, message_id=f"m{number}")).entry.id for number in range(2)]
    worker = _running(_CountingWorker(store, deliverer, workers=2))
    try:
        what = "the refused packet's IDocs confirmed in its halves, without a poll on the timer"
        wait_until(lambda: all(_state(store, entry_id) == OutboxState.CONFIRMED for entry_id in idocs),
                   timeout=30, what=what)  # fmt: skip
    finally:
        worker.stop()
    assert len(deliverer.delivered) == 3  # the packet, then its two halves


def test_a_claim_that_failed_is_tried_again_when_a_delivery_ends(engine: Engine) -> None:
    first_may_end = threading.Event()

    class _HeldDeliverer(_EndingDeliverer):
        def deliver(self, entry: OutboxEntry) -> bool:
            first_may_end.wait(30)
            return super().deliver(entry)

    class _Store(OutboxStore):
        failing = False

        def claim(self, owner: str, now: datetime, limit: int, lease: timedelta, **options: Any) -> list[OutboxEntry]:
            if self.failing:
                raise RuntimeError("the database went away")
            return super().claim(owner, now, limit, lease, **options)

    store = _Store(engine)
    worker = _CountingWorker(store, _HeldDeliverer(store), workers=2)
    store.accept(new_entry())
    assert worker.poll() == 1  # its delivery is held
    store.failing = True
    assert worker.poll() == 0  # the claim failed: whatever is due waits for a free thread's wake-up
    first_may_end.set()
    worker.finish_deliveries()

    assert worker.wakes == 1


def _state(store: OutboxStore, entry_id: str) -> OutboxState | None:
    entry = store.get(entry_id)
    return None if entry is None else entry.state


def test_a_thread_that_frees_up_while_a_poll_claims_all_it_had_threads_for_wakes_the_worker_again(
    engine: Engine,
) -> None:
    """The delivery that ends during the poll sees nothing left behind yet, so it does not wake the loop; the
    poll, having claimed as many entries as it had free threads, sees the thread freed meanwhile and does."""
    first_may_end, first_ended, others_may_end = threading.Event(), threading.Event(), threading.Event()

    class _HeldDeliverer(_EndingDeliverer):
        def deliver(self, entry: OutboxEntry) -> bool:
            (others_may_end if self.delivered else first_may_end).wait(30)
            return super().deliver(entry)

    class _Worker(_CountingWorker):
        def _run(self, entry: OutboxEntry) -> None:
            super()._run(entry)
            first_ended.set()

    class _Store(OutboxStore):
        during_claim: Callable[[], None] | None = None

        def claim(self, owner: str, now: datetime, limit: int, lease: timedelta, **options: Any) -> list[OutboxEntry]:
            if self.during_claim is not None:
                self.during_claim()
                self.during_claim = None
            return super().claim(owner, now, limit, lease, **options)

    def end_the_first_delivery() -> None:
        first_may_end.set()
        assert first_ended.wait(30), "the first delivery did not end"

    store = _Store(engine)
    worker = _Worker(store, _HeldDeliverer(store), workers=2)
    store.accept(new_entry())
    assert worker.poll() == 1  # its delivery is held: one thread left
    for _ in range(2):
        store.accept(new_entry())
    store.during_claim = end_the_first_delivery

    assert worker.poll() == 1  # one free thread when it began; the first delivery ended meanwhile, without a wake-up
    assert worker.wakes == 1  # an entry is still due, and a thread is free
    others_may_end.set()
    worker.finish_deliveries()


def test_the_loop_claims_at_once_after_a_wake_up_and_reads_first_on_the_timer(engine: Engine) -> None:
    store = OutboxStore(engine)
    worker = _CountingWorker(store, _EndingDeliverer(store), workers=2, interval=0.05)
    worker.start()
    try:
        wait_until(lambda: len(worker.looks) >= 3, timeout=30, what="three polls")
        assert worker.looks[0] is False  # the first poll resumes what an earlier run left
        assert True in worker.looks[1:3]  # the timer's polls look first
        seen = len(worker.looks)
        store.accept(new_entry())
        worker.wake()
        wait_until(lambda: False in worker.looks[seen:], timeout=30, what="a poll after the wake-up")
    finally:
        worker.stop()


def test_a_delivery_whose_end_the_outbox_cannot_record_leaves_the_entry_to_its_lease(engine: Engine) -> None:
    """Released at once, the entry would be claimed and sent to SAP again at once, again and again while the
    database fails; left to its lease, it is tried again once the lease expires."""

    class _FailingStore(OutboxStore):
        def assign_tid(self, *arguments: Any, **options: Any) -> OutboxEntry:
            raise RuntimeError("the database refuses the TID")

        def mark_retry(self, *arguments: Any, **options: Any) -> OutboxEntry:
            raise RuntimeError("the database refuses the retry too")

    store = _FailingStore(engine)
    accepted = store.accept(new_entry()).entry
    claimed = store.claim_one(accepted.id, OWNER, accepted.created_at, timedelta(minutes=1))
    assert claimed is not None
    pools = OnePool(ConnectionPool("ERP", NullConnector, size=1, timeout=1))
    try:
        assert Deliverer(store, cast(PoolSet, pools), None, OWNER).deliver(claimed) is False  # nothing to release
    finally:
        pools.pool.close()
    left = store.get(accepted.id)
    assert left is not None and left.lease_owner == OWNER and left.state == OutboxState.ACCEPTED
