"""IDoc packets through the SOAP frontend: concurrent requests share one TID, each answered with its position.

The example service runs as a real process against the simulator, its IDoc alias with ``idocPackets``;
zeep calls the served WSDL.
"""

from __future__ import annotations

import json
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import zeep

from idocbridge.generators.generate import generate
from idocbridge.models import load_model
from idocbridge.sapsim.testing import SimulatorProcess
from idocbridge.soap.app import _outbox_fault
from idocbridge.soap.testing import ServiceProcess, simulator_settings
from idocbridge.transactions import OutboxEntry, OutboxState
from tests.conftest import EXAMPLES

SERVICE = "saptRFCClientService"
ALIASES = ["RFCPort_IDOC_INBOUND_ASYNCHRONOUS", "RFCPort_STFC_CONNECTION"]
COUNT = 6


def _setup(tmp_path: Path, sim: SimulatorProcess) -> tuple[Path, Path]:
    generate(load_model(EXAMPLES / "trfc_client" / "model.yaml").model, "model.yaml", tmp_path / "out")
    assert sim.info is not None
    text = simulator_settings(ALIASES, sim.info, tmp_path / "state")
    name = f"  - name: {ALIASES[0]}\n"  # a wait long enough for all requests to join one packet
    text = text.replace(name, f"{name}    idocPackets: {{size: 50, maxWaitMs: 1500}}\n")
    settings = tmp_path / "settings.yaml"
    settings.write_text(text, encoding="utf-8")
    return tmp_path / "out", settings


def _idocbridge(*args: str) -> str:
    command = [str(Path(sys.executable).parent / "idocbridge"), *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=60, check=True).stdout


def test_concurrent_requests_share_a_packet_and_learn_its_tid_and_their_place(tmp_path: Path) -> None:
    with SimulatorProcess(tmp_path / "sim") as sim:
        out, settings = _setup(tmp_path, sim)
        with ServiceProcess(out, settings, tmp_path / "state", {"SAP_PASSWORD": "idocbridge"}) as service:
            url = service.wsdl_url(SERVICE)

            def send(number: int) -> Any:
                client = zeep.Client(url)
                return client.service.SendTXTRAW(senderPort="LEGACY", senderPartner="LEGACYSYS",
                                                 receiverPort="SAPSIM", receiverPartner="SIM100",
                                                 lines=[f"packed {number}"],
                                                 _soapheaders={"MessageId": f"packed-{number}"})  # fmt: skip

            with ThreadPoolExecutor(COUNT) as threads:
                receipts = list(threads.map(send, range(COUNT)))
        assert {receipt.state for receipt in receipts} == {"CONFIRMED"}
        (tid,) = {receipt.tid for receipt in receipts}
        assert sorted(receipt.packetPosition for receipt in receipts) == list(range(1, COUNT + 1))
        in_sap = sim.control.idocs(tid=tid, full=True)
        assert sorted(idoc["data"][0]["SDATA"] for idoc in in_sap) == sorted(f"packed {n}" for n in range(COUNT))
        state = str(tmp_path / "state")
        packet = json.loads(_idocbridge("tx", "show", tid, "--state", state))
        assert (packet["packet_size"], packet["state"], packet["operation"]) == (COUNT, "CONFIRMED", "(IDoc packet)")
        listed = [json.loads(line) for line in _idocbridge("tx", "list", "--json", "--state", state).splitlines()]
        idocs = [row for row in listed if row["packet_id"] == packet["id"]]
        assert sorted(row["packet_position"] for row in idocs) == list(range(1, COUNT + 1))
        assert {row["packet_tid"] for row in idocs} == {tid}
        logged = _idocbridge("log", "--correlation-id", tid, "--format", "json", "--state", state)
        requests = {json.loads(line)["transaction_id"] for line in logged.splitlines()}
        assert {receipt.transactionId for receipt in receipts} <= requests, "each request's log names the TID"


def _member(state: OutboxState, **fields: Any) -> OutboxEntry:
    now = datetime.now(UTC)
    values: dict[str, Any] = {
        "id": "e" * 32, "service": SERVICE, "operation": "SendTXTRAW", "alias": ALIASES[0],
        "function": "IDOC_INBOUND_ASYNCHRONOUS", "queue": None, "parameters": {}, "message_id": None,
        "transaction_id": "t" * 40, "tid": None, "state": state, "executed": False, "attempts": 0,
        "last_error": "refused", "last_error_key": "IDOC_REFUSED", "created_at": now, "updated_at": now,
        "next_attempt_at": None, "lease_owner": None, "lease_until": None, "receipt": None,
    }  # fmt: skip
    return OutboxEntry(**(values | fields))


def test_the_faults_of_an_idoc_in_a_packet_name_the_packets_tid() -> None:
    cancelled = _outbox_fault(_member(OutboxState.CANCELLED, packet_id="p" * 32, packet_tid="T" * 24))
    assert "T" * 24 in cancelled.reason and "do not send it again" in cancelled.reason, "SAP may hold the packet"
    failed = _outbox_fault(_member(OutboxState.FAILED, packet_id="p" * 32, packet_tid="T" * 24))
    assert f"idocbridge tx retry {'e' * 32}" in failed.reason, "retried by its own ID: alone, under a TID of its own"
