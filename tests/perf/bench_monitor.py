"""Web monitor benchmark: each page over a transaction log of ten million rows, served over HTTP.

    .venv/bin/python tests/perf/bench_monitor.py --rows 10000000 --keep /tmp/monitor-10m.db
    .venv/bin/python tests/perf/bench_monitor.py --rows 1000000 --db postgresql+psycopg://postgres@127.0.0.1/test

Builds the log as tests/perf/bench_log.py does, with the project's writer (requests of eight entries over
30 days), and beside each request its outbox entry, business keys (MESTYP, SNDPRN, E1EDK01-BELNR) and its IDoc
in SAP (status 53; 51 for one in 97), written in batches with the project's statements
(:data:`~idocbridge.transactions.statements.INSERT_ENTRY`, :func:`~idocbridge.transactions.keys.insert_keys`).
Then it serves the monitor's routes with uvicorn on a real socket and times each page with httpx (median of 5
after a warm-up), against two baselines of the same run: a static file of the monitor (the HTTP floor) and 50
outbox rows read by primary key. Prints figures; asserts nothing about time.
"""

from __future__ import annotations

import argparse
import socket
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from sqlalchemy import Engine, func, insert, select, text
from starlette.applications import Starlette
from starlette.routing import Mount

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from idocbridge.db.engine import create_engine_for
from idocbridge.db.migrate import upgrade
from idocbridge.db.writer import write
from idocbridge.models.settings import MonitorSettings
from idocbridge.monitor.app import MONITOR_PATH, MonitorContext, monitor_routes
from idocbridge.monitor.auth import Gate
from idocbridge.sapsim.testing import txtraw
from idocbridge.tlog.tables import transaction_log_table
from idocbridge.transactions import OutboxStore
from idocbridge.transactions.fate_tables import sap_idocs_table
from idocbridge.transactions.keys import insert_keys, key_rows
from idocbridge.transactions.statements import INSERT_ENTRY
from idocbridge.transactions.tables import encode_parameters, outbox_table
from tests.perf import bench_log
from tests.perf.bench_log import DAYS, ENTRIES_PER_REQUEST, OPERATIONS, SERVICES, _build

BATCH = 5000
PARAMETERS = encode_parameters(txtraw("an order"))


def _outbox_rows(number: int, requests: int) -> tuple[dict[str, Any], list[dict[str, Any]], dict[str, Any]]:
    """The outbox entry, business keys and SAP IDoc of request ``number`` (matching bench_log's log)."""
    at = bench_log.START + timedelta(seconds=DAYS * 86400 * number / requests)
    failed = number % 199 == 198
    entry_id = f"{number:032x}"
    tid = f"0A000001{number:016X}"
    entry = {
        "id": entry_id, "service": SERVICES[number % len(SERVICES)],
        "operation": OPERATIONS[number // len(SERVICES) % len(OPERATIONS)], "alias": "ERP",
        "function": "IDOC_INBOUND_ASYNCHRONOUS", "queue": None, "parameters": PARAMETERS,
        "message_id": f"msg-{number}", "transaction_id": f"{number:040x}", "tid": tid,
        "state": "FAILED" if failed else "CONFIRMED", "executed": not failed, "attempts": 2,
        "created_at": at, "updated_at": at, "next_attempt_at": None, "packable": False,
    }  # fmt: skip
    named = [("MESTYP", "ORDERS"), ("SNDPRN", f"PARTNER{number % 50}"), ("E1EDK01-BELNR", f"PO-{number:09d}")]
    keys = key_rows(entry_id, entry["transaction_id"], named, at, f"msg-{number}")
    idoc = {
        "alias": "ERP", "docnum": f"{number + 1:016d}", "tid": tid, "outbox_id": entry_id,
        "status": "51" if number % 97 == 96 else "53", "status_text": "posted", "status_at": at, "final": True,
        "reads": 2, "next_read_at": None, "created_at": at, "updated_at": at,
    }  # fmt: skip
    return entry, keys, idoc


def _build_outbox(engine: Engine, requests: int) -> float:
    started = time.perf_counter()
    for first in range(0, requests, BATCH):
        built = [_outbox_rows(number, requests) for number in range(first, min(first + BATCH, requests))]

        def work(connection: Any, built: list[Any] = built) -> None:
            INSERT_ENTRY.execute_many(connection, [entry for entry, _, _ in built if entry["state"] != "FAILED"])
            failed = [entry for entry, _, _ in built if entry["state"] == "FAILED"]
            if failed:
                INSERT_ENTRY.execute_many(connection, failed)
            insert_keys(connection, [key for _, keys, _ in built for key in keys])
            connection.execute(insert(sap_idocs_table), [idoc for entry, _, idoc in built if entry["executed"]])

        write(engine, work)
    return requests / (time.perf_counter() - started)


class _Served:
    def __init__(self, app: Starlette) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        self.server = uvicorn.Server(uvicorn.Config(app, log_config=None, access_log=False, ws="none", lifespan="off",
                                                    http="httptools", loop="uvloop"))  # fmt: skip
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.listener]}, daemon=True)
        self.thread.start()
        while not self.server.started:
            time.sleep(0.01)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)


