"""A served deployment's fate follower leaves SAP to the deliveries while they need every connection or thread.

The predicate the deployment gives its follower, on a real connection pool to the simulator process, a real
circuit and a running outbox worker over an empty outbox.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import cast

import pytest

from idocbridge.connectors.pool import ConnectionPool
from idocbridge.connectors.pool_set import PoolSet
from idocbridge.db import create_engine_for, database_url_for_state, upgrade
from idocbridge.sapsim.testing import SimulatorProcess, txtraw
from idocbridge.soap.deployment import _fate_may_ask
from idocbridge.transactions import OutboxState, OutboxStore
from idocbridge.transactions.circuit import Circuits
from idocbridge.transactions.delivery import Deliverer
from idocbridge.transactions.scheduler import OutboxWorker
from tests.transactions.conftest import OnePool, new_entry
from tests.waiting import wait_until

ALIAS = "ERP"


@pytest.fixture
def sim(tmp_path: Path) -> Iterator[SimulatorProcess]:
    with SimulatorProcess(tmp_path / "sim") as process:
        yield process


def test_the_follower_asks_sap_only_while_deliveries_leave_a_connection_and_a_thread(
    sim: SimulatorProcess, tmp_path: Path
) -> None:
    pool = ConnectionPool(ALIAS, lambda: sim.connector(timeout=30.0), size=3, timeout=5)
    pools = cast(PoolSet, OnePool(pool))
    circuits = Circuits(threshold=1)
    engine = create_engine_for(database_url_for_state(tmp_path / "state"))
    upgrade(engine)
    store = OutboxStore(engine)
    worker = OutboxWorker(store, Deliverer(store, pools, None, "instance-1"), workers=2, interval=0.05)
    worker.start()

    def may_ask() -> bool:
        return _fate_may_ask(pools, circuits, worker, ALIAS)

    try:
        assert may_ask()
        with pool.connection():
            assert may_ask()  # connections left
            with pool.connection(), pool.connection():
                assert not may_ask()  # every connection in use
            assert may_ask()
        sim.control.add_fault("delay", function="IDOC_INBOUND_ASYNCHRONOUS", seconds=2.0, count=None)
        ids = [store.accept(new_entry(alias=ALIAS, parameters=txtraw(text))).entry.id for text in ("a", "b")]
        worker.wake()
        in_sap = OutboxState.TID_ASSIGNED  # submitted, SAP still working on it
        wait_until(lambda: all(_state(store, i) is in_sap for i in ids), what="both IDocs in SAP's hands")
        assert not worker.spare() and not may_ask()  # both delivery threads busy, a connection still free
        sim.control.clear_faults()
        wait_until(lambda: all(_state(store, i) is OutboxState.CONFIRMED for i in ids), what="both CONFIRMED")
        wait_until(worker.spare, what="a delivery thread free again")
        assert may_ask()
        circuits.failure(ALIAS)
        assert not may_ask()  # SAP unreachable
    finally:
        worker.stop()
        pool.close()
        engine.dispose()


def _state(store: OutboxStore, entry_id: str) -> OutboxState | None:
    entry = store.get(entry_id)
    return None if entry is None else entry.state
