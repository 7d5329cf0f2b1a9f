"""SOAP layer benchmark: requests/s of one operation of ``idocbridge serve`` against a bare echo and spyne.

    .venv/bin/python tests/perf/bench_soap_layer.py --requests 2000 --connections 1,8

The service is the example's, behind the simulator. Its operation ``TestSimpleTypes`` runs twice:
as generated (one synchronous RFC call, STFC_CONNECTION) and in a second service whose hooks.py
answers it without SAP (the SOAP layer alone: parse, XSD validation, binding, the log, the answer).
The baselines, measured in the same run on the same machine:

- **direct connector**: the same STFC_CONNECTION call through a pooled simulator connector, without
  HTTP or SOAP: what the SAP side costs;
- **bare echo**: a Starlette app under uvicorn that parses the request with lxml and answers a fixed
  envelope: what HTTP and an XML parse cost at the least;
- **spyne**: spyne 2.14 serving the same operation (same namespace, request and answer, lxml schema
  validation on) under the same uvicorn through a2wsgi. spyne runs on Python 3.11 at the latest (its
  vendored ``six`` fails on 3.12), so the benchmark makes a virtual environment for it in
  ``.venv-bench/spyne`` with ``python3.11`` (or ``$SPYNE_PYTHON``) on first use; ``--no-spyne`` skips it.

Each client is a thread with one keep-alive ``http.client`` connection sending requests one after the
other, so a reply that waits (for a delayed ACK, say) shows in the rate. Prints figures; asserts
nothing about time.
"""

from __future__ import annotations

import argparse
import http.client
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

from idocbridge.connectors.factory import connector_factory
from idocbridge.generators.generate import generate
from idocbridge.models import load_deployment, load_model
from idocbridge.sapsim.testing import SimulatorProcess
from idocbridge.soap.testing import ServiceProcess, simulator_settings

ROOT = Path(__file__).resolve().parents[2]
MODEL = ROOT / "examples" / "trfc_client" / "model.yaml"
SERVICE = "saptRFCClientService"
NS = f"urn:tRFCClientExample:{SERVICE}"
ALIASES = ["RFCPort_IDOC_INBOUND_ASYNCHRONOUS", "RFCPort_STFC_CONNECTION"]
ENVIRONMENT = {"SAP_PASSWORD": "idocbridge"}
REQUEST = (
    '<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" xmlns:t="' + NS + '"><s:Body>'
    "<t:TestSimpleTypes><t:requestText>hello</t:requestText></t:TestSimpleTypes></s:Body></s:Envelope>"
).encode()

ECHO_APP = """
import sys
import uvicorn
from lxml import etree
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

ANSWER = (b'<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body>'
          b'<echo>hello</echo></s:Body></s:Envelope>')

async def echo(request: Request) -> Response:
    etree.fromstring(await request.body())
    return Response(ANSWER, media_type="text/xml; charset=utf-8")

uvicorn.run(Starlette(routes=[Route("/echo", echo, methods=["POST"])]), host="127.0.0.1",
            port=int(sys.argv[1]), log_level="warning", http="httptools", loop="uvloop")
"""


SPYNE_APP = """
import sys

import uvicorn
from a2wsgi import WSGIMiddleware
from spyne import Application, ServiceBase, Unicode, rpc
from spyne.protocol.soap import Soap11
from spyne.server.wsgi import WsgiApplication


class Service(ServiceBase):
    @rpc(Unicode, _returns=(Unicode, Unicode), _out_variable_names=("echoText", "responseText"))
    def TestSimpleTypes(ctx, requestText):
        return requestText, "answered without SAP"


application = Application([Service], tns=sys.argv[2], name="saptRFCClientService",
                          in_protocol=Soap11(validator="lxml"), out_protocol=Soap11())
uvicorn.run(WSGIMiddleware(WsgiApplication(application)), host="127.0.0.1", port=int(sys.argv[1]),
            log_level="warning", http="httptools", loop="uvloop")
"""
SPYNE_REQUIREMENTS = ["spyne==2.14.0", "lxml", "uvicorn", "httptools", "uvloop", "a2wsgi"]

NO_SAP_HOOKS = """
from .service import SaptRFCClientServiceBase, TestSimpleTypesRequest, TestSimpleTypesResponse


class Service(SaptRFCClientServiceBase):
    def TestSimpleTypes(self, request: TestSimpleTypesRequest) -> TestSimpleTypesResponse:
        return TestSimpleTypesResponse(echoText=request.requestText, responseText="answered without SAP")
"""


