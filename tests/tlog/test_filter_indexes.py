"""Every filter of the log reads its own index, in the order the log is shown: the first entries of a rare
value come without reading the rest of the log (PostgreSQL: tests/tlog/test_postgres.py). SQLite reads
the index in order, never sorting; PostgreSQL may sort the few rows of a rare value it found by the index
(cheaper than reading them in order), and reads in order where many rows match (tests/perf/bench_log.py)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import Engine, insert

from idocbridge.tlog import LogFilter, transaction_log_table
from idocbridge.tlog.queries import log_select, query_rows
from idocbridge.tlog.tables import row_from_entry
from tests.tlog.conftest import T0, make_entry

ROWS = 5000
RARE_EVERY = 100
FILTERS = {
    "state": LogFilter(state="ERROR"),
    "domain": LogFilter(domain="MYDOMAIN"),
    "log_type": LogFilter(log_type="CUSTOM"),
    "service": LogFilter(service="RareService"),
    "operation": LogFilter(operation="RareOperation"),
}
INDEXES = {
    "no filter": (LogFilter(), "ix_transaction_log_at"),
    "since": (LogFilter(since=T0 + timedelta(seconds=ROWS - 10)), "ix_transaction_log_at"),
} | {column: (where, f"ix_transaction_log_{column}_at") for column, where in FILTERS.items()}


def fill_and_analyze(engine: Engine, *, analyze: bool = True) -> None:
    """``ROWS`` entries, one in ``RARE_EVERY`` with a rare value in every filtered column; statistics taken
    unless not ``analyze`` (SQLite keeps none unless told to, as in a service's runtime database)."""
    rows = []
    for number in range(ROWS):
        rare = number % RARE_EVERY == 0
        entry = make_entry(
            at=T0 + timedelta(seconds=number),
            state="ERROR" if rare else "OK",
            domain="MYDOMAIN" if rare else ("SAPRFC" if number % 2 else "INTERFACE"),
            log_type="CUSTOM" if rare else ("IO_EXIT" if number % 2 else "SERVICE_ENTER"),
            service="RareService" if rare else f"Service{number % 5}",
            operation="RareOperation" if rare else f"Operation{number % 4}",
        )
        rows.append(row_from_entry(entry))
    with engine.begin() as connection:
        connection.execute(insert(transaction_log_table), rows)
        if analyze:
            connection.exec_driver_sql("ANALYZE" if engine.dialect.name == "sqlite" else "ANALYZE transaction_log")


def _plan(engine: Engine, where: LogFilter, *, newest: bool = False, after_id: int | None = None) -> str:
    """The database's plan for the statement ``idocbridge log`` runs (1,000 entries; a follow poll after
    ``after_id``)."""
    statement = log_select(where, limit=None if after_id else 1000, newest=newest, after_id=after_id,
                           up_to_id=after_id + 100 if after_id else None)  # fmt: skip
    compiled = statement.compile(engine, compile_kwargs={"literal_binds": True})
    explain = "EXPLAIN QUERY PLAN" if engine.dialect.name == "sqlite" else "EXPLAIN"
    with engine.connect() as connection:
        return "\n".join(str(row[-1]) for row in connection.exec_driver_sql(f"{explain} {compiled}"))


def plans_off_their_index(engine: Engine) -> list[str]:
    """The filters (oldest or newest first) whose plan does not read their index (or, on SQLite, sorts): none,
    if all is well."""
    fill_and_analyze(engine)
    problems = []
    for name, (where, index) in INDEXES.items():
        for newest in (False, True):
            plan = _plan(engine, where, newest=newest)
            if index not in plan or "TEMP B-TREE" in plan:
                problems.append(f"{name}{' newest first' if newest else ''}: {plan}")
    return problems


def test_each_filter_of_the_log_reads_its_own_index_in_order(engine: Engine) -> None:
    assert plans_off_their_index(engine) == []


def test_the_indexed_queries_find_what_the_filters_say(engine: Engine) -> None:
    fill_and_analyze(engine)
    for column, where in FILTERS.items():
        found = [entry for _, entry in query_rows(engine, where, limit=10, newest=True)]
        assert len(found) == 10, column
        assert all(getattr(entry, column) == getattr(where, column) for entry in found), column
        assert [entry.at for entry in found] == sorted(entry.at for entry in found), column
        assert found[-1].at == T0 + timedelta(seconds=ROWS - RARE_EVERY), column


def test_narrow_queries_read_the_narrow_index_even_without_statistics(engine: Engine) -> None:
    """A transaction's entries, or a follow poll's new rows, are few: their index (or the row ID range)
    must win over a filter's index, which holds the log's order but a large part of it."""
    fill_and_analyze(engine, analyze=False)
    cases = {
        "-t TID --status OK": (LogFilter(transaction_id="t", state="OK"), None, "ix_transaction_log_transaction_id"),
        "-c TID --type IO_EXIT": (LogFilter(correlation_id="c", log_type="IO_EXIT"), None,
                                  "ix_transaction_log_correlation_id"),
        "--follow --status OK": (LogFilter(state="OK"), 4000, "PRIMARY KEY"),
        "--follow --service S --type T": (LogFilter(service="Service1", log_type="IO_EXIT"), 4000, "PRIMARY KEY"),
    }  # fmt: skip
    problems = []
    for name, (where, after_id, index) in cases.items():
        plan = _plan(engine, where, after_id=after_id)
        if index not in plan or any(f"ix_transaction_log_{column}_at" in plan for column in FILTERS):
            problems.append(f"{name}: {plan}")
    assert problems == []
