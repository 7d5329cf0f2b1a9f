"""Guaranteed delivery through the outbox: idempotent requests, SAP outages, a killed service, tx CLI."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
import zeep
from lxml import etree

import idocbridge.sapsim
from idocbridge.generators.generate import generate
from idocbridge.models import load_model
from idocbridge.sapsim.testing import SimulatorProcess
from idocbridge.soap.testing import ServiceProcess, simulator_settings
from tests.conftest import EXAMPLES
from tests.waiting import confirmed_receipt, wait_until

SERVICE = "saptRFCClientService"
ALIASES = ["RFCPort_IDOC_INBOUND_ASYNCHRONOUS", "RFCPort_STFC_CONNECTION"]
IDOC = "IDOC_INBOUND_ASYNCHRONOUS"


def _setup(tmp_path: Path, sim: SimulatorProcess) -> tuple[Path, Path]:
    generate(load_model(EXAMPLES / "trfc_client" / "model.yaml").model, "model.yaml", tmp_path / "out")
    assert sim.info is not None
    settings = tmp_path / "settings.yaml"
    text = simulator_settings(ALIASES, sim.info, tmp_path / "state").replace(
        "server:\n", "server:\n  outboxLeaseSeconds: 2\n"
    )
    settings.write_text(text, encoding="utf-8")
    return tmp_path / "out", settings


def _send(client: zeep.Client, text: str, message_id: str | None = None) -> object:
    headers = {"_soapheaders": {"MessageId": message_id}} if message_id else {}
    return client.service.SendTXTRAW(
        senderPort="P", senderPartner="S", receiverPort="R", receiverPartner="Q", lines=[text], **headers
    )


def _tx(state: Path, *args: str) -> subprocess.CompletedProcess[str]:
    command = [str(Path(sys.executable).parent / "idocbridge"), "tx", *args, "--state", str(state)]
    return subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)


def _with_tid(client: zeep.Client, text: str, message_id: str) -> Any:
    """The receipt of a request once it names its TID (sent again with its MessageId until then)."""

    def answer() -> Any:
        receipt = _send(client, text, message_id)
        return receipt if receipt.tid else None

    return wait_until(answer, what=f"the receipt of MessageId {message_id} naming its TID")


def _events(sim: SimulatorProcess, tid: str) -> list[str]:
    return [e["event"] for e in sim.control.events(tid)]


def _wait_confirmed(sim: SimulatorProcess, tid: str) -> list[str]:
    """The simulator's events of ``tid`` once it holds a CONFIRMED."""

    def confirmed() -> list[str]:
        events = _events(sim, tid)
        return events if "CONFIRMED" in events else []

    return wait_until(confirmed, what=f"SAP confirming TID {tid}")


def _shown(state: Path, entry_id: str) -> dict[str, Any]:
    shown: dict[str, Any] = json.loads(_tx(state, "show", entry_id).stdout)
    return shown


def _wait_entry(state: Path, entry_id: str, condition: Callable[[dict[str, Any]], bool], what: str) -> dict[str, Any]:
    """``tx show`` of the entry once ``condition`` holds for it."""

    def matching() -> dict[str, Any]:
        shown = _shown(state, entry_id)
        return shown if condition(shown) else {}

    return wait_until(matching, what=what)


def _operator(state: Path, command: str, entry_id: str) -> None:
    """Run ``tx retry|cancel`` until no worker holds the entry (between tries a worker holds it briefly)."""

    def done() -> bool:
        result = _tx(state, command, entry_id)
        assert result.returncode == 0 or "is being worked on by" in result.stderr, result.stderr
        return result.returncode == 0

    wait_until(done, what=f"tx {command} {entry_id} done once no worker holds the entry")


