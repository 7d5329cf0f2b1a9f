"""Concurrent accepts and claims: threads of one process, and several processes on one database."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import Connection, Engine, func, select

from idocbridge.transactions import OutboxEntry, OutboxStore, outbox_table
from idocbridge.transactions.store import MessageIdReused
from tests.transactions.conftest import LEASE, T0, Clock, new_entry


def _race[R](count: int, work: Callable[[int], R]) -> list[R]:
    """Run ``work(0..count-1)`` in ``count`` threads released together."""
    barrier = threading.Barrier(count)

    def run(index: int) -> R:
        barrier.wait()
        return work(index)

    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(run, range(count)))


def _rows(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(connection.execute(select(func.count()).select_from(outbox_table)).scalar_one())


def test_threads_accepting_one_message_id_make_exactly_one_entry(engine: Engine, store: OutboxStore) -> None:
    for message_id in (f"m-{round_}" for round_ in range(5)):
        results = _race(12, lambda _, message_id=message_id: store.accept(new_entry(message_id=message_id)))
        assert sum(created for _, created in results) == 1
        assert len({entry.id for entry, _ in results}) == 1
    assert _rows(engine) == 5


def test_accept_rereads_the_entry_when_its_insert_meets_the_unique_index(
    store: OutboxStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = store.accept(new_entry(message_id="m")).entry
    real = OutboxStore._by_message_ids
    calls: list[int] = []

    def blind_once(connection: Connection, service: str, operation: str,
                   message_ids: Sequence[str | None]) -> dict[str, OutboxEntry]:  # fmt: skip
        calls.append(1)  # the first look finds nothing, as if the twin came later
        return {} if len(calls) == 1 else real(connection, service, operation, message_ids)

    monkeypatch.setattr(OutboxStore, "_by_message_ids", staticmethod(blind_once))
    again, created = store.accept(new_entry(message_id="m"))
    assert (again, created) == (first, False)
    assert len(calls) == 2


def test_threads_claiming_together_never_share_an_entry(engine: Engine, clock: Clock) -> None:
    store = OutboxStore(engine, clock=clock)
    ids = {store.accept(new_entry()).entry.id for _ in range(200)}

    def drain(index: int) -> list[str]:
        mine: list[str] = []
        while batch := store.claim(f"w{index}", T0, 7, LEASE):
            mine.extend(entry.id for entry in batch)
            assert all(entry.lease_owner == f"w{index}" for entry in batch)
        return mine

    claimed = [entry_id for mine in _race(8, drain) for entry_id in mine]
    assert len(claimed) == len(set(claimed)) == len(ids)
    assert set(claimed) == ids


_CLAIMER = """
import json, sys, time
from datetime import datetime, timedelta
from idocbridge.db import create_engine_for
from idocbridge.transactions import OutboxStore
engine = create_engine_for(sys.argv[1])
store = OutboxStore(engine)
now = datetime.fromisoformat(sys.argv[3])
time.sleep(max(0.0, float(sys.argv[2]) - time.time()))
mine = []
while batch := store.claim(sys.argv[4], now, 3, timedelta(minutes=5)):
    mine.extend(entry.id for entry in batch)
print(json.dumps(mine))
"""


@pytest.mark.slow
def test_processes_claiming_together_never_share_an_entry(url: str, engine: Engine, clock: Clock) -> None:
    store = OutboxStore(engine, clock=clock)
    ids = {store.accept(new_entry()).entry.id for _ in range(150)}
    start = time.time() + 2.0
    children = [
        subprocess.Popen(
            [sys.executable, "-c", _CLAIMER, url, str(start), T0.isoformat(), f"p{index}"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for index in range(3)
    ]
    outputs = [child.communicate(timeout=120) for child in children]
    assert [child.returncode for child in children] == [0, 0, 0], [err for _, err in outputs]
    per_process = [json.loads(out) for out, _ in outputs]
    claimed = [entry_id for mine in per_process for entry_id in mine]
    assert len(claimed) == len(set(claimed)) == len(ids)
    assert set(claimed) == ids
    owners = {entry.id: entry.lease_owner for entry in store.list(limit=1000)}
    for index, mine in enumerate(per_process):
        assert {owners[entry_id] for entry_id in mine} <= {f"p{index}"}


def test_one_message_id_on_a_request_of_one_call_and_of_many_at_once_keeps_one_of_them(engine: Engine) -> None:
    """Two instances (two stores) take a request of one call and one of three with the same message ID at once:
    the first entry of both holds the message ID, so the unique index lets one in, and the other is refused."""
    stores = [OutboxStore(engine), OutboxStore(engine)]
    for round_number in range(10):
        message_id = f"both-{round_number}"

        def accept(index: int, message_id: str = message_id) -> str:
            calls = [new_entry(message_id=message_id, parameters={"n": n}) for n in range(1 if index == 0 else 3)]
            try:
                stores[index].accept_all(calls)
            except MessageIdReused:
                return "refused"
            return "kept"

        outcome = _race(2, accept)
        assert sorted(outcome) == ["kept", "refused"], outcome
        expected = 1 if outcome[0] == "kept" else 3
        with engine.connect() as connection:
            kept = connection.execute(
                select(func.count()).select_from(outbox_table).where(outbox_table.c.message_id.like(f"{message_id}%"))
            ).scalar_one()
        assert kept == expected, "nothing of the refused request was kept"
