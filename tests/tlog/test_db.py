"""The runtime database on SQLite: engine settings, URLs, and migrations that are idempotent."""

from __future__ import annotations

import sys
import threading
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, MetaData, inspect, text
from sqlalchemy.exc import OperationalError

from idocbridge.db import (
    VERSION_TABLE,
    DatabaseError,
    DatabaseNotFoundError,
    begin_write,
    create_engine_for,
    current_revision,
    database_url_for_state,
    display_url,
    head_revision,
    sqlite_path,
    upgrade,
)
from idocbridge.tlog import transaction_log_table
from tests.tlog.conftest import upgrade_in_processes


def test_the_state_folder_holds_runtime_db(tmp_path: Path) -> None:
    url = database_url_for_state(tmp_path / "my state")
    assert url.startswith("sqlite:///") and url.endswith("/runtime.db")
    assert sqlite_path(url) == (tmp_path / "my state" / "runtime.db").resolve()
    assert sqlite_path("sqlite://") is None and sqlite_path("postgresql+psycopg://u@h/db") is None


def test_sqlite_runs_in_wal_mode_with_foreign_keys_a_busy_timeout_and_full_sync(tmp_path: Path) -> None:
    engine = create_engine_for(database_url_for_state(tmp_path / "new"), busy_timeout_ms=1234)
    try:
        with engine.connect() as connection:
            pragma = {
                name: connection.exec_driver_sql(f"PRAGMA {name}").scalar()
                for name in ("journal_mode", "foreign_keys", "busy_timeout", "synchronous")
            }
        # synchronous 2 is FULL: a commit is on disk before it returns, power loss included
        assert pragma == {"journal_mode": "wal", "foreign_keys": 1, "busy_timeout": 1234, "synchronous": 2}
        assert (tmp_path / "new" / "runtime.db").is_file()
    finally:
        engine.dispose()


def test_a_reader_needs_an_existing_database(tmp_path: Path) -> None:
    with pytest.raises(DatabaseNotFoundError, match=r"runtime\.db"):
        create_engine_for(database_url_for_state(tmp_path / "missing"), must_exist=True)
    assert not (tmp_path / "missing").exists(), "a reader creates nothing"


@pytest.mark.parametrize("url", ["mysql://u@h/db", "not a url", "oracle+cx_oracle://u:secret@h/db"])
def test_other_databases_are_refused_without_showing_passwords(url: str) -> None:
    with pytest.raises(DatabaseError) as caught:
        create_engine_for(url)
    assert "secret" not in str(caught.value)
    assert display_url("postgresql+psycopg://u:secret@h/db") == "postgresql+psycopg://u:***@h/db"


def test_postgresql_urls_use_psycopg_and_say_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "psycopg", None)  # as if it were not installed
    for url in ("postgresql://u@localhost/db", "postgres://u@localhost/db", "postgresql+psycopg://u@localhost/db"):
        with pytest.raises(DatabaseError, match=r"psycopg\[binary\]"):
            create_engine_for(url)


def test_upgrade_creates_the_schema_in_an_empty_database_and_is_idempotent(tmp_path: Path) -> None:
    engine = create_engine_for(database_url_for_state(tmp_path))
    try:
        assert current_revision(engine) is None
        upgrade(engine)
        assert current_revision(engine) == head_revision() == "0007"
        tables = set(inspect(engine).get_table_names())
        assert tables == {
            VERSION_TABLE,
            "transaction_log",
            "trfc_outbox",
            "business_keys",
            "sap_idocs",
            "sap_idoc_status",
        }
        upgrade(engine)
        assert current_revision(engine) == "0007"
        assert set(inspect(engine).get_table_names()) == tables
        indexes = {index["name"] for index in inspect(engine).get_indexes("transaction_log")}
        assert indexes == {
            "ix_transaction_log_transaction_id",
            "ix_transaction_log_correlation_id",
            "ix_transaction_log_at",
            "ix_transaction_log_state_at",
            "ix_transaction_log_domain_at",
            "ix_transaction_log_log_type_at",
            "ix_transaction_log_service_at",
            "ix_transaction_log_operation_at",
        }
    finally:
        engine.dispose()


def test_the_migrated_table_matches_the_table_class(engine: Engine) -> None:
    metadata = MetaData()
    transaction_log_table.to_metadata(metadata)
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = [d for d in compare_metadata(context, metadata) if "transaction_log" in repr(d)]
    assert differences == []


def test_processes_starting_together_migrate_once(tmp_path: Path) -> None:
    url = database_url_for_state(tmp_path)
    assert upgrade_in_processes(url) == []
    engine = create_engine_for(url)
    try:
        with engine.connect() as connection:
            assert connection.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalars().all() == ["0007"]
    finally:
        engine.dispose()


def test_threads_of_one_process_migrate_one_at_a_time(tmp_path: Path) -> None:
    engines = [create_engine_for(database_url_for_state(tmp_path)) for _ in range(4)]
    errors: list[BaseException] = []

    def start(engine: Engine) -> None:
        try:
            upgrade(engine)
        except BaseException as exc:  # pragma: no cover - the assertion shows it
            errors.append(exc)

    threads = [threading.Thread(target=start, args=(engine,)) for engine in engines]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for engine in engines:
        engine.dispose()
    assert errors == []


def test_begin_write_takes_the_write_lock_at_begin(engine: Engine) -> None:
    with begin_write(engine) as connection:
        assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() == 10_000
        other = create_engine_for(str(engine.url), busy_timeout_ms=50)
        try:
            with pytest.raises(OperationalError, match="database is locked"), begin_write(other):
                pass  # pragma: no cover - BEGIN IMMEDIATE already failed
        finally:
            other.dispose()