def test_a_repeated_message_id_starts_no_second_transaction(tmp_path: Path) -> None:
    with SimulatorProcess(tmp_path / "sim") as sim:
        out, settings = _setup(tmp_path, sim)
        with ServiceProcess(out, settings, tmp_path / "state", {"SAP_PASSWORD": "idocbridge"}) as service:
            client = zeep.Client(service.wsdl_url(SERVICE))
            first = confirmed_receipt(lambda message_id: _send(client, "once", message_id), "order-4711")
            again = _send(client, "once", "order-4711")  # a client retrying after a lost reply
            other = confirmed_receipt(lambda message_id: _send(client, "once", message_id), "order-4712")
        assert (again.tid, again.transactionId, again.state) == (first.tid, first.transactionId, "CONFIRMED")
        assert other.tid != first.tid
        (idoc,) = sim.control.idocs(tid=first.tid)
        assert len(sim.control.idocs()) == 2
        command = [str(Path(sys.executable).parent / "idocbridge"), "log", "trace", first.tid, "--format", "json",
                   "--state", str(tmp_path / "state"), "--simulator", str(tmp_path / "sim")]  # fmt: skip
        traced = subprocess.run(command, capture_output=True, text=True, timeout=60, check=True)
        (story,) = json.loads(traced.stdout)["transactions"]
        assert story["transaction_id"] == first.transactionId
        (number,) = story["idoc_numbers"]
        assert number.startswith(f"{idoc['docnum']} (status ")


def test_an_sap_outage_is_ridden_out_and_operators_see_it(tmp_path: Path) -> None:
    with SimulatorProcess(tmp_path / "sim") as sim:
        out, settings = _setup(tmp_path, sim)
        with ServiceProcess(out, settings, tmp_path / "state", {"SAP_PASSWORD": "idocbridge"}) as service:
            client = zeep.Client(service.wsdl_url(SERVICE))
            sim.control.add_fault("refuse_connections", count=None)
            receipt = _send(client, "during the outage")
            # accepted, not delivered: ACCEPTED if the first try has not ended within the reply's wait, else RETRY_WAIT
            assert receipt.state in ("ACCEPTED", "RETRY_WAIT") and receipt.tid is None  # SAP gave no TID
            listed = _tx(tmp_path / "state", "list", "--json")
            assert listed.returncode == 0, listed.stderr
            (entry,) = [json.loads(line) for line in listed.stdout.splitlines()]
            assert entry["transaction_id"] == receipt.transactionId
            state = tmp_path / "state"
            waiting = _wait_entry(state, entry["id"], lambda shown: shown["state"] == "RETRY_WAIT",
                                  "the first try failing while SAP refuses connections")  # fmt: skip
            assert waiting["attempts"] >= 1 and waiting["last_error"].startswith("cannot connect to wss://"), waiting
            _operator(state, "retry", entry["id"])  # SAP still down: tried again, back to waiting
            tried = waiting["attempts"]
            _wait_entry(state, entry["id"], lambda shown: shown["attempts"] > tried and shown["state"] == "RETRY_WAIT",
                        "the operator's retry trying and failing again")  # fmt: skip
            sim.control.clear_faults()  # SAP is back: the background retries finish the job
            (idoc,) = wait_until(sim.control.idocs, what="the IDoc delivered once SAP is back")
            assert _wait_confirmed(sim, idoc["tid"]) == ["EXECUTED", "CONFIRMED"]
            _wait_entry(state, entry["id"], lambda shown: shown["state"] == "CONFIRMED", "the outbox entry CONFIRMED")
            again = _tx(tmp_path / "state", "retry", idoc["tid"])  # nothing is ever submitted after confirm
            assert again.returncode == 1 and "CONFIRMED" in again.stderr and "Traceback" not in again.stderr


def test_a_service_killed_during_delivery_delivers_once_after_restart(tmp_path: Path) -> None:
    with SimulatorProcess(tmp_path / "sim") as sim:
        out, settings = _setup(tmp_path, sim)
        environment = {"SAP_PASSWORD": "idocbridge"}
        service = ServiceProcess(out, settings, tmp_path / "state", environment).start()
        client = zeep.Client(service.wsdl_url(SERVICE))
        sim.control.add_fault("delay", function=IDOC, seconds=6.0)
        receipt = _with_tid(client, "killed mid-flight", "kill-1")  # the TID is written ahead of the submit
        assert len(receipt.tid) == 24
        service.stop(signal.SIGKILL)  # dies while its call waits in SAP, which then drops it (the caller is gone)
        assert "EXECUTED" not in _events(sim, receipt.tid)
        with ServiceProcess(out, settings, tmp_path / "state", environment):
            events = _wait_confirmed(sim, receipt.tid)
        # the restarted service submits the same TID again; while SAP still holds the dead call, it answers BUSY
        answered = [event for event in events if event != "BUSY"]
        assert answered == ["EXECUTED", "CONFIRMED"]
        assert len(sim.control.idocs(tid=receipt.tid)) == 1


