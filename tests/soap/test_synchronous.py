"""`delivery: synchronous` as a client sees it: receipts when SAP is down, faults only for FAILED and CANCELLED,
and waiting requests that hold no thread (the simulator and the service as processes, zeep as the client).
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import zeep
from lxml import etree

from idocbridge.db import create_engine_for, database_url_for_state
from idocbridge.generators.generate import generate
from idocbridge.models import load_model
from idocbridge.models.pools import plan_pools
from idocbridge.sapsim.testing import SimulatorProcess
from idocbridge.soap.app import blocking_threads
from idocbridge.soap.testing import ServiceProcess, simulator_settings
from idocbridge.transactions import OutboxStore
from tests.conftest import EXAMPLES

SERVICE = "saptRFCClientService"
ALIASES = ["RFCPort_IDOC_INBOUND_ASYNCHRONOUS", "RFCPort_STFC_CONNECTION"]
IDOC = "IDOC_INBOUND_ASYNCHRONOUS"
FAULT_NS = "urn:idocbridge:fault:1"
STFC_ALIAS = '  - name: RFCPort_STFC_CONNECTION\n    protocol: rfc\n    host: localhost\n    client: "100"\n'


def _synchronous_model(tmp_path: Path) -> Path:
    """The tRFC example with SendTXTRAW under ``delivery: synchronous`` and STFC_CONNECTION in a pool of its own."""
    text = (EXAMPLES / "trfc_client" / "model.yaml").read_text(encoding="utf-8")
    changed = text.replace("            input: SendTXTRAWRequest\n",
                           "            input: SendTXTRAWRequest\n            delivery: synchronous\n")  # fmt: skip
    start = changed.index(STFC_ALIAS)
    changed = changed[:start] + changed[start:].replace("language: EN", "language: DE", 1)  # another logon: own pool
    assert changed.count("delivery: synchronous") == 1 and "language: DE" in changed
    (tmp_path / "model.yaml").write_text(changed, encoding="utf-8")
    return tmp_path / "model.yaml"


@dataclass
class Served:
    sim: SimulatorProcess
    service: ServiceProcess
    state: Path
    model: Path

    def client(self) -> zeep.Client:
        return zeep.Client(self.service.wsdl_url(SERVICE))


@pytest.fixture
def served(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Served]:
    wait = getattr(request, "param", 5)
    model = _synchronous_model(tmp_path)
    generate(load_model(model).model, "model.yaml", tmp_path / "out")
    with SimulatorProcess(tmp_path / "sim") as sim:
        assert sim.info is not None
        settings = tmp_path / "settings.yaml"
        text = simulator_settings(ALIASES, sim.info, tmp_path / "state")
        settings.write_text(text.replace("server:\n", f"server:\n  synchronousWaitSeconds: {wait}\n"), encoding="utf-8")
        environment = {"SAP_PASSWORD": "idocbridge"}
        with ServiceProcess(tmp_path / "out", settings, tmp_path / "state", environment) as service:
            yield Served(sim, service, tmp_path / "state", model)


def _send(client: zeep.Client, text: str, message_id: str | None = None) -> Any:
    headers = {"_soapheaders": {"MessageId": message_id}} if message_id else {}
    return client.service.SendTXTRAW(senderPort="P", senderPartner="S", receiverPort="R", receiverPartner="Q",
                                     lines=[text], **headers)  # fmt: skip


def _wait_until(condition: Any, what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"{what} did not happen within {timeout:g} s"
        time.sleep(0.1)


def _tx(state: Path, *args: str) -> subprocess.CompletedProcess[str]:
    command = [str(Path(sys.executable).parent / "idocbridge"), "tx", *args, "--state", str(state)]
    return subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)


def test_a_synchronous_request_while_sap_is_down_answers_the_receipt_with_its_state(served: Served) -> None:
    client = served.client()
    served.sim.control.add_fault("refuse_connections", count=None)
    receipt = _send(client, "while SAP is down", "down-1")  # waits synchronousWaitSeconds (5), then answers
    assert receipt.state == "RETRY_WAIT" and receipt.tid in (None, "")  # accepted; no TID could be fetched yet
    assert len(receipt.transactionId) == 40
    (entry,) = [json.loads(line) for line in _tx(served.state, "list", "--json").stdout.splitlines()]
    assert (entry["transaction_id"], entry["state"]) == (receipt.transactionId, "RETRY_WAIT")
    served.sim.control.clear_faults()  # SAP is back: the outbox delivers it
    _wait_until(lambda: len(served.sim.control.idocs()) == 1, "the delivery after the outage")
    _wait_until(lambda: _send(client, "while SAP is down", "down-1").state == "CONFIRMED", "the confirm")
    again = _send(client, "while SAP is down", "down-1")
    assert again.transactionId == receipt.transactionId and len(again.tid) == 24
    assert len(served.sim.control.idocs()) == 1


def test_a_synchronous_request_sap_refuses_is_a_fault_with_its_tid_and_state(served: Served) -> None:
    client = served.client()
    served.sim.control.add_fault("abap_exception", function=IDOC, key="IDOC_LOCKED")
    with pytest.raises(zeep.exceptions.Fault) as refused:
        _send(client, "refused by SAP", "refused-1")
    assert refused.value.code == "soap:Server"
    assert "outbox state FAILED" in refused.value.message and "idocbridge tx retry" in refused.value.message
    assert refused.value.detail is not None
    info = refused.value.detail.find(f"{{{FAULT_NS}}}fault")
    assert info is not None
    detail = {etree.QName(child).localname: child.text for child in info}
    assert detail["state"] == "FAILED" and detail["key"] == "IDOC_LOCKED"
    tid = detail["tid"]
    assert tid is not None and len(tid) == 24
    assert detail["outboxTransactionId"] == detail["transactionId"]  # the first request created the entry
    retried = _tx(served.state, "retry", tid)  # the cause is fixed (the fault fired once): deliver with the TID
    assert retried.returncode == 0, retried.stderr
    _wait_until(lambda: len(served.sim.control.idocs(tid=tid)) == 1, "the delivery after tx retry")
    _wait_until(lambda: _send(client, "refused by SAP", "refused-1").state == "CONFIRMED", "the confirm")
    assert _send(client, "refused by SAP", "refused-1").tid == tid


MANY = 40


@pytest.mark.parametrize("served", [120], indirect=True)  # synchronousWaitSeconds: longer than SAP is held
def test_waiting_requests_hold_no_thread_and_other_operations_are_answered_meanwhile(served: Served) -> None:
    threads = blocking_threads(plan.size for plan in plan_pools(load_model(served.model).model))
    assert 2 * threads < MANY, f"the test needs many more waiting requests than the service's {threads} threads"
    served.sim.control.add_fault("delay", function=IDOC, seconds=25.0, count=None)  # SAP holds every IDoc
    clients = threading.local()

    def send(number: int) -> Any:
        if not hasattr(clients, "client"):
            clients.client = served.client()
        return _send(clients.client, f"held {number}", f"held-{number}")

    engine = create_engine_for(database_url_for_state(served.state))
    store = OutboxStore(engine)
    with ThreadPoolExecutor(MANY) as pool:
        answers: list[Future[Any]] = [pool.submit(send, number) for number in range(MANY)]
        _wait_until(lambda: sum(store.counts().values()) == MANY, f"all {MANY} requests reaching the outbox")
        stfc = served.client().service.TestSimpleTypes(requestText="meanwhile")  # another operation
        assert stfc.echoText == "meanwhile"
        assert [answer for answer in answers if answer.done()] == [], "a synchronous request ended before SAP did"
        served.sim.control.clear_faults()  # the held calls end after their delay; the rest go straight through
        receipts = [answer.result(timeout=300) for answer in answers]
    entries = {entry.message_id: entry for entry in store.list(limit=MANY)}
    engine.dispose()
    for number, receipt in enumerate(receipts):
        assert receipt.transactionId == entries[f"held-{number}"].transaction_id  # each its own receipt, no fault
    _wait_until(lambda: len(served.sim.control.idocs()) == MANY, f"{MANY} IDocs in SAP", timeout=300)
    assert len({idoc["tid"] for idoc in served.sim.control.idocs()}) == MANY
