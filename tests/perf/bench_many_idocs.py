"""IDocs per request: ``idocbridge send`` of one file, one IDoc per request against many, end to end.

    .venv/bin/python tests/perf/bench_many_idocs.py --idocs 2000 --per-request 100 [--latency-ms 20]

examples/idoc_service is served as a process (``idocbridge serve``) against a simulator process, its IDoc
alias with ``idocPackets`` (``--packet-size``, default 100). A file of TXTRAW01 IDocs (IDoc-XML, each with
its own text) is sent with ``idocbridge send --parallel 8``: first one IDoc per request (the baseline, in
the same run and against the same service), then ``--per-request`` IDocs per request. Each run is timed
from the start of ``send`` until the simulator holds every IDoc of it and no open TID; the simulator is
reset in between. Prints the rates and their ratio; asserts nothing about time.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from lxml import etree

from idocbridge.generators.generate import generate
from idocbridge.models import load_model
from idocbridge.sapsim.testing import SimulatorProcess
from idocbridge.soap.testing import ServiceProcess, simulator_settings

ROOT = Path(__file__).resolve().parents[2]
ALIAS = "ERP_IDOC_INBOUND"
SERVICE = "IDocService"
IDOC = "IDOC_INBOUND_ASYNCHRONOUS"


def _file(path: Path, count: int, run: str) -> Path:
    """An IDoc-XML file of ``count`` TXTRAW01 IDocs, each with its own text."""
    document = etree.Element("TXTRAW01")
    for number in range(count):
        idoc = etree.SubElement(document, "IDOC", BEGIN="1")
        control = etree.SubElement(idoc, "EDI_DC40", SEGMENT="1")
        fields = {"TABNAM": "EDI_DC40", "DIRECT": "2", "IDOCTYP": "TXTRAW01", "MESTYP": "TXTRAW", "SNDPOR": "LEGACY",
                  "SNDPRT": "LS", "SNDPRN": "LEG", "RCVPOR": "SAPSIM", "RCVPRT": "LS", "RCVPRN": "SIM100"}  # fmt: skip
        for name, value in fields.items():
            etree.SubElement(control, name).text = value
        line = etree.SubElement(idoc, "E1TXTRW", SEGMENT="1")
        etree.SubElement(line, "TLINE").text = f"{run} idoc {number}"
    path.write_bytes(etree.tostring(document, xml_declaration=True, encoding="UTF-8"))
    return path


def _send(service: ServiceProcess, sim: SimulatorProcess, file: Path, count: int, per_request: int) -> float:
    """Seconds from the start of ``idocbridge send`` until SAP holds all ``count`` IDocs, every TID confirmed."""
    sim.control.reset()
    command = [sys.executable, "-m", "idocbridge", "send", str(file), "--url", f"{service.url}/{SERVICE}",
               "--operation", "SendTextIDoc", "--parallel", "8", "--per-request", str(per_request),
               "--json"]  # fmt: skip
    started = time.monotonic()
    result = subprocess.run(command, capture_output=True, text=True, timeout=1800, check=False,
                            env=os.environ | {"COLUMNS": "200"})  # fmt: skip
    if result.returncode != 0:
        raise SystemExit(f"send failed: {result.stderr[-2000:]}")
    while len(sim.control.idocs()) < count or sim.control.tids():
        if time.monotonic() - started > 1800:
            raise SystemExit("the IDocs did not all arrive within 30 minutes")
        time.sleep(0.05)
    return time.monotonic() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--idocs", type=int, default=2000)
    parser.add_argument("--per-request", type=int, default=100)
    parser.add_argument("--packet-size", type=int, default=100)
    parser.add_argument("--latency-ms", type=float, default=0.0, help="simulated SAP latency per IDoc call")
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        generate(load_model(ROOT / "examples" / "idoc_service" / "model.yaml").model, "model.yaml", work / "out")
        with SimulatorProcess(work / "sim") as sim:
            assert sim.info is not None
            if arguments.latency_ms:
                sim.control.add_fault("delay", count=None, function=IDOC, seconds=arguments.latency_ms / 1000)
            text = simulator_settings([ALIAS], sim.info, work / "state")
            name = f"  - name: {ALIAS}\n"
            text = text.replace(name, f"{name}    idocPackets: {{size: {arguments.packet_size}}}\n")
            settings = work / "settings.yaml"
            settings.write_text(text, encoding="utf-8")
            with ServiceProcess(work / "out", settings, work / "state", {"SAP_PASSWORD": "idocbridge"}) as service:
                print(f"{arguments.idocs} TXTRAW01 IDocs, packets of up to {arguments.packet_size}, SAP latency "
                      f"{arguments.latency_ms:g} ms, send --parallel 8", flush=True)  # fmt: skip
                rates = {}
                for per_request in (1, arguments.per_request):
                    file = _file(work / f"idocs-{per_request}.xml", arguments.idocs, f"r{per_request}")
                    seconds = _send(service, sim, file, arguments.idocs, per_request)
                    rates[per_request] = arguments.idocs / seconds
                    rate = rates[per_request]
                    print(f"  {per_request:>4} IDoc(s) per request: {seconds:6.2f} s  {rate:7.0f} IDocs/s", flush=True)
                ratio = rates[arguments.per_request] / rates[1]
                print(f"  {arguments.per_request} per request / 1 per request: {ratio:.1f}x")


if __name__ == "__main__":
    main()
