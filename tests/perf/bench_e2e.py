"""End-to-end benchmark: SOAP through idocbridge serve to the simulator, against the direct connector call.

    .venv/bin/python tests/perf/bench_e2e.py --idocs 400 --clients 8 --latency-ms 0 --wires json,cpic,websocket

Every run sends the same TXTRAW01 IDocs to the same simulator process with the same simulated SAP
latency (a delay fault on IDOC_INBOUND_ASYNCHRONOUS), once per wire: ``json`` (the simulator
connector and its JSON protocol), ``cpic`` and ``websocket`` (the saprfc connector over SAP's
classic and WebSocket RFC). Per wire, the baselines are the direct connector calls over pooled
connections: a synchronous RFC call of IDOC_INBOUND_ASYNCHRONOUS, and what the served chain does
per IDoc (get a TID, submit, confirm). Then the service runs once per delivery policy: direct (no
outbox), synchronous (write-ahead outbox, the reply waits for the confirm) and guaranteed (the reply
follows the commit; the outbox delivers in the background), timing both the replies and the moment
the simulator holds every IDoc. The pyrfc connector (erpl-pyrfc) runs the synchronous call over
classic RFC only: it cannot ship an IDoc in a tRFC unit. It also times generating a model with 500
operations. Prints figures; asserts nothing about time.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import zeep

from idocbridge.connectors.base import Connector
from idocbridge.connectors.factory import connector_factory
from idocbridge.connectors.pool import ConnectionPool
from idocbridge.generators.generate import generate
from idocbridge.models import Model, SAPAlias, load_deployment, load_model, load_model_text
from idocbridge.sapsim.testing import SimulatorProcess, txtraw
from idocbridge.soap.testing import WIRES, ServiceProcess, simulator_settings

ROOT = Path(__file__).resolve().parents[2]
MODEL = ROOT / "examples" / "trfc_client" / "model.yaml"
POLICIES = ["direct", "synchronous", "guaranteed"]
ALIASES = ["RFCPort_IDOC_INBOUND_ASYNCHRONOUS", "RFCPort_STFC_CONNECTION"]
IDOC = "IDOC_INBOUND_ASYNCHRONOUS"
ENVIRONMENT = {"SAP_PASSWORD": "idocbridge"}
LINES = ["Order 4711 shipped", "Carrier ACME", "Thank you"]


def _tables(number: int) -> dict[str, object]:
    return txtraw(*(f"{line} #{number}" for line in LINES), sender="LEGACYSYS")


def _measure(count: int, clients: int, send: Callable[[int], None]) -> tuple[float, list[float]]:
    latencies: list[float] = []
    lock = threading.Lock()

    def one(number: int) -> None:
        started = time.perf_counter()
        send(number)
        with lock:
            latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=clients) as executor:
        list(executor.map(one, range(count)))
    return time.perf_counter() - started, sorted(latencies)


def _report(name: str, count: int, elapsed: float, latencies: list[float]) -> float:
    rate = count / elapsed
    p50 = statistics.median(latencies) * 1000
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000
    print(f"{name:<28} {count:>6} IDocs {elapsed:7.2f} s {rate:8.1f} IDocs/s  p50 {p50:7.1f} ms  p99 {p99:7.1f} ms")
    return rate


def _generation_time(operations: int) -> float:
    steps = "".join(
        f"          - name: Op{n}\n            input: Req\n            output: Res\n            activity:\n"
        f"              - {{stereotype: SAPRFCAdapter, name: call, alias: SAP, function: STFC_CONNECTION,\n"
        f"                 inputs: [{{to: import.REQUTEXT, from: input.text}}],\n"
        f"                 outputs: [{{to: output.echo, from: export.ECHOTEXT}}]}}\n"
        for n in range(operations)
    )
    text = (
        "name: Big\naliases:\n  - {name: SAP, protocol: rfc, client: '100', user: 'U/${P}'}\nstructures:\n"
        "  - {name: Req, fields: [{name: text, type: CHAR(255)}]}\n"
        "  - {name: Res, fields: [{name: echo, type: CHAR(255)}]}\n"
        f"services:\n  - name: Big\n    portTypes:\n      - name: Port\n        operations:\n{steps}"
    )
    started = time.perf_counter()
    model = load_model_text(text, "big.yaml", "yaml").model
    loaded = time.perf_counter()
    with tempfile.TemporaryDirectory() as out:
        generate(model, "big.yaml", Path(out))
    done = time.perf_counter()
    timing = f"load and check {loaded - started:.2f} s, generate {done - loaded:.2f} s"
    print(f"model with {operations} operations: {timing}")
    return done - started


def _with_delivery(policy: str) -> Model:
    """The example model with SendTXTRAW delivered by ``policy``."""
    model = load_model(MODEL).model
    for service in model.services:
        for port in service.port_types:
            for operation in port.operations:
                if operation.name == "SendTXTRAW":
                    operation.delivery = policy  # type: ignore[assignment]
    return model


def _serve_and_send(policy: str, out: Path, settings: Path, state: Path, sim: SimulatorProcess,
                    arguments: argparse.Namespace, wire: str) -> tuple[float, float]:  # fmt: skip
    """Send the IDocs through a service whose SendTXTRAW uses ``policy``; (reply rate, delivered rate)."""
    expected = len(sim.control.idocs()) + arguments.idocs
    with ServiceProcess(out, settings, state, ENVIRONMENT) as service:
        local = threading.local()

        def soap(number: int) -> None:
            if not hasattr(local, "client"):
                local.client = zeep.Client(service.wsdl_url("saptRFCClientService"))
            local.client.service.SendTXTRAW(
                senderPort="LEGACY",
                senderPartner="LEGACYSYS",
                receiverPort="SAPSIM",
                receiverPartner="SIMCLNT100",
                lines=[f"{line} #{number}" for line in LINES],
            )

        started = time.perf_counter()
        elapsed, latencies = _measure(arguments.idocs, arguments.clients, soap)
        reply_rate = _report(f"{wire}: SOAP, {policy}", arguments.idocs, elapsed, latencies)
        while len(sim.control.idocs()) < expected and time.perf_counter() - started < 600:
            time.sleep(0.05)  # guaranteed replies before SAP has it: wait until the outbox has delivered
        delivered = time.perf_counter() - started
        delivered_rate = arguments.idocs / delivered
        print(f"{'':<34} all delivered after {delivered:7.2f} s {delivered_rate:8.1f} IDocs/s")
    return reply_rate, delivered_rate


def _alias(sim: SimulatorProcess, wire: str, work: Path) -> SAPAlias:
    """The example's IDoc alias as deployed against the simulator over ``wire``."""
    assert sim.info is not None
    settings = work / f"alias-{wire}.yaml"
    settings.write_text(simulator_settings(ALIASES, sim.info, work / "unused", wire=wire))
    alias: SAPAlias = load_deployment(MODEL, settings).model.aliases[0]
    return alias


