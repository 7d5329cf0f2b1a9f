"""Exactly once under failure: 1,000 IDocs per fault, proven by the simulator and the transaction log.

Each scenario sends IDOCBRIDGE_RELIABILITY_IDOCS (default 1000) TXTRAW IDocs, each with its own text
and MessageId, from concurrent zeep clients that retry a request (same MessageId) whenever they get
no answer, as a client does after a lost reply. Then it waits until every IDoc is confirmed and
checks, through the simulator's inspection API, that it holds each text exactly once, and that the
transaction log tells each IDoc's story under its TID.
"""

from __future__ import annotations

import os
import random
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests
import zeep
from sqlalchemy import Engine, text
from zeep.transports import Transport

from idocbridge.db.engine import create_engine_for, database_url_for_state
from idocbridge.generators.generate import generate
from idocbridge.models import load_model
from idocbridge.sapsim.testing import SimulatorProcess
from idocbridge.soap.testing import WIRES, ServiceProcess, simulator_settings
from idocbridge.tlog.entry import LogEntry
from idocbridge.tlog.queries import query
from tests.conftest import EXAMPLES

COUNT = int(os.environ.get("IDOCBRIDGE_RELIABILITY_IDOCS", "1000"))
CLIENTS = 8
SERVICE = "saptRFCClientService"
ALIASES = ["RFCPort_IDOC_INBOUND_ASYNCHRONOUS", "RFCPort_STFC_CONNECTION"]
IDOC = "IDOC_INBOUND_ASYNCHRONOUS"
POSTGRES = os.environ.get("IDOCBRIDGE_TEST_DATABASE_URL")

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("generated")
    generate(load_model(EXAMPLES / "trfc_client" / "model.yaml").model, "model.yaml", out)
    return out


def _settings(
    path: Path,
    sim: SimulatorProcess,
    state: Path,
    database: str | None = None,
    wire: str = "json",
    packets: bool = False,
) -> Path:
    """Settings pointing the example at ``sim``; with ``packets`` its IDoc alias sends packets of up to 20."""
    assert sim.info is not None
    server = "server:\n  outboxLeaseSeconds: 3\n" + (f"  database: '{database}'\n" if database else "")
    settings = simulator_settings(ALIASES, sim.info, state, wire=wire).replace("server:\n", server)
    if packets:
        name = f"  - name: {ALIASES[0]}\n"
        settings = settings.replace(name, f"{name}    idocPackets: {{size: 20}}\n")
    path.write_text(settings, encoding="utf-8")
    return path


class Clients:
    """Concurrent SOAP clients that retry with the same MessageId until they get an answer."""

    def __init__(self, urls: Callable[[], list[str]], run: str, text: str = "idoc {}") -> None:
        self.urls = urls
        self.run = run
        self.text = text
        self.retry_faults = True
        self.local = threading.local()
        self.receipts: dict[int, str] = {}
        self.retries = 0
        self.lock = threading.Lock()

    def _client(self, url: str) -> zeep.Client:
        clients: dict[str, zeep.Client] = self.local.__dict__.setdefault("clients", {})
        if url not in clients:
            session = requests.Session()
            session.trust_env = False
            clients[url] = zeep.Client(url, transport=Transport(session=session, timeout=30, operation_timeout=60))
        return clients[url]

    def send(self, number: int) -> None:
        deadline = time.monotonic() + 180
        while True:
            url = random.choice(self.urls())
            try:
                receipt = self._client(url).service.SendTXTRAW(
                    senderPort="LEGACY",
                    senderPartner="LEGACYSYS",
                    receiverPort="SAPSIM",
                    receiverPartner="SIM100",
                    lines=[self.text.format(number)],
                    _soapheaders={"MessageId": f"{self.run}-{number}"},
                )
            except (requests.RequestException, zeep.exceptions.Error) as exc:
                if isinstance(exc, zeep.exceptions.Fault) and not self.retry_faults:
                    raise
                assert time.monotonic() < deadline, f"IDoc {number} got no answer: {exc}"
                with self.lock:
                    self.retries += 1
                time.sleep(0.2)
                continue
            with self.lock:
                self.receipts[number] = receipt.transactionId
            return

    def send_all(self) -> None:
        with ThreadPoolExecutor(max_workers=CLIENTS) as executor:
            list(executor.map(self.send, range(COUNT)))


def _wait_for_all(sim: SimulatorProcess, timeout: float = 240) -> list[dict[str, object]]:
    deadline = time.monotonic() + timeout
    while True:
        idocs = sim.control.idocs()
        if (len(idocs) >= COUNT and not sim.control.tids()) or time.monotonic() > deadline:
            return idocs
        time.sleep(0.5)