def test_tx_without_a_database_says_so(tmp_path: Path) -> None:
    result = _tx(tmp_path / "nothing", "list")
    assert result.returncode == 1
    nothing = tmp_path / "nothing"
    assert result.stderr == (f"error: no database at {nothing / 'runtime.db'}; is {nothing} the service's state "
                             "folder? A service creates its database when it starts.\n")  # fmt: skip


@pytest.mark.parametrize("command", ["retry", "cancel", "show"])
def test_tx_on_an_unknown_entry(tmp_path: Path, command: str) -> None:
    with SimulatorProcess(tmp_path / "sim") as sim:
        out, settings = _setup(tmp_path, sim)
        with ServiceProcess(out, settings, tmp_path / "state", {"SAP_PASSWORD": "idocbridge"}):
            result = _tx(tmp_path / "state", command, "no-such-entry")
    assert result.returncode == 1
    assert "no outbox entry with ID or TID no-such-entry" in result.stderr


RIGHT_PASSWORD = "Pw-7c1e9f-right!"
WRONG_PASSWORD = "Pw-3d5a0b-wrong!"


def _files_of(state: Path) -> bytes:
    return b"".join(path.read_bytes() for path in sorted(state.rglob("*")) if path.is_file())


def test_passwords_never_reach_the_log_the_outbox_or_an_error(tmp_path: Path) -> None:
    config = tmp_path / "simulator.yaml"
    default = (Path(idocbridge.sapsim.__file__).parent / "default_config.yaml").read_text(encoding="utf-8")
    config.write_text(default.replace("password: idocbridge", f"password: {RIGHT_PASSWORD}"), encoding="utf-8")
    with SimulatorProcess(tmp_path / "sim", config=config) as sim:
        out, settings = _setup(tmp_path, sim)
        state = tmp_path / "state"
        with ServiceProcess(out, settings, state, {"SAP_PASSWORD": WRONG_PASSWORD}) as service:
            client = zeep.Client(service.wsdl_url(SERVICE))
            _send(client, "wrong password")  # accepted; the logon fails and is retried
            refused = _wait_entry(state, _only_id(state), lambda shown: shown["attempts"] >= 1,
                                  "the logon failure reaching the outbox")  # fmt: skip
        with ServiceProcess(out, settings, state, {"SAP_PASSWORD": RIGHT_PASSWORD}) as service:
            client = zeep.Client(service.wsdl_url(SERVICE))
            delivered = confirmed_receipt(lambda message_id: _send(client, "right password", message_id))
            assert _wait_confirmed(sim, delivered.tid)[-1] == "CONFIRMED"
            wait_until(lambda: len(sim.control.idocs()) == 2, what="the refused one, retried with the right password")
        shown = _tx(state, "show", _only_id(state)).stdout
        listed = _tx(state, "list", "--json").stdout
        command = [str(Path(sys.executable).parent / "idocbridge"), "log", "--state", str(state), "--format", "json"]
        log = subprocess.run(command, capture_output=True, text=True, timeout=60, check=True).stdout
        assert len(sim.control.idocs()) == 2  # the refused one went through once the password was right
    assert refused["state"] == "RETRY_WAIT" and "logon" in refused["last_error"].lower()
    for password in (RIGHT_PASSWORD, WRONG_PASSWORD):
        assert password.encode() not in _files_of(state)  # the database (and its WAL) and serve.log
        assert password not in shown + listed + log


