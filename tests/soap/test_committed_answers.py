"""Once a request is committed to the outbox, every answer is its receipt or a fault naming its entry.

The app runs in this process (so that its wait can be broken on purpose) against the simulator process.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from lxml import etree

from idocbridge.generators.generate import generate
from idocbridge.models import load_model
from idocbridge.sapsim.testing import SimulatorProcess
from idocbridge.soap.app import create_app
from idocbridge.soap.deployment import load_deployment_folder
from idocbridge.soap.testing import simulator_settings
from idocbridge.transactions.outbox import Outbox
from idocbridge.transactions.tables import OutboxEntry
from tests.conftest import EXAMPLES

SERVICE = "saptRFCClientService"
NS = f"urn:tRFCClientExample:{SERVICE}"
ALIASES = ["RFCPort_IDOC_INBOUND_ASYNCHRONOUS", "RFCPort_STFC_CONNECTION"]
TID = "0A1B2C3D4E5F60718293A4B5"
ENVELOPE = (
    f'<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" xmlns:t="{NS}"><s:Body><t:SendTXTRAW>'
    "<t:senderPort>P</t:senderPort><t:senderPartner>S</t:senderPartner><t:receiverPort>R</t:receiverPort>"
    "<t:receiverPartner>Q</t:receiverPartner><t:lines>committed</t:lines></t:SendTXTRAW></s:Body></s:Envelope>"
).encode()


def test_an_error_while_waiting_answers_the_receipt_as_it_stands(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    generate(load_model(EXAMPLES / "trfc_client" / "model.yaml").model, "model.yaml", tmp_path / "out")
    with SimulatorProcess(tmp_path / "sim") as sim:
        assert sim.info is not None
        settings = tmp_path / "settings.yaml"
        settings.write_text(simulator_settings(ALIASES, sim.info, tmp_path / "state"), encoding="utf-8")
        deployment = load_deployment_folder(tmp_path / "out", settings, {"SAP_PASSWORD": "idocbridge"})
        store = deployment.outbox.store  # the worker is not started: only this test moves the entry

        async def broken_wait(self: Outbox, entry: OutboxEntry, timeout: float, executor: object = None) -> OutboxEntry:
            assert store.claim_one(entry.id, "elsewhere", datetime.now(UTC), timedelta(seconds=60)) is not None
            store.assign_tid(entry.id, "elsewhere", TID)  # the entry moved on meanwhile ...
            raise ConnectionResetError("the database connection broke")  # ... and then the wait failed

        monkeypatch.setattr(Outbox, "wait_for", broken_wait)

        async def post() -> httpx.Response:
            transport = httpx.ASGITransport(app=create_app(deployment))
            async with httpx.AsyncClient(transport=transport, base_url="http://service") as client:
                return await client.post(f"/{SERVICE}", content=ENVELOPE, headers={"Content-Type": "text/xml"})

        try:
            response = asyncio.run(post())
            (entry,) = store.list()
        finally:
            deployment.close()
    assert response.status_code == 200, response.text
    answer = etree.fromstring(response.content)
    receipt = {name: answer.findtext(f".//{{{NS}}}{name}") for name in ("transactionId", "tid", "state")}
    assert receipt == {"transactionId": entry.transaction_id, "tid": TID, "state": "TID_ASSIGNED"}  # read again


HOOKS = """
from idocbridge.soap.faults import SoapFault

from .service import DeliveryReceipt, SaptRFCClientServiceBase, SendTXTRAWRequest


class Service(SaptRFCClientServiceBase):
    def SendTXTRAW(self, request: SendTXTRAWRequest) -> DeliveryReceipt:
        super().SendTXTRAW(request)  # committed to the outbox
        raise SoapFault("a check after super() refused it")
"""


def test_a_fault_after_the_commit_names_the_entry_and_warns_against_a_blind_resend(tmp_path: Path) -> None:
    generate(load_model(EXAMPLES / "trfc_client" / "model.yaml").model, "model.yaml", tmp_path / "out")
    (tmp_path / "out" / SERVICE / "hooks.py").write_text(HOOKS, encoding="utf-8")
    with SimulatorProcess(tmp_path / "sim") as sim:
        assert sim.info is not None
        settings = tmp_path / "settings.yaml"
        settings.write_text(simulator_settings(ALIASES, sim.info, tmp_path / "state"), encoding="utf-8")
        deployment = load_deployment_folder(tmp_path / "out", settings, {"SAP_PASSWORD": "idocbridge"})

        async def post() -> httpx.Response:
            transport = httpx.ASGITransport(app=create_app(deployment))
            async with httpx.AsyncClient(transport=transport, base_url="http://service") as client:
                return await client.post(f"/{SERVICE}", content=ENVELOPE, headers={"Content-Type": "text/xml"})

        try:
            response = asyncio.run(post())
            (entry,) = deployment.outbox.store.list()
        finally:
            deployment.close()
    answer = etree.fromstring(response.content)
    reason = answer.findtext(".//faultstring") or ""
    assert reason.startswith("a check after super() refused it; the request was committed to the outbox")
    assert "do not send it again without its MessageId" in reason
    detail = {
        etree.QName(child).localname: child.text for child in answer.iterfind(".//{urn:idocbridge:fault:1}fault/*")
    }
    assert (detail["outboxTransactionId"], detail["state"]) == (entry.transaction_id, "ACCEPTED")