def _story(engine: Engine, tid: str, timeout: float = 10.0) -> list[LogEntry]:
    """The log entries of ``tid`` once its confirm is logged (the log is written within a moment)."""
    deadline = time.monotonic() + timeout
    while True:
        story = query(engine, correlation_id=tid)
        if any(e.log_type == "TRANSITION_EXIT" and e.param1 == "CONFIRMED" for e in story):
            return story
        if time.monotonic() > deadline:
            return story
        time.sleep(0.2)


def _check(sim: SimulatorProcess, clients: Clients, database: str, wire: str = "json", packets: bool = False) -> None:
    assert len(clients.receipts) == COUNT
    idocs = _wait_for_all(sim)
    texts = [sim.control.command("inspect.idoc", docnum=i["docnum"])["data"][0]["SDATA"] for i in idocs]
    assert sorted(texts) == sorted(f"idoc {n}" for n in range(COUNT)), "every IDoc exactly once"
    assert all(i["status"] == "53" for i in idocs)
    assert sim.control.tids() == [], "every TID confirmed"
    counters = sim.control.command("inspect.counters")
    over = {"json": None, "cpic": "cpic", "websocket": "wrfc"}[wire]
    for name in ("cpic", "wrfc"):  # the units came over the wire under test, and no other
        shipped = counters.get(f"rfc:{name}:ARFC_DEST_SHIP", 0)
        assert (shipped > 0) == (name == over), f"{shipped} units shipped over {name}, testing {wire}"
    engine = create_engine_for(database, must_exist=True)
    try:
        for idoc in random.Random(7).sample(idocs, min(50, len(idocs))):
            story = _story(engine, str(idoc["tid"]))
            kinds = [(e.log_type, e.param1) for e in story]
            submitted = ("IO_EXIT", "outbox:submit") in kinds or ("TRANSITION_EXIT", "EXECUTED") in kinds
            assert submitted and ("TRANSITION_EXIT", "CONFIRMED") in kinds, kinds
            requests_of_story = {e.transaction_id for e in story} & set(clients.receipts.values())
            if packets:  # the packet's steps under its own transaction, each IDoc's CONFIRMED under its request's
                in_packet = sum(1 for other in idocs if other["tid"] == idoc["tid"])
                assert len(requests_of_story) == in_packet, "each IDoc of the packet names its TID in its log"
            else:
                assert {e.transaction_id for e in story} == requests_of_story
        if packets:
            with engine.connect() as connection:
                packed = connection.execute(text("SELECT count(*) FROM trfc_outbox WHERE packet_size > 1")).scalar()
            assert packed, "IDocs went in packets"
    finally:
        engine.dispose()


class _Restartable:
    """A service process, started, that a background fault kills and starts again; ``url``: its WSDL now."""

    def __init__(self, process: ServiceProcess, service: str = SERVICE) -> None:
        self.process = process.start()
        self.service = service
        self.url = process.wsdl_url(service)

    kills = 0

    def kill_and_restart(self) -> None:
        self.process.kill()
        self.kills += 1
        self.process.start()
        self.url = self.process.wsdl_url(self.service)


@contextmanager
def _faults_in_background(
    action: Callable[[], None], times: int, seed: int, pause: tuple[float, float] = (1.0, 3.0)
) -> Iterator[None]:
    stop = threading.Event()
    rng = random.Random(seed)

    def run() -> None:
        for _ in range(times):
            if stop.wait(rng.uniform(*pause)):
                return
            action()

    worker = threading.Thread(target=run)
    worker.start()
    try:
        yield
    finally:
        stop.set()
        worker.join()


@pytest.mark.parametrize("wire", WIRES)
@pytest.mark.parametrize("kind", ["drop_before", "drop_after"])
def test_dropped_connections(generated: Path, tmp_path: Path, kind: str, wire: str) -> None:
    with SimulatorProcess(tmp_path / "sim", seed=11) as sim:
        sim.control.add_fault(kind, function=IDOC, count=None, probability=0.1)
        settings = _settings(tmp_path / "settings.yaml", sim, tmp_path / "state", wire=wire)
        with ServiceProcess(generated, settings, tmp_path / "state", {"SAP_PASSWORD": "idocbridge"}) as service:
            clients = Clients(lambda: [service.wsdl_url(SERVICE)], uuid.uuid4().hex[:8])
            clients.send_all()
            sim.control.clear_faults()
            _check(sim, clients, database_url_for_state(tmp_path / "state"), wire)


