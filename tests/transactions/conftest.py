"""Fixtures: a migrated runtime database on SQLite, and on PostgreSQL when IDOCBRIDGE_TEST_DATABASE_URL is set.

Contract tests take ``url`` (or ``engine``/``store``) and run on both backends, like APScheduler's
job store tests. On PostgreSQL each test works in a schema of its own, dropped afterwards.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url

from idocbridge.connectors.pool import ConnectionPool
from idocbridge.db import create_engine_for, database_url_for_state, upgrade
from idocbridge.sapsim.testing import SimulatorProcess
from idocbridge.transactions import NewEntry, OutboxStore

PG_URL = os.environ.get("IDOCBRIDGE_TEST_DATABASE_URL")
T0 = datetime(2030, 1, 1, 12, 0, 0, tzinfo=UTC)
TID = "0A1B2C3D4E5F60718293A4B5"
TID2 = "FFEEDDCCBBAA998877665544"
LEASE = timedelta(seconds=60)


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: datetime = T0) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> datetime:
        self.now += timedelta(seconds=seconds)
        return self.now


def new_entry(**fields: Any) -> NewEntry:
    """A NewEntry with sensible defaults."""
    values: dict[str, Any] = {
        "service": "IDocService",
        "operation": "SendOrder",
        "alias": "ERP",
        "function": "IDOC_INBOUND_ASYNCHRONOUS",
        "parameters": {"IDOC_CONTROL_REC_40": [{"DOCNUM": "0000000000000001"}], "note": "Müller ✓"},
        "transaction_id": "0000000182469dcd0001612899fea700e3d869aa",
    }
    values.update(fields)
    return NewEntry(**values)


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The URL of an empty database (not migrated) on each backend."""
    if request.param == "sqlite":
        yield database_url_for_state(tmp_path / "state")
        return
    if not PG_URL:
        pytest.skip("set IDOCBRIDGE_TEST_DATABASE_URL to a PostgreSQL URL to run the PostgreSQL variant")
    pytest.importorskip("psycopg", reason="PostgreSQL needs psycopg 3: pip install 'psycopg[binary]'")
    schema = f"idocbridge_outbox_{uuid.uuid4().hex[:12]}"
    admin = create_engine_for(PG_URL)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield make_url(PG_URL).update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(False)
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def engine(url: str) -> Iterator[Engine]:
    """A database migrated to the newest revision."""
    created = create_engine_for(url)
    upgrade(created)
    yield created
    created.dispose()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store(engine: Engine, clock: Clock) -> OutboxStore:
    return OutboxStore(engine, clock=clock)


@pytest.fixture(scope="module")
def simulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimulatorProcess]:
    """A simulator process for the tests of one module."""
    with SimulatorProcess(tmp_path_factory.mktemp("sim")) as process:
        yield process


@pytest.fixture
def sim(simulator: SimulatorProcess) -> SimulatorProcess:
    """The module's simulator, reset (no IDocs, TIDs or faults)."""
    simulator.control.reset()
    return simulator


class OnePool:
    """The pools of a deployment with one alias (``ERP`` unless named): what the deliverer asks of a PoolSet."""

    def __init__(self, pool: ConnectionPool, name: str = "ERP") -> None:
        self.pool = pool
        self.name = name

    @property
    def aliases(self) -> list[str]:
        return [self.name]

    def __contains__(self, name: object) -> bool:
        return name == self.name

    def for_alias(self, name: str) -> ConnectionPool:
        assert name == self.name
        return self.pool
