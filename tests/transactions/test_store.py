"""The outbox store's contract, on SQLite and (when configured) PostgreSQL."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import Engine

from idocbridge.db import create_engine_for
from idocbridge.transactions import (
    DuplicateTid,
    EntryBusy,
    EntryNotFound,
    InvalidTransition,
    LeaseLost,
    OutboxEntry,
    OutboxState,
    OutboxStore,
    Phase,
)
from idocbridge.transactions.store import MessageIdReused, RequestPartlyPurged
from idocbridge.transactions.tables import NewEntry
from tests.transactions.conftest import LEASE, T0, TID, TID2, Clock, new_entry
from tests.transactions.test_states import ALLOWED

S = OutboxState


def test_accept_stores_an_accepted_entry_due_now(store: OutboxStore, clock: Clock) -> None:
    entry, created = store.accept(new_entry(queue="Q1", message_id="m-1"))
    assert created
    assert len(entry.id) == 32
    assert entry.state is S.ACCEPTED and entry.phase is Phase.GET_TID and not entry.is_final
    assert (entry.tid, entry.executed, entry.attempts, entry.receipt) == (None, False, 0, None)
    assert entry.created_at == entry.updated_at == entry.next_attempt_at == T0
    assert entry.parameters == {"IDOC_CONTROL_REC_40": [{"DOCNUM": "0000000000000001"}], "note": "Müller ✓"}
    assert (entry.queue, entry.message_id, entry.alias) == ("Q1", "m-1", "ERP")
    assert store.get(entry.id) == entry
    assert store.get("nope") is None
    assert store.counts() == {**dict.fromkeys(OutboxState, 0), S.ACCEPTED: 1}


def test_parameters_keep_any_text(store: OutboxStore) -> None:
    odd = {"nul": "a\x00b", "surrogate": "\ud800", "emoji": "\U0001f600", "nested": {"n": [1, 2.5, None, True]}}
    entry, _ = store.accept(new_entry(parameters=odd))
    assert store.get(entry.id).parameters == odd  # type: ignore[union-attr]


def test_accept_with_a_known_message_id_returns_the_first_entry(store: OutboxStore, clock: Clock) -> None:
    first, created = store.accept(new_entry(message_id="m-1"))
    clock.advance(5)
    again, created_again = store.accept(new_entry(message_id="m-1", transaction_id="the client's second try"))
    assert created and not created_again
    assert again == first
    assert store.accept(new_entry(message_id="m-1", operation="Other")).created
    assert store.accept(new_entry(message_id="m-2")).created
    assert store.accept(new_entry()).created and store.accept(new_entry()).created  # no message ID: always new
    assert sum(store.counts().values()) == 5
    assert store.find_by_message_id("IDocService", "SendOrder", "m-1") == first
    assert store.find_by_message_id("IDocService", "SendOrder", "m-9") is None


def test_accept_all_keeps_the_order_in_the_queue_and_in_claims(store: OutboxStore) -> None:
    store.accept(new_entry(queue="Q1"))
    batch = [new_entry(queue="Q1", message_id="many", parameters={"n": n}) for n in range(1, 6)]
    accepted = store.accept_all(batch)
    assert all(created for _, created in accepted)
    assert [entry.queue_seq for entry, _ in accepted] == [2, 3, 4, 5, 6]
    assert [entry.message_id for entry, _ in accepted] == ["many", "many#2", "many#3", "many#4", "many#5"]
    loose = store.accept_all([new_entry(parameters={"n": n}) for n in range(1, 40)])
    claimed = store.claim("w1", T0, 100, LEASE)
    assert [entry.id for entry in claimed if entry.queue is None] == [entry.id for entry, _ in loose], "in order"
    assert store.accept_all(batch) == [(entry, False) for entry, _ in accepted], "sent again: the same entries"


def _calls(*numbers: int, message_id: str | None = "M") -> list[NewEntry]:
    return [new_entry(message_id=message_id, parameters={"n": n}) for n in numbers]


@pytest.mark.parametrize(
    ("first", "then"),
    [
        pytest.param((1,), (1, 2), id="one-then-many"),
        pytest.param((1, 2), (1,), id="many-then-one"),
        pytest.param((1, 2), (1, 2, 3), id="one-more"),
        pytest.param((1, 2, 3), (1, 2), id="one-fewer"),
        pytest.param((1, 2), (1, 3), id="another-call"),
    ],
)
def test_a_message_id_sent_again_with_other_calls_is_refused_and_keeps_nothing(
    store: OutboxStore, first: tuple[int, ...], then: tuple[int, ...]
) -> None:
    kept = store.accept_all(_calls(*first))
    with pytest.raises(MessageIdReused) as raised:
        store.accept_all(_calls(*then))
    assert raised.value.entry.id in {entry.id for entry, _ in kept}
    assert sum(store.counts().values()) == len(first), "nothing of the second request was kept"


def test_a_request_of_many_calls_whose_entries_were_partly_purged_accepts_none_again(
    store: OutboxStore, clock: Clock
) -> None:
    kept = store.accept_all(_calls(1, 2, 3))
    for entry, _ in kept[:2]:
        assert store.claim_one(entry.id, "w1", T0, LEASE) is not None
        store.assign_tid(entry.id, "w1", TID if entry is kept[0].entry else TID2)
        store.mark_executed(entry.id, "w1")
        store.mark_confirmed(entry.id, "w1", {"state": "CONFIRMED"})
    clock.advance(10)
    assert store.purge(T0 + timedelta(seconds=5)) == 2
    with pytest.raises(RequestPartlyPurged) as raised:
        store.accept_all(_calls(1, 2, 3))
    assert [entry.id for entry in raised.value.entries] == [kept[2].entry.id] and raised.value.count == 3
    assert sum(store.counts().values()) == 1, "the purged calls were not accepted again"


def test_a_clients_own_message_id_with_a_number_sign_is_its_own(store: OutboxStore) -> None:
    single = store.accept(new_entry(message_id="INV-100#1", parameters={"n": 9})).entry
    many = store.accept_all(_calls(1, 2, message_id="INV-100"))
    assert all(created for _, created in many)
    assert store.accept(new_entry(message_id="INV-100#1", parameters={"n": 9})) == (single, False)
    assert store.accept_all(_calls(1, 2, message_id="INV-100")) == [(entry, False) for entry, _ in many]


def test_the_calls_of_one_request_share_service_operation_and_message_id(store: OutboxStore) -> None:
    with pytest.raises(ValueError, match="share their service, operation and message ID"):
        store.accept_all([new_entry(message_id="a"), new_entry(message_id="b")])
    assert store.accept_all([]) == []
    assert sum(store.counts().values()) == 0


def test_list_filters_and_orders_oldest_or_newest_first(store: OutboxStore, clock: Clock) -> None:
    ids = []
    for index in range(5):
        ids.append(store.accept(new_entry(service="A" if index % 2 else "B")).entry.id)
        clock.advance(1)
    store.cancel(ids[0])
    assert [e.id for e in store.list()] == ids
    assert [e.id for e in store.list(limit=2)] == ids[:2]
    assert [e.id for e in store.list(limit=2, newest=True)] == [ids[4], ids[3]], "tx list shows the newest"
    assert [e.id for e in store.list(service="A")] == [ids[1], ids[3]]
    assert [e.id for e in store.list(state=S.CANCELLED)] == [ids[0]]
    assert [e.id for e in store.list(state=S.ACCEPTED, since=T0 + timedelta(seconds=2))] == ids[2:]
    with pytest.raises(ValueError, match="timezone-aware"):
        store.list(since=T0.replace(tzinfo=None))


def test_a_delivery_from_accept_to_confirm(store: OutboxStore, clock: Clock) -> None:
    entry = store.accept(new_entry()).entry
    [claimed] = store.claim("w1", T0, 10, LEASE)
    assert (claimed.id, claimed.lease_owner, claimed.lease_until) == (entry.id, "w1", T0 + LEASE)
    clock.advance(1)
    assigned = store.assign_tid(entry.id, "w1", TID)
    assert (assigned.state, assigned.tid, assigned.phase, assigned.lease_owner) == (
        S.TID_ASSIGNED,
        TID,
        Phase.SUBMIT,
        "w1",
    )
    assert assigned.updated_at == T0 + timedelta(seconds=1) and assigned.attempts == 0
    assert store.find_by_tid(TID) == assigned and store.find_by_tid(TID2) is None
    executed = store.mark_executed(entry.id, "w1")
    assert (executed.state, executed.executed, executed.phase, executed.attempts) == (
        S.EXECUTED,
        True,
        Phase.CONFIRM,
        1,
    )
    confirmed = store.mark_confirmed(entry.id, "w1", {"tid": TID, "state": "CONFIRMED"})
    assert (confirmed.state, confirmed.attempts, confirmed.receipt) == (
        S.CONFIRMED,
        2,
        {"tid": TID, "state": "CONFIRMED"},
    )
    assert (confirmed.lease_owner, confirmed.lease_until, confirmed.next_attempt_at) == (None, None, None)
    assert confirmed.is_final
    assert store.claim("w1", T0 + timedelta(days=1), 10, LEASE) == []
    with pytest.raises(LeaseLost):
        store.mark_executed(entry.id, "w1")  # the lease ended with the confirm


def test_the_tid_stays_across_retries_and_nothing_is_submitted_after_execution(
    store: OutboxStore, clock: Clock
) -> None:
    entry_id = store.accept(new_entry()).entry.id
    store.claim("w1", T0, 1, LEASE)
    store.mark_retry(entry_id, "w1", "no TID: SAP down", "COMMUNICATION_FAILURE", T0 + timedelta(seconds=10))
    assert store.get(entry_id).attempts == 1  # type: ignore[union-attr]  # a failed try to get a TID counts
    assert store.claim("w1", T0 + timedelta(seconds=9), 1, LEASE) == []  # not due yet
    [again] = store.claim("w1", T0 + timedelta(seconds=10), 1, LEASE)
    assert again.phase is Phase.GET_TID
    store.assign_tid(entry_id, "w1", TID)
    waiting = store.mark_retry(entry_id, "w1", "submit failed", "COMMUNICATION_FAILURE", T0)
    assert (waiting.state, waiting.tid, waiting.phase, waiting.attempts) == (S.RETRY_WAIT, TID, Phase.SUBMIT, 2)
    assert (waiting.last_error, waiting.last_error_key, waiting.lease_owner) == (
        "submit failed",
        "COMMUNICATION_FAILURE",
        None,
    )
    [resumed] = store.claim("w2", T0, 1, LEASE)
    assert (resumed.tid, resumed.phase) == (TID, Phase.SUBMIT)
    with pytest.raises(InvalidTransition):
        store.assign_tid(entry_id, "w2", TID2)  # never a new TID
    with pytest.raises(InvalidTransition):
        store.mark_confirmed(entry_id, "w2", {})  # not executed yet
    store.mark_executed(entry_id, "w2")
    after_confirm_failure = store.mark_retry(entry_id, "w2", "confirm failed", None, T0)
    assert (after_confirm_failure.phase, after_confirm_failure.executed, after_confirm_failure.attempts) == (
        Phase.CONFIRM,
        True,
        4,
    )
    store.claim("w3", T0, 1, LEASE)
    with pytest.raises(InvalidTransition):
        store.mark_executed(entry_id, "w3")  # no second submit
    with pytest.raises(InvalidTransition, match="only its confirm is retried"):
        store.mark_failed(entry_id, "w3", "x", None)
    done = store.mark_confirmed(entry_id, "w3", {"ok": True})
    assert (done.state, done.tid, done.attempts) == (S.CONFIRMED, TID, 5)


def test_claims_take_due_entries_oldest_first_up_to_the_limit(store: OutboxStore, clock: Clock) -> None:
    ids = []
    for _ in range(6):
        ids.append(store.accept(new_entry()).entry.id)
        clock.advance(1)
    store.cancel(ids[5])
    assert [e.id for e in store.claim("w1", clock.now, 2, LEASE)] == ids[:2]
    assert [e.id for e in store.claim("w2", clock.now, 10, LEASE)] == ids[2:5]
    assert store.claim("w3", clock.now, 10, LEASE) == []
    assert store.claim("w3", clock.now, 0, LEASE) == []
    assert store.claim_one(ids[0], "w3", clock.now, LEASE) is None  # w1's lease is live
    later = clock.now + LEASE
    assert store.claim_one(ids[0], "w3", later, LEASE).lease_owner == "w3"  # type: ignore[union-attr]
    assert store.claim_one(ids[5], "w3", later, LEASE) is None  # final
    with pytest.raises(ValueError, match="timezone-aware"):
        store.claim("w1", T0.replace(tzinfo=None), 1, LEASE)
    with pytest.raises(ValueError, match="positive"):
        store.claim("w1", T0, 1, timedelta(0))


def test_a_store_for_some_aliases_claims_only_their_entries_and_counts_the_others(engine: Engine, clock: Clock) -> None:
    """An instance whose model lacks an alias (older or newer than the one that accepted the entry) leaves the
    entry to an instance that has it, instead of claiming what it cannot deliver."""
    everyone = OutboxStore(engine, clock=clock)
    ours = everyone.accept(new_entry(alias="ERP")).entry.id
    clock.advance(1)
    theirs = everyone.accept(new_entry(alias="GONE")).entry.id
    clock.advance(1)
    everyone.cancel(everyone.accept(new_entry(alias="GONE")).entry.id)  # final: not waiting for anyone
    erp_only = OutboxStore(engine, clock=clock, aliases=["ERP", "OTHER"])

    assert erp_only.undeliverable() == {"GONE": 1}
    assert [e.id for e in erp_only.claim("w1", clock.now, 10, LEASE)] == [ours]
    assert erp_only.claim("w1", clock.now, 10, LEASE, look_first=False) == []
    assert erp_only.claim_one(theirs, "w1", clock.now, LEASE) is None
    assert [e.id for e in everyone.claim("w2", clock.now, 10, LEASE)] == [theirs]
    assert everyone.undeliverable() == {}  # it claims every alias


def test_an_expired_lease_is_taken_over_and_the_old_owner_can_no_longer_write(store: OutboxStore, clock: Clock) -> None:
    entry_id = store.accept(new_entry()).entry.id
    store.claim("w1", T0, 1, LEASE)
    store.assign_tid(entry_id, "w1", TID)
    assert store.claim("w2", T0 + LEASE - timedelta(microseconds=1), 1, LEASE) == []
    [taken] = store.claim("w2", T0 + LEASE, 1, LEASE)
    assert (taken.lease_owner, taken.tid, taken.state) == ("w2", TID, S.TID_ASSIGNED)
    for write in (
        lambda: store.mark_executed(entry_id, "w1"),
        lambda: store.mark_confirmed(entry_id, "w1", {}),
        lambda: store.mark_retry(entry_id, "w1", "x", None, T0),
        lambda: store.mark_failed(entry_id, "w1", "x", None),
        lambda: store.renew(entry_id, "w1", T0 + 10 * LEASE),
    ):
        with pytest.raises(LeaseLost, match=r"w1 no longer holds .* \(held by w2\)"):
            write()
    assert not store.release(entry_id, "w1")
    assert store.get(entry_id) == taken
    assert store.mark_executed(entry_id, "w2").state is S.EXECUTED
    with pytest.raises(EntryNotFound):
        store.mark_executed("missing", "w2")


def test_renew_release_and_release_all(store: OutboxStore, clock: Clock) -> None:
    first = store.accept(new_entry()).entry.id
    clock.advance(0.001)
    second = store.accept(new_entry()).entry.id
    store.claim("w1", clock.now, 2, LEASE)
    store.renew(first, "w1", T0 + 3 * LEASE)
    assert [e.id for e in store.claim("w2", clock.now + LEASE, 5, LEASE)] == [second]
    assert store.release(second, "w2") and not store.release(second, "w2")
    assert store.get(second).lease_owner is None  # type: ignore[union-attr]
    assert store.release_all("w1") == 1
    assert [e.id for e in store.claim("w3", clock.now, 5, LEASE)] == [first, second]
    with pytest.raises(ValueError, match="timezone-aware"):
        store.renew(first, "w3", T0.replace(tzinfo=None))


def test_operator_actions_refuse_a_live_lease_and_respect_the_rules(store: OutboxStore, clock: Clock) -> None:
    entry_id = store.accept(new_entry()).entry.id
    store.claim("w1", T0, 1, LEASE)
    with pytest.raises(EntryBusy, match="w1"):
        store.cancel(entry_id)
    store.assign_tid(entry_id, "w1", TID)
    store.mark_failed(entry_id, "w1", "function not found", "FUNCTION_NOT_FOUND")
    clock.advance(30)
    retried = store.retry_now(entry_id)
    assert (retried.state, retried.tid, retried.phase, retried.next_attempt_at) == (
        S.RETRY_WAIT,
        TID,
        Phase.SUBMIT,
        clock.now,
    )
    with pytest.raises(InvalidTransition, match="may have reached SAP"):
        store.cancel(entry_id)  # a TID was assigned: a submit may have reached SAP
    store.claim("w2", clock.now, 1, LEASE)
    with pytest.raises(EntryBusy):
        store.retry_now(entry_id)
    clock.advance(LEASE.total_seconds())  # the lease expired: the operator may act again
    assert store.retry_now(entry_id).lease_owner is None
    fresh = store.accept(new_entry()).entry.id
    with pytest.raises(InvalidTransition, match="operator"):
        store.retry_now(fresh)
    assert store.cancel(fresh).state is S.CANCELLED
    with pytest.raises(InvalidTransition):
        store.cancel(fresh)
    with pytest.raises(EntryNotFound):
        store.retry_now("missing")


def _new_tid() -> str:
    """A TID of its own for each entry (one TID is never shared)."""
    return uuid.uuid4().hex[:24].upper()


def _drive(store: OutboxStore, state: OutboxState, phase: Phase) -> str:
    """An entry in ``state`` and ``phase``, without a lease."""
    entry_id = store.accept(new_entry()).entry.id
    if state is S.CANCELLED:
        store.cancel(entry_id)
        return entry_id
    if state is S.ACCEPTED:
        return entry_id
    store.claim_one(entry_id, "d", T0, LEASE)
    if phase is not Phase.GET_TID or state in (S.TID_ASSIGNED, S.EXECUTED, S.CONFIRMED):
        store.assign_tid(entry_id, "d", entry_id[:24].upper())  # a TID is unique in the outbox
    if phase is Phase.CONFIRM:
        store.mark_executed(entry_id, "d")
    if state is S.RETRY_WAIT:
        store.mark_retry(entry_id, "d", "x", None, T0)
    elif state is S.FAILED:
        store.mark_failed(entry_id, "d", "x", None)
    elif state is S.CONFIRMED:
        store.mark_confirmed(entry_id, "d", {})
    store.release(entry_id, "d")
    current = store.get(entry_id)
    assert current is not None and (current.state, current.phase) == (state, phase)
    return entry_id


STARTS = [
    (S.ACCEPTED, Phase.GET_TID),
    (S.TID_ASSIGNED, Phase.SUBMIT),
    (S.EXECUTED, Phase.CONFIRM),
    (S.RETRY_WAIT, Phase.GET_TID),
    (S.RETRY_WAIT, Phase.SUBMIT),
    (S.RETRY_WAIT, Phase.CONFIRM),
    (S.FAILED, Phase.GET_TID),
    (S.FAILED, Phase.SUBMIT),
    (S.CONFIRMED, Phase.CONFIRM),
    (S.CANCELLED, Phase.GET_TID),
]
WORKER_ACTIONS: dict[OutboxState, Callable[[OutboxStore, str], OutboxEntry]] = {
    S.TID_ASSIGNED: lambda store, i: store.assign_tid(i, "w", _new_tid()),
    S.EXECUTED: lambda store, i: store.mark_executed(i, "w"),
    S.CONFIRMED: lambda store, i: store.mark_confirmed(i, "w", {}),
    S.RETRY_WAIT: lambda store, i: store.mark_retry(i, "w", "x", None, T0),
    S.FAILED: lambda store, i: store.mark_failed(i, "w", "x", None),
}


@pytest.mark.parametrize(("state", "phase"), STARTS, ids=[f"{s}-{p}" for s, p in STARTS])
def test_every_store_action_from_every_state(store: OutboxStore, state: OutboxState, phase: Phase) -> None:
    for target, action in WORKER_ACTIONS.items():
        entry_id = _drive(store, state, phase)
        before = store.get(entry_id)
        if state in (S.CONFIRMED, S.FAILED, S.CANCELLED):
            assert store.claim_one(entry_id, "w", T0, LEASE) is None
            with pytest.raises(LeaseLost):
                action(store, entry_id)
            assert store.get(entry_id) == before
            continue
        assert store.claim_one(entry_id, "w", T0, LEASE).lease_owner == "w"  # type: ignore[union-attr]
        if phase in ALLOWED.get((state, target), set()):
            assert action(store, entry_id).state is target
        else:
            leased = store.get(entry_id)
            with pytest.raises(InvalidTransition):
                action(store, entry_id)
            assert store.get(entry_id) == leased
    for target, operator in ((S.RETRY_WAIT, store.retry_now), (S.CANCELLED, store.cancel)):
        entry_id = _drive(store, state, phase)
        operator_may = state in (
            {S.FAILED, S.RETRY_WAIT} if target is S.RETRY_WAIT else {S.ACCEPTED, S.RETRY_WAIT, S.FAILED}
        )
        if operator_may and phase in ALLOWED.get((state, target), set()):
            assert operator(entry_id).state is target
        else:
            with pytest.raises(InvalidTransition):
                operator(entry_id)


def test_errors_are_kept_printable_and_short(store: OutboxStore) -> None:
    entry_id = store.accept(new_entry()).entry.id
    store.claim("w", T0, 1, LEASE)
    with pytest.raises(ValueError, match="24 visible ASCII"):
        store.assign_tid(entry_id, "w", "short")
    with pytest.raises(ValueError, match="timezone-aware"):
        store.mark_retry(entry_id, "w", "x", None, T0.replace(tzinfo=None))
    waiting = store.mark_retry(entry_id, "w", "bad\x00byte \ud800" + "x" * 5000, "KEY", T0)
    assert waiting.last_error is not None and len(waiting.last_error) == 4000
    assert waiting.last_error.startswith("bad\ufffdbyte \ufffdx")


def test_purge_deletes_old_final_entries_only(store: OutboxStore, clock: Clock) -> None:
    cancelled = store.accept(new_entry(message_id="m")).entry.id
    store.cancel(cancelled)
    active = store.accept(new_entry()).entry.id
    clock.advance(3600)
    recent = store.accept(new_entry()).entry.id
    store.cancel(recent)
    assert store.purge(T0 + timedelta(seconds=60)) == 1
    assert {entry.id for entry in store.list()} == {active, recent}
    assert store.accept(new_entry(message_id="m")).created  # a purged message ID is forgotten
    with pytest.raises(ValueError, match="timezone-aware"):
        store.purge(T0.replace(tzinfo=None))


def test_state_survives_closing_and_reopening_the_database(url: str, engine: Engine, clock: Clock) -> None:
    store = OutboxStore(engine, clock=clock)
    entry_id = store.accept(new_entry(message_id="m")).entry.id
    store.claim("w1", T0, 1, LEASE)
    store.assign_tid(entry_id, "w1", TID)
    before = store.get(entry_id)
    engine.dispose()
    reopened = create_engine_for(url)
    try:
        again = OutboxStore(reopened, clock=clock)
        assert again.get(entry_id) == before
        assert again.find_by_tid(TID) == before
        assert not again.accept(new_entry(message_id="m")).created
        [resumed] = again.claim("w2", T0 + LEASE, 5, LEASE)  # a crashed instance's work is taken over
        assert (resumed.id, resumed.tid, resumed.phase) == (entry_id, TID, Phase.SUBMIT)
    finally:
        reopened.dispose()


def test_a_tid_is_never_shared_by_two_entries(store: OutboxStore) -> None:
    first = store.accept(new_entry(message_id="m-1")).entry
    second = store.accept(new_entry(message_id="m-2")).entry
    store.claim("w1", T0, 10, LEASE)
    store.assign_tid(first.id, "w1", TID)
    with pytest.raises(DuplicateTid, match=f"TID {TID} is held by outbox entry {first.id} already"):
        store.assign_tid(second.id, "w1", TID)
    left = store.get(second.id)
    assert left is not None and (left.state, left.tid) == (S.ACCEPTED, None)


def test_parameters_keep_decimals_and_bytes_through_one_codec(store: OutboxStore) -> None:
    values = {"AMOUNT": Decimal("12.30"), "RAW": b"\x00\xff", "ROWS": [{"QTY": Decimal("-0.001")}]}
    entry = store.accept(new_entry(parameters=values)).entry
    stored = store.get(entry.id)
    assert stored is not None and stored.parameters == values
    assert type(stored.parameters["AMOUNT"]) is Decimal and type(stored.parameters["RAW"]) is bytes


def test_that_a_confirm_goes_out_is_committed_before_it_is_sent(store: OutboxStore) -> None:
    entry = store.accept(new_entry()).entry
    store.claim("w1", T0, 10, LEASE)
    store.assign_tid(entry.id, "w1", TID)
    with pytest.raises(InvalidTransition, match="has not run in SAP"):
        store.mark_confirm_sent(entry.id, "w1")
    store.mark_executed(entry.id, "w1")
    store.mark_confirm_sent(entry.id, "w1")
    sent = store.get(entry.id)
    assert sent is not None and sent.confirm_sent and sent.state is S.EXECUTED
    with pytest.raises(LeaseLost):
        store.mark_confirm_sent(entry.id, "w2")


def test_a_state_change_without_a_read_answers_the_entry_as_stored(store: OutboxStore, clock: Clock) -> None:
    """The store starts a state change from the entry as it last left it: renewals and the confirm-sent mark
    must be part of that, or the answer would differ from the row."""
    entry = store.accept(new_entry()).entry
    (claimed,) = store.claim("w", clock(), 10, LEASE)
    store.assign_tid(claimed.id, "w", TID)
    store.mark_executed(claimed.id, "w")
    store.renew(claimed.id, "w", clock() + timedelta(minutes=5))
    store.mark_confirm_sent(claimed.id, "w")
    retried = store.mark_retry(claimed.id, "w", "the confirm was lost", "COMMUNICATION_FAILURE", clock())
    stored = store.get(entry.id)
    assert stored is not None
    assert (retried.confirm_sent, retried.state, retried.attempts) == (True, stored.state, stored.attempts)
    assert stored.confirm_sent is True
