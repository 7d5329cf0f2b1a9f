"""Transaction-log benchmark: every filter of ``idocbridge log`` on a log of millions of rows, and its rendering.

    .venv/bin/python tests/perf/bench_log.py --rows 10000000 --keep /tmp/tlog-10m.db
    .venv/bin/python tests/perf/bench_log.py --rows 1000000 --db postgresql+psycopg://postgres@127.0.0.1/test

Builds the log with the project's own writer (:class:`~idocbridge.tlog.writer.TransactionLog`): requests
of eight entries each (service enter and exit, and IO enter and exit around each of the three SAP calls
of a tRFC chain), spread over 30 days, over 5 services of 4 operations; one request in 199 fails (its
confirm and its exit are ERROR). With ``--keep FILE`` (SQLite) a log built before is reused.

Then, for each filter the command line offers, it times the query ``idocbridge log`` runs (the CLI's
default limit of 1,000 entries, oldest first unless said) and names the index the database uses. The
baseline, measured in the same run: the same number of rows read by primary key, which no filter can
beat. Last, the time to render 1,000 entries in each output format. Prints figures; asserts nothing
about time.
"""

from __future__ import annotations

import argparse
import io
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from rich.console import Console
from sqlalchemy import Engine, func, select, text

from idocbridge.db.engine import create_engine_for
from idocbridge.db.migrate import upgrade
from idocbridge.tlog.entry import LogEntry
from idocbridge.tlog.queries import LogFilter, log_select, query_rows
from idocbridge.tlog.tables import transaction_log_table
from idocbridge.tlog.writer import TransactionLog

SERVICES = [f"Service{number}" for number in range(5)]
OPERATIONS = [f"Send{kind}" for kind in ("ORDERS", "DESADV", "INVOIC", "TXTRAW")]
START = datetime(2026, 11, 1, tzinfo=UTC)
DAYS = 30
FAILING_EVERY = 199  # prime: failures fall on every service and operation
ENTRIES_PER_REQUEST = 8
LIMIT = 1000


def _request(number: int, requests: int) -> list[LogEntry]:
    """The eight entries of request ``number`` of ``requests``, at its place in the 30 days."""
    at = START + timedelta(seconds=DAYS * 86400 * number / requests)
    service, operation = SERVICES[number % len(SERVICES)], OPERATIONS[number // len(SERVICES) % len(OPERATIONS)]
    transaction = f"{number:040x}"
    tid = f"0A000001{number:016X}"
    failed = number % FAILING_EVERY == FAILING_EVERY - 1
    urn = f"urn:{service}:{operation}"

    def entry(step: int, component: str, domain: str, log_type: str, state: str = "OK", **more: str) -> LogEntry:
        return LogEntry(
            at=at + timedelta(milliseconds=step),
            transaction_id=transaction,
            request_id=number,
            component=component,
            elapsed_ms=step,
            state=state,  # type: ignore[arg-type]
            domain=domain,
            log_type=log_type,
            service=service,
            operation=operation,
            **more,
        )

    entries = [entry(0, urn, "INTERFACE", "SERVICE_ENTER", param1=f"message {number}")]
    for step, adapter in enumerate(("createTransaction", "sendIDoc", "confirmTransaction"), start=1):
        last = failed and adapter == "confirmTransaction"
        entries.append(entry(2 * step, adapter, "SAPRFC", "IO_ENTER", correlation_id=tid))
        entries.append(
            entry(2 * step + 1, adapter, "SAPRFC", "IO_EXIT", "ERROR" if last else "OK", correlation_id=tid,
                  param1="SAP refused the unit" if last else "")
        )  # fmt: skip
    entries.append(entry(9, urn, "INTERFACE", "SERVICE_EXIT", "ERROR" if failed else "OK"))
    return entries


def _build(engine: Engine, rows: int) -> float:
    """Writes ``rows`` entries (rounded to whole requests) with the project's writer; rows per second."""
    requests = max(1, rows // ENTRIES_PER_REQUEST)
    started = time.perf_counter()
    with TransactionLog(engine, "IO", batch_size=2000, capacity=20_000, wait=60) as log:
        for number in range(requests):
            for entry in _request(number, requests):
                log.record(entry)
        log.flush()
        stats = log.stats()
    if stats.dropped or stats.failed:
        raise RuntimeError(f"the writer dropped {stats.dropped} and failed {stats.failed} entries")
    return requests * ENTRIES_PER_REQUEST / (time.perf_counter() - started)


def _timed(run: Callable[[], object], repeat: int = 3) -> tuple[float, object]:
    """(median milliseconds of ``repeat`` runs after one warm run, the last result)."""
    result = run()
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        result = run()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times), result


def _plan(engine: Engine, where: LogFilter, newest: bool) -> str:
    """The index (or scan) the database chooses for the filter's query."""
    compiled = log_select(where, limit=LIMIT, newest=newest).compile(engine, compile_kwargs={"literal_binds": True})
    with engine.connect() as connection:
        if engine.dialect.name == "sqlite":
            rows = connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled}").fetchall()
            return "; ".join(str(row[-1]) for row in rows)
        rows = connection.exec_driver_sql(f"EXPLAIN {compiled}").fetchall()
        return "; ".join(str(row[0]).strip() for row in rows if "Scan" in str(row[0]) or "Sort" in str(row[0]))


