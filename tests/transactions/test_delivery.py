"""The deliverer against the simulator process: hung calls, a maximum delivery time, the circuit.

Each test runs a real :class:`Deliverer` over a real connection pool to the simulator, on the outbox
in a real database (SQLite, and PostgreSQL when configured), and checks in the simulator what SAP saw.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any, cast

import pytest
from sqlalchemy import Engine

from idocbridge.connectors.factory import connector_factory
from idocbridge.connectors.pool import ConnectionPool
from idocbridge.connectors.pool_set import PoolSet
from idocbridge.models.alias import SAPAlias
from idocbridge.sapsim.testing import SimulatorProcess, txtraw
from idocbridge.tlog.context import RequestContext
from idocbridge.transactions import OutboxEntry, OutboxState, OutboxStore, delivery
from idocbridge.transactions.backoff import Backoff
from idocbridge.transactions.circuit import Circuits
from idocbridge.transactions.delivery import Deliverer
from tests.transactions.conftest import OnePool, new_entry

ALIAS = "ERP"
LEASE = timedelta(seconds=30)
QUICK = Backoff(base=0.05, cap=0.2, jitter=0.0)


def _deliverer(
    store: OutboxStore, pool: ConnectionPool, alias: str = ALIAS, backoff: Backoff = QUICK, **options: object
) -> Deliverer:
    """A deliverer whose deployment has one alias, ``alias``, over ``pool``."""
    pools = cast(PoolSet, OnePool(pool, alias))
    return Deliverer(store, pools, None, "worker-1", backoff=backoff, lease=LEASE, **options)  # type: ignore[arg-type]


def _simulator_alias(sim: SimulatorProcess) -> SAPAlias:
    assert sim.info is not None
    websocket = {"port": sim.info.port, "trustedCa": str(sim.info.ca_certificate)}
    return SAPAlias.model_validate({
        "name": ALIAS, "protocol": "trfc", "client": "100", "user": "IDOCUSER/${SAP_PASSWORD}", "host": sim.info.host,
        "transport": "websocket", "connector": "simulator", "websocket": websocket,
    })  # fmt: skip


def _accept(store: OutboxStore, text: str) -> OutboxEntry:
    return store.accept(new_entry(alias=ALIAS, parameters=txtraw(text), message_id=text)).entry


def _claim(store: OutboxStore, entry_id: str) -> OutboxEntry:
    claimed = store.claim_one(entry_id, "worker-1", datetime.now(UTC), LEASE)
    assert claimed is not None, f"outbox entry {entry_id} is not due"
    return claimed


def _wait(condition: Callable[[], bool], what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout:g} s: {what}")
        time.sleep(0.05)


def _deliver_until_confirmed(store: OutboxStore, deliverer: Deliverer, entry_id: str, timeout: float = 30) -> None:
    def confirmed() -> bool:
        current = store.get(entry_id)
        assert current is not None
        if current.state is OutboxState.CONFIRMED:
            return True
        claimed = store.claim_one(entry_id, "worker-1", datetime.now(UTC), LEASE)
        if claimed is not None:
            deliverer.deliver(claimed)
            store.release(entry_id, "worker-1")
        return False

    _wait(confirmed, f"outbox entry {entry_id} confirmed", timeout)


def test_a_call_sap_never_answers_times_out_and_is_retried_with_the_same_tid(
    engine: Engine, sim: SimulatorProcess
) -> None:
    store = OutboxStore(engine)
    make = connector_factory({"SAP_PASSWORD": "idocbridge"}, call_timeout=1.0)  # sapCallTimeoutSeconds: 1
    alias = _simulator_alias(sim)
    pool = ConnectionPool(ALIAS, lambda: make(alias), size=1, timeout=10)
    deliverer = _deliverer(store, pool)
    entry = _accept(store, "hung")
    sim.control.add_fault("delay", function="IDOC_INBOUND_ASYNCHRONOUS", seconds=4.0)

    deliverer.deliver(_claim(store, entry.id))

    waiting = store.get(entry.id)
    assert waiting is not None and waiting.state is OutboxState.RETRY_WAIT
    assert waiting.tid is not None and not waiting.executed
    assert waiting.last_error_key == "RFC_COMMUNICATION_FAILURE"
    _deliver_until_confirmed(store, deliverer, entry.id)
    done = store.get(entry.id)
    assert done is not None and done.tid == waiting.tid
    _wait(lambda: len(sim.control.idocs(tid=waiting.tid)) == 1, "the IDoc in SAP")
    assert len(sim.control.idocs()) == 1
    pool.close()


def test_a_delivery_longer_than_its_maximum_is_abandoned_and_its_late_steps_are_not_recorded(
    engine: Engine, sim: SimulatorProcess
) -> None:
    store = OutboxStore(engine)
    pool = ConnectionPool(ALIAS, lambda: sim.connector(timeout=60.0), size=2, timeout=10)
    deliverer = _deliverer(store, pool, max_delivery=timedelta(seconds=1))
    entry = _accept(store, "slow")
    sim.control.add_fault("delay", function="IDOC_INBOUND_ASYNCHRONOUS", seconds=4.0)
    claimed = _claim(store, entry.id)
    worker = threading.Thread(target=deliverer.deliver, args=(claimed,))
    worker.start()

    def abandoned() -> bool:
        current = store.get(entry.id)
        return current is not None and current.last_error_key == "DELIVERY_TIMEOUT"

    _wait(abandoned, "the delivery abandoned after its maximum time")
    left = store.get(entry.id)
    assert left is not None and left.state is OutboxState.RETRY_WAIT and left.lease_owner is None
    worker.join(timeout=30)
    assert not worker.is_alive()
    late = store.get(entry.id)
    assert late is not None and late.state is OutboxState.RETRY_WAIT and not late.executed, (
        "the hung call ran in SAP after the delivery was abandoned: the outbox must not record it"
    )
    tid = late.tid
    assert tid is not None and sim.control.idocs(tid=tid), "SAP ran the late call"

    deliverer.max_delivery = timedelta(minutes=1)
    _deliver_until_confirmed(store, deliverer, entry.id)
    events = [event["event"] for event in sim.control.events(tid)]
    assert events.count("EXECUTED") == 1 and "SKIPPED" in events and "CONFIRMED" in events
    assert len(sim.control.idocs()) == 1
    pool.close()


def test_a_full_pool_does_not_open_the_circuit(engine: Engine, sim: SimulatorProcess) -> None:
    store = OutboxStore(engine)
    pool = ConnectionPool(ALIAS, sim.connector, size=1, timeout=0.2)
    circuits = Circuits(threshold=1, cooldown=60)
    deliverer = _deliverer(store, pool, circuits=circuits)
    entry = _accept(store, "crowded")
    held = pool.acquire()
    try:
        deliverer.deliver(_claim(store, entry.id))
    finally:
        pool.release(held)
    waiting = store.get(entry.id)
    assert waiting is not None and waiting.state is OutboxState.RETRY_WAIT
    assert waiting.last_error_key == "POOL_EXHAUSTED"
    assert not circuits.is_open(ALIAS), "a full pool says nothing about SAP: the circuit stays closed"
    _deliver_until_confirmed(store, deliverer, entry.id)
    pool.close()


def test_an_unreachable_system_opens_the_circuit_and_later_deliveries_wait_without_calling_it(
    engine: Engine, sim: SimulatorProcess
) -> None:
    store = OutboxStore(engine)
    pool = ConnectionPool(ALIAS, lambda: sim.connector(timeout=2.0), size=1, timeout=5)
    circuits = Circuits(threshold=2, cooldown=60)
    deliverer = _deliverer(store, pool, circuits=circuits)
    sim.control.add_fault("refuse_connections", count=None)
    first, second, third = (_accept(store, f"outage {n}") for n in range(3))
    deliverer.deliver(_claim(store, first.id))
    assert not circuits.is_open(ALIAS)
    deliverer.deliver(_claim(store, second.id))
    assert circuits.is_open(ALIAS)
    refused_before = _fired(sim, "refuse_connections")
    assert refused_before >= 2
    deliverer.deliver(_claim(store, third.id))
    waiting = store.get(third.id)
    assert waiting is not None and waiting.state is OutboxState.RETRY_WAIT and waiting.last_error_key == "CIRCUIT_OPEN"
    assert _fired(sim, "refuse_connections") == refused_before, "the open circuit kept SAP out of it"
    pool.close()


def test_a_busy_tid_does_not_open_the_circuit(engine: Engine, sim: SimulatorProcess) -> None:
    store = OutboxStore(engine)
    pool = ConnectionPool(ALIAS, lambda: sim.connector(timeout=30.0), size=2, timeout=10)
    circuits = Circuits(threshold=1, cooldown=60)
    deliverer = _deliverer(store, pool, circuits=circuits)
    entry = _accept(store, "busy")
    with sim.connector() as sap:
        tid = sap.get_transaction_id()
    claimed = _claim(store, entry.id)
    store.assign_tid(entry.id, "worker-1", tid)
    sim.control.add_fault("delay", function="IDOC_INBOUND_ASYNCHRONOUS", seconds=3.0)
    parameters = txtraw("busy")
    other = threading.Thread(
        target=lambda: sim.connector().submit_transaction(tid, "IDOC_INBOUND_ASYNCHRONOUS", parameters)
    )
    other.start()  # another connection executes the same TID right now
    _wait(lambda: not sim.control.command("faults.list"), "the other connection's submit held in SAP")
    resumed = store.get(claimed.id)
    assert resumed is not None
    deliverer.deliver(resumed)
    other.join(timeout=30)
    waiting = store.get(entry.id)
    assert waiting is not None and waiting.state is OutboxState.RETRY_WAIT
    assert waiting.last_error_key == "RFC_TID_IN_PROCESS"
    assert not circuits.is_open(ALIAS), "a busy TID says SAP is there: the circuit stays closed"
    _deliver_until_confirmed(store, deliverer, entry.id)
    assert len(sim.control.idocs(tid=tid)) == 1
    pool.close()


def _fired(sim: SimulatorProcess, kind: str) -> int:
    """How often the armed fault of ``kind`` has fired."""
    (fault,) = [fault for fault in sim.control.command("faults.list") if fault["kind"] == kind]
    return int(fault["fired"])


def test_a_call_sap_refuses_fails_and_an_operators_retry_delivers_it_with_the_same_tid(
    engine: Engine, sim: SimulatorProcess
) -> None:
    store = OutboxStore(engine)
    pool = ConnectionPool(ALIAS, sim.connector, size=1, timeout=10)
    deliverer = _deliverer(store, pool)
    entry = _accept(store, "refused once")
    sim.control.add_fault("abap_exception", function="IDOC_INBOUND_ASYNCHRONOUS", key="DOCUMENT_LOCKED")

    deliverer.deliver(_claim(store, entry.id))

    failed = store.get(entry.id)
    assert failed is not None and failed.state is OutboxState.FAILED and failed.last_error_key == "DOCUMENT_LOCKED"
    assert failed.tid is not None and sim.control.idocs() == []
    assert store.claim_one(entry.id, "worker-1", datetime.now(UTC), LEASE) is None, "FAILED is final for workers"

    retried = store.retry_now(entry.id)  # what `idocbridge tx retry` does
    assert retried.state is OutboxState.RETRY_WAIT and retried.tid == failed.tid
    _deliver_until_confirmed(store, deliverer, entry.id)
    events = [event["event"] for event in sim.control.events(failed.tid)]
    assert events[:2] == ["ROLLED_BACK", "EXECUTED"] and events.count("EXECUTED") == 1
    assert len(sim.control.idocs(tid=failed.tid)) == 1
    pool.close()


def test_a_confirm_lost_on_the_way_is_retried_and_recorded_only_once_sap_took_it(
    engine: Engine, sim: SimulatorProcess
) -> None:
    store = OutboxStore(engine)
    pool = ConnectionPool(ALIAS, sim.connector, size=1, timeout=10)
    deliverer = _deliverer(store, pool)
    entry = _accept(store, "confirm lost")
    sim.control.add_fault("drop_on_confirm", function="IDOC_INBOUND_ASYNCHRONOUS")

    deliverer.deliver(_claim(store, entry.id))

    waiting = store.get(entry.id)
    assert waiting is not None and waiting.tid is not None
    assert waiting.state is OutboxState.RETRY_WAIT and waiting.executed, "executed, the confirm still to do"
    assert waiting.last_error_key == "RFC_COMMUNICATION_FAILURE"
    assert [t["tid"] for t in sim.control.tids()] == [waiting.tid], "SAP still holds the unconfirmed TID"
    _deliver_until_confirmed(store, deliverer, entry.id)
    events = [event["event"] for event in sim.control.events(waiting.tid)]
    assert events == ["EXECUTED", "CONFIRMED"], "run once; the confirm reached SAP on the retry"
    assert sim.control.tids() == [] and len(sim.control.idocs(tid=waiting.tid)) == 1
    pool.close()


class _Renewals:
    """The deliverer's store as the journal's lease renewal before a SAP call uses it: renewals counted."""

    def __init__(self) -> None:
        self.renewals: list[datetime] = []

    def renew(self, entry_id: str, owner: str, until: datetime) -> None:
        self.renewals.append(until)


def test_a_call_that_changes_sap_renews_the_lease_only_once_a_third_of_it_has_passed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    now = [1000.0]
    monkeypatch.setattr(delivery.time, "monotonic", lambda: now[0])
    store = _Renewals()
    deliverer = cast(Deliverer, SimpleNamespace(store=store, owner="w1", lease=timedelta(seconds=30)))
    entry = cast(OutboxEntry, SimpleNamespace(id="e1"))
    journal = delivery._OutboxJournal(deliverer, entry, RequestContext("t", 1), lambda: None)
    journal.before_change()
    assert len(store.renewals) == 1, "not known to be renewed yet: renewed"
    now[0] += 9.9
    journal.before_change()
    assert len(store.renewals) == 1, "renewed less than a third of the lease ago: not again"
    now[0] += 0.2
    journal.before_change()
    assert len(store.renewals) == 2, "a third of the lease has passed: renewed"
    now[0] += 5
    journal.renewed(now[0])  # the heartbeat renewed it
    now[0] += 9.9
    journal.before_change()
    assert len(store.renewals) == 2, "the heartbeat's renewal counts too"


class _PoolWatchingStore(OutboxStore):
    """The outbox store, noting how many of the pool's connections are taken when each step is committed."""

    def __init__(self, engine: Engine, pool: ConnectionPool) -> None:
        super().__init__(engine)
        self.pool = pool
        self.taken: dict[str, int] = {}

    def assign_tid(self, entry_id: str, owner: str, tid: str, **options: Any) -> OutboxEntry:
        self.taken["TID"] = self.pool.stats().in_use
        return super().assign_tid(entry_id, owner, tid, **options)

    def mark_executed(self, entry_id: str, owner: str, **options: Any) -> OutboxEntry:
        self.taken["executed"] = self.pool.stats().in_use
        return super().mark_executed(entry_id, owner, **options)

    def mark_confirmed(self, entry_id: str, owner: str, receipt: str, **options: Any) -> OutboxEntry:
        self.taken["confirmed"] = self.pool.stats().in_use
        return super().mark_confirmed(entry_id, owner, receipt, **options)


