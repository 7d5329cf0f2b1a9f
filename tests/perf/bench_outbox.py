"""The outbox's own cost: IDocs through accept -> worker -> simulator -> CONFIRMED, counted and timed in-process.

    .venv/bin/python tests/perf/bench_outbox.py --idocs 1000 --clients 16 --latency-ms 0 [--database URL --instances 2]
    .venv/bin/python tests/perf/bench_outbox.py --idocs 4000 --clients 400 --latency-ms 20 --packet-size 100

A deployment of examples/trfc_client (its ``guaranteed`` path, without the SOAP layer) runs against a
simulator process, as ``idocbridge serve`` would run it: requests accept their IDoc into the outbox from a
thread pool and await the entry on an event loop, the worker claims and delivers. Counted on the engine
while the IDocs go through: write transactions (commits), SQL statements, and of those the writes
(INSERT, UPDATE, DELETE), each per IDoc. The baseline, in the same run: the same IDocs as direct tRFC
units (TID, submit, confirm) over the deployment's own connection pool with as many threads as the pool
has connections. With ``--database`` (PostgreSQL) and ``--instances 2``, two deployments share the
database, each with its own worker, pool and writer, and the clients alternate between them; with
``--processes`` too, each deployment runs in a process of its own (as two ``idocbridge serve`` would),
takes its share of the IDocs and clients, and the rate is all IDocs over the time from the first start to
the last end. With
``--packet-size``, the same IDocs then go through a deployment whose IDoc alias gathers packets of that
size (``idocPackets``), and the rate is compared with the single-IDoc outbox of the same run. The
simulated latency is per call, whatever the call carries. Each client waits for its IDoc's final state
before it sends the next, so at most ``--clients`` IDocs are in flight; with ``--wait accept`` it waits only
for the accept, as a SOAP client of a ``guaranteed`` operation does, and the time runs until every IDoc is
final. Prints figures; asserts nothing about time.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, event, text

from idocbridge.generators.generate import generate
from idocbridge.models import load_model
from idocbridge.sapsim.testing import SimulatorProcess, txtraw
from idocbridge.soap.deployment import Deployment, load_deployment_folder
from idocbridge.soap.testing import simulator_settings
from idocbridge.transactions import FINAL_STATES, OutboxState
from idocbridge.transactions.tables import NewEntry

ROOT = Path(__file__).resolve().parents[2]
MODEL = ROOT / "examples" / "trfc_client" / "model.yaml"
ALIASES = ["RFCPort_IDOC_INBOUND_ASYNCHRONOUS", "RFCPort_STFC_CONNECTION"]
ALIAS = "RFCPort_IDOC_INBOUND_ASYNCHRONOUS"
IDOC = "IDOC_INBOUND_ASYNCHRONOUS"
ENVIRONMENT = {"SAP_PASSWORD": "idocbridge"}


@dataclass
class Counts:
    """What one engine did: commits, statements, and writing statements."""

    commits: int = 0
    statements: int = 0
    writes: int = 0


def _count(engine: Engine) -> Counts:
    counts = Counts()
    lock = threading.Lock()

    @event.listens_for(engine, "commit")
    def _commit(_connection: Any) -> None:
        with lock:
            counts.commits += 1

    @event.listens_for(engine, "before_cursor_execute")
    def _statement(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        verb = statement.lstrip().split(None, 1)[0].upper() if statement.strip() else ""
        with lock:
            counts.statements += 1
            counts.writes += verb in ("INSERT", "UPDATE", "DELETE")

    return counts


def _tables(number: int) -> dict[str, object]:
    return txtraw(f"Order {number} shipped", "Carrier ACME", sender="LEGACYSYS")


def _entry(number: int) -> NewEntry:
    return NewEntry(service="saptRFCClientService", operation="SendTXTRAW", alias=ALIAS, function=IDOC,
                    parameters=_tables(number), transaction_id=uuid.uuid4().hex)  # fmt: skip


def _direct_units(deployment: Deployment, count: int) -> float:
    """tRFC units per second through the deployment's pool, one thread per pooled connection."""
    pool = deployment.pools.for_alias(ALIAS)

    def unit(number: int) -> None:
        with pool.connection() as sap:
            tid = sap.get_transaction_id()
            sap.submit_transaction(tid, IDOC, _tables(number))
            sap.confirm_transaction(tid)

    started = time.perf_counter()
    with ThreadPoolExecutor(pool.size) as threads:
        list(threads.map(unit, range(count)))
    return count / (time.perf_counter() - started)


