"""/health/live, /health/ready and /metrics of the served example, as probes and Prometheus read them."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import zeep
from prometheus_client.parser import text_string_to_metric_families

from idocbridge.db import create_engine_for
from idocbridge.db.migrate import head_revision
from idocbridge.sapsim.testing import SimulatorProcess
from idocbridge.soap.testing import ServiceProcess
from idocbridge.transactions import OutboxStore
from idocbridge.transactions.tables import NewEntry
from tests.soap.example_service import ALIASES, SERVICE, served_example
from tests.waiting import confirmed_receipt, wait_until

Served = tuple[SimulatorProcess, ServiceProcess, Path]


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    root = tmp_path_factory.mktemp("health")
    with served_example(root) as (sim, service):
        yield sim, service, root / "state"


def _metrics(service: ServiceProcess) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of /metrics by (name, sorted labels)."""
    response = httpx.get(f"{service.url}/metrics", timeout=30)
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
    return {(sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(response.text) for sample in family.samples}  # fmt: skip


def test_live_answers_ok_as_health_always_did(served: Served) -> None:
    _, service, _ = served
    for path in ("/health", "/health/live"):
        response = httpx.get(f"{service.url}{path}", timeout=30)
        assert (response.status_code, response.json()) == (200, {"status": "ok"})


def test_ready_checks_the_database_the_migrations_and_names_each_alias_circuit(served: Served) -> None:
    _, service, _ = served
    response = httpx.get(f"{service.url}/health/ready", timeout=30)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "ok"
    assert body["checks"]["database"] == {"status": "ok"}
    assert body["checks"]["migrations"] == {"status": "ok", "current": head_revision()}
    assert body["checks"]["sap"] == {"status": "ok", "circuits": dict.fromkeys(ALIASES, "closed")}


def test_ready_is_503_while_the_database_cannot_be_written(served: Served) -> None:
    _, service, state = served
    holder = sqlite3.connect(state / "runtime.db", timeout=30, isolation_level=None)
    try:
        holder.execute("BEGIN IMMEDIATE")  # another writer holds SQLite's write lock
        response = httpx.get(f"{service.url}/health/ready", timeout=60)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert response.status_code == 503
    assert response.json()["status"] == "fail"
    assert response.json()["checks"]["database"]["status"] == "fail"
    assert httpx.get(f"{service.url}/health/ready", timeout=30).status_code == 200  # free again


def test_metrics_count_requests_by_operation_and_outcome_and_read_the_runtime(served: Served) -> None:
    sim, service, _ = served
    client = zeep.Client(service.wsdl_url(SERVICE))
    before = _metrics(service)
    client.service.TestSimpleTypes(requestText="counted")
    with pytest.raises(zeep.exceptions.Fault):
        client.service.TestSimpleTypes(requestText="x" * 256)
    not_soap = httpx.post(f"{service.url}/{SERVICE}", content=b"{}", headers={"Content-Type": "application/json"})
    assert not_soap.status_code == 415
    receipt = confirmed_receipt(lambda message_id: client.service.SendTXTRAW(
        senderPort="LEGACY", senderPartner="METRICS", receiverPort="SAPSIM", receiverPartner="SIM100",
        lines=["counted"], _soapheaders={"MessageId": message_id}))  # fmt: skip
    assert sim.control.idocs(tid=receipt.tid)
    after = _metrics(service)

    def grew(name: str, **labels: str) -> float:
        key = (name, tuple(sorted(labels.items())))
        return after.get(key, 0.0) - before.get(key, 0.0)

    requests = "idocbridge_requests_total"
    assert grew(requests, service=SERVICE, operation="TestSimpleTypes", outcome="ok") == 1
    assert grew(requests, service=SERVICE, operation="TestSimpleTypes", outcome="client") == 1
    assert grew(requests, service=SERVICE, operation="-", outcome="refused") == 1
    assert grew(requests, service=SERVICE, operation="SendTXTRAW", outcome="ok") >= 1
    assert grew("idocbridge_request_duration_seconds_count", service=SERVICE, operation="TestSimpleTypes") == 2
    assert after[("idocbridge_outbox_entries", (("state", "CONFIRMED"),))] >= 1
    assert after[("idocbridge_outbox_entries", (("state", "FAILED"),))] == 0
    for alias in ALIASES:
        assert after[("idocbridge_circuit_open", (("alias", alias),))] == 0
        assert after[("idocbridge_pool_connections", (("alias", alias), ("kind", "size")))] >= 1
        assert ("idocbridge_pool_waits_total", (("alias", alias),)) in after
    written = ("idocbridge_log_entries_total", (("outcome", "written"),))
    wait_until(lambda: _metrics(service)[written] > before.get(written, 0.0), what="the requests' log entries written")
    assert after[("idocbridge_log_entries_total", (("outcome", "dropped"),))] == 0


def test_the_oldest_unconfirmed_tid_shows_its_age_until_sap_confirms_it(served: Served) -> None:
    sim, service, _ = served
    client = zeep.Client(service.wsdl_url(SERVICE))
    key = ("idocbridge_outbox_oldest_unconfirmed_seconds", (("alias", "RFCPort_IDOC_INBOUND_ASYNCHRONOUS"),))
    assert key not in _metrics(service)  # every earlier IDoc is confirmed
    sim.control.add_fault("delay", function="IDOC_INBOUND_ASYNCHRONOUS", seconds=6.0)
    try:
        receipt = client.service.SendTXTRAW(senderPort="LEGACY", senderPartner="WAITING", receiverPort="SAPSIM",
                                            receiverPartner="SIM100", lines=["waits"],
                                            _soapheaders={"MessageId": "metrics-waiting"})  # fmt: skip
        age = wait_until(lambda: _metrics(service).get(key), what="the age of the TID SAP is still working on")
        assert age >= 0 and receipt.state != "CONFIRMED"
    finally:
        sim.control.reset()
    wait_until(lambda: key not in _metrics(service), what="no unconfirmed TID once SAP confirmed it")


def test_entries_of_an_alias_the_model_does_not_have_are_counted_until_cancelled(served: Served) -> None:
    """An entry accepted for an alias since removed from the model waits for an instance that has the alias:
    this one does not deliver it, and says how many such entries wait, per alias."""
    _, service, state = served
    key = ("idocbridge_outbox_unserved_entries", (("alias", "RFCPort_RETIRED"),))
    assert key not in _metrics(service)
    engine = create_engine_for(f"sqlite:///{state / 'runtime.db'}", must_exist=True)
    try:
        store = OutboxStore(engine)  # as an older model's instance accepted it
        entry = NewEntry(service=SERVICE, operation="SendTXTRAW", alias="RFCPort_RETIRED",
                         function="IDOC_INBOUND_ASYNCHRONOUS", parameters={"IDOC_CONTROL_REC_40": []},
                         transaction_id="0000000182469dcd0001612899fea700e3d869ab")  # fmt: skip
        entry_id = store.accept(entry).entry.id
        assert _metrics(service)[key] == 1
        store.cancel(entry_id)
        assert key not in _metrics(service)
    finally:
        engine.dispose()


def test_ready_answers_while_every_request_thread_waits_for_sap(served: Served) -> None:
    sim, service, _ = served
    client = zeep.Client(service.wsdl_url(SERVICE))
    sim.control.add_fault("delay", function="STFC_CONNECTION", seconds=8.0)
    answered: list[str] = []

    def slow() -> None:
        try:
            answered.append(client.service.TestSimpleTypes(requestText="slow").echoText)
        except Exception as exc:  # a busy answer (503) is an answer too
            answered.append(type(exc).__name__)

    callers = [threading.Thread(target=slow) for _ in range(24)]  # more than the request threads
    try:
        for caller in callers:
            caller.start()
        wait_until(lambda: sim.control.calls("STFC_CONNECTION") >= 1, what="the slow calls under way")
        ready = httpx.get(f"{service.url}/health/ready", timeout=30)
        assert ready.status_code == 200, ready.text  # busy with SAP is not unready
    finally:
        for caller in callers:
            caller.join(120)
        sim.control.reset()
    assert len(answered) == len(callers)
