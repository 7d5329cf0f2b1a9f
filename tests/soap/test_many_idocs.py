"""Requests that carry many IDocs: all accepted or none, one receipt per IDoc, packed together where the alias packs.

The example IDoc service runs as a real process against the simulator, its alias with ``idocPackets``
and one operation added with ``delivery: direct``; zeep calls the served WSDL. TXTRAW01 needs no parser
file, so these tests need nothing of ../shared.
"""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from itertools import chain
from pathlib import Path
from typing import Any

import httpx
import pytest
import zeep
from lxml import etree

from idocbridge.cli.send import _Item, _requests, _Result
from idocbridge.errors import IdocbridgeError
from idocbridge.idoc.metadata import IDocType
from idocbridge.soap.app import _idocs_fault
from idocbridge.soap.contract import OperationContract
from idocbridge.soap.faults import MAX_FAULT_ERRORS, SoapFault, fault_envelope
from idocbridge.soap.idoc_request import MAX_IDOCS_PER_REQUEST, IDocRequestReader
from idocbridge.transactions import OutboxEntry, OutboxState
from tests.soap.example_service import IDOC_ALIAS, served_idoc_example
from tests.soap.example_service import Served as Running
from tests.waiting import confirmed_receipt, wait_until

SERVICE = "IDocService"
NAMESPACE = "urn:IDocServiceExample:IDocService"
DIRECT = """          - name: SendTextDirect
            idoc:
              format: xml
              type: TXTRAW01
            delivery: direct
            description: One TXTRAW01 IDoc, sent to SAP within the request.
            activity: *deliver
"""


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    packets = "    idocPackets: {size: 50, maxWaitMs: 500}\n"  # a wait long enough to gather a request's IDocs
    with served_idoc_example(tmp_path_factory.mktemp("many-idocs"), operations=DIRECT, alias=packets) as served:
        yield served


@pytest.fixture
def clean(running: Running) -> Running:
    running.sim.control.reset()
    return running


def _control(message_type: str = "TXTRAW") -> dict[str, str]:
    return {"SEGMENT": "1", "TABNAM": "EDI_DC40", "DIRECT": "2", "IDOCTYP": "TXTRAW01", "MESTYP": message_type,
            "SNDPOR": "LEGACY", "SNDPRT": "LS", "SNDPRN": "LEG", "RCVPOR": "SAPSIM", "RCVPRT": "LS",
            "RCVPRN": "SIM100"}  # fmt: skip


def _texts(*lines: str) -> dict[str, Any]:
    """A TXTRAW01 document (as zeep takes it) holding one IDoc per line given; the IDoc of a line starting
    with "refused" has the message type REFUSEME."""
    return {"IDOC": [{"BEGIN": "1", "EDI_DC40": _control("REFUSEME" if line.startswith("refused") else "TXTRAW"),
                      "E1TXTRW": [{"SEGMENT": "1", "TLINE": line}]} for line in lines]}  # fmt: skip


def _file(path: Path, *lines: str) -> Path:
    """The IDoc-XML file of :func:`_texts`."""
    document = etree.Element("TXTRAW01")
    for idoc in _texts(*lines)["IDOC"]:
        element = etree.SubElement(document, "IDOC", BEGIN="1")
        for name, fields in (("EDI_DC40", idoc["EDI_DC40"]), ("E1TXTRW", idoc["E1TXTRW"][0])):
            segment = etree.SubElement(element, name, SEGMENT="1")
            for field, value in fields.items():
                if field != "SEGMENT":
                    etree.SubElement(segment, field).text = value
    path.write_bytes(etree.tostring(document, xml_declaration=True, encoding="UTF-8"))
    return path


def _lines_in_sap(running: Running, tid: str) -> list[str]:
    """The text of each IDoc SAP holds under ``tid``, in IDoc number order."""
    idocs = sorted(running.sim.control.idocs(tid=tid, full=True), key=lambda idoc: int(idoc["docnum"]))
    return [idoc["data"][0]["SDATA"] for idoc in idocs]


def test_the_idocs_of_one_request_travel_in_one_packet_each_answered_with_its_position(clean: Running) -> None:
    lines = [f"line {number}" for number in range(1, 6)]
    receipt = confirmed_receipt(lambda message_id: clean.client.service.SendTextIDoc(
        TXTRAW01=_texts(*lines), _soapheaders={"MessageId": message_id}))  # fmt: skip
    assert receipt.tid, "the packet's TID: one for all the request's IDocs"
    assert [(idoc.number, idoc.tid, idoc.state) for idoc in receipt.idocs] == [
        (number, receipt.tid, "CONFIRMED") for number in range(1, 6)
    ]
    assert [idoc.packetPosition for idoc in receipt.idocs] == [1, 2, 3, 4, 5], "in request order"
    assert _lines_in_sap(clean, receipt.tid) == lines