def _spyne_python() -> Path:
    """The interpreter of spyne's virtual environment, made on first use."""
    venv = ROOT / ".venv-bench" / "spyne"
    python = venv / "bin" / "python"
    stamp = venv / "requirements.txt"
    if not stamp.exists() or stamp.read_text(encoding="utf-8").split() != SPYNE_REQUIREMENTS:
        base = os.environ.get("SPYNE_PYTHON") or shutil.which("python3.11")
        if base is None:
            raise SystemExit("error: spyne needs Python 3.11 or older: set SPYNE_PYTHON, or run with --no-spyne")
        subprocess.run([base, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", *SPYNE_REQUIREMENTS], check=True)
        stamp.write_text("\n".join(SPYNE_REQUIREMENTS), encoding="utf-8")
    return python


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _rate(count: int, clients: int, one: Callable[[], Callable[[], None]]) -> float:
    """Requests/s of ``clients`` threads sending ``count`` requests in all; ``one()`` makes a thread's sender."""
    per_client = count // clients
    senders = [one() for _ in range(clients)]
    for send in senders:
        send()  # warm: the connection is open and the service has answered once
    barrier = threading.Barrier(clients + 1)

    def run(send: Callable[[], None]) -> None:
        barrier.wait()
        for _ in range(per_client):
            send()

    threads = [threading.Thread(target=run, args=(send,)) for send in senders]
    for thread in threads:
        thread.start()
    barrier.wait()
    started = time.perf_counter()
    for thread in threads:
        thread.join()
    return per_client * clients / (time.perf_counter() - started)


def _http_sender(host: str, port: int, path: str) -> Callable[[], Callable[[], None]]:
    def one() -> Callable[[], None]:
        connection = http.client.HTTPConnection(host, port, timeout=60)
        headers = {"Content-Type": "text/xml; charset=utf-8", "SOAPAction": '""'}

        def send() -> None:
            connection.request("POST", path, REQUEST, headers)
            response = connection.getresponse()
            body = response.read()
            if response.status != 200:
                raise RuntimeError(f"{path}: HTTP {response.status}: {body[:300]!r}")

        return send

    return one


def _wait_for_port(port: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError("the baseline server exited")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("the baseline server did not start within 30 s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--connections", default="1,8", help="comma-separated numbers of concurrent clients")
    parser.add_argument("--no-spyne", action="store_true", help="leave spyne out")
    arguments = parser.parse_args()
    counts = [int(number) for number in arguments.connections.split(",")]
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        model = load_model(MODEL).model
        generate(model, "model.yaml", work / "out")
        generate(model, "model.yaml", work / "out-no-sap")
        (work / "out-no-sap" / SERVICE / "hooks.py").write_text(NO_SAP_HOOKS, encoding="utf-8")
        baselines: list[subprocess.Popen[bytes]] = []
        with SimulatorProcess(work / "sim") as sim:
            assert sim.info is not None
            settings = work / "settings.yaml"
            settings.write_text(simulator_settings(ALIASES, sim.info, work / "state"), encoding="utf-8")
            settings_no_sap = work / "settings-no-sap.yaml"
            settings_no_sap.write_text(simulator_settings(ALIASES, sim.info, work / "state-no-sap"), encoding="utf-8")
            alias = load_deployment(MODEL, settings).model.aliases[1]
            make = connector_factory(ENVIRONMENT)
            echo_port = _free_port()
            baselines.append(subprocess.Popen([sys.executable, "-c", ECHO_APP, str(echo_port)]))
            spyne_port = _free_port()
            if not arguments.no_spyne:
                baselines.append(subprocess.Popen([str(_spyne_python()), "-c", SPYNE_APP, str(spyne_port), NS]))
            try:
                _wait_for_port(echo_port, baselines[0])
                if not arguments.no_spyne:
                    _wait_for_port(spyne_port, baselines[1])
                with (
                    ServiceProcess(work / "out", settings, work / "state", ENVIRONMENT) as service,
                    ServiceProcess(work / "out-no-sap", settings_no_sap, work / "state-no-sap", ENVIRONMENT) as bare,
                ):
                    print(f"{arguments.requests} requests per row, TestSimpleTypes")
                    for clients in counts:

                        def direct() -> Callable[[], None]:
                            sap = make(alias)
                            sap.open()

                            def call() -> None:
                                sap.call("STFC_CONNECTION", {"REQUTEXT": "hello"})

                            return call

                        def served(url: str) -> Callable[[], Callable[[], None]]:
                            host, port = url.removeprefix("http://").split(":")
                            return _http_sender(host, int(port), f"/{SERVICE}")

                        senders = {
                            "direct connector (STFC_CONNECTION)": direct,
                            "bare Starlette + lxml echo": _http_sender("127.0.0.1", echo_port, "/echo"),
                            "idocbridge serve, without SAP": served(bare.url),
                            "idocbridge serve, STFC_CONNECTION": served(service.url),
                        }
                        if not arguments.no_spyne:
                            senders["spyne 2.14, without SAP"] = _http_sender("127.0.0.1", spyne_port, "/")
                        rates = {name: _rate(arguments.requests, clients, one) for name, one in senders.items()}
                        for name, rate in rates.items():
                            print(f"{clients} client(s)  {name:<36} {rate:8.0f} requests/s")
                        served_rate = rates["idocbridge serve, without SAP"]
                        echo_rate = rates["bare Starlette + lxml echo"]
                        line = f"{clients} client(s)  serve without SAP / echo = {served_rate / echo_rate:.2f}x"
                        if not arguments.no_spyne:
                            line += f", / spyne = {served_rate / rates['spyne 2.14, without SAP']:.2f}x"
                        print(line)
            finally:
                for process in baselines:
                    process.terminate()
                    process.wait(10)


if __name__ == "__main__":
    main()
