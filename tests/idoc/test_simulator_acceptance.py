"""What the converter makes of an ORDERS05 IDoc-XML is what SAP accepts: sent over tRFC to the simulator.

The records go to IDOC_INBOUND_ASYNCHRONOUS as they come out of the converter, with no validation on the
way, so that the simulator (SAP's inbound) is the judge: status 53 for the example order, 60 with the
reason for a broken one, 51 when the application refuses to post.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from idocbridge.idoc import IDoc, idoc_to_records, iter_idoc_xml, read_parser_file
from idocbridge.idoc.document import Segment
from idocbridge.sapsim.testing import SimulatorProcess
from tests.conftest import EXAMPLES
from tests.idoc.conftest import SAPIDOC, external

ORDERS05_XML = EXAMPLES / "idocs" / "orders05.xml"


@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimulatorProcess]:
    parser = external(f"{SAPIDOC}/test/resources/ORDERS05.txt")
    with SimulatorProcess(tmp_path_factory.mktemp("sim"), parser_files=[parser]) as process:
        yield process


def _order() -> IDoc:
    return next(iter_idoc_xml(ORDERS05_XML))


def _deliver(sim: SimulatorProcess, idoc: IDoc) -> dict[str, Any]:
    """Convert with the ORDERS05 metadata and send over tRFC; the simulator's full record of the IDoc."""
    orders05 = read_parser_file(external(f"{SAPIDOC}/test/resources/ORDERS05.txt"))
    records = idoc_to_records(idoc, orders05)
    parameters = {"IDOC_CONTROL_REC_40": [records.control], "IDOC_DATA_REC_40": records.data}
    with sim.connector() as sap:
        tid = sap.get_transaction_id()
        sap.submit_transaction(tid, "IDOC_INBOUND_ASYNCHRONOUS", parameters)
        sap.confirm_transaction(tid)
    (summary,) = sim.control.idocs(tid=tid)
    result: dict[str, Any] = sim.control.command("inspect.idoc", docnum=summary["docnum"])
    return result


def _statuses(idoc: dict[str, Any]) -> list[tuple[str, str]]:
    return [(status["status"], status["text"]) for status in idoc["statuses"]]


def test_the_converted_example_order_is_posted_with_status_53(sim: SimulatorProcess) -> None:
    stored = _deliver(sim, _order())
    assert [status for status, _ in _statuses(stored)] == ["50", "64", "62", "53"]
    assert (stored["idoctyp"], stored["mestyp"], stored["segments"]) == ("ORDERS05", "ORDERS", 16)


def test_a_broken_order_gets_status_60_naming_segment_and_rule(sim: SimulatorProcess) -> None:
    broken = _order()
    broken.segments.insert(0, Segment("E1EDS01", {"SUMID": "002", "SUMME": "1.00"}))  # the summary first
    del broken.segments[1]  # the mandatory header segment E1EDK01
    stored = _deliver(sim, broken)
    statuses = _statuses(stored)
    assert statuses[0] == ("50", "IDoc added")
    assert {status for status, _ in statuses[1:]} == {"60"}
    texts = [text for _, text in statuses[1:]]
    assert "segment 2 E1EDK14: out of order: E1EDK14 must come before E1EDS01 (segment 1) [order]" in texts
    assert "IDoc ORDERS05: mandatory segment E1EDK01 is missing [min-occurs]" in texts, texts


def test_an_order_the_application_refuses_gets_status_51_with_the_reason(sim: SimulatorProcess) -> None:
    sim.control.add_fault("posting_error", function="ORDERS", message="Material WRENCH-17 is blocked")
    stored = _deliver(sim, _order())
    assert _statuses(stored)[-1] == ("51", "Material WRENCH-17 is blocked")
