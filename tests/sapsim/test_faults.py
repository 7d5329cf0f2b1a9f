"""Fault injection through the control API: each kind fails the way it says, and seeds reproduce."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from idocbridge.connectors import ABAPApplicationError, CommunicationError, LogonError, TransactionBusyError
from idocbridge.sapsim.control_client import ControlError
from idocbridge.sapsim.testing import SimulatorProcess, txtraw

IDOC = "IDOC_INBOUND_ASYNCHRONOUS"


def test_refused_logons(sim: SimulatorProcess) -> None:
    sim.control.add_fault("refuse_logon", count=2)
    for _ in range(2):
        with pytest.raises(LogonError, match="fault injection"):
            sim.connector().open()
    with sim.connector() as sap:
        sap.ping()


def test_refused_connections(sim: SimulatorProcess) -> None:
    sim.control.add_fault("refuse_connections")
    with pytest.raises(CommunicationError, match="503"):
        sim.connector().open()
    with sim.connector() as sap:
        sap.ping()


def test_communication_errors_for_the_next_calls(sim: SimulatorProcess) -> None:
    sim.control.add_fault("communication_error", count=2, function="STFC_CONNECTION")
    with sim.connector() as sap:
        for _ in range(2):
            with pytest.raises(CommunicationError):
                sap.call("STFC_CONNECTION", {"REQUTEXT": "x"})
        assert sap.call("STFC_CONNECTION", {"REQUTEXT": "x"})["ECHOTEXT"] == "x"


def test_abap_exceptions_roll_back_and_a_retry_executes(sim: SimulatorProcess) -> None:
    sim.control.add_fault("abap_exception", function=IDOC, key="IDOC_LOCKED", message="IDoc table locked")
    with sim.connector() as sap:
        tid = sap.get_transaction_id()
        with pytest.raises(ABAPApplicationError) as raised:
            sap.submit_transaction(tid, IDOC, txtraw("locked"))
        assert (raised.value.key, raised.value.message, raised.value.retryable) == (
            "IDOC_LOCKED",
            "IDoc table locked",
            False,
        )
        assert sim.control.idocs() == [] and sim.control.tids() == []
        sap.submit_transaction(tid, IDOC, txtraw("locked"))
    assert [e["event"] for e in sim.control.events(tid)] == ["ROLLED_BACK", "EXECUTED"]


def test_delays(sim: SimulatorProcess) -> None:
    sim.control.add_fault("delay", function="RFC_PING", seconds=0.5)
    with sim.connector() as sap:
        started = time.monotonic()
        sap.ping()
        assert time.monotonic() - started >= 0.5


def test_posting_errors_give_status_51(sim: SimulatorProcess) -> None:
    sim.control.add_fault("posting_error", function="TXTRAW", message="Material 4711 does not exist")
    with sim.connector() as sap:
        sap.submit_transaction(sap.get_transaction_id(), IDOC, txtraw("not posted"))
    (idoc,) = sim.control.idocs()
    assert [s["status"] for s in idoc["statuses"]] == ["50", "64", "62", "51"]
    assert idoc["statuses"][-1]["text"] == "Material 4711 does not exist"


def test_bad_fault_settings_are_refused(sim: SimulatorProcess) -> None:
    with pytest.raises(ControlError, match="unknown fault kind 'explode'"):
        sim.control.add_fault("explode")
    with pytest.raises(ControlError, match="unknown fault setting"):
        sim.control.add_fault("delay", secs=1)
    with pytest.raises(ControlError, match="probability"):
        sim.control.add_fault("delay", probability=2)


def _pattern(sim: SimulatorProcess, calls: int) -> list[bool]:
    outcome = []
    sap = sim.connector()
    for _ in range(calls):
        try:
            sap.call("STFC_CONNECTION", {"REQUTEXT": "x"})
            outcome.append(True)
        except CommunicationError:
            outcome.append(False)
    sap.close()
    return outcome


def test_faults_with_a_probability_repeat_with_the_same_seed(tmp_path: Path) -> None:
    patterns = []
    for run in range(2):
        with SimulatorProcess(tmp_path / f"run{run}", seed=42) as sim:
            sim.control.add_fault("communication_error", count=None, probability=0.5, function="STFC_CONNECTION")
            patterns.append(_pattern(sim, 24))
    assert patterns[0] == patterns[1]
    assert 0 < patterns[0].count(False) < 24


def test_a_dropped_confirm_leaves_the_tid_known_and_a_repeated_confirm_forgets_it(sim: SimulatorProcess) -> None:
    sim.control.add_fault("drop_on_confirm", function=IDOC)
    with sim.connector() as sap:
        ping_tid = sap.get_transaction_id()
        sap.submit_transaction(ping_tid, "RFC_PING", {})
        sap.confirm_transaction(ping_tid)  # another function's TID: the fault waits for an IDoc's confirm
        tid = sap.get_transaction_id()
        sap.submit_transaction(tid, IDOC, txtraw("confirm lost"))
        with pytest.raises(CommunicationError, match="broke"):
            sap.confirm_transaction(tid)
    assert [t["tid"] for t in sim.control.tids()] == [tid], "the TID was not forgotten"
    assert sim.control.command("faults.list") == []
    with sim.connector() as sap:
        sap.confirm_transaction(tid)
    assert sim.control.tids() == []
    assert [e["event"] for e in sim.control.events(tid)] == ["EXECUTED", "CONFIRMED"]


def test_a_delay_longer_than_the_client_timeout_is_a_hung_call_abandoned_when_the_client_hangs_up(
    sim: SimulatorProcess,
) -> None:
    sim.control.add_fault("delay", function=IDOC, seconds=600)
    sap = sim.connector(timeout=1.0)
    try:
        tid = sap.get_transaction_id()
        with pytest.raises(CommunicationError, match="broke"):
            sap.submit_transaction(tid, IDOC, txtraw("hung"))
    finally:
        sap.close()
    deadline = time.monotonic() + 20
    with sim.connector() as other:  # the hung call ended with its connection: the same TID runs now
        while True:
            try:
                other.submit_transaction(tid, IDOC, txtraw("hung"))
                break
            except TransactionBusyError:
                assert time.monotonic() < deadline, "the hung call still holds its TID"
                time.sleep(0.2)
    assert [e["event"] for e in sim.control.events(tid)][-1] == "EXECUTED"
    assert len(sim.control.idocs(tid=tid)) == 1
