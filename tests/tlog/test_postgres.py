"""The runtime database on PostgreSQL, when IDOCBRIDGE_TEST_DATABASE_URL names one.

Each test works in a schema of its own (dropped afterwards), so the database may be shared, e.g.
``IDOCBRIDGE_TEST_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/test``.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import UTC, timedelta

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, MetaData, inspect, text
from sqlalchemy.engine import make_url

from idocbridge.db import VERSION_TABLE, create_engine_for, current_revision, head_revision, upgrade
from idocbridge.tlog import (
    LogFilter,
    LogFollower,
    TransactionLog,
    TransactionLogStats,
    count_older,
    purge,
    purge_log,
    query,
    trace,
    transaction_log_table,
)
from tests.tlog.conftest import T0, make_entry, upgrade_in_processes
from tests.tlog.test_filter_indexes import plans_off_their_index

URL = os.environ.get("IDOCBRIDGE_TEST_DATABASE_URL")
pytestmark = pytest.mark.skipif(not URL, reason="set IDOCBRIDGE_TEST_DATABASE_URL to a PostgreSQL URL to run these")


@pytest.fixture
def schema_url() -> Iterator[str]:
    pytest.importorskip("psycopg", reason="PostgreSQL needs psycopg 3: pip install 'psycopg[binary]'")
    assert URL is not None
    schema = f"idocbridge_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine_for(URL)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = make_url(URL).update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def pg(schema_url: str) -> Iterator[Engine]:
    engine = create_engine_for(schema_url)
    upgrade(engine)
    yield engine
    engine.dispose()


def test_upgrade_of_an_empty_database_is_idempotent_and_matches_the_table_class(schema_url: str) -> None:
    engine = create_engine_for(schema_url)
    try:
        assert engine.dialect.driver == "psycopg"
        assert current_revision(engine) is None
        upgrade(engine)
        upgrade(engine)
        assert current_revision(engine) == head_revision()
        tables = {VERSION_TABLE, "transaction_log", "trfc_outbox", "business_keys", "sap_idocs", "sap_idoc_status"}
        assert set(inspect(engine).get_table_names()) == tables
        metadata = MetaData()
        transaction_log_table.to_metadata(metadata)
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            assert [d for d in compare_metadata(context, metadata) if "transaction_log" in repr(d)] == []
    finally:
        engine.dispose()


def test_instances_starting_together_migrate_once(schema_url: str) -> None:
    assert upgrade_in_processes(schema_url) == []
    engine = create_engine_for(schema_url)
    try:
        assert current_revision(engine) == head_revision()
    finally:
        engine.dispose()


def test_write_query_and_purge(pg: Engine) -> None:
    sap_tid = "0A0B0C0D0E0F101112131415"
    entries = [
        make_entry(seconds=-86400 * 40, param2="nul\x00here"),
        make_entry(seconds=0, service="IDocService", operation="Send", param1="Müller ✓ \U0001f600"),
        make_entry(seconds=1, domain="SAPRFC", log_type="IO_EXIT", correlation_id=sap_tid, state="ERROR"),
        make_entry(seconds=1, transaction_id="1" * 40, domain="SAPRFC", log_type="IO_EXIT"),
    ]
    with TransactionLog(pg, batch_size=2) as log:
        for entry in entries:
            log.record(entry)
    assert log.stats() == TransactionLogStats(4, 4, 0, 0, 0)
    found = query(pg)
    assert found[1:] == entries[1:] and found[0].param2 == "nul\ufffdhere"
    assert all(entry.at.tzinfo is UTC for entry in found)
    assert query(pg, correlation_id=sap_tid, state="ERROR") == [entries[2]]
    assert query(pg, service="IDocService", operation="Send") == [entries[1]]
    assert query(pg, since=T0, until=T0 + timedelta(seconds=2), domain="SAPRFC") == entries[2:]
    assert query(pg, limit=1, newest=True) == [entries[3]]
    assert purge(pg, T0 - timedelta(days=30), chunk=1) == 1
    assert query(pg) == entries[1:]


def test_purge_log_follow_and_trace(pg: Engine) -> None:
    sap_tid = "0A0B0C0D0E0F101112131415"
    with TransactionLog(pg) as log:
        for number in range(5):
            log.record(make_entry(seconds=-86400 * 40 + number))
    follower = LogFollower(pg, LogFilter(domain="SAPRFC"))
    assert follower.start() == []
    with TransactionLog(pg) as log:
        log.record(make_entry(seconds=1, domain="SAPRFC", log_type="IO_EXIT", correlation_id=sap_tid))
    assert [entry.correlation_id for entry in follower.poll()] == [sap_tid]
    assert follower.poll() == []
    assert [story.tids for story in trace(pg, sap_tid)] == [[sap_tid]]
    assert count_older(pg, T0 - timedelta(days=30)) == 5
    assert purge_log(pg, T0 - timedelta(days=30), batch_size=2) == 5
    assert len(query(pg)) == 1


def test_each_filter_of_the_log_reads_its_own_index_in_order(pg: Engine) -> None:
    assert plans_off_their_index(pg) == []