def _timed(run: Callable[[], object], repeat: int = 5) -> float:
    run()
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        run()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=10_000_000, help="transaction log rows")
    parser.add_argument("--db", help="a PostgreSQL URL (emptied first); default: a SQLite file")
    parser.add_argument("--keep", type=Path, help="SQLite file to build once and reuse")
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        url = arguments.db or f"sqlite:///{arguments.keep or Path(folder) / 'runtime.db'}"
        engine = create_engine_for(url)
        if arguments.db:
            with engine.begin() as connection:
                connection.execute(text("DROP TABLE IF EXISTS transaction_log, trfc_outbox, business_keys, sap_idocs, "
                                        "sap_idoc_status, idocbridge_schema"))  # fmt: skip
        upgrade(engine)
        with engine.connect() as connection:
            present = connection.execute(select(func.count()).select_from(transaction_log_table)).scalar_one()
        requests = arguments.rows // ENTRIES_PER_REQUEST
        if present < arguments.rows:
            # the 30 days end now, so that the monitor's "last 24 hours" holds the last of them
            bench_log.START = datetime.now(UTC) - timedelta(days=DAYS)
            print(f"building {arguments.rows:,} log rows with the project's writer ...", flush=True)
            print(f"built at {_build(engine, arguments.rows):,.0f} rows/s", flush=True)
            print(f"building {requests:,} outbox entries with their keys and SAP IDocs ...", flush=True)
            print(f"built at {_build_outbox(engine, requests):,.0f} entries/s", flush=True)
            with engine.connect() as connection:
                connection.exec_driver_sql("ANALYZE")
                connection.commit()
        with engine.connect() as connection:
            rows = connection.execute(select(func.count()).select_from(transaction_log_table)).scalar_one()
            entries = connection.execute(select(func.count()).select_from(outbox_table)).scalar_one()
        with engine.connect() as connection:
            now = connection.execute(select(func.max(outbox_table.c.created_at))).scalar_one()
        store = OutboxStore(engine)
        context = MonitorContext(engine, store, None, Gate(MonitorSettings(), {}), lambda: {"ERP": "closed"})
        served = _Served(Starlette(routes=[Mount(MONITOR_PATH, routes=monitor_routes(context))]))
        middle = requests // 2
        failed = 198 + 199 * (requests // 2 // 199)
        entry_id = f"{middle:032x}"
        client = httpx.Client(base_url=served.url, timeout=120)

        def get(path: str) -> Callable[[], object]:
            def run() -> object:
                answer = client.get(path)
                assert answer.status_code == 200, (path, answer.status_code, answer.text[:300])
                return answer

            return run

        def post(path: str, data: dict[str, str], status: int = 200) -> Callable[[], object]:
            def run() -> object:
                answer = client.post(path, data=data)
                assert answer.status_code == status, (path, answer.status_code, answer.text[:300])
                return answer

            return run

        def by_key() -> object:
            with engine.connect() as connection:
                return connection.execute(select(outbox_table).where(outbox_table.c.id > entry_id)
                                          .order_by(outbox_table.c.id).limit(50)).all()  # fmt: skip

        static = _timed(get(f"{MONITOR_PATH}/static/monitor.css"))
        key = _timed(by_key)
        print(f"{rows:,} log rows, {entries:,} outbox entries ({engine.dialect.name}); "
              f"pages over HTTP, median of 5; the newest entry is from {now:%Y-%m-%d %H:%M}")  # fmt: skip
        print(f"{'baseline: a static file of the monitor':<52} {static:8.1f} ms")
        print(f"{'baseline: 50 outbox rows by primary key (no HTTP)':<52} {key:8.1f} ms")
        pages: dict[str, Callable[[], object]] = {
            "overview (last 24 h)": get(f"{MONITOR_PATH}/?period=24h"),
            "overview (all 30 days)": get(f"{MONITOR_PATH}/?period=all"),
            "overview, state FAILED (all)": get(f"{MONITOR_PATH}/?period=all&state=FAILED"),
            "overview, SAP status 51 (all)": get(f"{MONITOR_PATH}/?period=all&sap_status=51"),
            "overview, message type ORDERS (7 d)": get(f"{MONITOR_PATH}/?period=7d&message_type=ORDERS"),
            "overview, partner (POST, 7 d)": post(f"{MONITOR_PATH}/", {"period": "7d", "partner": "PARTNER7"}),
            "health fragment": get(f"{MONITOR_PATH}/health"),
            "search by order number (BELNR)": post(f"{MONITOR_PATH}/search", {"q": f"PO-{middle:09d}"}, 303),
            "search by TID": post(f"{MONITOR_PATH}/search", {"q": f"0A000001{middle:016X}"}, 303),
            "search by SAP DOCNUM": post(f"{MONITOR_PATH}/search", {"q": f"{middle + 1}"}, 303),
            "request page": get(f"{MONITOR_PATH}/request/{entry_id}"),
            "request page of a failed entry": get(f"{MONITOR_PATH}/request/{failed:032x}"),
        }
        for name, run in pages.items():
            elapsed = _timed(run)
            print(f"{name:<52} {elapsed:8.1f} ms  {elapsed / static:7.1f}x static")
        client.close()
        served.stop()
        engine.dispose()


if __name__ == "__main__":
    main()
