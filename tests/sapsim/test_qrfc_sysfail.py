"""Inbound qRFC as SAP does it: a failing call stops its queue (SYSFAIL) until it is restarted or deleted."""

from __future__ import annotations

from typing import Any

import pytest

from idocbridge.connectors import ABAPApplicationError
from idocbridge.connectors.simulator import SimulatorConnector
from idocbridge.sapsim.control_client import ControlError
from idocbridge.sapsim.testing import SimulatorProcess, txtraw

IDOC = "IDOC_INBOUND_ASYNCHRONOUS"
IN_QUEUE = "IDOC_INBOUND_IN_QUEUE"
QUEUE = "ORDERS_Q"


def _texts(sim: SimulatorProcess) -> list[str]:
    """The first segment's text of every IDoc, in DOCNUM order."""
    return [sim.control.command("inspect.idoc", docnum=i["docnum"])["data"][0]["SDATA"] for i in sim.control.idocs()]


def _queue(sim: SimulatorProcess, queue: str = QUEUE) -> list[tuple[str, str]]:
    return [(row["tid"], row["state"]) for row in sim.control.command("inspect.queue", queue=queue)]


def _events(sim: SimulatorProcess, tid: str) -> list[str]:
    return [event["event"] for event in sim.control.events(tid)]


def _in_queue(text: str, qname: str = QUEUE) -> dict[str, Any]:
    """IDOC_INBOUND_IN_QUEUE parameters for one TXTRAW01 IDoc."""
    records = txtraw(text)
    return {"QNAME": qname, "IDOC_CONTROL_REC_40": records["IDOC_CONTROL_REC_40"],
            "IDOC_DATA_QUEUE": records["IDOC_DATA_REC_40"]}  # fmt: skip


def _stopped_queue(sim: SimulatorProcess, sap: SimulatorConnector) -> list[str]:
    """Three calls of QUEUE: the first fails (SYSFAIL), the other two are stored behind it."""
    sim.control.add_fault("abap_exception", function=IDOC, key="DOCUMENT_LOCKED", message="order 4711 locked")
    tids = [sap.get_transaction_id() for _ in range(3)]
    with pytest.raises(ABAPApplicationError, match="order 4711 locked"):
        sap.submit_transaction(tids[0], IDOC, txtraw("first"), queue=QUEUE)
    for tid, text in zip(tids[1:], ("second", "third"), strict=True):
        sap.submit_transaction(tid, IDOC, txtraw(text), queue=QUEUE)
    return tids


def test_a_failing_call_stops_its_queue_and_a_resubmit_of_it_restarts_the_queue(sim: SimulatorProcess) -> None:
    with sim.connector() as sap:
        first, second, third = _stopped_queue(sim, sap)
        assert sim.control.idocs() == [], "the calls behind the failed one wait"
        assert _queue(sim) == [(first, "SYSFAIL"), (second, "READY"), (third, "READY")]
        (head, *_) = sim.control.command("inspect.queue", queue=QUEUE)
        assert head["error"] == "DOCUMENT_LOCKED: order 4711 locked"
        assert _events(sim, first) == ["ROLLED_BACK", "SYSFAIL"]
        assert _events(sim, second) == ["QUEUED"]
        sap.submit_transaction(second, IDOC, txtraw("second"), queue=QUEUE)  # a resubmit of a stored call
        assert _events(sim, second) == ["QUEUED", "SKIPPED"]
        sap.submit_transaction(first, IDOC, txtraw("first"), queue=QUEUE)  # the sender retries the failed call
    assert _texts(sim) == ["first", "second", "third"]
    assert _queue(sim) == [(first, "EXECUTED"), (second, "EXECUTED"), (third, "EXECUTED")]
    assert _events(sim, second) == ["QUEUED", "SKIPPED", "EXECUTED"]


def test_other_queues_and_plain_trfc_go_on_while_a_queue_is_stopped(sim: SimulatorProcess) -> None:
    with sim.connector() as sap:
        _stopped_queue(sim, sap)
        other, plain = sap.get_transaction_id(), sap.get_transaction_id()
        sap.submit_transaction(other, IDOC, txtraw("other queue"), queue="OTHER_Q")
        sap.submit_transaction(plain, IDOC, txtraw("plain"))
    assert _texts(sim) == ["other queue", "plain"]
    assert _queue(sim, "OTHER_Q") == [(other, "EXECUTED")]


