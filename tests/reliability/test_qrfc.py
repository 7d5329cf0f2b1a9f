"""qRFC through the served service: IDOC_INBOUND_IN_QUEUE in named queues, in order, exactly once.

The model (qrfc/model.yaml) has one operation per queue (SendToQueue1..3). The first tests stop a queue
with a failing IDoc and unblock it as an operator would; the reliability run sends
IDOCBRIDGE_RELIABILITY_IDOCS (default 1000) IDocs on three queues under dropped replies and SIGKILLs of
the service, then checks each queue's order in the simulator against the outbox's acceptance order.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import requests
import zeep
from sqlalchemy import select, text
from sqlalchemy.engine import make_url
from zeep.transports import Transport

from idocbridge.db.engine import create_engine_for, database_url_for_state
from idocbridge.generators.generate import generate
from idocbridge.models import load_model
from idocbridge.sapsim.testing import SimulatorProcess
from idocbridge.soap.testing import ServiceProcess, simulator_settings
from idocbridge.transactions import outbox_table

COUNT = int(os.environ.get("IDOCBRIDGE_RELIABILITY_IDOCS", "1000"))
POSTGRES = os.environ.get("IDOCBRIDGE_TEST_DATABASE_URL")
MODEL = Path(__file__).parent / "qrfc" / "model.yaml"
SERVICE = "QueuedIDocService"
ALIAS = "ERP_QRFC"
FUNCTION = "IDOC_INBOUND_IN_QUEUE"
QUEUES = ["ORDERS_1", "ORDERS_2", "ORDERS_3"]
CLIENTS = 6  # two per queue: client k sends IDocs k, k + 6, k + 12, ... to queue ORDERS_{k % 3 + 1}
ENVIRONMENT = {"SAP_PASSWORD": "idocbridge"}


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("generated")
    generate(load_model(MODEL).model, "model.yaml", out)
    return out


def _settings(
    tmp_path: Path, sim: SimulatorProcess, state: Path, database: str | None = None, wire: str = "json"
) -> Path:
    assert sim.info is not None
    path = tmp_path / f"settings-{state.name}.yaml"
    server = "server:\n  outboxLeaseSeconds: 3\n" + (f"  database: '{database}'\n" if database else "")
    settings = simulator_settings([ALIAS], sim.info, state, wire=wire).replace("server:\n", server)
    path.write_text(settings, encoding="utf-8")
    return path


@pytest.fixture(params=["sqlite", "postgresql", "sqlite-classic-rfc"])
def database(request: pytest.FixtureRequest) -> Iterator[str | None]:
    """None (each instance's SQLite file), or a PostgreSQL URL whose schema is this test's alone.

    ``sqlite-classic-rfc``: SQLite, and the service reaches the simulator by SAP's classic RFC through
    the saprfc connector instead of the JSON protocol (see :func:`wire`).
    """
    if request.param.startswith("sqlite"):
        yield None
        return
    if not POSTGRES:
        pytest.skip("IDOCBRIDGE_TEST_DATABASE_URL names no PostgreSQL database")
    schema = f"idocbridge_qrfc_{uuid.uuid4().hex[:12]}"
    admin = create_engine_for(POSTGRES)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield make_url(POSTGRES).update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(False)
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def wire(request: pytest.FixtureRequest) -> str:
    """The wire the service uses: ``cpic`` for the ``sqlite-classic-rfc`` runs, else the JSON protocol."""
    parameter = request.node.callspec.params.get("database", "")
    return "cpic" if parameter == "sqlite-classic-rfc" else "json"


def _client(url: str) -> zeep.Client:
    session = requests.Session()
    session.trust_env = False
    return zeep.Client(url, transport=Transport(session=session, timeout=30, operation_timeout=60))


def _send(client: zeep.Client, queue: int, text: str, message_id: str | None = None) -> Any:
    headers = {"_soapheaders": {"MessageId": message_id}} if message_id else {}
    return getattr(client.service, f"SendToQueue{queue}")(lines=[text], **headers)


def _tx(state: Path, *args: str) -> subprocess.CompletedProcess[str]:
    command = [str(Path(sys.executable).parent / "idocbridge"), "tx", *args, "--state", str(state)]
    return subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)


def _entries(state: Path) -> dict[str, dict[str, Any]]:
    """The outbox entries by MessageId (tx list --json)."""
    listed = _tx(state, "list", "--json", "--limit", "100000")
    assert listed.returncode == 0, listed.stderr
    rows = [json.loads(line) for line in listed.stdout.splitlines()]
    return {row["message_id"]: row for row in rows}


def _wait(condition: Callable[[], bool], what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"gave up waiting: {what}"
        time.sleep(0.2)


def _texts(sim: SimulatorProcess, queue: str) -> list[str]:
    """The text of each IDoc the queue's executed calls created, in queue order."""
    texts = []
    for row in sim.control.command("inspect.queue", queue=queue):
        if row["state"] == "EXECUTED":
            (idoc,) = sim.control.idocs(tid=row["tid"])
            texts.append(sim.control.command("inspect.idoc", docnum=idoc["docnum"])["data"][0]["SDATA"])
    return texts


def _all_delivered(sim: SimulatorProcess, count: int) -> Callable[[], bool]:
    return lambda: len(sim.control.idocs()) >= count and not sim.control.tids()


@pytest.mark.parametrize("action", ["retry", "cancel"])
def test_a_failed_idoc_stops_its_queue_in_the_outbox_until_an_operator_acts(
    generated: Path, tmp_path: Path, action: str
) -> None:
    state = tmp_path / "state"
    with SimulatorProcess(tmp_path / "sim") as sim:
        settings = _settings(tmp_path, sim, state)
        with ServiceProcess(generated, settings, state, ENVIRONMENT) as service:
            client = _client(service.wsdl_url(SERVICE))
            for text in ("a1", "a2"):
                _send(client, 1, text, text)
            _wait(_all_delivered(sim, 2), "a1 and a2 delivered")
            sim.control.add_fault("abap_exception", function=FUNCTION, key="DOCUMENT_LOCKED", message="order locked")
            with pytest.raises(zeep.exceptions.Fault, match="order locked"):
                _send(client, 1, "a3", "a3")
            _wait(lambda: _entries(state)["a3"]["state"] == "FAILED", "a3 FAILED")
            waiting = ["a4", "a5"]
            for text in waiting:
                _send(client, 1, text, text)
            _send(client, 2, "b1", "b1")  # accepted after a4 and a5: once it is in SAP, the worker has seen them
            _wait(lambda: _texts(sim, "ORDERS_2") == ["b1"] and not sim.control.tids(), "b1 delivered")
            entries = _entries(state)
            head = entries["a3"]["id"]
            assert [(entries[t]["state"], entries[t]["stopped_by"]) for t in waiting] == [("ACCEPTED", head)] * 2
            shown = json.loads(_tx(state, "show", entries[waiting[1]]["id"]).stdout)
            assert shown["waits_for"] == {"id": head, "state": "FAILED"}
            listed = _tx(state, "list").stdout
            assert f"qRFC queue ORDERS_1 of {ALIAS} is stopped by FAILED entry {head}" in " ".join(listed.split())
            assert _texts(sim, "ORDERS_1") == ["a1", "a2"]
            rows = sim.control.command("inspect.queue", queue="ORDERS_1")
            assert [row["state"] for row in rows] == ["EXECUTED", "EXECUTED", "SYSFAIL"]
            assert rows[-1]["error"] == "DOCUMENT_LOCKED: order locked"

            done = _tx(state, action, head)
            assert done.returncode == 0, done.stderr
            if action == "retry":  # delivered with its TID, then the rest of the queue in order
                _wait(_all_delivered(sim, 6), "the queue delivered after tx retry")
                assert _texts(sim, "ORDERS_1") == ["a1", "a2", "a3", "a4", "a5"]
            else:  # the outbox goes on; SAP's queue still stops at a3 until it is deleted there too
                _wait(lambda: all(_entries(state)[t]["state"] == "CONFIRMED" for t in waiting), "a4, a5 confirmed")
                rows = sim.control.command("inspect.queue", queue="ORDERS_1")
                assert [row["state"] for row in rows] == ["EXECUTED", "EXECUTED", "SYSFAIL", "READY", "READY"]
                sim.control.command("queue.delete", queue="ORDERS_1")
                assert _texts(sim, "ORDERS_1") == ["a1", "a2", "a4", "a5"]
            assert all(idoc["status"] == "53" for idoc in sim.control.idocs())


class QueueClients:
    """CLIENTS concurrent SOAP clients; each sends its IDocs in order to its queue and retries a request
    that got no answer with the same MessageId."""

    def __init__(self, url: Callable[[], str], run: str) -> None:
        self.url = url
        self.run = run
        self.local = threading.local()
        self.retries = 0
        self.answered = 0
        self.finished = False
        self.lock = threading.Lock()
        self.progress = threading.Condition(self.lock)

    def _client(self, url: str) -> zeep.Client:
        clients: dict[str, zeep.Client] = self.local.__dict__.setdefault("clients", {})
        if url not in clients:
            clients[url] = _client(url)
        return clients[url]

    def wait_for_answers(self, count: int) -> bool:
        """Block until ``count`` requests were answered (True), or the clients stopped before (False)."""
        with self.progress:
            return self.progress.wait_for(lambda: self.answered >= count or self.finished, timeout=600) and (
                self.answered >= count
            )

    def _send_one(self, number: int) -> None:
        deadline = time.monotonic() + 180
        while True:
            try:
                _send(self._client(self.url()), number % 3 + 1, f"idoc {number}", f"{self.run}-{number}")
                with self.progress:
                    self.answered += 1
                    self.progress.notify_all()
                return
            except (requests.RequestException, zeep.exceptions.Error) as exc:
                assert time.monotonic() < deadline, f"IDoc {number} got no answer: {exc}"
                with self.lock:
                    self.retries += 1
                time.sleep(0.2)

    def _send_mine(self, client: int) -> None:
        for number in range(client, COUNT, CLIENTS):
            self._send_one(number)

    def send_all(self) -> None:
        try:
            with ThreadPoolExecutor(max_workers=CLIENTS) as executor:
                list(executor.map(self._send_mine, range(CLIENTS)))
        finally:
            with self.progress:
                self.finished = True
                self.progress.notify_all()


@contextmanager
def _kills_in_background(clients: QueueClients, kill_and_restart: Callable[[int], None]) -> Iterator[list[int]]:
    """SIGKILL and restart the service once a third and once two thirds of the IDocs were answered."""
    kills: list[int] = []

    def run() -> None:
        for share in (1, 2):
            if not clients.wait_for_answers(COUNT * share // 3):
                return
            kill_and_restart(share)
            kills.append(share)

    worker = threading.Thread(target=run)
    worker.start()
    try:
        yield kills
    finally:
        worker.join()


def _acceptance_order(database: str) -> dict[str, list[str]]:
    """Each queue's TIDs in the outbox's acceptance order (queue_seq)."""
    engine = create_engine_for(database, must_exist=True)
    table = outbox_table
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                select(table.c.queue, table.c.tid).order_by(table.c.queue, table.c.queue_seq)
            ).all()
    finally:
        engine.dispose()
    order: dict[str, list[str]] = {queue: [] for queue in QUEUES}
    for queue, tid in rows:
        order[queue].append(tid)
    return order


@pytest.mark.slow
def test_idocs_on_three_queues_arrive_once_and_in_order_under_dropped_replies_and_kills(
    generated: Path, tmp_path: Path, database: str | None, wire: str
) -> None:
    """One service on SQLite, or two instances sharing PostgreSQL; each SIGKILLed and restarted once."""
    states = [tmp_path / "state0", tmp_path / "state1"] if database else [tmp_path / "state0"]
    with SimulatorProcess(tmp_path / "sim", seed=13) as sim:
        sim.control.add_fault("drop_after", function=FUNCTION, count=None, probability=0.05)
        services = [
            ServiceProcess(generated, _settings(tmp_path, sim, state, database, wire), state, ENVIRONMENT).start()
            for state in states
        ]
        urls = [service.wsdl_url(SERVICE) for service in services]

        def kill_and_restart(share: int) -> None:  # clients meanwhile get no answer, and retry
            number = share % len(services)
            services[number].kill()
            services[number].start()
            urls[number] = services[number].wsdl_url(SERVICE)

        clients = QueueClients(lambda: random.choice(urls), uuid.uuid4().hex[:8])
        try:
            with _kills_in_background(clients, kill_and_restart) as kills:
                clients.send_all()
            assert kills == [1, 2], "the service was killed twice while the clients sent"
            sim.control.clear_faults()
            _wait(_all_delivered(sim, COUNT), f"{COUNT} IDocs delivered and confirmed", timeout=600)
        finally:
            for service in services:
                service.stop()
        idocs = sim.control.idocs()
        assert len(idocs) == COUNT and all(idoc["status"] == "53" for idoc in idocs), "exactly once, posted"
        shipped = sim.control.command("inspect.counters").get("rfc:cpic:ARFC_DEST_SHIP", 0)
        assert (shipped >= COUNT) == (wire == "cpic"), f"{shipped} units by classic RFC, testing {wire}"
        accepted = _acceptance_order(database or database_url_for_state(states[0]))
        for number, queue in enumerate(QUEUES):
            rows = sim.control.command("inspect.queue", queue=queue)
            assert {row["state"] for row in rows} == {"EXECUTED"}
            assert [row["tid"] for row in rows] == accepted[queue], f"{queue}: SAP's order is the outbox's order"
            texts = _texts(sim, queue)
            assert sorted(texts) == sorted(f"idoc {n}" for n in range(COUNT) if n % 3 == number)
            for client in range(number, CLIENTS, 3):  # each client's IDocs in the order it sent them
                sent = [int(text.split()[1]) for text in texts if int(text.split()[1]) % CLIENTS == client]
                assert sent == sorted(sent), f"{queue}: client {client}'s IDocs out of order"
