"""tRFC against the simulator process: exactly once, across drops, restarts and concurrency."""

from __future__ import annotations

import threading

import pytest

from idocbridge.connectors import CommunicationError, TransactionBusyError
from idocbridge.sapsim.testing import SimulatorProcess, txtraw
from tests.waiting import wait_until

IDOC = "IDOC_INBOUND_ASYNCHRONOUS"


def _events(sim: SimulatorProcess, tid: str) -> list[str]:
    return [event["event"] for event in sim.control.events(tid)]


def test_tids_are_24_hex_characters_and_unique(sim: SimulatorProcess) -> None:
    with sim.connector() as sap:
        tids = {sap.get_transaction_id() for _ in range(50)}
    assert len(tids) == 50
    assert all(len(tid) == 24 and tid == tid.upper() and int(tid, 16) >= 0 for tid in tids)


def test_the_same_tid_submitted_twice_executes_once(sim: SimulatorProcess) -> None:
    with sim.connector() as first, sim.connector() as second:
        tid = first.get_transaction_id()
        first.submit_transaction(tid, IDOC, txtraw("once"))
        first.submit_transaction(tid, IDOC, txtraw("once"))
        second.submit_transaction(tid, IDOC, txtraw("once"))
    idocs = sim.control.idocs()
    assert [(idoc["tid"], idoc["status"]) for idoc in idocs] == [(tid, "53")]
    assert _events(sim, tid) == ["EXECUTED", "SKIPPED", "SKIPPED"]


def test_a_drop_after_execution_then_a_retry_with_the_same_tid_leaves_one_idoc(sim: SimulatorProcess) -> None:
    sim.control.add_fault("drop_after", function=IDOC)
    with sim.connector() as sap:
        tid = sap.get_transaction_id()
        with pytest.raises(CommunicationError) as raised:
            sap.submit_transaction(tid, IDOC, txtraw("dropped after"))
        assert raised.value.retryable and raised.value.tid == tid
        assert not sap.is_open
        sap.open()
        sap.submit_transaction(tid, IDOC, txtraw("dropped after"))
        sap.confirm_transaction(tid)
    assert len(sim.control.idocs(tid=tid)) == 1
    assert _events(sim, tid) == ["EXECUTED", "SKIPPED", "CONFIRMED"]


def test_a_drop_before_execution_then_a_retry_executes_once(sim: SimulatorProcess) -> None:
    sim.control.add_fault("drop_before", function=IDOC)
    with sim.connector() as sap:
        tid = sap.get_transaction_id()
        with pytest.raises(CommunicationError):
            sap.submit_transaction(tid, IDOC, txtraw("dropped before"))
        assert sim.control.idocs() == []
        sap.submit_transaction(tid, IDOC, txtraw("dropped before"))
    assert len(sim.control.idocs(tid=tid)) == 1
    assert _events(sim, tid) == ["EXECUTED"]


def test_confirm_forgets_the_tid_and_may_be_repeated(sim: SimulatorProcess) -> None:
    with sim.connector() as sap:
        tid = sap.get_transaction_id()
        sap.submit_transaction(tid, IDOC, txtraw("confirmed"))
        assert [row["tid"] for row in sim.control.tids()] == [tid]
        sap.confirm_transaction(tid)
        sap.confirm_transaction(tid)
        assert sim.control.tids() == []
        # SAP forgot the TID: a client that submits after confirm runs the call again. Never do that.
        sap.submit_transaction(tid, IDOC, txtraw("confirmed"))
    assert len(sim.control.idocs(tid=tid)) == 2
    assert _events(sim, tid) == ["EXECUTED", "CONFIRMED", "CONFIRMED_UNKNOWN", "EXECUTED"]


def _wait_delayed(sim: SimulatorProcess) -> None:
    """Until a call took the armed delay fault: it sits in its delay, inside its TID and queue."""
    wait_until(lambda: sim.control.command("faults.list") == [], what="a call taking the delay fault")


def test_a_tid_in_process_elsewhere_is_a_temporary_failure(sim: SimulatorProcess) -> None:
    sim.control.add_fault("delay", function=IDOC, seconds=5.0)
    with sim.connector() as sap:
        tid = sap.get_transaction_id()

    def slow_submit() -> None:
        with sim.connector() as sap:
            sap.submit_transaction(tid, IDOC, txtraw("slow"))

    worker = threading.Thread(target=slow_submit)
    with sim.connector() as other:
        worker.start()
        _wait_delayed(sim)  # the first submit now sits in its 5-second delay, holding the TID
        with pytest.raises(TransactionBusyError) as raised:
            other.submit_transaction(tid, IDOC, txtraw("slow"))
        worker.join()
        other.submit_transaction(tid, IDOC, txtraw("slow"))
    assert raised.value.retryable and raised.value.tid == tid
    assert len(sim.control.idocs(tid=tid)) == 1
    assert _events(sim, tid) == ["BUSY", "EXECUTED", "SKIPPED"]


def test_qrfc_calls_of_one_queue_execute_in_order(sim: SimulatorProcess) -> None:
    sim.control.add_fault("delay", function=IDOC, seconds=0.8)
    with sim.connector() as sap:
        first, second, third = (sap.get_transaction_id() for _ in range(3))

    def submit(tid: str, text: str) -> None:
        with sim.connector() as sap:
            sap.submit_transaction(tid, IDOC, txtraw(text), queue="ORDERS_Q")

    slow = threading.Thread(target=submit, args=(first, "first (slow)"))
    slow.start()
    _wait_delayed(sim)  # the first call is running (delayed) when the others arrive
    submit(second, "second")
    submit(third, "third")
    slow.join()
    log = sim.control.command("inspect.queue", queue="ORDERS_Q")
    assert [entry["tid"] for entry in log] == [first, second, third]


def test_state_survives_a_restart_between_submit_and_confirm(tmp_path: object) -> None:
    from pathlib import Path

    assert isinstance(tmp_path, Path)
    with SimulatorProcess(tmp_path / "sim") as sim:
        with sim.connector() as sap:
            tid = sap.get_transaction_id()
            sap.submit_transaction(tid, IDOC, txtraw("before restart"))
        docnums = [idoc["docnum"] for idoc in sim.control.idocs()]
        sim.restart()
        assert [row["tid"] for row in sim.control.tids()] == [tid]
        with sim.connector() as sap:
            sap.submit_transaction(tid, IDOC, txtraw("before restart"))
            sap.confirm_transaction(tid)
        assert [idoc["docnum"] for idoc in sim.control.idocs()] == docnums
        sim.kill()  # a crash, not a clean stop
        sim.start()
        assert sim.control.tids() == []
        assert _events(sim, tid) == ["EXECUTED", "SKIPPED", "CONFIRMED"]
        with sim.connector() as sap:
            sap.submit_transaction(sap.get_transaction_id(), IDOC, txtraw("after crash"))
        numbers = [idoc["docnum"] for idoc in sim.control.idocs()]
        assert numbers == [docnums[0], f"{int(docnums[0]) + 1:016d}"]
