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
from idocbridge.sapsim.testing import SimulatorProcess
from idocbridge.soap.deployment import _fate_may_ask
from idocbridge.transactions import OutboxStore
from idocbridge.transactions.circuit import Circuits
from idocbridge.transactions.delivery import Deliverer
from idocbridge.transactions.scheduler import OutboxWorker
from tests.transactions.conftest import OnePool

ALIAS = "ERP"


@pytest.fixture
def sim(tmp_path: Path) -> Iterator[SimulatorProcess]:
    with SimulatorProcess(tmp_path / "sim") as process:
        yield process


def test_the_follower_asks_sap_only_while_deliveries_leave_a_connection_and_a_thread(
    sim: SimulatorProcess, tmp_path: Path
) -> None:
    pool = ConnectionPool(ALIAS, lambda: sim.connector(timeout=10.0), size=2, timeout=5)
    pools = cast(PoolSet, OnePool(pool))
    circuits = Circuits(threshold=1)
    engine = create_engine_for(database_url_for_state(tmp_path / "state"))
    upgrade(engine)
    store = OutboxStore(engine)
    worker = OutboxWorker(store, Deliverer(store, pools, None, "instance-1"), workers=2)
    worker.start()

    def may_ask() -> bool:
        return _fate_may_ask(pools, circuits, worker, ALIAS)

    try:
        assert may_ask()
        with pool.connection():
            assert may_ask()  # one connection left
            with pool.connection():
                assert not may_ask()  # deliveries hold every connection
            assert may_ask()
        assert worker.reserve() and may_ask()
        assert worker.reserve() and not may_ask()  # every delivery thread busy
        worker.unreserve()
        assert may_ask()
        circuits.failure(ALIAS)
        assert not may_ask()  # SAP unreachable
    finally:
        worker.stop()
        pool.close()
        engine.dispose()
