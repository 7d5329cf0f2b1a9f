"""Awaiting an outbox entry on the event loop: woken by this process's state changes, polled for others'."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import cast

from sqlalchemy import Engine

from idocbridge.transactions import OutboxState, OutboxStore
from idocbridge.transactions.outbox import AcceptBatch, NotifyingStore, Outbox, StateChanges, _later
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


def _deliver(store: OutboxStore, entry_id: str, tid: str = TID) -> None:
    """What the deliverer does, step by step, in another thread."""
    assert store.claim_one(entry_id, "worker", datetime.now(UTC), LEASE) is not None
    store.assign_tid(entry_id, "worker", tid)
    store.mark_executed(entry_id, "worker")
    store.mark_confirmed(entry_id, "worker", delivery_receipt("t", tid, "CONFIRMED"))


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


def test_the_steps_on_the_way_are_handed_to_the_waiter_without_waking_it_and_a_state_that_ends_the_wait_wakes_it(
    engine: Engine,
) -> None:
    changes = StateChanges()
    entry = _outbox(NotifyingStore(engine, changes), changes).accept(new_entry()).entry

    async def scenario() -> list[tuple[bool, OutboxState | None]]:
        seen: list[tuple[bool, OutboxState | None]] = []
        with changes.watch(entry.id) as waiter:
            for state in (OutboxState.TID_ASSIGNED, OutboxState.EXECUTED, OutboxState.RETRY_WAIT,
                          OutboxState.TID_ASSIGNED, OutboxState.CONFIRMED):  # fmt: skip
                changes.notify(replace(entry, state=state))
                await asyncio.sleep(0)  # a wake-up (call_soon_threadsafe) runs now
                woken = waiter.event.is_set()
                if woken or state is OutboxState.TID_ASSIGNED:
                    taken = changes.take(waiter)[0].get(entry.id)
                    seen.append((woken, taken.state if taken else None))
        return seen

    assert asyncio.run(scenario()) == [
        (False, OutboxState.TID_ASSIGNED),  # handed over, not woken
        (True, OutboxState.RETRY_WAIT),  # the EXECUTED before it was replaced; a retry can end a wait
        (False, OutboxState.TID_ASSIGNED),
        (True, OutboxState.CONFIRMED),
    ]


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


def test_a_final_state_of_this_process_is_answered_without_reading_an_announced_change(engine: Engine) -> None:
    """Another instance's announcement (stale) and this process's final state wake the waiter together: the
    final state stands, and nothing is read (a read that failed would otherwise turn it into an error)."""
    changes = StateChanges()
    store = _CountingStore(engine, changes)
    outbox = _outbox(store, changes)
    entry = outbox.accept(new_entry()).entry

    async def scenario() -> OutboxState:
        waiting = asyncio.create_task(outbox.wait_for(entry, LONG))
        await _until(lambda: changes.waiting() == 1)
        changes.poke([entry.id])  # both before the waiter runs again
        changes.notify(replace(entry, state=OutboxState.CONFIRMED))
        return (await asyncio.wait_for(waiting, 30)).state

    assert asyncio.run(scenario()) == OutboxState.CONFIRMED
    assert store.reads == 0


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


class _CountingStates(NotifyingStore):
    """Counts the reads of a request's entries, and how many entries each read asked for."""

    def __init__(self, engine: Engine, changes: StateChanges) -> None:
        super().__init__(engine, changes)
        self.reads: list[int] = []

    def states(self, entry_ids: Sequence[str]) -> dict[str, OutboxEntry]:
        self.reads.append(len(entry_ids))
        return super().states(entry_ids)


def _accepted_batch(outbox: Outbox, count: int) -> list[OutboxEntry]:
    batch = AcceptBatch()
    for number in range(count):
        batch.add(new_entry(message_id="many", parameters={"n": number}), LONG)
    return [delivery.entry for delivery in outbox.accept_all(batch)]


