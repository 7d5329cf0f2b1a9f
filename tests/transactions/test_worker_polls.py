"""When the outbox worker polls: at once after a wake-up, and after a delivery only if the last poll left work behind.

Each test runs the worker's polls by hand (its loop not started) against a real store, with a deliverer that ends
each delivery as a real one would (the entry FAILED, its lease ended), and counts the worker's wake-ups once every
delivery thread has finished.
"""

from __future__ import annotations

from typing import cast

from sqlalchemy import Engine

from idocbridge.connectors.pool_set import PoolSet
from idocbridge.db.writer import serial_writer
from idocbridge.transactions import OutboxState, OutboxStore
from idocbridge.transactions.delivery import Deliverer
from idocbridge.transactions.scheduler import OutboxWorker
from idocbridge.transactions.tables import OutboxEntry
from tests.transactions.conftest import new_entry

OWNER = "instance-1"


class _EndingDeliverer(Deliverer):
    """Ends each delivery without SAP: the entry FAILED (lease ended), or its lease kept when ``keep_lease``."""

    def __init__(self, store: OutboxStore, keep_lease: bool = False) -> None:
        super().__init__(store, cast(PoolSet, None), None, OWNER)
        self.keep_lease = keep_lease
        self.delivered: list[str] = []

    def deliver(self, entry: OutboxEntry) -> bool:
        self.delivered.append(entry.id)
        if self.keep_lease:
            return True  # the worker releases the lease: the entry is due again
        self.store.mark_failed(entry.id, OWNER, "ended by the test", "TEST")
        return False


class _CountingWorker(OutboxWorker):
    def __init__(self, store: OutboxStore, deliverer: Deliverer, workers: int) -> None:
        super().__init__(store, deliverer, workers=workers, interval=3600)
        self.wakes = 0

    def wake(self) -> None:
        self.wakes += 1
        super().wake()

    def finish_deliveries(self) -> None:
        """Wait for every delivery thread to end (the executor's shutdown)."""
        self._executor.shutdown(wait=True)


def _accepted(store: OutboxStore, count: int) -> list[str]:
    return [store.accept(new_entry()).entry.id for _ in range(count)]


def test_a_delivery_that_ends_does_not_wake_the_worker_when_its_poll_claimed_all_that_was_due(engine: Engine) -> None:
    store = OutboxStore(engine)
    deliverer = _EndingDeliverer(store)
    worker = _CountingWorker(store, deliverer, workers=2)
    (entry_id,) = _accepted(store, 1)

    assert worker.poll() == 1
    worker.finish_deliveries()

    assert deliverer.delivered == [entry_id]
    assert worker.wakes == 0
    assert store.counts()[OutboxState.FAILED] == 1


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


def test_a_delivery_whose_lease_the_worker_releases_wakes_it(engine: Engine) -> None:
    store = OutboxStore(engine)
    worker = _CountingWorker(store, _EndingDeliverer(store, keep_lease=True), workers=2)
    (entry_id,) = _accepted(store, 1)

    assert worker.poll() == 1
    worker.finish_deliveries()

    assert worker.wakes == 1  # released, the entry is due again at once
    released = store.get(entry_id)
    assert released is not None and released.lease_owner is None and released.state == OutboxState.ACCEPTED


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