def test_a_delivery_holds_an_sap_connection_only_while_sap_works(engine: Engine, sim: SimulatorProcess) -> None:
    make = connector_factory({"SAP_PASSWORD": "idocbridge"})
    alias = _simulator_alias(sim)
    pool = ConnectionPool(ALIAS, lambda: make(alias), size=1, timeout=10)
    store = _PoolWatchingStore(engine, pool)
    entry = _accept(store, "on demand")

    assert _deliverer(store, pool).deliver(_claim(store, entry.id)) is False  # the confirm ended the lease

    assert store.taken == {"TID": 0, "executed": 0, "confirmed": 0}, "each step commits with the connection free"
    done = store.get(entry.id)
    assert done is not None and done.state is OutboxState.CONFIRMED
    assert [idoc["tid"] for idoc in sim.control.idocs()] == [done.tid]
    assert pool.stats().in_use == 0 and pool.stats().open == 1, "one connection did it all and is back in the pool"
    pool.close()


def test_an_entry_whose_alias_left_the_model_waits_with_a_clear_error_and_goes_once_the_alias_is_back(
    engine: Engine, sim: SimulatorProcess
) -> None:
    """Accepted for alias ERP, then handed to an instance whose model no longer has it: nothing goes to SAP, the
    entry waits in RETRY_WAIT (not claimed again at once) with an error that names the alias and what to do, and
    an instance with the alias delivers it after an operator's retry."""
    store = OutboxStore(engine)
    pool = ConnectionPool(ALIAS, lambda: sim.connector(timeout=10.0), size=1, timeout=10)
    slow = Backoff(base=300, cap=300, jitter=0.0)
    without = _deliverer(store, pool, alias="OTHER", backoff=slow)
    entry = _accept(store, "orphan")

    assert without.deliver(_claim(store, entry.id)) is False  # the retry ended the lease already

    waiting = store.get(entry.id)
    assert waiting is not None and waiting.state is OutboxState.RETRY_WAIT
    assert waiting.last_error_key == "ALIAS_NOT_CONFIGURED" and waiting.lease_owner is None
    assert waiting.last_error is not None
    assert "SAP alias ERP is not in the model this instance serves (its aliases: OTHER)" in waiting.last_error
    assert "nothing was sent" in waiting.last_error and "cancel the entry" in waiting.last_error
    assert waiting.tid is None and waiting.attempts == 1
    assert store.claim_one(entry.id, "worker-1", datetime.now(UTC), LEASE) is None  # it backs off
    assert sim.control.idocs() == []

    store.retry_now(entry.id)
    _deliver_until_confirmed(store, _deliverer(store, pool), entry.id)
    _wait(lambda: len(sim.control.idocs()) == 1, "the IDoc in SAP")
    pool.close()


def test_an_entry_with_a_tid_whose_alias_left_the_model_keeps_its_tid_and_says_it_may_be_in_sap(
    engine: Engine, sim: SimulatorProcess
) -> None:
    store = OutboxStore(engine)
    pool = ConnectionPool(ALIAS, lambda: sim.connector(timeout=10.0), size=1, timeout=10)
    without = _deliverer(store, pool, alias="OTHER")
    entry = _accept(store, "orphan with a TID")
    _claim(store, entry.id)
    with pool.connection() as sap:
        tid = sap.get_transaction_id()
    store.assign_tid(entry.id, "worker-1", tid)
    store.release(entry.id, "worker-1")

    assert without.deliver(_claim(store, entry.id)) is False

    waiting = store.get(entry.id)
    assert waiting is not None and waiting.state is OutboxState.RETRY_WAIT and waiting.tid == tid
    assert waiting.last_error is not None and waiting.last_error_key == "ALIAS_NOT_CONFIGURED"
    assert f"its TID {tid} may be in SAP already (SM58)" in waiting.last_error
    assert "cancel" not in waiting.last_error  # an entry with a TID cannot be cancelled
    assert sim.control.idocs() == []
    pool.close()
