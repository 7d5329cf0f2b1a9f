"""A driver error drops the connection it came from; a constraint violation does not (real SQLite)."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError, OperationalError

from idocbridge.db.engine import create_engine_for


def test_an_error_drops_its_connection_and_a_constraint_violation_keeps_it(tmp_path: Path) -> None:
    engine = create_engine_for(f"sqlite:///{tmp_path / 'runtime.db'}")
    try:
        with engine.begin() as connection:
            connection.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY)"))
            connection.execute(text("INSERT INTO t VALUES (1)"))
        with engine.connect() as connection:
            with pytest.raises(OperationalError):
                connection.execute(text("SELECT * FROM no_such_table"))
            assert connection.invalidated
        with engine.connect() as connection, connection.begin():
            savepoint = connection.begin_nested()
            with pytest.raises(IntegrityError):
                connection.execute(text("INSERT INTO t VALUES (1)"))
            savepoint.rollback()
            assert not connection.invalidated
            connection.execute(text("INSERT INTO t VALUES (2)"))
        with engine.connect() as connection:
            assert connection.execute(text("SELECT count(*) FROM t")).scalar() == 2
    finally:
        engine.dispose()


def test_a_new_database_and_a_loose_one_are_private(tmp_path: Path) -> None:
    loose = tmp_path / "loose.db"
    loose.touch(mode=0o644)
    loose.chmod(0o644)
    for path in (tmp_path / "new.db", loose):
        create_engine_for(f"sqlite:///{path}").dispose()
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
