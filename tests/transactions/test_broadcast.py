"""State changes across instances on PostgreSQL (LISTEN/NOTIFY): a request waiting on one instance wakes
when another delivers its IDoc, or an operator acts on it, without waiting for its next read."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url

from idocbridge.db import create_engine_for
from idocbridge.transactions import OutboxState, OutboxStore
from idocbridge.transactions.broadcast import _PAYLOAD_LIMIT, Announcer, ChangeListener, _payloads, announce_now
from idocbridge.transactions.outbox import NotifyingStore, StateChanges
from idocbridge.transactions.store import LeaseLost
from idocbridge.transactions.tables import OutboxEntry
from tests.transactions.test_outbox_wait import LONG, _deliver, _outbox, _until, new_entry

LISTEN_TIMEOUT = 30.0
ON_POSTGRESQL = pytest.mark.parametrize("url", ["postgresql"], indirect=True)
"""LISTEN/NOTIFY is PostgreSQL's (on SQLite one process writes, and no other instance needs telling)."""


class _Instance:
    """What a deployment wires: its state changes, its store announcing as ``name`` (from an announcer thread,
    as `serve` does), and its listener."""

    def __init__(self, engine: Engine, name: str) -> None:
        self.changes = StateChanges()
        self.announcer = Announcer(engine, name)
        self.store = NotifyingStore(engine, self.changes, announcer=self.announcer)
        self.listener = ChangeListener(engine, name, self.changes.poke)
        self.announcer.start()
        self.listener.start()
        assert self.listener.wait_listening(LISTEN_TIMEOUT), "the listener did not subscribe"

    def stop(self) -> None:
        self.listener.stop()
        self.announcer.stop()


@pytest.fixture
def instances(engine: Engine) -> Iterator[tuple[_Instance, _Instance]]:
    one, two = _Instance(engine, "host:1:aaaa"), _Instance(engine, "host:2:bbbb")
    yield one, two
    one.stop()
    two.stop()


@ON_POSTGRESQL
def test_a_request_waiting_on_one_instance_wakes_when_another_delivers_its_idoc(
    instances: tuple[_Instance, _Instance],
) -> None:
    accepting, delivering = instances
    outbox = _outbox(accepting.store, accepting.changes)  # reads every LONG seconds: only a notification wakes it
    entry = outbox.accept(new_entry()).entry

    async def scenario() -> str:
        waiting = asyncio.create_task(outbox.wait_for(entry, LONG))
        await _until(lambda: accepting.changes.waiting() == 1)
        await asyncio.to_thread(_deliver, delivering.store, entry.id)  # the other instance, as its worker would
        return (await asyncio.wait_for(waiting, 30)).state.value

    assert asyncio.run(scenario()) == "CONFIRMED"


@ON_POSTGRESQL
def test_a_change_heard_before_the_request_begins_to_wait_wakes_it_at_once(
    instances: tuple[_Instance, _Instance],
) -> None:
    """A request of two entries waits for one, then the other: the other was confirmed meanwhile."""
    accepting, delivering = instances
    outbox = _outbox(accepting.store, accepting.changes)
    entry = outbox.accept(new_entry()).entry
    _deliver(delivering.store, entry.id)

    async def scenario() -> str:
        await _until(lambda: accepting.changes.recently_changed(entry.id))
        return (await asyncio.wait_for(outbox.wait_for(entry, LONG), 30)).state.value

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
def test_an_operator_cancel_from_the_command_line_wakes_the_waiting_request(
    engine: Engine, instances: tuple[_Instance, _Instance]
) -> None:
    accepting, _ = instances
    outbox = _outbox(accepting.store, accepting.changes)
    entry = outbox.accept(new_entry()).entry
    operator = OutboxStore(engine)  # what `idocbridge tx cancel` uses: it announces under a name of its own

    async def scenario() -> str:
        waiting = asyncio.create_task(outbox.wait_for(entry, LONG))
        await _until(lambda: accepting.changes.waiting() == 1)
        await asyncio.to_thread(operator.cancel, entry.id)
        return (await asyncio.wait_for(waiting, 30)).state.value

    assert asyncio.run(scenario()) == "CANCELLED"


@ON_POSTGRESQL
def test_an_instance_does_not_hear_its_own_announcements(
    engine: Engine, instances: tuple[_Instance, _Instance]
) -> None:
    one, two = instances
    entries = {name: _entry_in(engine, name) for name in ("own", "theirs")}

    async def scenario() -> tuple[bool, bool]:
        announce_now(engine, "host:1:aaaa", [entries["own"]])  # one's own, committed first: heard first
        announce_now(engine, "host:2:bbbb", [entries["theirs"]])
        await _until(lambda: one.changes.recently_changed(entries["theirs"].id))
        return one.changes.recently_changed(entries["own"].id), two.changes.recently_changed(entries["own"].id)

    assert asyncio.run(scenario()) == (False, True)