def _only_id(state: Path) -> str:
    rows = [json.loads(line) for line in _tx(state, "list", "--json").stdout.splitlines() if line.strip()]
    return str(sorted(rows, key=lambda row: row["created_at"])[0]["id"])


def test_a_delivery_slower_than_its_lease_is_not_taken_over(tmp_path: Path) -> None:
    with SimulatorProcess(tmp_path / "sim") as sim:
        out, settings = _setup(tmp_path, sim)  # outboxLeaseSeconds: 2
        with ServiceProcess(out, settings, tmp_path / "state", {"SAP_PASSWORD": "idocbridge"}) as service:
            client = zeep.Client(service.wsdl_url(SERVICE))
            sim.control.add_fault("delay", function=IDOC, seconds=5.0)
            receipt = _with_tid(client, "slow SAP", "slow-1")
            events = _wait_confirmed(sim, receipt.tid)
        # without the lease's heartbeat, the next poll would claim the entry again and submit a second time
        assert events == ["EXECUTED", "CONFIRMED"]


def test_a_cancelled_request_sent_again_gets_a_fault_not_a_receipt(tmp_path: Path) -> None:
    with SimulatorProcess(tmp_path / "sim") as sim:
        out, settings = _setup(tmp_path, sim)
        with ServiceProcess(out, settings, tmp_path / "state", {"SAP_PASSWORD": "idocbridge"}) as service:
            client = zeep.Client(service.wsdl_url(SERVICE))
            sim.control.add_fault("refuse_connections", count=None)
            receipt = _send(client, "never mind", "order-4799")
            assert receipt.tid is None  # SAP was never reached: no TID, so it may be cancelled
            _operator(tmp_path / "state", "cancel", _only_id(tmp_path / "state"))
            with pytest.raises(zeep.exceptions.Fault, match="cancelled by an operator"):
                _send(client, "never mind", "order-4799")
        assert sim.control.idocs() == []


def test_direct_delivery_confirms_in_the_request_without_the_outbox(tmp_path: Path) -> None:
    model_text = (EXAMPLES / "trfc_client" / "model.yaml").read_text(encoding="utf-8")
    direct = model_text.replace("            input: SendTXTRAWRequest\n", "            input: SendTXTRAWRequest\n"
                                "            delivery: direct\n")  # fmt: skip
    assert direct != model_text
    (tmp_path / "model.yaml").write_text(direct, encoding="utf-8")
    with SimulatorProcess(tmp_path / "sim") as sim:
        assert sim.info is not None
        generate(load_model(tmp_path / "model.yaml").model, "model.yaml", tmp_path / "out")
        settings = tmp_path / "settings.yaml"
        settings.write_text(simulator_settings(ALIASES, sim.info, tmp_path / "state"), encoding="utf-8")
        with ServiceProcess(tmp_path / "out", settings, tmp_path / "state", {"SAP_PASSWORD": "idocbridge"}) as service:
            client = zeep.Client(service.wsdl_url(SERVICE))
            receipt = _send(client, "directly")
            assert receipt.state == "CONFIRMED"
            assert [e["event"] for e in sim.control.events(receipt.tid)] == ["EXECUTED", "CONFIRMED"]
            wsdl = httpx.get(service.wsdl_url(SERVICE), timeout=10).text
            assert wsdl.count("tns:MessageIdHeader") == 2, "the header is offered on SendAnyIDoc alone (1.1, 1.2)"
            header = etree.Element(f"{{urn:tRFCClientExample:{SERVICE}}}MessageId")
            header.text = "order-4800"  # sent although the WSDL does not offer it
            with pytest.raises(zeep.exceptions.Fault, match=r"\(delivery: direct\), so it cannot honour a MessageId"):
                client.service.SendTXTRAW(senderPort="P", senderPartner="S", receiverPort="R", receiverPartner="Q",
                                          lines=["directly"], _soapheaders=[header])  # fmt: skip
        listed = _tx(tmp_path / "state", "list", "--json")
        assert listed.returncode == 0 and listed.stdout.strip() == "", "direct delivery writes no outbox entry"
        assert len(sim.control.idocs()) == 1, "the refused request reached nothing"