def test_the_entries_of_a_request_are_awaited_with_one_waiter_woken_by_each_change(engine: Engine) -> None:
    changes = StateChanges()
    store = _CountingStates(engine, changes)
    outbox = _outbox(store, changes)  # no poll within the test's deadline: only the notifications can wake it
    entries = _accepted_batch(outbox, 3)
    assert [entry.parameters for entry in entries] == [{}, {}, {}], "a waiting request holds no parameters"

    async def scenario() -> list[OutboxState]:
        waiting = asyncio.create_task(outbox.wait_for_all(entries, LONG))
        await _until(lambda: changes.waiting() == 3)
        for entry in reversed(entries):
            await asyncio.to_thread(_deliver, store, entry.id, f"0A1B2C3D4E5F60718293A4B{entry.id[-1]}")
        return [entry.state for entry in await asyncio.wait_for(waiting, 30)]

    assert asyncio.run(scenario()) == [OutboxState.CONFIRMED] * 3
    assert changes.waiting() == 0
    assert store.reads == [], "the waiter read entries instead of taking the ones changes handed it"


def test_the_entries_of_a_request_are_polled_in_one_read_of_the_open_ones(engine: Engine) -> None:
    changes = StateChanges()
    store = _CountingStates(engine, changes)
    outbox = _outbox(store, changes, poll_interval=0.2)
    other_instance = OutboxStore(engine)  # tells nobody in this process
    entries = _accepted_batch(outbox, 4)
    _deliver(other_instance, entries[0].id)

    async def scenario() -> list[OutboxState]:
        waiting = asyncio.create_task(outbox.wait_for_all(entries, LONG))
        await _until(lambda: bool(store.reads))
        assert store.reads[0] == 4, "one read for all the open entries"
        for entry in entries[1:]:
            await asyncio.to_thread(_deliver, other_instance, entry.id, f"0A1B2C3D4E5F60718293A4B{entry.id[-1]}")
        return [entry.state for entry in await asyncio.wait_for(waiting, 30)]

    assert asyncio.run(scenario()) == [OutboxState.CONFIRMED] * 4
    assert max(store.reads[1:], default=0) <= 3, "a confirmed entry is not read again"


def test_a_step_handed_over_without_a_wake_up_never_replaces_a_newer_read_of_the_entry(engine: Engine) -> None:
    """A step handed to the waiter (no wake-up) and older than what the waiter then reads is not its answer: the
    waiter drops what it was handed before each read, and keeps the later of the two at its deadline."""
    changes = StateChanges()
    outbox = _outbox(NotifyingStore(engine, changes), changes, poll_interval=0.1)
    entries = _accepted_batch(outbox, 1)
    older = replace(entries[0], state=OutboxState.TID_ASSIGNED, tid=TID,
                    updated_at=entries[0].updated_at - timedelta(seconds=1))  # fmt: skip

    async def scenario() -> list[OutboxEntry]:
        waiting = asyncio.create_task(outbox.wait_for_all(entries, 0.5))
        await _until(lambda: changes.waiting() == 1)
        changes.notify(older)
        return await asyncio.wait_for(waiting, 30)

    (answered,) = asyncio.run(scenario())
    assert (answered.state, answered.tid) == (OutboxState.ACCEPTED, None)


def test_a_waiter_keeps_the_later_of_what_it_holds_and_what_it_was_handed_and_a_final_state_stands(
    engine: Engine,
) -> None:
    accepted = OutboxStore(engine).accept(new_entry()).entry
    held = replace(accepted, state=OutboxState.EXECUTED, updated_at=accepted.updated_at + timedelta(seconds=1))
    older = replace(held, state=OutboxState.TID_ASSIGNED, updated_at=held.updated_at - timedelta(seconds=1))
    same_moment = replace(held, state=OutboxState.RETRY_WAIT)
    final = replace(held, state=OutboxState.CONFIRMED, updated_at=held.updated_at - timedelta(seconds=5))

    assert _later(held, None) is held
    assert _later(held, older) is held  # a late notification of an earlier step
    assert _later(held, same_moment) is same_moment
    assert _later(held, final) is final  # a final state wins whatever the clocks say
    assert _later(final, held) is final


def test_one_receipt_for_every_answer() -> None:
    assert delivery_receipt("T1", None, OutboxState.RETRY_WAIT) == {"transactionId": "T1", "tid": "",
                                                                    "state": "RETRY_WAIT"}  # fmt: skip
    assert delivery_receipt("T1", TID, "CONFIRMED") == {"transactionId": "T1", "tid": TID, "state": "CONFIRMED"}