@ON_POSTGRESQL
def test_a_change_that_does_not_commit_is_not_announced(engine: Engine, instances: tuple[_Instance, _Instance]) -> None:
    one, two = instances
    refused, confirmed = (OutboxStore(engine).accept(new_entry(transaction_id=f"{n:040x}")).entry for n in (1, 2))
    with pytest.raises(LeaseLost):  # nobody holds its lease: the change rolls back
        two.store.mark_failed(refused.id, "host:2:bbbb", "no", None)
    _deliver(two.store, confirmed.id)

    asyncio.run(_until(lambda: one.changes.recently_changed(confirmed.id)))
    assert not one.changes.recently_changed(refused.id)


@ON_POSTGRESQL
def test_an_announcer_that_cannot_reach_the_database_logs_drops_and_stops(
    url: str, caplog: pytest.LogCaptureFixture
) -> None:
    unreachable = create_engine_for(make_url(url).set(host="127.0.0.1", port=1).render_as_string(hide_password=False))
    announcer = Announcer(unreachable, "host:1:aaaa")
    announcer.start()
    try:
        announcer([replace(_entry_stub(), state=OutboxState.CONFIRMED)])  # hands over, and goes on
        deadline = time.monotonic() + LISTEN_TIMEOUT
        while "announcing outbox state changes failed" not in caplog.text:
            assert time.monotonic() < deadline, "the failure was not logged"
            time.sleep(0.05)
    finally:
        announcer.stop()
        unreachable.dispose()


@ON_POSTGRESQL
def test_the_listener_connects_as_the_engine_does_with_a_password_of_blanks_and_says_nothing_of_it(
    url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """libpq refuses such a password in a URL it parses (and quotes it in the error); the listener is given
    the engine's connection arguments instead."""
    secret = "s3cret word"
    engine = create_engine_for(make_url(url).set(password=secret).render_as_string(hide_password=False))
    listener = ChangeListener(engine, "host:1:aaaa", lambda ids: None)
    try:
        with caplog.at_level(logging.DEBUG):
            listener.start()
            assert listener.wait_listening(LISTEN_TIMEOUT)
    finally:
        listener.stop()
        engine.dispose()
    assert secret not in caplog.text


@ON_POSTGRESQL
def test_a_listener_whose_connection_is_cut_listens_again_and_starts_its_pauses_over(
    engine: Engine, instances: tuple[_Instance, _Instance]
) -> None:
    one, _ = instances
    for _ in range(3):
        with engine.begin() as connection:  # cut the listening connection, as a restart of PostgreSQL would
            connection.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE 'LISTEN%'"
                                    " AND pid <> pg_backend_pid()"))  # fmt: skip
        deadline = time.monotonic() + LISTEN_TIMEOUT
        while one.listener.listening or one.listener.last_pause == 0:  # it notices the cut ...
            assert time.monotonic() < deadline, "the listener did not notice the cut"
            time.sleep(0.05)
        assert one.listener.wait_listening(LISTEN_TIMEOUT), "the listener did not listen again"  # ... and is back
        assert one.listener.last_pause == 1.0  # each cut after listening again is a first failure


def test_long_lists_of_ids_go_in_several_notifications_each_under_the_limit_in_bytes() -> None:
    ids = [f"{n:032x}" for n in range(1000)]
    payloads = list(_payloads("hôst:1:aaaa", ids))
    assert len(payloads) > 1
    assert all(len(payload.encode()) < _PAYLOAD_LIMIT for payload in payloads)
    assert [i for p in payloads for i in p.partition(" ")[2].split(",")] == ids
    assert list(_payloads("hôst:1:aaaa", [])) == []


def _entry_stub() -> OutboxEntry:
    """An entry as a store hands it over, never stored."""
    now = datetime.now(UTC)
    return OutboxEntry(id="f" * 32, service="S", operation="O", alias="A", function="F", queue=None, parameters={},
                       message_id=None, transaction_id="t", tid=None, state=OutboxState.ACCEPTED, executed=False,
                       attempts=0, last_error=None, last_error_key=None, created_at=now, updated_at=now,
                       next_attempt_at=None, lease_owner=None, lease_until=None, receipt=None)  # fmt: skip


def _entry_in(engine: Engine, name: str) -> OutboxEntry:
    """An entry of the database (accepted: nothing announced), as if CONFIRMED (a state that is announced)."""
    entry = OutboxStore(engine).accept(new_entry(transaction_id=name.encode().hex().ljust(40, "0"))).entry
    return replace(entry, state=OutboxState.CONFIRMED)