def test_an_operator_restarts_a_stopped_queue(sim: SimulatorProcess) -> None:
    with sim.connector() as sap:
        first, second, third = _stopped_queue(sim, sap)
    sim.control.add_fault("abap_exception", function=IDOC, key="DOCUMENT_LOCKED", message="still locked")
    with pytest.raises(ControlError, match=f"TID {first} failed again.*still locked"):
        sim.control.command("queue.restart", queue=QUEUE)
    assert _queue(sim)[0] == (first, "SYSFAIL")
    result: dict[str, Any] = sim.control.command("queue.restart", queue=QUEUE)
    assert result["restarted"] == first
    assert _texts(sim) == ["first", "second", "third"]
    assert _queue(sim) == [(first, "EXECUTED"), (second, "EXECUTED"), (third, "EXECUTED")]
    assert _events(sim, first) == ["ROLLED_BACK", "SYSFAIL", "RESTARTED", "ROLLED_BACK", "SYSFAIL", "RESTARTED",
                                   "EXECUTED"]  # fmt: skip
    with pytest.raises(ControlError, match=f"queue {QUEUE} is not stopped"):
        sim.control.command("queue.restart", queue=QUEUE)


def test_an_operator_deletes_the_failed_call_and_the_queue_goes_on(sim: SimulatorProcess) -> None:
    with sim.connector() as sap:
        first, second, third = _stopped_queue(sim, sap)
    assert sim.control.command("queue.delete", queue=QUEUE)["deleted"] == first
    assert _texts(sim) == ["second", "third"]
    assert _queue(sim) == [(second, "EXECUTED"), (third, "EXECUTED")]
    assert _events(sim, first)[-1] == "DELETED"


def test_a_stored_call_that_fails_when_its_turn_comes_stops_the_queue_again(sim: SimulatorProcess) -> None:
    sim.control.add_fault("abap_exception", function=IDOC, key="DOCUMENT_LOCKED")
    with sim.connector() as sap:
        first, second, third = (sap.get_transaction_id() for _ in range(3))
        with pytest.raises(ABAPApplicationError):
            sap.submit_transaction(first, IDOC, txtraw("first"), queue=QUEUE)
        sap.submit_transaction(second, IN_QUEUE, _in_queue("second"), queue=QUEUE)
        sap.submit_transaction(third, IDOC, txtraw("third"), queue=QUEUE)
        sim.control.add_fault("abap_exception", function=IN_QUEUE, key="NO_AUTHORITY")
        sap.submit_transaction(first, IDOC, txtraw("first"), queue=QUEUE)  # runs; the second, next, fails
    assert _queue(sim) == [(first, "EXECUTED"), (second, "SYSFAIL"), (third, "READY")]
    assert _texts(sim) == ["first"]
    sim.control.command("queue.restart", queue=QUEUE)
    assert _texts(sim) == ["first", "second", "third"]


def test_idoc_inbound_in_queue_posts_idocs_in_queue_order(sim: SimulatorProcess) -> None:
    in_queue = _in_queue
    with sim.connector() as sap:
        tids = [sap.get_transaction_id() for _ in range(3)]
        for number, tid in enumerate(tids):
            sap.submit_transaction(tid, IN_QUEUE, in_queue(f"in queue {number}"), queue=QUEUE)
        with pytest.raises(ABAPApplicationError, match="runs in a qRFC queue") as raised:
            sap.submit_transaction(sap.get_transaction_id(), IN_QUEUE, in_queue("no queue"))
        assert raised.value.key == "NO_QUEUE"
        wrong = sap.get_transaction_id()
        with pytest.raises(ABAPApplicationError, match="QNAME OTHER_Q is not the queue") as raised:
            sap.submit_transaction(wrong, IN_QUEUE, in_queue("wrong", "OTHER_Q"), queue="THIRD_Q")
        assert raised.value.key == "QUEUE_NAME_MISMATCH"
    idocs = sim.control.idocs()
    assert [(i["tid"], i["status"]) for i in idocs] == [(tid, "53") for tid in tids]
    assert _texts(sim) == ["in queue 0", "in queue 1", "in queue 2"]
    assert [tid for tid, _ in _queue(sim)] == tids
    assert _queue(sim, "THIRD_Q") == [(wrong, "SYSFAIL")]
