"""qRFC order in the outbox: one entry of a queue in flight, always its head, and a FAILED head stops it."""

from __future__ import annotations

import threading
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from sqlalchemy import Engine

from idocbridge.db import create_engine_for
from idocbridge.transactions import OutboxState, OutboxStore
from tests.transactions.conftest import LEASE, T0, TID, Clock, new_entry

S = OutboxState


def _queued(store: OutboxStore, queue: str | None, count: int, alias: str = "ERP") -> list[str]:
    return [store.accept(new_entry(queue=queue, alias=alias)).entry.id for _ in range(count)]


def _finish(store: OutboxStore, entry_id: str, owner: str, tid: str) -> None:
    store.assign_tid(entry_id, owner, tid)
    store.mark_executed(entry_id, owner)
    store.mark_confirmed(entry_id, owner, {"tid": tid})


def _tid(number: int) -> str:
    return f"{number:024X}"


def test_accept_numbers_each_queue_of_each_alias_from_one(store: OutboxStore) -> None:
    a = _queued(store, "Q_A", 3)
    b = _queued(store, "Q_B", 2)
    other_alias = _queued(store, "Q_A", 1, alias="ERP2")
    plain = _queued(store, None, 1)
    seqs = {entry_id: store.get(entry_id).queue_seq for entry_id in a + b + other_alias + plain}  # type: ignore[union-attr]
    assert [seqs[i] for i in a] == [1, 2, 3]
    assert [seqs[i] for i in b] == [1, 2]
    assert [seqs[i] for i in other_alias] == [1]
    assert [seqs[i] for i in plain] == [None]


def test_only_the_head_of_a_queue_is_claimed_and_only_once_at_a_time(store: OutboxStore, clock: Clock) -> None:
    first, second, third = _queued(store, "Q", 3)
    (plain,) = _queued(store, None, 1)
    claimed = store.claim("w1", T0, 10, LEASE)
    assert {entry.id for entry in claimed} == {first, plain}
    assert store.claim("w2", T0, 10, LEASE) == []
    assert store.claim_one(second, "w2", T0, LEASE) is None
    _finish(store, first, "w1", TID)
    assert [entry.id for entry in store.claim("w2", T0, 10, LEASE)] == [second]
    assert store.claim("w1", T0, 10, LEASE) == []
    _finish(store, second, "w2", _tid(2))
    assert store.claim_one(third, "w1", T0, LEASE) is not None


def test_a_head_waiting_to_retry_holds_its_queue(store: OutboxStore, clock: Clock) -> None:
    first, second = _queued(store, "Q", 2)
    store.claim("w1", T0, 10, LEASE)
    store.assign_tid(first, "w1", TID)
    store.mark_retry(first, "w1", "connection lost", "COMMUNICATION", T0 + timedelta(seconds=30))
    assert store.claim("w1", T0 + timedelta(seconds=10), 10, LEASE) == []
    assert store.queue_blocker(store.get(second)).id == first  # type: ignore[arg-type,union-attr]
    resumed = store.claim("w1", T0 + timedelta(seconds=30), 10, LEASE)
    assert [(entry.id, entry.tid) for entry in resumed] == [(first, TID)]


def test_an_expired_lease_hands_the_head_over_not_the_next_entry(store: OutboxStore) -> None:
    first, _ = _queued(store, "Q", 2)
    store.claim("dead", T0, 10, LEASE)
    later = T0 + LEASE
    assert [entry.id for entry in store.claim("alive", later, 10, LEASE)] == [first]