def _render(entries: list[LogEntry]) -> dict[str, float]:
    """Milliseconds to render ``entries`` in each output format of ``idocbridge log``."""
    from idocbridge.cli import log as log_cli
    from idocbridge.tlog.classic import format_classic
    from idocbridge.tlog.csv_format import csv_rows

    def table() -> None:
        saved = log_cli.out
        log_cli.out = Console(file=io.StringIO(), width=160, highlight=False)
        try:
            log_cli._print_tables(entries, UTC)
        finally:
            log_cli.out = saved

    return {
        "table": _timed(table, 1)[0],
        "classic": _timed(lambda: [format_classic(entry, UTC) for entry in entries], 1)[0],
        "csv": _timed(lambda: csv_rows(entries, UTC), 1)[0],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--db", help="a PostgreSQL URL (emptied first); default: a SQLite file")
    parser.add_argument("--keep", type=Path, help="SQLite file to build once and reuse")
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        url = arguments.db or f"sqlite:///{arguments.keep or Path(folder) / 'runtime.db'}"
        engine = create_engine_for(url)
        if arguments.db:
            with engine.begin() as connection:
                connection.execute(text("DROP TABLE IF EXISTS transaction_log, trfc_outbox, idocbridge_schema"))
        upgrade(engine)
        with engine.connect() as connection:
            present = connection.execute(select(func.count()).select_from(transaction_log_table)).scalar_one()
        if present < arguments.rows:
            print(f"building {arguments.rows:,} rows with the project's writer ...", flush=True)
            rate = _build(engine, arguments.rows - present)
            print(f"built at {rate:,.0f} rows/s")
        with engine.connect() as connection:
            rows = connection.execute(select(func.count()).select_from(transaction_log_table)).scalar_one()
            if engine.dialect.name == "sqlite":
                connection.exec_driver_sql("ANALYZE")
            else:
                connection.exec_driver_sql("ANALYZE transaction_log")
                connection.commit()
        requests = rows // ENTRIES_PER_REQUEST
        middle = _request(requests // 2, requests)[2]
        day = START + timedelta(days=DAYS // 2)
        filters: dict[str, tuple[LogFilter, bool]] = {
            "no filter": (LogFilter(), False),
            "no filter --newest": (LogFilter(), True),
            "--transaction-id": (LogFilter(transaction_id=middle.transaction_id), False),
            "--correlation-id": (LogFilter(correlation_id=middle.correlation_id), False),
            "--service": (LogFilter(service=SERVICES[2]), False),
            "--service --operation": (LogFilter(service=SERVICES[2], operation=OPERATIONS[1]), False),
            "--operation": (LogFilter(operation=OPERATIONS[1]), False),
            "--status ERROR": (LogFilter(state="ERROR"), False),
            "--status ERROR --newest": (LogFilter(state="ERROR"), True),
            "--domain SAPRFC": (LogFilter(domain="SAPRFC"), False),
            "--type IO_EXIT": (LogFilter(log_type="IO_EXIT"), False),
            "--since (last hour)": (LogFilter(since=START + timedelta(days=DAYS, hours=-1)), False),
            "--since --until (one day)": (LogFilter(since=day, until=day + timedelta(days=1)), False),
            "--status ERROR --service --since": (
                LogFilter(state="ERROR", service=SERVICES[2], since=day),
                False,
            ),
        }
        first_id = rows // 2

        def by_key() -> int:
            with engine.connect() as connection:
                statement = select(transaction_log_table).where(transaction_log_table.c.id > first_id)
                return len(connection.execute(statement.order_by(transaction_log_table.c.id).limit(LIMIT)).all())

        baseline, _ = _timed(by_key)
        print(f"{rows:,} rows ({engine.dialect.name}); each query returns up to {LIMIT:,} entries")
        print(f"{'baseline: 1,000 rows by primary key':<36} {baseline:9.1f} ms")
        for name, (where, newest) in filters.items():
            elapsed, found = _timed(lambda w=where, n=newest: query_rows(engine, w, limit=LIMIT, newest=n))  # type: ignore[misc]
            assert isinstance(found, list)
            print(f"{name:<36} {elapsed:9.1f} ms  {len(found):5,} rows  {elapsed / baseline:6.1f}x  "
                  f"{_plan(engine, where, newest)}")  # fmt: skip
        rendered = _render([entry for _, entry in query_rows(engine, LogFilter(), limit=LIMIT)])
        for name, elapsed in rendered.items():
            print(f"render {LIMIT:,} entries as {name:<20} {elapsed:9.1f} ms")
        engine.dispose()


if __name__ == "__main__":
    main()
