"""UTCDateTime on SQLite: the text SQLAlchemy's own DATETIME would store, made faster, and read back as it was."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import Column, DateTime, Integer, MetaData, Table, create_engine, insert, select, text
from sqlalchemy.dialects import sqlite

from idocbridge.tlog.tables import UTCDateTime

MOMENTS = [
    datetime(2026, 12, 7, 14, 1, 2, tzinfo=UTC),  # no microseconds: still written out
    datetime(2026, 1, 1, 23, 59, 59, 999999, tzinfo=timezone(timedelta(hours=5, minutes=30))),
    datetime(2025, 3, 30, 1, 30, tzinfo=timezone(timedelta(hours=-8))),  # the day changes in UTC
    datetime(5, 1, 2, 3, 4, 5, 6, tzinfo=UTC),  # a year of one digit: padded to four
    datetime.max.replace(tzinfo=UTC),
]


@pytest.mark.parametrize("moment", MOMENTS, ids=str)
def test_sqlite_gets_the_text_sqlalchemys_datetime_would_store(moment: datetime) -> None:
    dialect = sqlite.dialect()
    ours = UTCDateTime().dialect_impl(dialect).bind_processor(dialect)  # as SQLAlchemy asks for it
    sqlalchemys = DateTime(timezone=True).dialect_impl(dialect).bind_processor(dialect)
    assert ours is not None and sqlalchemys is not None
    assert ours(moment) == sqlalchemys(moment.astimezone(UTC).replace(tzinfo=None))
    assert ours(None) is None


def test_a_naive_datetime_is_refused() -> None:
    process = UTCDateTime().dialect_impl(sqlite.dialect()).bind_processor(sqlite.dialect())
    assert process is not None
    with pytest.raises(ValueError, match="naive datetime"):
        process(datetime(2026, 12, 7, 14, 0))


def test_stored_moments_read_back_in_utc_and_sort_as_time_does(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'times.db'}")
    table = Table("times", MetaData(), Column("id", Integer, primary_key=True), Column("at", UTCDateTime()))
    table.metadata.create_all(engine)
    with engine.begin() as connection:
        connection.execute(insert(table), [{"id": number, "at": moment} for number, moment in enumerate(MOMENTS)])
    with engine.connect() as connection:
        read = {row.id: row.at for row in connection.execute(select(table.c.id, table.c.at))}
        by_text = list(connection.execute(text("SELECT id FROM times ORDER BY at")).scalars())
    engine.dispose()
    assert read == {number: moment.astimezone(UTC) for number, moment in enumerate(MOMENTS)}
    assert by_text == sorted(range(len(MOMENTS)), key=lambda number: MOMENTS[number])
