"""The retention job: old log entries and finished outbox entries go, work in flight stays."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import Engine

from idocbridge.retention import Retention
from idocbridge.tlog import TransactionLog, query
from idocbridge.transactions import OutboxState, OutboxStore
from tests.tlog.conftest import make_entry
from tests.transactions.conftest import LEASE, T0, Clock, new_entry


def _confirmed(store: OutboxStore, clock: Clock, message_id: str) -> str:
    entry, _ = store.accept(new_entry(message_id=message_id))
    store.claim_one(entry.id, "worker", clock(), LEASE)
    store.assign_tid(entry.id, "worker", entry.id[:24].upper())  # a TID is unique in the outbox
    store.mark_executed(entry.id, "worker")
    return store.mark_confirmed(entry.id, "worker", {"state": "CONFIRMED"}).id


def test_retention_purges_what_is_old_and_finished(engine: Engine, store: OutboxStore, clock: Clock) -> None:
    with TransactionLog(engine) as log:
        log.record(make_entry(at=T0 - timedelta(days=45)))
        log.record(make_entry(at=T0 + timedelta(days=35), request_id=9))
    old = _confirmed(store, clock, "old-message")
    waiting, _ = store.accept(new_entry(message_id="waiting"))  # in flight: never purged, however old
    failed, _ = store.accept(new_entry(message_id="failed", queue="Q1"))  # waits for an operator: never purged
    store.claim_one(failed.id, "worker", clock(), LEASE)
    store.mark_failed(failed.id, "worker", "SAP refused it", "DOCUMENT_LOCKED")
    clock.advance(86400 * 40)
    recent = _confirmed(store, clock, "recent-message")

    assert Retention(engine, store, 30, 30).run(now=clock()) == (1, 1)

    assert [entry.request_id for entry in query(engine)] == [9]
    assert store.get(old) is None and {entry.id for entry in store.list()} == {recent, waiting.id, failed.id}
    left = store.get(waiting.id)
    assert left is not None and left.state == OutboxState.ACCEPTED
    again, created = store.accept(new_entry(message_id="old-message"))
    assert created and again.id != old, "a purged entry's MessageId starts a new delivery"


def test_retention_of_none_keeps_everything(engine: Engine, store: OutboxStore, clock: Clock) -> None:
    with TransactionLog(engine) as log:
        log.record(make_entry(at=T0 - timedelta(days=400)))
    _confirmed(store, clock, "kept")
    clock.advance(86400 * 400)
    assert Retention(engine, store, None, None).run(now=clock()) == (0, 0)
    assert len(query(engine)) == 1 and len(store.list()) == 1
