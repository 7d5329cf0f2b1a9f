"""An accepted entry goes straight to a free delivery thread, committed leased, without a claim.

A real worker, deliverer and pool against the simulator process, on each backend: an entry accepted while
a delivery thread is free is committed leased to the instance and delivered without the worker claiming it;
one accepted while every thread is busy is committed unleased and claimed later; one handed over as the
worker stops is released for the next worker.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Engine

from idocbridge.connectors.pool import ConnectionPool
from idocbridge.connectors.pool_set import PoolSet
from idocbridge.sapsim.testing import SimulatorProcess, txtraw
from idocbridge.transactions import OutboxState, OutboxStore
from idocbridge.transactions.backoff import Backoff
from idocbridge.transactions.delivery import Deliverer
from idocbridge.transactions.outbox import Outbox
from idocbridge.transactions.scheduler import OutboxWorker
from idocbridge.transactions.tables import OutboxEntry
from tests.transactions.conftest import OnePool, new_entry
from tests.waiting import wait_until

ALIAS = "ERP"
OWNER = "instance-1"


class ClaimsSeen(OutboxStore):
    """An outbox store that remembers which entries its claims returned."""

    def __init__(self, engine: Engine) -> None:
        super().__init__(engine)
        self.claimed: list[str] = []

    def claim(self, owner: str, now: datetime, limit: int, lease: timedelta) -> list[OutboxEntry]:
        entries = super().claim(owner, now, limit, lease)
        self.claimed.extend(entry.id for entry in entries)
        return entries


@contextmanager
def _outbox(store: OutboxStore, sim: SimulatorProcess, workers: int, start: bool = True) -> Iterator[Outbox]:
    pool = ConnectionPool(ALIAS, lambda: sim.connector(timeout=30.0), size=workers, timeout=10)
    deliverer = Deliverer(store, cast(PoolSet, OnePool(pool)), None, OWNER, backoff=Backoff(base=0.05, jitter=0.0))
    worker = OutboxWorker(store, deliverer, workers=workers, interval=3600.0)  # polls when woken only
    if start:
        worker.start()
    try:
        yield Outbox(store, worker)
    finally:
        worker.stop()
        pool.close()


def _state(store: OutboxStore, entry_id: str) -> OutboxState | None:
    entry = store.get(entry_id)
    return None if entry is None else entry.state


def _reaches(store: OutboxStore, entry_id: str, state: OutboxState, what: str) -> None:
    wait_until(lambda: _state(store, entry_id) is state, what=what, interval=0.05)


def _accept(outbox: Outbox, text: str) -> OutboxEntry:
    return outbox.accept(new_entry(alias=ALIAS, parameters=txtraw(text), message_id=text)).entry


def _texts_in_sap(sim: SimulatorProcess) -> list[Any]:
    return sorted(idoc["data"][0]["SDATA"] for idoc in sim.control.idocs(full=True))


def test_an_entry_accepted_while_a_delivery_thread_is_free_is_delivered_without_a_claim(
    engine: Engine, sim: SimulatorProcess
) -> None:
    store = ClaimsSeen(engine)
    with _outbox(store, sim, workers=2) as outbox:
        entry = _accept(outbox, "handed over")
        assert entry.state is OutboxState.ACCEPTED and entry.lease_owner == OWNER  # as committed
        _reaches(store, entry.id, OutboxState.CONFIRMED, "the entry CONFIRMED")
    assert entry.id not in store.claimed
    assert _texts_in_sap(sim) == ["handed over"]
    done = store.get(entry.id)
    assert done is not None and done.lease_owner is None and done.tid is not None


def test_an_entry_accepted_while_every_delivery_thread_is_busy_is_claimed_later(
    engine: Engine, sim: SimulatorProcess
) -> None:
    store = ClaimsSeen(engine)
    sim.control.add_fault("delay", function="IDOC_INBOUND_ASYNCHRONOUS", seconds=1.0)
    with _outbox(store, sim, workers=1) as outbox:
        first = _accept(outbox, "first")
        _reaches(store, first.id, OutboxState.TID_ASSIGNED, "the first entry in SAP's hands")
        second = _accept(outbox, "second")
        assert second.lease_owner is None  # no thread was free: committed for any worker to claim
        sim.control.clear_faults()
        _reaches(store, second.id, OutboxState.CONFIRMED, "the second entry CONFIRMED")
        _reaches(store, first.id, OutboxState.CONFIRMED, "the first entry CONFIRMED")
    assert first.id not in store.claimed and second.id in store.claimed
    assert _texts_in_sap(sim) == ["first", "second"]


def test_an_entry_accepted_before_the_worker_runs_waits_unleased(engine: Engine, sim: SimulatorProcess) -> None:
    store = ClaimsSeen(engine)
    with _outbox(store, sim, workers=2, start=False) as outbox:
        entry = _accept(outbox, "early")
    assert entry.lease_owner is None and _state(store, entry.id) is OutboxState.ACCEPTED
    assert sim.control.idocs() == []


def test_an_entry_handed_over_as_the_worker_stops_is_released_for_the_next_worker(
    engine: Engine, sim: SimulatorProcess
) -> None:
    store = ClaimsSeen(engine)
    with _outbox(store, sim, workers=1) as outbox:
        worker = outbox.worker
        assert worker.reserve()  # a request took the free thread and commits its entry leased ...
        entry = store.accept(new_entry(alias=ALIAS, parameters=txtraw("late")), lease_to=(OWNER, worker.lease)).entry
        worker.stop()  # ... while the instance shuts down
        worker.deliver_reserved(entry)
        released = store.get(entry.id)
        assert released is not None and released.state is OutboxState.ACCEPTED and released.lease_owner is None
        assert not worker.reserve()  # stopped: nothing more is handed over
    assert sim.control.idocs() == []
    with _outbox(store, sim, workers=1) as outbox:  # the next worker claims it
        outbox.worker.wake()
        _reaches(store, entry.id, OutboxState.CONFIRMED, "the entry CONFIRMED by the next worker")
    assert entry.id in store.claimed and _texts_in_sap(sim) == ["late"]
