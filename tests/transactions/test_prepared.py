"""Prepared statements store what SQLAlchemy stores, refuse what they cannot run, and fail as SQLAlchemy does."""

from __future__ import annotations

from datetime import timedelta, timezone

import pytest
from sqlalchemy import Engine, bindparam, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from idocbridge.db.prepared import Prepared
from idocbridge.transactions.tables import outbox_table
from tests.transactions.conftest import T0

_T = outbox_table


def _row(entry_id: str, **changes: object) -> dict[str, object]:
    row: dict[str, object] = {
        "id": entry_id, "service": "S", "operation": "O", "alias": "ERP", "function": "F", "parameters": "{}",
        "transaction_id": "t", "state": "ACCEPTED", "executed": False, "attempts": 0, "created_at": T0,
        "updated_at": T0 + timedelta(microseconds=123456), "next_attempt_at": None, "confirm_sent": True,
    }  # fmt: skip
    row.update(changes)
    return row


def test_a_prepared_insert_stores_what_sqlalchemy_stores(engine: Engine) -> None:
    with engine.begin() as connection:
        connection.execute(insert(_T), _row("by-sqlalchemy"))
        Prepared(insert(_T)).execute(connection, _row("prepared"))
    with engine.connect() as connection:
        rows = {row["id"]: dict(row) for row in connection.execute(select(_T)).mappings()}
    assert rows["prepared"] == {**rows["by-sqlalchemy"], "id": "prepared"}
    assert rows["prepared"]["updated_at"] == T0 + timedelta(microseconds=123456)
    assert rows["prepared"]["updated_at"].tzinfo is not None and rows["prepared"]["confirm_sent"] is True


def test_a_prepared_update_matches_a_time_sqlalchemy_stored_and_counts_its_rows(engine: Engine) -> None:
    stored = T0 + timedelta(microseconds=123456)
    statement = Prepared(update(_T).where(_T.c.id == bindparam("b_id"), _T.c.updated_at == bindparam("b_at")))
    with engine.begin() as connection:
        connection.execute(insert(_T), _row("a"))
        in_another_zone = stored.astimezone(timezone(timedelta(hours=5, minutes=30)))
        assert statement.execute(connection, {"b_id": "a", "b_at": in_another_zone, "state": "CLAIMED"}) == 1
        assert statement.execute(connection, {"b_id": "a", "b_at": T0, "state": "FAILED"}) == 0
    with engine.connect() as connection:
        assert connection.execute(select(_T.c.state)).scalar_one() == "CLAIMED"


def test_prepared_rows_go_in_one_call_and_none_is_nothing(engine: Engine) -> None:
    statement = Prepared(insert(_T))
    with engine.begin() as connection:
        statement.execute_many(connection, [])
        statement.execute_many(connection, [_row(f"e{n}") for n in range(3)])
    with engine.connect() as connection:
        assert list(connection.execute(select(_T.c.id).order_by(_T.c.id)).scalars()) == ["e0", "e1", "e2"]


def test_a_driver_error_arrives_as_sqlalchemys_error(engine: Engine) -> None:
    statement = Prepared(insert(_T))
    with engine.begin() as connection:
        statement.execute(connection, _row("twice"))
    with pytest.raises(IntegrityError), engine.begin() as connection:
        statement.execute(connection, _row("twice"))


def test_what_cannot_be_prepared_is_refused_with_the_reason(engine: Engine) -> None:
    expanding = Prepared(delete(_T).where(_T.c.id.in_(bindparam("b_ids", expanding=True))))
    returning = Prepared(insert(_T).returning(_T.c.id))
    where = Prepared(update(_T).where(_T.c.id == bindparam("b_id")))
    with engine.begin() as connection:
        with pytest.raises(ValueError, match="expanding parameters"):
            expanding.execute(connection, {"b_ids": ["a"]})
        with pytest.raises(ValueError, match="RETURNING"):
            returning.execute(connection, _row("r"))
        with pytest.raises(ValueError, match="no value for b_id"):
            where.execute(connection, {"state": "FAILED"})
