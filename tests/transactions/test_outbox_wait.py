"""Awaiting an outbox entry on the event loop: woken by this process's state changes, polled for others'."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import cast

from sqlalchemy import Engine

from idocbridge.transactions import OutboxState, OutboxStore
from idocbridge.transactions.outbox import NotifyingStore, Outbox, StateChanges
from idocbridge.transactions.receipts import delivery_receipt
from idocbridge.transactions.scheduler import OutboxWorker
from idocbridge.transactions.tables import OutboxEntry
from tests.transactions.conftest import LEASE, TID, new_entry

LONG = 600.0
"""A wait or poll interval no test may sit out: reaching it means the wake-up did not come."""


class _Worker:
    """The outbox worker's ``wake`` alone: these tests deliver by hand."""

    def wake(self) -> None:
        return None


def _outbox(store: OutboxStore, changes: StateChanges, poll_interval: float = LONG) -> Outbox:
    return Outbox(store, cast(OutboxWorker, _Worker()), poll_interval=poll_interval, changes=changes)


def _deliver(store: OutboxStore, entry_id: str) -> None:
    """What the deliverer does, step by step, in another thread."""
    assert store.claim_one(entry_id, "worker", datetime.now(UTC), LEASE) is not None
    store.assign_tid(entry_id, "worker", TID)
    store.mark_executed(entry_id, "worker")
    store.mark_confirmed(entry_id, "worker", delivery_receipt("t", TID, "CONFIRMED"))


async def _until(condition: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "the condition did not come true"
        await asyncio.sleep(0.01)


class _CountingStore(NotifyingStore):
    """Counts the reads of an entry (what a waiter would do if it polled)."""

    reads = 0

    def get(self, entry_id: str) -> OutboxEntry | None:
        self.reads += 1
        return super().get(entry_id)


def test_a_state_change_in_this_process_wakes_the_waiting_request_with_the_entry(engine: Engine) -> None:
    changes = StateChanges()
    store = _CountingStore(engine, changes)
    outbox = _outbox(store, changes)  # no poll within the test's deadline: only the notification can wake it
    entry = outbox.accept(new_entry()).entry

    async def scenario() -> OutboxState:
        waiting = asyncio.create_task(outbox.wait_for(entry, LONG))
        await _until(lambda: changes.waiting() == 1)
        await asyncio.to_thread(_deliver, store, entry.id)
        return (await asyncio.wait_for(waiting, 30)).state

    assert asyncio.run(scenario()) == OutboxState.CONFIRMED
    assert changes.waiting() == 0
    assert store.reads == 0, "the waiter read the entry instead of taking the one the change handed it"


def test_a_change_another_instance_makes_is_seen_by_the_slow_poll(engine: Engine) -> None:
    changes = StateChanges()
    outbox = _outbox(NotifyingStore(engine, changes), changes, poll_interval=0.2)
    other_instance = OutboxStore(engine)  # tells nobody in this process
    entry = outbox.accept(new_entry()).entry

    async def scenario() -> OutboxState:
        waiting = asyncio.create_task(outbox.wait_for(entry, LONG))
        await _until(lambda: changes.waiting() == 1)
        await asyncio.to_thread(_deliver, other_instance, entry.id)
        return (await asyncio.wait_for(waiting, 30)).state

    assert asyncio.run(scenario()) == OutboxState.CONFIRMED


def test_an_entry_whose_next_try_lies_beyond_the_wait_answers_at_once(engine: Engine) -> None:
    changes = StateChanges()
    store = NotifyingStore(engine, changes)
    outbox = _outbox(store, changes)
    entry = outbox.accept(new_entry()).entry
    assert store.claim_one(entry.id, "worker", datetime.now(UTC), LEASE) is not None
    store.mark_retry(entry.id, "worker", "SAP unreachable", "COMMUNICATION_FAILURE",
                     datetime.now(UTC) + timedelta(hours=1))  # fmt: skip

    async def scenario() -> OutboxState:
        return (await asyncio.wait_for(outbox.wait_for(entry, LONG), 30)).state

    assert asyncio.run(scenario()) == OutboxState.RETRY_WAIT


def test_a_wait_that_runs_out_answers_the_state_as_it_stands(engine: Engine) -> None:
    changes = StateChanges()
    outbox = _outbox(NotifyingStore(engine, changes), changes)
    entry = outbox.accept(new_entry()).entry
    assert asyncio.run(outbox.wait_for(entry, 0.2)).state == OutboxState.ACCEPTED
    assert changes.waiting() == 0


def test_one_receipt_for_every_answer() -> None:
    assert delivery_receipt("T1", None, OutboxState.RETRY_WAIT) == {"transactionId": "T1", "tid": "",
                                                                    "state": "RETRY_WAIT"}  # fmt: skip
    assert delivery_receipt("T1", TID, "CONFIRMED") == {"transactionId": "T1", "tid": TID, "state": "CONFIRMED"}