def test_an_idoc_sap_refuses_fails_alone_and_the_request_says_how_each_idoc_ended(clean: Running) -> None:
    clean.sim.control.add_fault("refuse_idoc", function="REFUSEME", key="IDOC_REFUSED", count=None)
    message_id = f"one-refused-{uuid.uuid4().hex}"

    def fault() -> zeep.exceptions.Fault | None:  # answered as a receipt while the packet's halves still travel
        try:
            clean.client.service.SendTextIDoc(TXTRAW01=_texts("kept 1", "refused 2", "kept 3"),
                                              _soapheaders={"MessageId": message_id})  # fmt: skip
        except zeep.exceptions.Fault as raised:
            return raised
        return None

    try:
        refused = wait_until(fault, what="the request answering with the refused IDoc's fault")
    finally:
        clean.sim.control.clear_faults()
    assert refused.message.startswith("IDoc 2 of 3: SAP refused it (outbox state FAILED)")
    assert "The request's other 2 IDoc(s) are delivered or on their way: do not send this request again" in (
        refused.message
    )
    first, second, third = [node.text or "" for node in refused.detail.iter("{*}error")]
    assert first.startswith("IDoc 1: CONFIRMED under TID ") and third.startswith("IDoc 3: CONFIRMED under TID ")
    assert second.startswith("IDoc 2: FAILED under TID ") and "message type REFUSEME is refused" in second
    posted = [idoc["data"][0]["SDATA"] for idoc in clean.sim.control.idocs(full=True)]
    assert sorted(posted) == ["kept 1", "kept 3"], "the packet was split: the others went on without it"


def test_send_reports_each_idoc_of_a_request_with_a_refused_one(clean: Running, tmp_path: Path) -> None:
    clean.sim.control.add_fault("refuse_idoc", function="REFUSEME", key="IDOC_REFUSED", count=None)
    texts = _file(tmp_path / "texts.xml", "sent 1", "refused 2", "sent 3", "sent 4")
    command = [sys.executable, "-m", "idocbridge", "send", "--url", f"{clean.service.url}/{SERVICE}",
               "--operation", "SendTextIDoc", "--per-request", "4", "--json", str(texts)]  # fmt: skip

    def send() -> subprocess.CompletedProcess[str] | None:
        result = subprocess.run(command, check=False, capture_output=True, text=True, timeout=120)
        return result if "4 IDoc(s): 3 CONFIRMED, 1 FAILED" in result.stderr else None  # --json: summary there

    try:
        result = wait_until(send, what="idocbridge send reporting 3 CONFIRMED, 1 FAILED")
    finally:
        clean.sim.control.clear_faults()
    assert result.returncode == 1
    rows = [json.loads(line) for line in result.stdout.splitlines()]  # --json: nothing but JSON lines
    assert len({row["transaction_id"] for row in rows}) == 1 and len(rows[0]["transaction_id"]) == 40
    assert [(row["number"], row["state"] or "FAILED") for row in rows] == [
        (1, "CONFIRMED"),
        (2, "FAILED"),
        (3, "CONFIRMED"),
        (4, "CONFIRMED"),
    ]
    assert "message type REFUSEME is refused" in rows[1]["error"] and all(rows[n]["tid"] for n in (0, 2, 3))
    assert sorted(idoc["tid"] for idoc in clean.sim.control.idocs()) == sorted(rows[n]["tid"] for n in (0, 2, 3))


@pytest.mark.parametrize(
    ("first", "then"),
    [(("a", "b"), ("a", "c")), (("a",), ("a", "b")), (("a", "b"), ("a",)), (("a", "b"), ("a", "b", "c"))],
    ids=["another-idoc", "one-then-two", "two-then-one", "one-more"],
)
def test_a_message_id_sent_again_with_other_idocs_is_refused(
    clean: Running, first: tuple[str, ...], then: tuple[str, ...]
) -> None:
    message_id = f"reused-{uuid.uuid4().hex}"
    answer = clean.client.service.SendTextIDoc(TXTRAW01=_texts(*first), _soapheaders={"MessageId": message_id})
    with pytest.raises(zeep.exceptions.Fault) as raised:
        clean.client.service.SendTextIDoc(TXTRAW01=_texts(*then), _soapheaders={"MessageId": message_id})
    assert f"MessageId {message_id} was first sent with a different request" in raised.value.message
    assert f"transaction {answer.transactionId}" in raised.value.message
    again = clean.client.service.SendTextIDoc(TXTRAW01=_texts(*first), _soapheaders={"MessageId": message_id})
    assert again.transactionId == answer.transactionId, "the first request's transaction, where its entries are"