@pytest.mark.parametrize("fault", ["drop_after", "service_killed"])
def test_packets_exactly_once(generated: Path, tmp_path: Path, fault: str) -> None:
    """The IDocs go in packets (of up to 20): each still reaches SAP once, under lost replies or a killed service."""
    with SimulatorProcess(tmp_path / "sim", seed=13) as sim:
        if fault == "drop_after":
            sim.control.add_fault(fault, function=IDOC, count=None, probability=0.1)
        settings = _settings(tmp_path / "settings.yaml", sim, tmp_path / "state", packets=True)
        service = _Restartable(ServiceProcess(generated, settings, tmp_path / "state", {"SAP_PASSWORD": "idocbridge"}))
        clients = Clients(lambda: [service.url], uuid.uuid4().hex[:8])
        try:
            kills = 2 if fault == "service_killed" else 0
            with _faults_in_background(service.kill_and_restart, times=kills, seed=5):
                clients.send_all()
            sim.control.clear_faults()
            _check(sim, clients, database_url_for_state(tmp_path / "state"), packets=True)
        finally:
            service.process.stop()


PER_REQUEST = 10
IDOC_SERVICE = "IDocService"


def _send_requests_of_many(url: Callable[[], str], run: str) -> dict[int, list[str]]:
    """Send COUNT TXTRAW01 IDocs in requests of PER_REQUEST (IDoc-XML), each retried with its MessageId until
    answered; the TIDs each request's receipt names, by request number."""
    local = threading.local()
    answers: dict[int, list[str]] = {}

    def send(request: int) -> None:
        numbers = range(request * PER_REQUEST, min(COUNT, (request + 1) * PER_REQUEST))
        control = {"SEGMENT": "1", "TABNAM": "EDI_DC40", "DIRECT": "2", "IDOCTYP": "TXTRAW01", "MESTYP": "TXTRAW",
                   "SNDPOR": "LEGACY", "SNDPRT": "LS", "SNDPRN": "LEG", "RCVPOR": "SAPSIM", "RCVPRT": "LS",
                   "RCVPRN": "SIM100"}  # fmt: skip
        idocs = [{"BEGIN": "1", "EDI_DC40": control, "E1TXTRW": [{"SEGMENT": "1", "TLINE": f"idoc {n}"}]}
                 for n in numbers]  # fmt: skip
        deadline = time.monotonic() + 180
        while True:
            where = url()
            try:
                if getattr(local, "url", None) != where:
                    session = requests.Session()
                    session.trust_env = False
                    transport = Transport(session=session, timeout=30, operation_timeout=60)
                    local.client, local.url = zeep.Client(where, transport=transport), where
                header = {"MessageId": f"{run}-{request}"}
                receipt = local.client.service.SendTextIDoc(TXTRAW01={"IDOC": idocs}, _soapheaders=header)
            except (requests.RequestException, zeep.exceptions.Error) as exc:
                assert time.monotonic() < deadline, f"request {request} got no answer: {exc}"
                local.url = None
                time.sleep(0.2)
                continue
            answers[request] = [idoc.tid for idoc in receipt.idocs]
            return

    with ThreadPoolExecutor(max_workers=CLIENTS) as executor:
        list(executor.map(send, range(-(-COUNT // PER_REQUEST))))
    return answers


@pytest.mark.parametrize("packets", [False, True], ids=["units", "packets"])
def test_requests_of_many_idocs_exactly_once_with_the_service_killed(tmp_path: Path, packets: bool) -> None:
    """Requests of 10 IDocs each, accepted all or none: each IDoc reaches SAP once though the service is killed."""
    generate(load_model(EXAMPLES / "idoc_service" / "model.yaml").model, "model.yaml", tmp_path / "out")
    with SimulatorProcess(tmp_path / "sim", seed=17) as sim:
        assert sim.info is not None
        alias = "  - name: ERP_IDOC_INBOUND\n"
        settings_text = simulator_settings(["ERP_IDOC_INBOUND"], sim.info, tmp_path / "state")
        settings_text = settings_text.replace("server:\n", "server:\n  outboxLeaseSeconds: 3\n")
        if packets:
            settings_text = settings_text.replace(alias, f"{alias}    idocPackets: {{size: 20}}\n")
        settings = tmp_path / "settings.yaml"
        settings.write_text(settings_text, encoding="utf-8")
        process = ServiceProcess(tmp_path / "out", settings, tmp_path / "state", {"SAP_PASSWORD": "idocbridge"})
        service = _Restartable(process, IDOC_SERVICE)
        try:
            with _faults_in_background(service.kill_and_restart, times=2, seed=5, pause=(0.3, 1.0)):
                answers = _send_requests_of_many(lambda: service.url, uuid.uuid4().hex[:8])
            assert service.kills, "the service was killed while requests were sent"
            idocs = _wait_for_all(sim)
            texts = [sim.control.command("inspect.idoc", docnum=i["docnum"])["data"][0]["SDATA"] for i in idocs]
            assert sorted(texts) == sorted(f"idoc {n}" for n in range(COUNT)), "every IDoc exactly once"
            assert sim.control.tids() == [], "every TID confirmed"
            assert sum(map(len, answers.values())) == COUNT, "each request answered with a receipt per IDoc"
        finally:
            process.stop()


@pytest.mark.parametrize("wire", WIRES)
def test_simulator_restarts(generated: Path, tmp_path: Path, wire: str) -> None:
    with SimulatorProcess(tmp_path / "sim") as sim:
        settings = _settings(tmp_path / "settings.yaml", sim, tmp_path / "state", wire=wire)
        with ServiceProcess(generated, settings, tmp_path / "state", {"SAP_PASSWORD": "idocbridge"}) as service:
            clients = Clients(lambda: [service.wsdl_url(SERVICE)], uuid.uuid4().hex[:8])
            with _faults_in_background(sim.restart, times=2, seed=3):
                clients.send_all()
            _check(sim, clients, database_url_for_state(tmp_path / "state"), wire)


def _instances(
    generated: Path, tmp_path: Path, sim: SimulatorProcess, database: str | None, count: int, wire: str = "json"
) -> list[ServiceProcess]:
    instances = []
    for number in range(count):
        state = tmp_path / f"state{number}" if database else tmp_path / "state"
        settings = _settings(tmp_path / f"settings{number}.yaml", sim, state, database, wire)
        instances.append(ServiceProcess(generated, settings, state, {"SAP_PASSWORD": "idocbridge"}))
    return instances


@pytest.mark.parametrize("wire", WIRES)
def test_service_killed_at_a_random_moment(generated: Path, tmp_path: Path, wire: str) -> None:
    with SimulatorProcess(tmp_path / "sim") as sim:
        (process,) = _instances(generated, tmp_path, sim, None, 1, wire)
        service = _Restartable(process)
        clients = Clients(lambda: [service.url], uuid.uuid4().hex[:8])
        try:
            with _faults_in_background(service.kill_and_restart, times=2, seed=5):
                clients.send_all()
            _check(sim, clients, database_url_for_state(tmp_path / "state"), wire)
        finally:
            process.stop()


@pytest.mark.skipif(not POSTGRES, reason="IDOCBRIDGE_TEST_DATABASE_URL names no PostgreSQL database")
def test_two_instances_on_postgresql_one_killed(generated: Path, tmp_path: Path) -> None:
    assert POSTGRES is not None
    with SimulatorProcess(tmp_path / "sim") as sim:
        first, second = _instances(generated, tmp_path, sim, POSTGRES, 2)
        first.start()
        second.start()
        alive = {"first": first.wsdl_url(SERVICE), "second": second.wsdl_url(SERVICE)}

        def kill_first() -> None:
            alive.pop("first", None)
            first.kill()  # its claimed entries wait for their lease to run out, then the second takes them

        clients = Clients(lambda: list(alive.values()), uuid.uuid4().hex[:8])
        try:
            with _faults_in_background(kill_first, times=1, seed=9):
                clients.send_all()
            _check(sim, clients, POSTGRES)
        finally:
            first.stop()
            second.stop()


def test_requests_sent_again_deliver_nothing_twice_and_altered_ones_are_refused(
    generated: Path, tmp_path: Path
) -> None:
    """The same requests sent twice with their MessageIds, then once more with altered bodies."""
    run = uuid.uuid4().hex[:8]
    with SimulatorProcess(tmp_path / "sim") as sim:
        settings = _settings(tmp_path / "settings.yaml", sim, tmp_path / "state")
        with ServiceProcess(generated, settings, tmp_path / "state", {"SAP_PASSWORD": "idocbridge"}) as service:
            url = service.wsdl_url(SERVICE)
            first = Clients(lambda: [url], run)
            first.send_all()
            again = Clients(lambda: [url], run)
            again.send_all()
            assert again.receipts == first.receipts, "each request sent again got the first one's transaction"
            altered = Clients(lambda: [url], run, text="altered {}")
            altered.retry_faults = False  # a refusal is the answer
            refusals = _refusals(altered)
            assert len(refusals) == COUNT, "every altered request is refused"
            for number, fault in refusals.items():
                assert f"(transaction {first.receipts[number]}," in fault, fault
                assert "was first sent with a different request" in fault
            _check(sim, first, database_url_for_state(tmp_path / "state"))


def _refusals(clients: Clients) -> dict[int, str]:
    """Send every request of ``clients``; the SOAP faults they got, by request number."""
    faults: dict[int, str] = {}
    lock = threading.Lock()

    def send(number: int) -> None:
        try:
            clients.send(number)
        except zeep.exceptions.Fault as fault:
            with lock:
                faults[number] = str(fault.message)

    with ThreadPoolExecutor(max_workers=CLIENTS) as executor:
        list(executor.map(send, range(COUNT)))
    return faults
