"""``idocbridge demo``: the whole path in under a minute, on this machine.

It starts the SAP simulator, generates the example model's service, serves it, sends IDocs through
SOAP with zeep, shows what the simulator received, the transaction log of one request and its IDoc's
fate in SAP, prints the request's page in the web monitor, and stops everything again (at a terminal,
when Enter is pressed: the monitor can be looked at first).
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import time
from pathlib import Path

import zeep
from rich.console import Console
from rich.table import Table

from idocbridge.db.engine import create_engine_for, database_url_for_state
from idocbridge.generators.generate import generate
from idocbridge.models import load_model
from idocbridge.sapsim.testing import SimulatorProcess, txtraw
from idocbridge.soap.testing import ServiceProcess, simulator_settings
from idocbridge.tlog.classic import format_classic
from idocbridge.tlog.queries import query
from idocbridge.transactions.fate import FateStore
from idocbridge.transactions.search import find_requests

__all__ = ["run_demo"]

_CONTROL = txtraw(sender="LEGACYSYS")["IDOC_CONTROL_REC_40"][0]


def _step(console: Console, number: int, text: str) -> None:
    console.print(f"\n[bold]{number}/7[/bold] {text}")


def run_demo(model_path: Path, console: Console, keep: Path | None = None) -> None:
    """Run the demo; with ``keep``, leave the simulator state, generated code and log in that folder."""
    started = time.monotonic()
    work = keep or Path(tempfile.mkdtemp(prefix="idocbridge-demo-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        _step(console, 1, f"validate {model_path}")
        model = load_model(model_path).model
        console.print(f"   model {model.name}: {len(model.aliases)} SAP aliases, {len(model.services)} SOAP service(s)")
        _step(console, 2, "start the SAP simulator (its own process, SAP's RFC protocol, TLS, durable state)")
        with SimulatorProcess(work / "sim") as sim:
            assert sim.info is not None
            console.print(f"   WebSocket RFC {sim.info.url}")
            console.print(f"   classic RFC   {sim.info.gateway_host}:{sim.info.gateway_port} (system number "
                          f"{sim.info.system_number})")  # fmt: skip
            _step(console, 3, "generate WSDL, XSD and Python, and serve them (connector saprfc, WebSocket RFC)")
            generate(model, model_path.name, work / "service")
            settings = work / "settings.simulator.yaml"
            aliases = [a.name for a in model.aliases]
            settings.write_text(simulator_settings(aliases, sim.info, work / "state", wire="websocket"))
            with ServiceProcess(work / "service", settings, work / "state", {"SAP_PASSWORD": "idocbridge"}) as service:
                service_name = model.services[0].name
                console.print(f"   {service.wsdl_url(service_name)}")
                receipt = _send(console, zeep.Client(service.wsdl_url(service_name)))
                _show_idocs(console, sim)
                _show_wire(console, sim)
                _show_log(console, work / "state", receipt)
                _show_monitor(console, service.url, work / "state", receipt)
    finally:
        if keep is None:
            shutil.rmtree(work, ignore_errors=True)
    console.print(
        f"\n[bold green]done[/bold green] in {time.monotonic() - started:.1f} s"
        + (f"; everything is in {work}" if keep else "")
    )


def _send(console: Console, client: zeep.Client) -> str:
    _step(console, 4, "send through SOAP with zeep")
    answer = client.service.TestSimpleTypes(requestText="Hello from idocbridge")
    console.print(f"   TestSimpleTypes -> ECHOTEXT {answer.echoText!r}", soft_wrap=True)
    console.print(f"                      RESPTEXT {answer.responseText!r}", soft_wrap=True)
    receipt = client.service.SendTXTRAW(
        senderPort="LEGACY",
        senderPartner="LEGACYSYS",
        receiverPort="SAPSIM",
        receiverPartner="SIMCLNT100",
        lines=["Order 4711 shipped", "Carrier: ACME", "Thank you"],
    )
    console.print(f"   SendTXTRAW      -> TID {receipt.tid}, {receipt.state}")
    any_receipt = client.service.SendAnyIDoc(
        controlRecord=_CONTROL, dataRecords=[{"SEGNAM": "E1TXTRW", "SDATA": "Sent as records"}]
    )
    console.print(f"   SendAnyIDoc     -> TID {any_receipt.tid}, {any_receipt.state}")
    return str(receipt.tid)


def _show_idocs(console: Console, sim: SimulatorProcess) -> None:
    _step(console, 5, "what the SAP simulator received")
    table = Table(show_edge=False)
    for column in ("DOCNUM", "basic type", "message type", "statuses", "TID"):
        table.add_column(column, overflow="fold", no_wrap=column == "statuses")
    for idoc in sim.control.idocs():
        statuses = " ".join(status["status"] for status in idoc["statuses"])
        table.add_row(idoc["docnum"], idoc["idoctyp"], idoc["mestyp"], statuses, idoc["tid"])
    console.print(table)


def _show_wire(console: Console, sim: SimulatorProcess) -> None:
    counters = sim.control.command("inspect.counters")
    shipped = counters.get("rfc:wrfc:ARFC_DEST_SHIP", 0)
    calls = sum(count for name, count in counters.items() if name.startswith("rfc:wrfc:"))
    console.print(f"   over WebSocket RFC: {calls} RFC calls, {shipped} tRFC units (ARFC_DEST_SHIP)")


def _show_log(console: Console, state: Path, tid: str) -> None:
    _step(console, 6, f"the transaction log of correlation ID {tid}")
    engine = create_engine_for(database_url_for_state(state), must_exist=True)
    deadline = time.monotonic() + 5
    entries = []
    while time.monotonic() < deadline:
        entries = query(engine, correlation_id=tid)
        if len(entries) >= 4:
            break
        time.sleep(0.2)
    transaction = entries[0].transaction_id if entries else ""
    for entry in query(engine, transaction_id=transaction) if transaction else []:
        console.print("   " + format_classic(entry), markup=False, soft_wrap=True)
    engine.dispose()


def _show_monitor(console: Console, url: str, state: Path, tid: str) -> None:
    _step(console, 7, "the IDoc's fate in SAP, and the request in the web monitor")
    engine = create_engine_for(database_url_for_state(state), must_exist=True)
    try:
        match = find_requests(engine, tid)
        entry_id = match.outbox_ids[0] if match.outbox_ids else None
        deadline = time.monotonic() + 15
        idocs = []
        while entry_id is not None and time.monotonic() < deadline:
            idocs = FateStore(engine).idocs_of([entry_id]).get(entry_id, [])
            if idocs and all(idoc.final for idoc in idocs):
                break
            time.sleep(0.2)
    finally:
        engine.dispose()
    for idoc in idocs:
        history = " ".join(record.status for record in idoc.history)
        console.print(
            f"   SAP IDoc {idoc.docnum}: status {idoc.status} {idoc.status_text or ''} (history {history})",
            soft_wrap=True,
        )
    if entry_id is None:
        console.print("   the request is not in the outbox (its log level or retention?)")
        return
    page = f"{url}/monitor/request/{entry_id}"
    console.print(f"   monitor: {page}", soft_wrap=True)
    if sys.stdin.isatty():
        console.input("   open it in a browser; press Enter to stop the service and the simulator ")