def test_a_request_of_the_most_idocs_a_request_takes_is_delivered_in_packets(clean: Running) -> None:
    lines = [f"idoc {number}" for number in range(1, MAX_IDOCS_PER_REQUEST + 1)]
    receipt = confirmed_receipt(lambda message_id: clean.client.service.SendTextIDoc(
        TXTRAW01=_texts(*lines), _soapheaders={"MessageId": message_id}), timeout=300)  # fmt: skip
    assert [idoc.number for idoc in receipt.idocs] == list(range(1, MAX_IDOCS_PER_REQUEST + 1))
    packets: dict[str, list[int]] = {}
    for idoc in receipt.idocs:
        packets.setdefault(idoc.tid, []).append(idoc.packetPosition)
    assert all(positions == list(range(1, len(positions) + 1)) for positions in packets.values())
    assert max(map(len, packets.values())) == 50, "packets of the alias's size"
    posted = [line for tid in packets for line in _lines_in_sap(clean, tid)]
    assert posted == lines, "each IDoc once, in request order"


def test_a_direct_operation_takes_one_idoc_per_request(clean: Running) -> None:
    with pytest.raises(zeep.exceptions.Fault) as raised:
        clean.client.service.SendTextDirect(TXTRAW01=_texts("one", "two"))
    assert "operation SendTextDirect takes one IDoc per request, and this one holds 2" in raised.value.message
    assert clean.sim.control.idocs() == []
    receipt = clean.client.service.SendTextDirect(TXTRAW01=_texts("alone"))
    assert receipt.state == "CONFIRMED" and _lines_in_sap(clean, receipt.tid) == ["alone"]


def test_a_request_of_more_idocs_than_the_limit_is_refused_before_any_is_read(running: Running) -> None:
    idoc = ('<IDOC BEGIN="1"><EDI_DC40 SEGMENT="1"><IDOCTYP>TXTRAW01</IDOCTYP></EDI_DC40>'
            '<E1TXTRW SEGMENT="1"><TLINE>x</TLINE></E1TXTRW></IDOC>')  # fmt: skip
    count = MAX_IDOCS_PER_REQUEST + 1
    envelope = (
        '<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>'
        f'<tns:SendTextIDoc xmlns:tns="{NAMESPACE}:idoc"><TXTRAW01>{idoc * count}</TXTRAW01></tns:SendTextIDoc>'
        "</soap:Body></soap:Envelope>"
    )
    response = httpx.post(f"{running.service.url}/{SERVICE}", content=envelope.encode("utf-8"),
                          headers={"Content-Type": "text/xml; charset=utf-8"}, timeout=60)  # fmt: skip
    assert response.status_code == 500
    assert f"holds {count} IDocs; a request takes at most {MAX_IDOCS_PER_REQUEST}" in response.text


def _entry(state: OutboxState, tid: str | None = None, error: str | None = None) -> OutboxEntry:
    now = datetime.now(UTC)
    values: dict[str, Any] = {
        "id": uuid.uuid4().hex, "service": SERVICE, "operation": "SendTextIDoc", "alias": IDOC_ALIAS,
        "function": "IDOC_INBOUND_ASYNCHRONOUS", "queue": None, "parameters": {}, "message_id": None,
        "transaction_id": "t" * 40, "tid": tid, "state": state, "executed": False, "attempts": 0,
        "last_error": error, "last_error_key": None, "created_at": now, "updated_at": now, "next_attempt_at": None,
        "lease_owner": None, "lease_until": None, "receipt": None,
    }  # fmt: skip
    return OutboxEntry(**values)


def test_a_cancelled_idoc_of_many_is_sent_again_alone_never_with_the_others() -> None:
    entries = [_entry(OutboxState.CONFIRMED, "0A1B2C3D4E5F60718293A4B5"), _entry(OutboxState.CANCELLED)]
    fault = _idocs_fault(entries, [(2, entries[1])])
    assert fault.reason.startswith(
        "IDoc 2 of 2 was cancelled by an operator before it reached SAP. The request's other 1 IDoc(s) are "
        "delivered or on their way: do not send this request again"
    )
    assert "a cancelled one goes again only alone, in a request of its own with a new MessageId" in fault.reason
    assert fault.errors == ["IDoc 1: CONFIRMED under TID 0A1B2C3D4E5F60718293A4B5", "IDoc 2: CANCELLED"]
    assert fault.side == "client"