async def _send(
    deployments: list[Deployment], count: int, clients: int, first: int = 0, wait: str = "confirm"
) -> tuple[float, int]:
    """(IDocs confirmed per second, how many ended CONFIRMED); the IDocs are numbered from ``first``.

    With ``wait="accept"`` a client sends its next IDoc once the outbox has accepted the last, as a SOAP
    client of a ``guaranteed`` operation does (its answer comes with the commit), and the time runs until
    every IDoc is final. With ``wait="confirm"`` a client waits for its IDoc's final state before it sends
    the next, as a client of a ``synchronous`` operation does, so no more than ``clients`` IDocs are ever
    in flight."""
    executor = ThreadPoolExecutor(clients)
    loop = asyncio.get_running_loop()
    numbers = iter(range(first, first + count))
    confirmed = 0
    accepted_ids: list[tuple[Deployment, str]] = []

    async def client(index: int) -> None:
        nonlocal confirmed
        outbox = deployments[index % len(deployments)].outbox
        for number in numbers:
            accepted = await loop.run_in_executor(executor, outbox.accept, _entry(number))
            if wait == "accept":
                accepted_ids.append((deployments[index % len(deployments)], accepted.entry.id))
                continue
            final = await outbox.wait_for(accepted.entry, 120, executor)
            confirmed += final.state == OutboxState.CONFIRMED

    started = time.perf_counter()
    await asyncio.gather(*(client(index) for index in range(clients)))
    if wait == "accept":
        confirmed = await loop.run_in_executor(executor, _until_final, accepted_ids, 300.0)
    elapsed = time.perf_counter() - started
    executor.shutdown()
    return count / elapsed, confirmed


def _until_final(accepted: list[tuple[Deployment, str]], deadline_seconds: float) -> int:
    """Wait until every accepted entry is final (checking every 20 ms); how many ended CONFIRMED."""
    remaining = list(accepted)
    confirmed = 0
    deadline = time.monotonic() + deadline_seconds
    while remaining:
        if time.monotonic() > deadline:
            raise SystemExit(f"{len(remaining)} IDocs were not final after {deadline_seconds:g} s")
        deployment, _ = remaining[0]
        batch = [entry_id for owner, entry_id in remaining[:500] if owner is deployment]
        states = deployment.outbox.store.states(batch)
        final = {entry_id for entry_id, entry in states.items() if entry.state in FINAL_STATES}
        confirmed += sum(states[entry_id].state == OutboxState.CONFIRMED for entry_id in final)
        remaining = [(owner, entry_id) for owner, entry_id in remaining if entry_id not in final]
        if remaining:
            time.sleep(0.02)
    return confirmed


def _settings(
    work: Path, sim: SimulatorProcess, name: str, database: str | None, pool_size: int, packet_size: int = 0
) -> Path:
    assert sim.info is not None
    text_ = simulator_settings(ALIASES, sim.info, work / f"state-{name}")
    if database:
        text_ = text_.replace("server:\n", f"server:\n  database: '{database}'\n", 1)
    text_ = text_.replace("    connector: simulator\n", f"    connector: simulator\n    poolSize: {pool_size}\n")
    if packet_size:
        name_line = f"  - name: {ALIAS}\n"
        text_ = text_.replace(name_line, f"{name_line}    idocPackets: {{size: {packet_size}}}\n")
    path = work / f"settings-{name}.yaml"
    path.write_text(text_)
    return path


def _empty(database: str) -> None:
    """Start from an empty outbox and log on a shared database (the benchmark's rows only)."""
    from idocbridge.db import create_engine_for, upgrade

    engine = create_engine_for(database)
    upgrade(engine)
    with engine.begin() as connection:
        connection.execute(text("DELETE FROM trfc_outbox"))
        connection.execute(text("DELETE FROM transaction_log"))
    engine.dispose()