def _pool(alias: SAPAlias, clients: int) -> ConnectionPool:
    make = connector_factory(ENVIRONMENT, accept_unchecked_units=True)

    def connector() -> Connector:
        return make(alias)

    return ConnectionPool(f"{alias.connector}/{alias.transport}", connector, size=clients, timeout=60)


def _direct_calls(pool: ConnectionPool, name: str, arguments: argparse.Namespace) -> tuple[float, float]:
    """(synchronous call rate, tRFC unit rate) of the connector itself; the unit rate 0 when skipped."""

    def call(number: int) -> None:
        with pool.connection() as sap:
            sap.call(IDOC, _tables(number))

    def unit(number: int) -> None:
        with pool.connection() as sap:
            tid = sap.get_transaction_id()
            sap.submit_transaction(tid, IDOC, _tables(number))
            sap.confirm_transaction(tid)

    call_rate = _report(f"{name}: direct call", arguments.idocs, *_measure(arguments.idocs, arguments.clients, call))
    if name.startswith("pyrfc"):
        print(f"{name}: direct tRFC unit             n/a: erpl-pyrfc cannot ship an IDoc in a tRFC unit")
        return call_rate, 0.0
    unit_rate = _report(
        f"{name}: direct tRFC unit", arguments.idocs, *_measure(arguments.idocs, arguments.clients, unit)
    )
    return call_rate, unit_rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--idocs", type=int, default=400)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--latency-ms", type=float, default=0.0, help="simulated SAP latency per IDoc call")
    parser.add_argument("--operations", type=int, default=500, help="operations of the generated model")
    parser.add_argument("--wires", default=",".join(WIRES), help=f"comma-separated, of: {', '.join(WIRES)}")
    parser.add_argument("--no-pyrfc", action="store_true", help="skip the pyrfc connector's direct calls")
    arguments = parser.parse_args()
    wires = [wire.strip() for wire in arguments.wires.split(",") if wire.strip()]
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        with SimulatorProcess(work / "sim") as sim:
            assert sim.info is not None
            if arguments.latency_ms:
                sim.control.add_fault("delay", count=None, function=IDOC, seconds=arguments.latency_ms / 1000)
            print(
                f"{arguments.idocs} IDocs, {arguments.clients} concurrent clients, "
                f"simulated SAP latency {arguments.latency_ms:g} ms"
            )
            baselines: dict[str, tuple[float, float]] = {}
            rates: dict[tuple[str, str], tuple[float, float]] = {}
            if not arguments.no_pyrfc:
                alias = _alias(sim, "cpic", work).model_copy(update={"connector": "pyrfc"})
                pool = _pool(alias, arguments.clients)
                baselines["pyrfc-cpic"] = _direct_calls(pool, "pyrfc-cpic", arguments)
                pool.close()
            for wire in wires:
                pool = _pool(_alias(sim, wire, work), arguments.clients)
                baselines[wire] = _direct_calls(pool, wire, arguments)
                pool.close()
                for policy in POLICIES:
                    folder_out = work / f"out-{policy}"
                    if not folder_out.exists():
                        generate(_with_delivery(policy), "model.yaml", folder_out)
                    before = len(sim.control.idocs())
                    state = work / f"state-{wire}-{policy}"
                    settings = work / f"settings-{wire}-{policy}.yaml"
                    settings.write_text(simulator_settings(ALIASES, sim.info, state, wire=wire))
                    rates[wire, policy] = _serve_and_send(policy, folder_out, settings, state, sim, arguments, wire)
                    received = len(sim.control.idocs()) - before
                    print(f"{'':<34} the simulator received {received} IDocs (expected {arguments.idocs})")
            print()
            for name, (call_rate, unit_rate) in baselines.items():
                units = f"{unit_rate:8.1f} tRFC units/s" if unit_rate else "     n/a tRFC units/s"
                print(f"baseline {name:<12} {call_rate:8.1f} calls/s {units}")
            for (wire, policy), (reply_rate, delivered_rate) in rates.items():
                unit_rate = baselines[wire][1]
                print(
                    f"ratio {wire} {policy}/direct tRFC unit: replies {reply_rate / unit_rate:.2f}, "
                    f"delivered {delivered_rate / unit_rate:.2f}"
                )
    _generation_time(arguments.operations)


if __name__ == "__main__":
    main()