def test_the_fault_of_a_request_of_many_idocs_says_how_each_ended_however_many() -> None:
    entries = [_entry(OutboxState.CONFIRMED, f"{n:024X}") for n in range(MAX_IDOCS_PER_REQUEST)]
    entries[-1] = _entry(OutboxState.FAILED, "F" * 24, "the inbound IDoc is refused")
    fault = _idocs_fault(entries, [(MAX_IDOCS_PER_REQUEST, entries[-1])])
    detail = etree.fromstring(fault_envelope(fault, "1.1", "x")).findall(".//{*}error")
    assert len(detail) == MAX_IDOCS_PER_REQUEST <= MAX_FAULT_ERRORS
    assert detail[-1].text == f"IDoc {MAX_IDOCS_PER_REQUEST}: FAILED under TID {'F' * 24}: the inbound IDoc is refused"


def test_send_groups_idocs_by_their_place_in_a_file_so_a_file_sent_again_after_a_fix_keeps_its_requests() -> None:
    def items(file: str, count: int, unreadable_from: int = 0) -> Iterator[_Item | _Result]:
        for number in range(1, count + 1):
            if number == unreadable_from:
                raise IdocbridgeError(f"{file}: line 9 is no record")
            control = {"IDOCTYP": "TXTRAW01", "DOCNUM": str(number)}
            yield _Result(file, number, "TXTRAW01") if number == 3 else _Item(file, number, control, None, None)

    grouped = [[(one.file, one.number) for one in group] for group in _requests(chain(items("a", 7), items("b", 2)), 3)]
    assert grouped == [
        [("a", 1), ("a", 2), ("a", 3)],  # IDoc 3 could not be converted: it keeps its place
        [("a", 4), ("a", 5), ("a", 6)],
        [("a", 7)],
        [("b", 1), ("b", 2)],
    ]
    first = next(_requests(items("a", 7), 3))
    assert [(one.number, isinstance(one, _Result)) for one in first] == [(1, True), (2, True), (3, True)]
    assert first[0].error == "not sent: IDoc 3 of its request could not be converted", "whole or not at all"
    assert all(isinstance(one, _Item) for one in list(_requests(items("a", 7), 3))[1])
    requests = _requests(items("c", 9, unreadable_from=6), 3)
    assert [one.number for one in next(requests)] == [1, 2, 3]
    partial = next(requests)
    assert [(one.number, one.error) for one in partial] == [
        (4, "not sent: the rest of its request could not be read"),
        (5, "not sent: the rest of its request could not be read"),
    ]
    with pytest.raises(IdocbridgeError, match="line 9 is no record"):
        next(requests)
    one_each = _requests(items("d", 9, unreadable_from=3), 1)
    assert [[isinstance(one, _Item) for one in next(one_each)] for _ in range(2)] == [[True], [True]], "complete: sent"
    with pytest.raises(IdocbridgeError):
        next(one_each)


def test_a_request_of_many_idocs_looks_each_idoc_type_up_once_whatever_the_answer() -> None:
    asked: list[tuple[str, str | None]] = []

    def lookup(basic: str, extension: str | None, alias: str | None) -> IDocType:
        asked.append((basic, extension))  # as SAP answers for a type it does not know
        raise IdocbridgeError(f"SAP does not know IDoc type {basic} (OBJECT_UNKNOWN)")

    operation = OperationContract("SendIDocXML", "IDocPort", "IDocRecords", "DeliveryReceipt", "urn:x", True, "",
                                  "", idoc_format="xml", idoc_alias=IDOC_ALIAS, honours_message_id=True)  # fmt: skip
    idoc = '<IDOC BEGIN="1"><EDI_DC40 SEGMENT="1"><IDOCTYP>{}</IDOCTYP></EDI_DC40></IDOC>'
    payload = etree.fromstring(f"<r><ZNOPE01>{idoc.format('ZNOPE01') * 601}</ZNOPE01></r>")
    with pytest.raises(SoapFault) as raised:
        IDocRequestReader(lookup, "Never").read(payload, operation, NAMESPACE)
    assert raised.value.reason.startswith("601 of the 601 IDocs of the SendIDocXML request would be refused")
    assert asked == [("ZNOPE01", None)], "one question per IDoc type, not one per IDoc"
    assert len(raised.value.errors) == 601