def _instance(settings: Path, out: Path, first: int, count: int, clients: int, wait: str) -> None:
    """``--instance``: one deployment in this process; after a line on stdin, send IDocs ``first`` ..
    ``first + count - 1`` with ``clients`` clients, and print what happened as one JSON line."""
    deployment = load_deployment_folder(out, settings, ENVIRONMENT)
    try:
        assert deployment.engine is not None
        counts = _count(deployment.engine)
        deployment.start()
        gc.freeze()
        print("ready", flush=True)
        sys.stdin.readline()
        started = time.time()
        _, confirmed = asyncio.run(_send([deployment], count, clients, first, wait))
        ended = time.time()
        print(json.dumps({"started": started, "ended": ended, "confirmed": confirmed, **vars(counts)}), flush=True)
    finally:
        deployment.close()


def _in_processes(
    settings: list[Path], out: Path, count: int, clients: int, wait: str
) -> tuple[float, int, list[Counts]]:
    """Each deployment in a process of its own, with its share of the IDocs and clients: (IDocs confirmed per
    second from the first start to the last end, how many ended CONFIRMED, each process's counts)."""
    share, shared_clients = count // len(settings), max(1, clients // len(settings))
    processes = [
        subprocess.Popen(
            [
                sys.executable,
                __file__,
                "--instance",
                str(path),
                "--out",
                str(out),
                "--first",
                str(index * share),
                "--idocs",
                str(share if index < len(settings) - 1 else count - index * share),
                "--clients",
                str(shared_clients),
                "--wait",
                wait,
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for index, path in enumerate(settings)
    ]
    try:
        for process in processes:
            assert process.stdout is not None
            if process.stdout.readline().strip() != "ready":
                raise SystemExit(f"an instance did not start (exit {process.wait()})")
        for process in processes:
            assert process.stdin is not None
            process.stdin.write("go\n")
            process.stdin.flush()
        results = []
        for process in processes:
            assert process.stdout is not None
            results.append(json.loads(process.stdout.readline()))
    finally:
        for process in processes:
            process.wait(60)
    elapsed = max(r["ended"] for r in results) - min(r["started"] for r in results)
    counts = [Counts(r["commits"], r["statements"], r["writes"]) for r in results]
    return count / elapsed, sum(r["confirmed"] for r in results), counts


def _report(label: str, count: int, counts: list[Counts], rate: float, baseline: float, confirmed: int) -> None:
    commits = sum(c.commits for c in counts)
    statements = sum(c.statements for c in counts)
    writes = sum(c.writes for c in counts)
    print(f"{label}: {rate:8.1f} IDocs/s confirmed ({confirmed} of {count} CONFIRMED), "
          f"{rate / baseline:.2f} of the direct tRFC units")  # fmt: skip
    print(f"{'':<{len(label)}}  per IDoc: {commits / count:.2f} write transactions, {statements / count:.1f} "
          f"statements ({writes / count:.1f} writing)")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--idocs", type=int, default=1000)
    parser.add_argument("--clients", type=int, default=16, help="requests in flight at once")
    parser.add_argument("--pool-size", type=int, default=8, help="connections of the IDoc alias's pool")
    parser.add_argument("--latency-ms", type=float, default=0.0, help="simulated SAP latency per IDoc call")
    parser.add_argument("--database", help="a PostgreSQL URL (default: SQLite in the state folder)")
    parser.add_argument("--instances", type=int, default=1, help="deployments sharing --database")
    parser.add_argument("--packet-size", type=int, default=0, help="then send again in packets of this size")
    parser.add_argument("--processes", action="store_true", help="each instance in a process of its own")
    parser.add_argument(
        "--wait",
        choices=["accept", "confirm"],
        default="confirm",
        help="what a client waits for before its next IDoc: the IDoc's final state, or only its accept",
    )
    parser.add_argument("--instance", type=Path, help=argparse.SUPPRESS)  # a child of --processes: its settings
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--first", type=int, default=0, help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.instance is not None:
        _instance(
            arguments.instance, arguments.out, arguments.first, arguments.idocs, arguments.clients, arguments.wait
        )
        return
    if arguments.instances > 1 and not arguments.database:
        parser.error("--instances needs a shared --database")
    if arguments.processes and arguments.packet_size:
        parser.error("--processes measures the single-IDoc outbox; leave --packet-size out")
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        generate(load_model(MODEL).model, "model.yaml", work / "out")
        with SimulatorProcess(work / "sim") as sim:
            if arguments.latency_ms:
                sim.control.add_fault("delay", count=None, function=IDOC, seconds=arguments.latency_ms / 1000)
            if arguments.database:
                _empty(arguments.database)
            deployments = []
            settings = [_settings(work, sim, str(index), arguments.database, arguments.pool_size)
                        for index in range(arguments.instances)]  # fmt: skip
            for path in settings[:1] if arguments.processes else settings:  # with --processes: the baseline's
                deployments.append(load_deployment_folder(work / "out", path, ENVIRONMENT))
            gc.freeze()  # as idocbridge serve does once its deployment is loaded
            where = "PostgreSQL" if arguments.database else "SQLite"
            where += ", in processes of their own" if arguments.processes else ""
            print(f"{arguments.idocs} IDocs, {arguments.clients} clients, pool of {arguments.pool_size}, simulated "
                  f"SAP latency {arguments.latency_ms:g} ms, {where}, {arguments.instances} instance(s), "
                  f"clients wait for the {arguments.wait}")  # fmt: skip
            try:
                baseline = _direct_units(deployments[0], arguments.idocs)
                connections = arguments.pool_size * arguments.instances
                limit = connections / (arguments.latency_ms / 1000) if arguments.latency_ms else 0
                print(f"baseline: direct tRFC units over the pool {baseline:8.1f} units/s"
                      + (f"; the pools' limit (size / latency) {limit:.0f}/s" if limit else ""))  # fmt: skip
                if arguments.processes:
                    for deployment in deployments:
                        deployment.close()
                    rate, confirmed, counts = _in_processes(
                        settings, work / "out", arguments.idocs, arguments.clients, arguments.wait
                    )
                else:
                    counts = [_count(deployment.engine) for deployment in deployments if deployment.engine is not None]
                    for deployment in deployments:
                        deployment.start()
                    rate, confirmed = asyncio.run(
                        _send(deployments, arguments.idocs, arguments.clients, wait=arguments.wait)
                    )
                label = f"outbox ({arguments.instances} instance{'s' if arguments.instances > 1 else ''})"
                _report(label, arguments.idocs, counts, rate, baseline, confirmed)
                if limit:
                    print(f"{'':<{len(label)}}  {rate / limit:.2f} of the pools' limit")
                if arguments.packet_size:
                    packed = _packets(work, sim, arguments, baseline, limit)
                    ratio = packed / rate
                    print(
                        f"{'':<{len(label)}}  packets of {arguments.packet_size}: {ratio:.1f}x the single-IDoc outbox"
                    )
                received = len(sim.control.idocs())
                expected = (3 if arguments.packet_size else 2) * arguments.idocs
                print(f"the simulator holds {received} IDocs (expected {expected}: baseline and outbox)")
            finally:
                for deployment in deployments:
                    deployment.close()


def _packets(work: Path, sim: SimulatorProcess, arguments: argparse.Namespace, baseline: float, limit: float) -> float:
    """The same IDocs through a deployment whose IDoc alias gathers packets; its rate."""
    if arguments.database:
        _empty(arguments.database)
    settings = _settings(work, sim, "packets", arguments.database, arguments.pool_size, arguments.packet_size)
    deployment = load_deployment_folder(work / "out", settings, ENVIRONMENT)
    try:
        assert deployment.engine is not None
        counts = _count(deployment.engine)
        deployment.start()
        rate, confirmed = asyncio.run(_send([deployment], arguments.idocs, arguments.clients, wait=arguments.wait))
        label = f"outbox, packets of {arguments.packet_size}"
        _report(label, arguments.idocs, [counts], rate, baseline, confirmed)
        if limit:
            print(f"{'':<{len(label)}}  {rate / limit:.2f} of the pools' limit (one IDoc per call)")
        return rate
    finally:
        deployment.close()


if __name__ == "__main__":
    main()
