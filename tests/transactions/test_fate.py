"""The IDocs' fate in SAP, read from the simulator process: which IDocs a confirmed TID created, and their status.

A real :class:`OutboxWorker` delivers to the simulator; then a :class:`FateFollower` asks the simulator over a
real connection (INBOUND_IDOCS_FOR_TID, GET_STATUS_FROM_IDOCNR, IDOC_READ_COMPLETELY) and records the answers.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import cast

import pytest
from sqlalchemy import Engine, select

from idocbridge.connectors.pool import ConnectionPool
from idocbridge.connectors.pool_set import PoolSet
from idocbridge.sapsim.testing import SimulatorProcess, txtraw
from idocbridge.transactions import OutboxState, OutboxStore
from idocbridge.transactions.backoff import Backoff
from idocbridge.transactions.delivery import Deliverer
from idocbridge.transactions.fate import CLAIM_LEASE, FateFollower, FateStore, fate_due
from idocbridge.transactions.fate_tables import business_keys_table, sap_idocs_table
from idocbridge.transactions.packets import PacketRule
from idocbridge.transactions.scheduler import OutboxWorker
from idocbridge.transactions.tables import OutboxEntry, outbox_table
from tests.transactions import search_data
from tests.transactions.conftest import Clock, OnePool, new_entry
from tests.waiting import wait_until

ALIAS = "ERP"


def _pools(sim: SimulatorProcess, user: str = "IDOCUSER") -> tuple[PoolSet, ConnectionPool]:
    pool = ConnectionPool(ALIAS, lambda: sim.connector(user=user, timeout=30.0), size=2, timeout=10)
    return cast(PoolSet, OnePool(pool)), pool


def _deliver(store: OutboxStore, sim: SimulatorProcess, ids: list[str]) -> None:
    pools, pool = _pools(sim)
    deliverer = Deliverer(store, pools, None, "worker-1", backoff=Backoff(base=0.05, cap=0.2, jitter=0.0))
    worker = OutboxWorker(store, deliverer, workers=2, interval=0.05)
    worker.start()
    try:
        wait_until(lambda: all(store.get(i).state is OutboxState.CONFIRMED for i in ids), what="all CONFIRMED")  # type: ignore[union-attr]
    finally:
        worker.stop()
        pool.close()


def _follow(engine: Engine, sim: SimulatorProcess, until: Callable[[FateStore], bool], user: str = "IDOCUSER") -> int:
    """Run the follower (its clock moved past every wait) until ``until``; how many rounds it took."""
    fate = FateStore(engine)
    pools, pool = _pools(sim, user)
    follower = FateFollower(fate, pools, None, {ALIAS: True})
    try:
        for round_number in range(1, 30):
            follower.run_once(datetime.now(UTC) + timedelta(hours=round_number))
            if until(fate):
                return round_number
        raise AssertionError("the follower did not get there in 30 rounds")
    finally:
        pool.close()


def test_a_packets_idocs_each_get_their_own_docnum_and_status_history(engine: Engine, sim: SimulatorProcess) -> None:
    store = OutboxStore(engine, packets={ALIAS: PacketRule(size=8)}, follow_fate=[ALIAS])
    texts = [f"idoc {n}" for n in range(5)]
    ids = [store.accept(new_entry(alias=ALIAS, parameters=txtraw(text), message_id=text)).entry.id for text in texts]
    _deliver(store, sim, ids)

    def all_posted(fate: FateStore) -> bool:
        found = fate.idocs_of(ids)
        return len(found) == len(ids) and all(idoc.final for idocs in found.values() for idoc in idocs)

    _follow(engine, sim, all_posted)
    found = FateStore(engine).idocs_of(ids)
    in_sap = {idoc["docnum"]: idoc["data"][0]["SDATA"] for idoc in sim.control.idocs(full=True)}
    for entry_id, text in zip(ids, texts, strict=True):
        (idoc,) = found[entry_id]
        assert in_sap[idoc.docnum] == text, "each IDoc entry got the DOCNUM SAP gave its own IDoc"
        assert idoc.status == "53" and idoc.status_text == "Application document posted"
        assert [record.status for record in idoc.history] == ["50", "64", "62", "53"]
        assert idoc.tid == store.get(entry_id).packet_tid  # type: ignore[union-attr]
    with engine.connect() as connection:
        due = connection.execute(select(outbox_table.c.fate_due_at).where(outbox_table.c.fate_due_at.is_not(None)))
        assert due.all() == [], "every unit asked once"


def test_an_application_error_in_sap_is_recorded_with_its_text(engine: Engine, sim: SimulatorProcess) -> None:
    store = OutboxStore(engine, follow_fate=[ALIAS])
    sim.control.add_fault("posting_error", function="TXTRAW", message="Customer 4711 is blocked", count=None)
    entry_id = store.accept(new_entry(alias=ALIAS, parameters=txtraw("blocked"), message_id="m1")).entry.id
    _deliver(store, sim, [entry_id])
    _follow(engine, sim, lambda fate: any(idoc.status == "51" for idoc in fate.idocs_of([entry_id]).get(entry_id, [])))
    (idoc,) = FateStore(engine).idocs_of([entry_id])[entry_id]
    assert idoc.history[-1].text == "Customer 4711 is blocked"
    assert not idoc.final, "an error waits for a person in SAP: a reprocess (BD87) moves it on"
    assert idoc.next_read_at is not None and idoc.status_at is not None
    assert idoc.next_read_at - idoc.status_at >= timedelta(hours=1), "read again hourly, not every few seconds"


def test_a_user_sap_does_not_let_read_idocs_stops_the_following_and_nothing_else(
    engine: Engine, sim: SimulatorProcess, caplog: pytest.LogCaptureFixture
) -> None:
    store = OutboxStore(engine, follow_fate=[ALIAS])
    entry_ids = [store.accept(new_entry(alias=ALIAS, parameters=txtraw(text), message_id=text)).entry.id
                 for text in ("m2", "m2b")]  # fmt: skip
    _deliver(store, sim, entry_ids)
    fate = FateStore(engine)
    pools, pool = _pools(sim, user="READER")  # may log on, may not call the IDoc functions
    follower = FateFollower(fate, pools, None, {ALIAS: True})
    try:
        assert follower.run_once(datetime.now(UTC) + timedelta(minutes=1)) == 1  # the second unit is not asked
        assert follower.run_once(datetime.now(UTC) + timedelta(minutes=2)) == 0, "no more calls for the alias"
    finally:
        pool.close()
    assert "does not let the user of alias ERP read IDocs" in caplog.text
    assert fate.idocs_of(entry_ids) == {}
    for entry_id in entry_ids:  # neither due any more (the second not given back after the stop)
        entry = store.get(entry_id)
        assert entry is not None and entry.state is OutboxState.CONFIRMED and entry.fate_due_at is None
    assert len(sim.control.idocs()) == 2, "the IDocs were delivered once, and only read afterwards"


def test_only_confirmed_idoc_units_of_following_aliases_are_due() -> None:
    now = datetime.now(UTC)
    assert fate_due("IDOC_INBOUND_ASYNCHRONOUS", True, now) == now + timedelta(seconds=1)
    assert fate_due("IDOC_INBOUND_IN_QUEUE", True, now) is not None
    assert fate_due("BAPI_PO_CREATE1", True, now) is None
    assert fate_due("IDOC_INBOUND_ASYNCHRONOUS", False, now) is None


def test_retention_takes_the_keys_and_sap_idocs_of_purged_entries_and_keeps_the_others(
    engine: Engine, clock: Clock
) -> None:
    store = search_data.outbox(engine, clock)
    (old,) = search_data.accept(store, clock, "a" * 40, "m-old", "PO-OLD")
    search_data.deliver(store, clock, old.id, "0A1B2C3D4E5F60718293A4B5")
    search_data.record_fate(engine, clock, ["0000000000000007"])
    clock.advance(40 * 86400)
    (kept,) = search_data.accept(store, clock, "b" * 40, "m-kept", "PO-KEPT")
    search_data.deliver(store, clock, kept.id, "0A1B2C3D4E5F60718293A4B6")
    search_data.record_fate(engine, clock, ["0000000000000008"])
    older_than = clock() - timedelta(days=30)
    assert store.purge(older_than) == 1
    fate = FateStore(engine, clock=clock)
    deleted = fate.purge(older_than, batch=2)
    assert deleted == 7 + 1 + 3, "the old entry's 6 keys and MessageId, its IDoc and its 3 status records"
    assert fate.idocs_of([old.id]) == {}
    (idoc,) = fate.idocs_of([kept.id])[kept.id]
    assert [record.status for record in idoc.history] == ["64", "62", "53"]
    with engine.connect() as connection:
        owners = connection.execute(select(business_keys_table.c.outbox_id).distinct()).scalars().all()
    assert owners == [kept.id]


def test_idocs_of_an_alias_no_longer_followed_never_hold_back_the_others(engine: Engine, clock: Clock) -> None:
    store = search_data.outbox(engine, clock)
    fate = FateStore(engine, clock=clock)
    for number in range(150):  # followed once, under an alias the service no longer follows
        (entry,) = search_data.accept(store, clock, f"{number:040x}", f"old-{number}", f"PO-{number}")
        search_data.deliver(store, clock, entry.id, f"0A1B2C3D4E5F6071829{number:05d}")
    clock.advance(5)
    for unit in fate.due_units(clock(), ["ERP"], limit=200):
        fate.record_idocs(unit, [f"{int(unit.id[-8:], 16) + 1:016d}"], None)
    with engine.begin() as connection:
        connection.execute(sap_idocs_table.update().values(alias="OLD"))
    (newest,) = search_data.accept(store, clock, "f" * 40, "new", "PO-NEW")
    search_data.deliver(store, clock, newest.id, "0A1B2C3D4E5F60718299999X")
    clock.advance(5)
    (unit,) = fate.due_units(clock(), ["ERP"])
    fate.record_idocs(unit, ["0000000000999999"], None)
    clock.advance(5)
    due = fate.due_idocs(clock(), ["ERP"])
    assert [idoc.docnum for idoc, _ in due] == ["0000000000999999"], "the 150 older IDocs of OLD are not in the way"


def _confirmed(engine: Engine, clock: Clock, count: int = 1) -> tuple[FateStore, list[OutboxEntry]]:
    """``count`` IDocs confirmed one by one, each a unit due to be asked for its IDocs now; the fate store."""
    store = search_data.outbox(engine, clock)
    entries = []
    for number in range(1, count + 1):
        (entry,) = search_data.accept(store, clock, f"{number}" * 40, f"m{number}", f"PO-{number}")
        entries.append(search_data.deliver(store, clock, entry.id, f"0A1B2C3D4E5F60718293A4B{number}"))
    clock.advance(5)
    return FateStore(engine, clock=clock), entries


def _follower_free(fate: FateStore, checks: int) -> FateFollower:
    """A follower whose first ``checks`` checks find SAP free of deliveries; then a delivery takes the last
    connection (no SAP: it asks nothing then)."""
    answers = iter([True] * checks)
    return FateFollower(fate, cast(PoolSet, None), None, {ALIAS: True}, lambda alias: next(answers, False))


def test_a_claimed_unit_is_not_claimed_again_until_its_lease_ends(engine: Engine, clock: Clock) -> None:
    fate, (entry,) = _confirmed(engine, clock)
    assert [unit.id for unit in fate.due_units(clock(), ["ERP"])] == [entry.id]
    assert fate.due_units(clock(), ["ERP"]) == [], "another instance (or run) does not ask SAP again meanwhile"
    assert fate.due_units(clock(), ["OTHER"]) == []
    clock.advance(CLAIM_LEASE.total_seconds() + 1)
    assert [unit.id for unit in fate.due_units(clock(), ["ERP"])] == [entry.id], "unanswered: due again"


def test_units_claimed_when_the_deliveries_need_sap_are_given_back_due_at_once(engine: Engine, clock: Clock) -> None:
    fate, entries = _confirmed(engine, clock, 2)
    follower = _follower_free(fate, 1)  # free when the run begins, taken right after the claim
    assert follower.run_once(clock()) == 0
    assert sorted(unit.id for unit in fate.due_units(clock(), [ALIAS])) == sorted(entry.id for entry in entries), (
        "skipped units are due again at once, not after their claim's lease"
    )


def test_idocs_claimed_when_the_deliveries_need_sap_are_given_back_due_at_once(engine: Engine, clock: Clock) -> None:
    fate, _ = _confirmed(engine, clock)
    (unit,) = fate.due_units(clock(), [ALIAS])
    fate.record_idocs(unit, ["0000000000000101", "0000000000000102"], None)
    follower = _follower_free(fate, 2)  # free for the units and for claiming the IDocs, taken right after
    assert follower.run_once(clock()) == 0
    due = [idoc.docnum for idoc, _ in fate.due_idocs(clock(), [ALIAS])]
    assert due == ["0000000000000101", "0000000000000102"], "skipped IDocs are due again at once"


def test_a_claim_taken_over_meanwhile_is_not_given_back(engine: Engine, clock: Clock) -> None:
    fate, _ = _confirmed(engine, clock)
    claimed_at = clock()
    (unit,) = fate.due_units(claimed_at, [ALIAS])
    clock.advance(CLAIM_LEASE.total_seconds() + 1)
    assert [other.id for other in fate.due_units(clock(), [ALIAS])] == [unit.id]  # another instance took it over
    fate.give_back([unit], [], claimed_at)  # the first run, late
    assert fate.due_units(clock(), [ALIAS]) == [], "the other instance's claim stands"


def test_sap_unreachable_pauses_the_alias_instead_of_asking_every_round(engine: Engine, sim: SimulatorProcess) -> None:
    store = OutboxStore(engine, follow_fate=[ALIAS])
    entry_id = store.accept(new_entry(alias=ALIAS, parameters=txtraw("x"), message_id="m3")).entry.id
    _deliver(store, sim, [entry_id])
    sim.control.add_fault("communication_error", function="INBOUND_IDOCS_FOR_TID", count=None)
    pools, pool = _pools(sim)
    follower = FateFollower(FateStore(engine), pools, None, {ALIAS: True})
    try:
        assert follower.run_once(datetime.now(UTC) + timedelta(minutes=1)) == 1
        assert follower.run_once(datetime.now(UTC) + timedelta(minutes=5)) == 0, "paused after the failure"
    finally:
        pool.close()
        sim.control.clear_faults()
    assert sim.control.calls("INBOUND_IDOCS_FOR_TID") <= 1
