"""The worst requests against the service process: CPU time and peak memory per request, and how long
a valid request waits while several of them run.

    .venv/bin/python -m tests.perf.bench_hostile [--lines 110000] [--attributes 780000] [--concurrent 8]

Each hostile request goes to a fresh ``idocbridge serve`` process (guaranteed delivery to a running
simulator), so its peak resident memory (VmHWM) and CPU time (user + system, from /proc) are that
request's alone. The baselines are a bare lxml parse of the same bytes in this process and the
service's figures for a valid request of the same size. Prints figures; asserts nothing about time.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
from lxml import etree

from idocbridge.generators.generate import generate
from idocbridge.models import load_model
from idocbridge.sapsim.testing import SimulatorProcess
from idocbridge.soap.testing import ServiceProcess, simulator_settings

ROOT = Path(__file__).resolve().parents[2]
MODEL = ROOT / "examples" / "trfc_client" / "model.yaml"
ALIASES = ["RFCPort_IDOC_INBOUND_ASYNCHRONOUS", "RFCPort_STFC_CONNECTION"]
SERVICE = "saptRFCClientService"
NS = f"urn:tRFCClientExample:{SERVICE}"
HEADERS = {"Content-Type": "text/xml; charset=utf-8", "SOAPAction": f'"{NS}/SendTXTRAW"'}


def txtraw_request(lines: list[str]) -> bytes:
    """A SendTXTRAW request with ``lines`` (each line one ``lines`` element on its own line)."""
    body = "".join(f"<t:lines>{line}</t:lines>\n" for line in lines)
    return (
        f'<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" xmlns:t="{NS}"><s:Body><t:SendTXTRAW>\n'
        "<t:senderPort>SAPLEG</t:senderPort><t:senderPartner>LEGACY</t:senderPartner>"
        "<t:receiverPort>SAPQ01</t:receiverPort><t:receiverPartner>Q01CLNT100</t:receiverPartner>\n"
        f"{body}</t:SendTXTRAW></s:Body></s:Envelope>"
    ).encode()


def too_long_lines(count: int) -> bytes:
    """``count`` lines, each one character longer than the 72 the schema allows: one schema error per line."""
    return txtraw_request(["x" * 73] * count)


def many_attributes(count: int) -> bytes:
    """A request whose operation element carries ``count`` attributes."""
    attributes = " ".join(f"a{number}=''" for number in range(count))
    return (
        f'<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" xmlns:t="{NS}"><s:Body>'
        f"<t:SendTXTRAW {attributes}><t:senderPort>X</t:senderPort></t:SendTXTRAW></s:Body></s:Envelope>"
    ).encode()


def _proc(pid: int) -> tuple[float, int, int]:
    """CPU seconds (user + system), resident and peak resident memory in MiB, of process ``pid``."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    cpu = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    status = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines())
    return cpu, int(status["VmRSS"].split()[0]) // 1024, int(status["VmHWM"].split()[0]) // 1024


def _bare_parse(body: bytes) -> float:
    started = time.process_time()
    etree.fromstring(body, etree.XMLParser(resolve_entities=False, no_network=True))
    return time.process_time() - started


def _send(service: ServiceProcess, body: bytes, timeout: float = 600.0) -> tuple[int, float, str]:
    started = time.perf_counter()
    response = httpx.post(f"{service.url}/{SERVICE}", content=body, headers=HEADERS, timeout=timeout)
    fault = ""
    if response.status_code != 200:
        reason = etree.fromstring(response.content).find(".//faultstring")
        fault = (reason.text or "")[:110] if reason is not None else response.text[:110]
    return response.status_code, time.perf_counter() - started, fault


def _one(work: Path, sim: SimulatorProcess, name: str, body: bytes) -> None:
    """``body`` against a fresh service process: status, wall and CPU time, memory before and at peak."""
    assert sim.info is not None
    state = work / name
    settings = work / f"{name}.yaml"
    settings.write_text(simulator_settings(ALIASES, sim.info, state), encoding="utf-8")
    with ServiceProcess(work / "out", settings, state, {"SAP_PASSWORD": "idocbridge"}) as service:
        assert service.process is not None
        pid = service.process.pid
        _send(service, txtraw_request(["warm-up"]))  # imports and first connections are not the request's
        cpu_before, rss_before, _ = _proc(pid)
        status, seconds, fault = _send(service, body)
        cpu_after, rss_after, peak = _proc(pid)
    print(
        f"{name:<26} {len(body) / 1e6:6.1f} MB  HTTP {status}  {seconds:7.2f} s wall  "
        f"{cpu_after - cpu_before:7.2f} s CPU"
        f"  RSS {rss_before} -> {rss_after} MiB, peak {peak} MiB  (bare lxml parse: {_bare_parse(body):.2f} s CPU)"
    )
    if fault:
        print(f"{'':<26} fault: {fault}")


def _crowd(work: Path, sim: SimulatorProcess, body: bytes, concurrent: int) -> None:
    """``concurrent`` copies of ``body`` at once, and a valid request sent while they run."""
    assert sim.info is not None
    state = work / "crowd"
    settings = work / "crowd.yaml"
    settings.write_text(simulator_settings(ALIASES, sim.info, state), encoding="utf-8")
    with ServiceProcess(work / "out", settings, state, {"SAP_PASSWORD": "idocbridge"}) as service:
        assert service.process is not None
        _send(service, txtraw_request(["warm-up"]))
        cpu_before, _, _ = _proc(service.process.pid)
        with ThreadPoolExecutor(concurrent) as pool:
            hostile = [pool.submit(_send, service, body) for _ in range(concurrent)]
            time.sleep(0.5)  # let them arrive first
            status, seconds, fault = _send(service, txtraw_request(["a valid line"]))
            statuses = [future.result() for future in hostile]
        cpu_after, _, peak = _proc(service.process.pid)
    print(
        f"{concurrent} x {len(body) / 1e6:.1f} MB at once: {cpu_after - cpu_before:.2f} s CPU, peak {peak} MiB; "
        f"their statuses {sorted({s for s, _, _ in statuses})}; a valid request sent meanwhile: HTTP {status} "
        f"after {seconds:.2f} s {fault}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lines", type=int, default=110_000)
    parser.add_argument("--attributes", type=int, default=780_000)
    parser.add_argument("--concurrent", type=int, default=8)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="idocbridge-hostile-") as temp:
        work = Path(temp)
        generate(load_model(MODEL).model, "model.yaml", work / "out")
        with SimulatorProcess(work / "sim") as sim:
            _one(work, sim, "valid lines", txtraw_request(["x" * 72] * args.lines))
            _one(work, sim, "too-long lines", too_long_lines(args.lines))
            _one(work, sim, "attributes", many_attributes(args.attributes))
            _crowd(work, sim, too_long_lines(args.lines), args.concurrent)


if __name__ == "__main__":
    main()
