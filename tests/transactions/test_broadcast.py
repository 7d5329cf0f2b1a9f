"""State changes across instances on PostgreSQL (LISTEN/NOTIFY): a request waiting on one instance wakes
when another delivers its IDoc, without waiting for its poll."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine

from idocbridge.transactions.broadcast import _PAYLOAD_LIMIT, ChangeBroadcast, _payloads
from idocbridge.transactions.outbox import NotifyingStore, StateChanges
from tests.transactions.test_outbox_wait import LONG, _deliver, _outbox, _until, new_entry

LISTEN_TIMEOUT = 30.0
ON_POSTGRESQL = pytest.mark.parametrize("url", ["postgresql"], indirect=True)
"""LISTEN/NOTIFY is PostgreSQL's (on SQLite one process writes, and no other instance needs telling)."""


class _Instance:
    """What a deployment wires: its state changes, its broadcast (listening), and its store announcing."""

    def __init__(self, engine: Engine, name: str) -> None:
        self.changes = StateChanges()
        self.broadcast = ChangeBroadcast(engine, name, self.changes.poke)
        self.store = NotifyingStore(engine, self.changes, self.broadcast.announce)
        self.broadcast.start()
        assert self.broadcast.wait_listening(LISTEN_TIMEOUT), "the listener did not subscribe"


@pytest.fixture
def instances(engine: Engine) -> Iterator[tuple[_Instance, _Instance]]:
    one, two = _Instance(engine, "host:1:aaaa"), _Instance(engine, "host:2:bbbb")
    yield one, two
    one.broadcast.stop()
    two.broadcast.stop()


@ON_POSTGRESQL
def test_a_request_waiting_on_one_instance_wakes_when_another_delivers_its_idoc(
    instances: tuple[_Instance, _Instance],
) -> None:
    accepting, delivering = instances
    outbox = _outbox(accepting.store, accepting.changes)  # polls every LONG seconds: only a notification wakes it
    entry = outbox.accept(new_entry()).entry

    async def scenario() -> str:
        waiting = asyncio.create_task(outbox.wait_for(entry, LONG))
        await _until(lambda: accepting.changes.waiting() == 1)
        await asyncio.to_thread(_deliver, delivering.store, entry.id)  # the other instance, as its worker would
        return (await asyncio.wait_for(waiting, 30)).state.value

    assert asyncio.run(scenario()) == "CONFIRMED"


@ON_POSTGRESQL
def test_a_request_of_many_idocs_wakes_as_the_other_instance_confirms_each(
    instances: tuple[_Instance, _Instance],
) -> None:
    accepting, delivering = instances
    outbox = _outbox(accepting.store, accepting.changes)
    entries = [outbox.accept(new_entry(transaction_id=f"{n:040x}")).entry for n in range(1, 4)]

    async def scenario() -> list[str]:
        waiting = asyncio.create_task(outbox.wait_for_all(entries, LONG))
        await _until(lambda: accepting.changes.waiting() == len(entries))  # one waiter, registered per entry
        for entry in entries:
            await asyncio.to_thread(_deliver, delivering.store, entry.id, f"{entry.id[:24]:0<24}".upper())
        return [one.state.value for one in await asyncio.wait_for(waiting, 30)]

    assert asyncio.run(scenario()) == ["CONFIRMED"] * 3


@ON_POSTGRESQL
def test_an_instance_does_not_wake_itself_with_its_own_announcements(instances: tuple[_Instance, _Instance]) -> None:
    one, two = instances

    async def scenario() -> tuple[set[str], set[str]]:
        with one.changes.watch("own") as own, one.changes.watch("theirs") as theirs:
            one.broadcast.announce(["own"])  # committed first, so one's listener hears it before "theirs"
            two.broadcast.announce(["theirs"])
            await _until(theirs.event.is_set)
            return set(own.stale), set(theirs.stale)

    assert asyncio.run(scenario()) == (set(), {"theirs"})


def test_long_lists_of_ids_go_in_several_notifications_each_under_the_limit() -> None:
    ids = [f"{n:032x}" for n in range(1000)]
    payloads = list(_payloads("host:1:aaaa", ids))
    assert len(payloads) > 1
    assert all(len(payload.encode()) < _PAYLOAD_LIMIT for payload in payloads)
    assert [i for p in payloads for i in p.partition(" ")[2].split(",")] == ids
    assert list(_payloads("host:1:aaaa", [])) == []


@ON_POSTGRESQL
def test_a_failing_announcement_is_logged_not_raised(engine: Engine, caplog: pytest.LogCaptureFixture) -> None:
    broadcast = ChangeBroadcast(engine, "host:1:aaaa", lambda ids: None)
    broadcast.announce(["x" * 9000])  # one ID over PostgreSQL's payload limit: the NOTIFY fails
    assert "announcing outbox state changes failed" in caplog.text