@pytest.mark.parametrize("action", ["retry", "cancel"])
def test_a_failed_head_stops_its_queue_until_an_operator_acts(store: OutboxStore, clock: Clock, action: str) -> None:
    first, second, third = _queued(store, "Q", 3)
    (other,) = _queued(store, "OTHER", 1)
    store.claim("w1", T0, 10, LEASE)
    store.assign_tid(first, "w1", TID)
    store.mark_failed(first, "w1", "exception DOCUMENT_LOCKED", "DOCUMENT_LOCKED")
    _finish(store, other, "w1", _tid(9))
    later = T0 + timedelta(hours=1)
    assert store.claim("w2", later, 10, LEASE) == [], "a FAILED head stops its queue"
    blocker = store.queue_blocker(store.get(third))  # type: ignore[arg-type]
    assert blocker is not None and (blocker.id, blocker.state) == (first, S.FAILED)
    assert store.queue_blocker(store.get(first)) is None  # type: ignore[arg-type]
    clock.now = later
    if action == "retry":
        store.retry_now(first)
        assert [(entry.id, entry.tid) for entry in store.claim("w2", later, 10, LEASE)] == [(first, TID)]
        store.mark_executed(first, "w2")
        store.mark_confirmed(first, "w2", {})
    else:
        assert store.cancel(first).state is S.CANCELLED
    assert [entry.id for entry in store.claim("w2", later, 10, LEASE)] == [second]


def test_two_instances_deliver_each_queue_in_order_one_at_a_time(engine: Engine, url: str) -> None:
    """Two stores on their own engines (two instances) drain three queues concurrently."""
    queues = ["Q1", "Q2", "Q3"]
    seeding = OutboxStore(engine)
    order = {queue: _queued(seeding, queue, 40) for queue in queues}
    queue_of = {entry_id: queue for queue, ids in order.items() for entry_id in ids}
    in_flight: dict[str, str] = {}
    overlaps: list[str] = []
    confirmed: dict[str, list[str]] = defaultdict(list)
    lock = threading.Lock()
    counter = iter(range(1, 10_000))
    engines = [create_engine_for(url) for _ in range(2)]

    def work(index: int) -> None:
        store = OutboxStore(engines[index % 2])
        owner = f"instance{index % 2}-worker{index}"
        idle = 0
        while idle < 50:
            batch = store.claim(owner, T0, 2, LEASE)
            if not batch:
                idle += 1
                threading.Event().wait(0.01)
                continue
            idle = 0
            for entry in batch:
                queue = queue_of[entry.id]
                with lock:
                    if queue in in_flight:
                        overlaps.append(f"{entry.id} claimed while {in_flight[queue]} of {queue} was in flight")
                    in_flight[queue] = entry.id
                    tid = _tid(next(counter))
                store.assign_tid(entry.id, owner, tid)
                store.mark_executed(entry.id, owner)
                with lock:  # gone from in_flight before the confirm commits: a next claim cannot come earlier
                    in_flight.pop(queue, None)
                    confirmed[queue].append(entry.id)
                store.mark_confirmed(entry.id, owner, {"tid": tid})

    try:
        with ThreadPoolExecutor(6) as pool:
            list(pool.map(work, range(6)))
    finally:
        for created in engines:
            created.dispose()
    assert overlaps == []
    assert dict(confirmed) == order
    assert seeding.counts()[S.CONFIRMED] == 120


def test_concurrent_accepts_of_one_queue_number_it_without_gaps(engine: Engine, url: str) -> None:
    engines = [create_engine_for(url) for _ in range(2)]
    barrier = threading.Barrier(8)

    def accept(index: int) -> list[int]:
        store = OutboxStore(engines[index % 2])
        barrier.wait()
        numbers = []
        for _ in range(10):
            entry = store.accept(new_entry(queue="Q")).entry
            assert entry.queue_seq is not None
            numbers.append(entry.queue_seq)
        return numbers

    try:
        with ThreadPoolExecutor(8) as pool:
            results = list(pool.map(accept, range(8)))
    finally:
        for created in engines:
            created.dispose()
    numbers = sorted(n for numbers in results for n in numbers)
    assert numbers == list(range(1, 81))
    assert all(numbers == sorted(numbers) for numbers in results), "each accept numbered after the one before"
