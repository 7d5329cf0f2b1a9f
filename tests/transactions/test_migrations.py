"""Migrations 0002 and 0003 create ``trfc_outbox`` from an empty database or from 0001, as the table class says."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, MetaData, insert, inspect, select, text

from idocbridge.db import VERSION_TABLE, alembic_config, begin_write, create_engine_for, current_revision, upgrade
from idocbridge.tlog import transaction_log_table
from idocbridge.transactions import OutboxState, OutboxStore, outbox_table
from idocbridge.transactions.fate_tables import business_keys_table, sap_idoc_status_table, sap_idocs_table
from idocbridge.transactions.packets import PacketRule
from tests.transactions.conftest import new_entry

INDEXES = {
    "ix_trfc_outbox_claim",
    "ux_trfc_outbox_tid",
    "ux_trfc_outbox_queue_seq",
    "ux_trfc_outbox_message",
    "ix_trfc_outbox_created_at",
    "ix_trfc_outbox_transaction_id",
    "ix_trfc_outbox_packet",
    "ix_trfc_outbox_fate_due",
}


def test_an_empty_database_migrates_to_the_outbox(url: str) -> None:
    engine = create_engine_for(url)
    try:
        assert current_revision(engine) is None
        upgrade(engine)
        upgrade(engine)
        assert current_revision(engine) == "0007"
        assert {VERSION_TABLE, "transaction_log", "trfc_outbox"} <= set(inspect(engine).get_table_names())
        indexes = {index["name"]: index for index in inspect(engine).get_indexes("trfc_outbox")}
        assert set(indexes) == INDEXES
        assert indexes["ux_trfc_outbox_message"]["unique"]
        assert indexes["ux_trfc_outbox_message"]["column_names"] == ["service", "operation", "message_id"]
        assert indexes["ix_trfc_outbox_claim"]["column_names"] == ["state", "next_attempt_at"]
    finally:
        engine.dispose()


def test_the_migrated_table_matches_the_table_class(engine: Engine) -> None:
    metadata = MetaData()
    outbox_table.to_metadata(metadata)
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = [d for d in compare_metadata(context, metadata) if "trfc_outbox" in repr(d)]
    assert differences == []


def test_the_migrated_key_and_fate_tables_match_their_classes(engine: Engine) -> None:
    metadata = MetaData()
    for table in (business_keys_table, sap_idocs_table, sap_idoc_status_table):
        table.to_metadata(metadata)
    names = {"business_keys", "sap_idocs", "sap_idoc_status"}
    assert names <= set(inspect(engine).get_table_names())
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = [d for d in compare_metadata(context, metadata) if any(name in repr(d) for name in names)]
    assert differences == []


def test_downgrade_below_0007_drops_keys_and_fate_and_keeps_the_outbox(engine: Engine) -> None:
    OutboxStore(engine).accept(new_entry(message_id="m1"))
    config = alembic_config()
    with begin_write(engine) as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0006")
    tables = set(inspect(engine).get_table_names())
    assert not tables & {"business_keys", "sap_idocs", "sap_idoc_status"}
    assert "fate_due_at" not in {column["name"] for column in inspect(engine).get_columns("trfc_outbox")}
    with engine.connect() as connection:
        assert connection.execute(select(outbox_table.c.message_id)).scalars().all() == ["m1"]
    upgrade(engine)
    assert current_revision(engine) == "0007"


def test_a_database_at_0001_keeps_its_log_and_gains_the_outbox(url: str) -> None:
    engine = create_engine_for(url)
    try:
        upgrade(engine, "0001")
        assert current_revision(engine) == "0001"
        assert "trfc_outbox" not in inspect(engine).get_table_names()
        row = {
            "at": datetime(2015, 12, 8, 15, 47, 24, tzinfo=UTC),
            "transaction_id": "0000000182469dcd0001612899fea700e3d869aa",
            "request_id": 3,
            "component": "SAPConnectionPool",
            "elapsed_ms": 0,
            "state": "OK",
            "domain": "SAPRFC",
            "log_type": "IO_ENTER",
        }
        with engine.begin() as connection:
            connection.execute(insert(transaction_log_table).values(row))
        upgrade(engine)
        assert current_revision(engine) == "0007"
        with engine.connect() as connection:
            assert connection.execute(select(transaction_log_table.c.component)).scalars().all() == [
                "SAPConnectionPool"
            ]
        entry = OutboxStore(engine).accept(new_entry()).entry
        assert entry.state is OutboxState.ACCEPTED
    finally:
        engine.dispose()


def test_downgrade_to_0001_drops_only_the_outbox(engine: Engine) -> None:
    config = alembic_config()
    with begin_write(engine) as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0001")
    assert current_revision(engine) == "0001"
    tables = set(inspect(engine).get_table_names())
    assert "trfc_outbox" not in tables and "transaction_log" in tables
    upgrade(engine)
    assert current_revision(engine) == "0007"


def test_downgrade_below_packets_waits_for_open_packets_and_drops_refused_ones(engine: Engine) -> None:
    owner, lease = "worker-1", timedelta(minutes=1)
    store = OutboxStore(engine, packets={"ERP": PacketRule(size=2)})
    for number in range(2):
        store.accept(new_entry(parameters={"IDOC_CONTROL_REC_40": [{"MESTYP": "X"}]}, message_id=f"m{number}"))
    (packet,) = store.gather(datetime.now(UTC)).packets
    store.claim(owner, datetime.now(UTC), 10, lease)
    store.assign_tid(packet, owner, "0A1B2C3D4E5F60718293A4B5")
    _, halves = store.refuse_packet(packet, owner, "refused", "IDOC_REFUSED")
    config = alembic_config()
    refused = "4 outbox entries are IDoc packets or IDocs in one"  # two halves, each with its IDoc
    with pytest.raises(RuntimeError, match=refused), begin_write(engine) as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0005")
    assert current_revision(engine) == "0007"
    for half in halves.packets:
        store.cancel(half)
    with begin_write(engine) as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0005")
    assert current_revision(engine) == "0005"
    with engine.connect() as connection:
        states = connection.execute(text("SELECT state FROM trfc_outbox")).scalars().all()
    assert sorted(states) == ["CANCELLED"] * 4, "the refused packet is gone, its IDocs and halves stay"
    upgrade(engine)
