"""Operations that take IDoc documents, end to end: simulator and service as processes, zeep as the client.

The example model examples/idoc_service takes IDoc-XML of any type (metadata read from SAP with
IDOCTYPE_READ_COMPLETE), flat IDocs, and TXTRAW01 IDoc-XML with its schema in the WSDL. The simulator
knows ORDERS05 from the parser file in ../shared (these tests skip where it is absent).
"""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import zeep
from lxml import etree

from idocbridge.generators.generate import generate
from idocbridge.idoc.flat import write_flat_idoc
from idocbridge.idoc.idoc_xml import iter_idoc_xml
from idocbridge.idoc.parser_file import read_parser_file
from idocbridge.idoc.tables import idoc_to_records
from idocbridge.models import load_model
from idocbridge.soap.testing import ServiceProcess, simulator_settings
from tests.conftest import EXAMPLES, SHARED
from tests.soap.example_service import Served as Running
from tests.soap.example_service import served_idoc_example
from tests.waiting import confirmed_receipt, wait_until

XSD = "http://www.w3.org/2001/XMLSchema"
SERVICE = "IDocService"
ORDERS05_PARSER = SHARED / "testdata" / "external" / "PeterXyp__sapidoc" / "src" / "test" / "resources" / "ORDERS05.txt"
ORDERS05_XML = EXAMPLES / "idocs" / "orders05.xml"

pytestmark = pytest.mark.skipif(
    not ORDERS05_PARSER.exists(),
    reason=f"{ORDERS05_PARSER} is absent (the shared test data is not next to this checkout)",
)


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    with served_idoc_example(tmp_path_factory.mktemp("idoc-ops"), parser_files=[ORDERS05_PARSER]) as served:
        yield served


@pytest.fixture
def clean(running: Running) -> Running:
    running.sim.control.reset()
    return running


def _document(text: str) -> etree._Element:
    return etree.fromstring(text.encode("utf-8"))


def _orders05(edit: str | None = None, replacement: str = "") -> etree._Element:
    text = ORDERS05_XML.read_text(encoding="utf-8")
    if edit is not None:
        assert edit in text
        text = text.replace(edit, replacement, 1)
    return _document(text.split("-->", 1)[1])


def _fault(raised: pytest.ExceptionInfo[zeep.exceptions.Fault]) -> tuple[str, list[str]]:
    detail = raised.value.detail
    errors = [node.text or "" for node in detail.iter("{*}error")] if detail is not None else []
    return raised.value.message, errors


def _confirmed(running: Running, document: etree._Element) -> Any:
    """The receipt of SendIDocXML for ``document`` once it says CONFIRMED."""
    return confirmed_receipt(lambda message_id: running.client.service.SendIDocXML(
        _value_1=document, _soapheaders={"MessageId": message_id}))  # fmt: skip


def _only_idoc(running: Running, tid: str) -> dict[str, Any]:
    (summary,) = running.sim.control.idocs(tid=tid)
    idoc: dict[str, Any] = running.sim.control.command("inspect.idoc", docnum=summary["docnum"])
    return idoc


def test_orders05_idoc_xml_is_posted_with_status_53_and_sap_gets_the_records(clean: Running) -> None:
    receipt = _confirmed(clean, _orders05())
    idoc = _only_idoc(clean, receipt.tid)
    assert [s["status"] for s in idoc["statuses"]] == ["50", "64", "62", "53"]
    data = idoc["data"]
    assert [row["SEGNAM"] for row in data][:3] == ["E1EDK01", "E1EDK14", "E1EDK14"]
    assert len(data) == sum(1 for _ in next(iter_idoc_xml(ORDERS05_XML)).walk())
    first_item = next(row for row in data if row["SEGNAM"] == "E1EDP01")
    child = data[data.index(first_item) + 1]
    assert (child["SEGNAM"], child["PSGNUM"], child["HLEVEL"]) == ("E1EDP20", first_item["SEGNUM"], "03")
    indented = [row for row in data if row["SEGNAM"] == "E1EDKT2"][1]
    assert indented["SDATA"].startswith("   Leading blanks are kept")


def test_metadata_is_read_from_sap_once_and_then_cached(clean: Running) -> None:
    _confirmed(clean, _orders05())
    read = clean.sim.control.calls("IDOCTYPE_READ_COMPLETE")  # read by now (here or in an earlier test)
    for _ in range(2):
        _confirmed(clean, _orders05())
    assert clean.sim.control.calls("IDOCTYPE_READ_COMPLETE") == read, "the later requests use the cached metadata"
    assert len(clean.sim.control.idocs()) == 3


def test_a_broken_idoc_is_refused_naming_segment_field_and_rule_and_sap_sees_nothing(clean: Running) -> None:
    broken = _orders05("<MENEE>PCE</MENEE>", "<MENEE>PIECES</MENEE><COLOUR>red</COLOUR>")
    with pytest.raises(zeep.exceptions.Fault) as raised:
        clean.client.service.SendIDocXML(_value_1=broken)
    message, errors = _fault(raised)
    assert "the ORDERS05 IDoc would be rejected by SAP" in message
    assert "segment 11 E1EDP01, field MENEE: 'PIECES' has 6 characters, at most 3 allowed [value-too-long]" in errors
    assert any(e.startswith("segment 11 E1EDP01, field COLOUR: E1EDP01 has no field COLOUR") for e in errors)
    assert clean.sim.control.idocs() == []


def test_segments_out_of_order_are_refused_with_the_rule(clean: Running) -> None:
    text = ORDERS05_XML.read_text(encoding="utf-8").split("-->", 1)[1]
    summary = text[text.index("    <E1EDS01") : text.index("</E1EDS01>") + len("</E1EDS01>\n")]
    moved = text.replace(summary, "").replace("    <E1EDK01 SEGMENT", summary + "    <E1EDK01 SEGMENT", 1)
    with pytest.raises(zeep.exceptions.Fault) as raised:
        clean.client.service.SendIDocXML(_value_1=_document(moved))
    _, errors = _fault(raised)
    assert any("[order]" in error and "E1EDK01" in error for error in errors), errors
    assert clean.sim.control.idocs() == []


def _orders05_pair(*purchase_orders: str) -> etree._Element:
    """An ORDERS05 document holding one IDoc per purchase order number given, in that order."""
    document = _orders05()
    template = etree.tostring(document[0]).decode("utf-8")
    assert "PO-2026-000417" in template
    for extra in purchase_orders[1:]:
        document.append(_document(template.replace("PO-2026-000417", extra)))
    if purchase_orders[0] != "PO-2026-000417":
        document.replace(document[0], _document(template.replace("PO-2026-000417", purchase_orders[0])))
    return document


def _outbox(running: Running) -> list[dict[str, Any]]:
    command = [sys.executable, "-m", "idocbridge", "tx", "list", "--json", "--limit", "1000", "--state",
               str(running.service.state)]  # fmt: skip
    listed = subprocess.run(command, check=True, capture_output=True, text=True, timeout=60).stdout
    return [json.loads(line) for line in listed.splitlines() if line.startswith("{")]


def _orders_under(running: Running, tid: str, orders: list[str]) -> list[str]:
    """Which of ``orders`` (purchase order numbers, E1EDK01 BELNR) the IDocs SAP holds under ``tid`` carry."""
    found = []
    for summary in running.sim.control.idocs(tid=tid):
        idoc = running.sim.control.command("inspect.idoc", docnum=summary["docnum"])
        header = " ".join(row["SDATA"] for row in idoc["data"] if row["SEGNAM"] == "E1EDK01")
        found += [order for order in orders if order in header]
    return found


def test_a_request_of_many_idocs_delivers_each_once_and_answers_a_receipt_per_idoc(clean: Running) -> None:
    orders = ["PO-2026-000501", "PO-2026-000502", "PO-2026-000503"]
    message_id = f"three-orders-{uuid.uuid4().hex}"
    receipt = confirmed_receipt(lambda mid: clean.client.service.SendIDocXML(
        _value_1=_orders05_pair(*orders), _soapheaders={"MessageId": mid}), message_id)  # fmt: skip
    assert [idoc.number for idoc in receipt.idocs] == [1, 2, 3]
    assert {idoc.state for idoc in receipt.idocs} == {"CONFIRMED"}
    tids = [idoc.tid for idoc in receipt.idocs]
    assert len(set(tids)) == 3 and not receipt.tid, "without packets each IDoc is a tRFC unit of its own"
    assert [_orders_under(clean, tid, orders) for tid in tids] == [[order] for order in orders], "in request order"
    entries = [entry for entry in _outbox(clean) if entry["transaction_id"] == receipt.transactionId]
    assert sorted(entry["message_id"] for entry in entries) == [message_id, f"{message_id}#2", f"{message_id}#3"]
    again = clean.client.service.SendIDocXML(_value_1=_orders05_pair(*orders), _soapheaders={"MessageId": message_id})
    assert [idoc.tid for idoc in again.idocs] == tids and again.state == "CONFIRMED"
    assert len(clean.sim.control.idocs()) == 3, "sent again with its MessageId: no second delivery"


def test_a_request_of_many_idocs_with_one_bad_idoc_keeps_none_and_names_it(clean: Running) -> None:
    document = _orders05_pair("PO-2026-000601", "PO-2026-000602")
    broken = etree.tostring(document[1]).decode("utf-8").replace("<MENEE>PCE</MENEE>", "<MENEE>PIECES</MENEE>", 1)
    document.replace(document[1], _document(broken))
    before = len(_outbox(clean))
    with pytest.raises(zeep.exceptions.Fault) as raised:
        clean.client.service.SendIDocXML(_value_1=document, _soapheaders={"MessageId": f"bad-{uuid.uuid4().hex}"})
    message, errors = _fault(raised)
    assert "1 of the 2 IDocs of the SendIDocXML request would be refused, so none was accepted; IDoc 2:" in message
    assert "IDoc 2: segment 11 E1EDP01, field MENEE: 'PIECES' has 6 characters, at most 3 allowed" in errors[0]
    assert len(_outbox(clean)) == before, "nothing of the request was kept"
    assert clean.sim.control.idocs() == []


def test_many_flat_idocs_in_one_request_are_each_delivered(clean: Running) -> None:
    orders05 = read_parser_file(ORDERS05_PARSER)
    text = io.StringIO()
    for idoc in iter_idoc_xml(io.BytesIO(etree.tostring(_orders05_pair("PO-2026-000701", "PO-2026-000702")))):
        write_flat_idoc(text, idoc_to_records(idoc, orders05, segnam="definition"))
    receipt = confirmed_receipt(lambda message_id: clean.client.service.SendFlatIDoc(
        flatIDoc=text.getvalue(), _soapheaders={"MessageId": message_id}))  # fmt: skip
    assert [(idoc.number, idoc.state) for idoc in receipt.idocs] == [(1, "CONFIRMED"), (2, "CONFIRMED")]
    orders = ["PO-2026-000701", "PO-2026-000702"]
    assert [_orders_under(clean, idoc.tid, orders) for idoc in receipt.idocs] == [[order] for order in orders]


def test_an_unknown_idoc_type_is_refused_with_what_sap_said(clean: Running) -> None:
    document = _document(
        '<ZNOPE01><IDOC BEGIN="1"><EDI_DC40 SEGMENT="1"><IDOCTYP>ZNOPE01</IDOCTYP></EDI_DC40></IDOC></ZNOPE01>'
    )
    with pytest.raises(zeep.exceptions.Fault) as raised:
        clean.client.service.SendIDocXML(_value_1=document)
    assert "metadata of IDoc type ZNOPE01 cannot be found" in raised.value.message
    assert "OBJECT_UNKNOWN" in raised.value.message


def test_a_flat_orders05_idoc_is_posted(clean: Running) -> None:
    orders05 = read_parser_file(ORDERS05_PARSER)
    records = idoc_to_records(next(iter_idoc_xml(ORDERS05_XML)), orders05, segnam="definition")
    text = io.StringIO()
    write_flat_idoc(text, records)
    receipt = confirmed_receipt(lambda message_id: clean.client.service.SendFlatIDoc(
        flatIDoc=text.getvalue(), _soapheaders={"MessageId": message_id}))  # fmt: skip
    idoc = _only_idoc(clean, receipt.tid)
    assert idoc["status"] == "53"
    assert idoc["data"][0]["SEGNAM"] == "E1EDK01"  # SAP gets segment types over tRFC


def test_a_flat_file_with_a_line_too_long_is_refused_naming_the_line(clean: Running) -> None:
    flat = "EDI_DC40  100\r\n" + "E2EDK01005" + " " * 1100 + "x\r\n"
    with pytest.raises(zeep.exceptions.Fault) as raised:
        clean.client.service.SendFlatIDoc(flatIDoc=flat)
    assert "line 2: EDI_DD40 record has 1111 characters, at most 1063 allowed" in raised.value.message


def test_the_typed_operation_carries_the_schema_in_the_wsdl_and_takes_zeep_objects(clean: Running) -> None:
    control = {"SEGMENT": "1", "TABNAM": "EDI_DC40", "DIRECT": "2", "IDOCTYP": "TXTRAW01", "MESTYP": "TXTRAW",
               "SNDPOR": "LEGACY", "SNDPRT": "LS", "SNDPRN": "LEG", "RCVPOR": "SAPSIM", "RCVPRT": "LS",
               "RCVPRN": "SIM100"}  # fmt: skip
    lines = [{"SEGMENT": "1", "TLINE": "Hello"}, {"SEGMENT": "1", "TLINE": "  indented"}]
    receipt = confirmed_receipt(lambda message_id: clean.client.service.SendTextIDoc(
        TXTRAW01={"IDOC": [{"BEGIN": "1", "EDI_DC40": control, "E1TXTRW": lines}]},
        _soapheaders={"MessageId": message_id}))  # fmt: skip
    idoc = _only_idoc(clean, receipt.tid)
    assert idoc["status"] == "53"
    assert [row["SDATA"] for row in idoc["data"]] == ["Hello", "  indented"]


def test_an_idoc_whose_control_record_contradicts_its_document_element_is_refused(clean: Running) -> None:
    with pytest.raises(zeep.exceptions.Fault) as raised:
        clean.client.service.SendTextIDoc(TXTRAW01={"IDOC": [{"BEGIN": "1", "EDI_DC40": {
            "SEGMENT": "1", "TABNAM": "EDI_DC40", "DIRECT": "2", "IDOCTYP": "TXTRAW01", "CIMTYP": "ZTXT",
            "MESTYP": "TXTRAW", "SNDPOR": "P", "SNDPRT": "LS", "SNDPRN": "A", "RCVPOR": "P", "RCVPRT": "LS",
            "RCVPRN": "B"}, "E1TXTRW": [{"SEGMENT": "1", "TLINE": "x"}]}]})  # fmt: skip
    assert "the document element <TXTRAW01> must be named after the extension (CIMTYP) ZTXT" in raised.value.message


def test_generated_folder_holds_the_schema_and_a_copy_of_no_parser_file(tmp_path: Path) -> None:
    written = generate(load_model(EXAMPLES / "idoc_service" / "model.yaml").model, "model.yaml", tmp_path)
    names = {path.relative_to(tmp_path).as_posix() for path in written}
    assert f"{SERVICE}/TXTRAW01.xsd" in names
    document = (
        '<TXTRAW01><IDOC BEGIN="1"><EDI_DC40 SEGMENT="1"><TABNAM>EDI_DC40</TABNAM><DIRECT>2</DIRECT>'
        "<IDOCTYP>TXTRAW01</IDOCTYP><MESTYP>TXTRAW</MESTYP><SNDPOR>P</SNDPOR><SNDPRT>LS</SNDPRT><SNDPRN>A</SNDPRN>"
        "<RCVPOR>P</RCVPOR><RCVPRT>LS</RCVPRT><RCVPRN>B</RCVPRN></EDI_DC40>"
        '<E1TXTRW SEGMENT="1"><TLINE>x</TLINE></E1TXTRW></IDOC></TXTRAW01>'
    )
    schema = etree.XMLSchema(etree.parse(str(tmp_path / SERVICE / "TXTRAW01.xsd")))
    assert schema.validate(_document(document))
    assert not any(name.startswith("idoc-types/") for name in names)  # TXTRAW01 is built in

    # The WSDL carries the same IDoc types in the service's IDoc namespace, and the request element holds the
    # document without a namespace: the wire is IDoc-XML as SAP defines it
    idoc_namespace = "urn:IDocServiceExample:IDocService:idoc"
    requests = etree.XMLSchema(etree.parse(str(tmp_path / SERVICE / "idoc.xsd")))
    request = f'<r:SendTextIDoc xmlns:r="{idoc_namespace}">{document}</r:SendTextIDoc>'
    assert requests.validate(etree.fromstring(request)), requests.error_log
    qualified = request.replace("<TXTRAW01>", f'<TXTRAW01 xmlns="{idoc_namespace}">')
    assert not requests.validate(etree.fromstring(qualified))
    wsdl = etree.parse(str(tmp_path / SERVICE / "service.wsdl"))
    inline = wsdl.find(f".//{{{XSD}}}schema[@targetNamespace='{idoc_namespace}']")
    assert inline is not None
    assert _declarations(inline) == _declarations(requests_root(tmp_path))
    part = wsdl.find(".//{http://schemas.xmlsoap.org/wsdl/}message[@name='SendTextIDocRequest']/*")
    assert part is not None
    prefix, _, local = part.get("element", "").partition(":")
    assert (part.nsmap[prefix], local) == (idoc_namespace, "SendTextIDoc")


def _declarations(schema: etree._Element) -> list[tuple[str, list[tuple[str, str]], str]]:
    """What a schema declares, element by element, whatever its indentation and namespace declarations."""
    return [(str(node.tag), sorted(node.attrib.items()), (node.text or "").strip()) for node in schema.iter()
            if isinstance(node.tag, str)]  # fmt: skip


def requests_root(folder: Path) -> etree._Element:
    """The xs:schema element of the generated idoc.xsd."""
    return etree.parse(str(folder / SERVICE / "idoc.xsd")).getroot()


def _send(running: Running, *arguments: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "idocbridge", "send", "--url", f"{running.service.url}/{SERVICE}", *arguments]
    environment = os.environ | {"COLUMNS": "200"}
    return subprocess.run(command, check=False, capture_output=True, text=True, timeout=300, env=environment)


def _until(summary: str, send: Callable[[], subprocess.CompletedProcess[str]]) -> subprocess.CompletedProcess[str]:
    """Run ``send`` until its summary says ``summary``: sent again, a file's IDocs keep their MessageIds, so a
    later run learns how the first one's deliveries ended (the first answers may come before the confirm)."""

    def answered() -> subprocess.CompletedProcess[str] | None:
        result = send()
        return result if summary in result.stdout + result.stderr else None  # with --json: on standard error

    return wait_until(answered, what=f"idocbridge send reporting {summary!r}")


def _two_orders(path: Path) -> Path:
    return _orders(path, "PO-2026-000417", "PO-2026-000418")


def _orders(path: Path, *numbers: str, broken: int = 0) -> Path:
    """An ORDERS05 file of one IDoc per purchase order number; IDoc ``broken`` (from 1) with a value too long."""
    text = ORDERS05_XML.read_text(encoding="utf-8")
    idoc = text[text.index("  <IDOC") : text.index("</IDOC>") + len("</IDOC>")]
    idocs = [idoc.replace("PO-2026-000417", number) for number in numbers]
    if broken:
        idocs[broken - 1] = idocs[broken - 1].replace("<MENEE>PCE</MENEE>", "<MENEE>PIECES</MENEE>", 1)
    path.write_text(text.replace(idoc, "\n".join(idocs)), encoding="utf-8")
    return path


def test_send_delivers_every_idoc_of_a_file_once_even_when_sent_twice(clean: Running, tmp_path: Path) -> None:
    orders = _two_orders(tmp_path / "orders.xml")
    first = _until("2 IDoc(s): 2 CONFIRMED", lambda: _send(clean, "--operation", "SendIDocXML", "--json", str(orders)))
    assert first.returncode == 0, first.stderr
    results = [json.loads(line) for line in first.stdout.splitlines() if line.startswith("{")]
    assert [(r["number"], r["state"], r["error"]) for r in results] == [(1, "CONFIRMED", ""), (2, "CONFIRMED", "")]
    idocs = clean.sim.control.idocs()
    assert sorted(i["tid"] for i in idocs) == sorted(r["tid"] for r in results)
    again = _send(clean, "--operation", "SendIDocXML", "--json", str(orders))
    assert [json.loads(line)["tid"] for line in again.stdout.splitlines() if line.startswith("{")] == [
        r["tid"] for r in results
    ]  # the same MessageIds: the first answers, no second delivery
    assert len(clean.sim.control.idocs()) == 2


def test_send_per_request_puts_many_idocs_in_one_request_and_sends_them_once(clean: Running, tmp_path: Path) -> None:
    numbers = [f"PO-2026-0008{n:02d}" for n in range(1, 6)]
    orders = _orders(tmp_path / "orders.xml", *numbers)
    arguments = ["--operation", "SendIDocXML", "--per-request", "2", "--json", str(orders)]
    first = _until("5 IDoc(s): 5 CONFIRMED", lambda: _send(clean, *arguments))
    assert first.returncode == 0, first.stderr
    results = [json.loads(line) for line in first.stdout.splitlines() if line.startswith("{")]
    assert [(r["number"], r["state"]) for r in results] == [(n, "CONFIRMED") for n in range(1, 6)]
    assert [_orders_under(clean, r["tid"], numbers) for r in results] == [[number] for number in numbers]
    requests = {entry["transaction_id"] for entry in _outbox(clean) if entry["tid"] in {r["tid"] for r in results}}
    assert len(requests) == 3, "five IDocs, two to a request"
    again = _send(clean, *arguments)
    assert [json.loads(line)["tid"] for line in again.stdout.splitlines() if line.startswith("{")] == [
        r["tid"] for r in results
    ]
    assert len(clean.sim.control.idocs()) == 5, "sent again with the same --per-request: no second delivery"


def test_send_per_request_reports_a_refused_idoc_and_that_its_request_kept_none(clean: Running, tmp_path: Path) -> None:
    orders = _orders(tmp_path / "orders.xml", "PO-2026-000901", "PO-2026-000902", "PO-2026-000903", broken=2)
    result = _send(clean, "--operation", "SendIDocXML", "--per-request", "3", "--json", str(orders))
    assert result.returncode == 1
    first, second, third = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    assert "field MENEE: 'PIECES' has 6 characters" in second["error"]
    for other in (first, third):
        assert "1 of the 3 IDocs of the SendIDocXML request would be refused, so none was accepted" in other["error"]
    assert clean.sim.control.idocs() == []


def test_send_converts_xml_to_flat_for_a_flat_operation_and_reports_failures(clean: Running, tmp_path: Path) -> None:
    broken = tmp_path / "broken.xml"
    broken.write_text(
        ORDERS05_XML.read_text(encoding="utf-8").replace("<MENEE>PCE</MENEE>", "<MENEE>PIECES</MENEE>", 1)
    )
    arguments = ["--operation", "SendFlatIDoc", "--metadata", str(ORDERS05_PARSER), "--json", str(broken),
                 str(ORDERS05_XML)]  # fmt: skip
    result = _until("2 IDoc(s): 1 CONFIRMED, 1 FAILED", lambda: _send(clean, *arguments))
    assert result.returncode == 1
    failed, sent = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    assert failed["file"] == str(broken) and failed["tid"] == ""
    assert (
        "segment 11 E1EDP01, field MENEE: 'PIECES' has 6 characters, at most 3 allowed [value-too-long]"
        in (failed["error"])
    )
    assert sent["state"] == "CONFIRMED"
    assert [(idoc["tid"], idoc["status"]) for idoc in clean.sim.control.idocs()] == [(sent["tid"], "53")]


def test_send_refuses_an_operation_that_takes_no_idoc(running: Running) -> None:
    result = _send(running, "--operation", "NoSuchOperation", str(ORDERS05_XML))
    assert result.returncode == 1
    assert "has no operation NoSuchOperation; its operations: SendFlatIDoc, SendIDocXML, SendTextIDoc" in result.stderr


def test_the_typed_operation_refuses_an_idoc_of_another_type_sent_without_zeep(clean: Running) -> None:
    namespace = "urn:IDocServiceExample:IDocService:idoc"  # the namespace of requests that hold IDoc-XML
    order = etree.tostring(_orders05()).decode("utf-8")
    envelope = (
        '<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>'
        f'<tns:SendTextIDoc xmlns:tns="{namespace}">{order}</tns:SendTextIDoc></soap:Body></soap:Envelope>'
    )
    response = httpx.post(f"{clean.service.url}/{SERVICE}", content=envelope.encode("utf-8"),
                          headers={"Content-Type": "text/xml; charset=utf-8"}, timeout=60)  # fmt: skip
    assert response.status_code == 500
    reason = etree.fromstring(response.content).findtext(".//faultstring") or ""
    assert "operation SendTextIDoc takes IDocs of type TXTRAW01, not of basic type ORDERS05" in reason
    assert clean.sim.control.idocs() == []


def _typed_orders_model(folder: Path) -> Path:
    """The example model plus idocTypes ORDERS05 (its parser file next to the model) and an operation that
    takes ORDERS05 IDoc-XML only."""
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(ORDERS05_PARSER, folder / "ORDERS05.txt")  # a test-time copy in a temporary folder
    text = (EXAMPLES / "idoc_service" / "model.yaml").read_text(encoding="utf-8")
    text = text.replace(
        "\nservices:\n", "\nidocTypes:\n  - name: ORDERS05\n    parserFile: ORDERS05.txt\n\nservices:\n", 1
    )
    text += (
        "          - name: SendOrder\n            idoc:\n              format: xml\n              type: ORDERS05\n"
        "            activity: *deliver\n"
    )
    model = folder / "model.yaml"
    model.write_text(text, encoding="utf-8")
    return model


def test_a_model_with_idoc_types_is_served_from_its_generated_folder_and_send_builds_typed_requests(
    clean: Running, tmp_path: Path
) -> None:
    model = _typed_orders_model(tmp_path / "model")
    written = generate(load_model(model).model, "model.yaml", tmp_path / "out")
    names = {path.relative_to(tmp_path / "out").as_posix() for path in written}
    assert {"idoc-types/ORDERS05.txt", f"{SERVICE}/ORDERS05.xsd"} <= names
    assert "parserFile: idoc-types/ORDERS05.txt" in (tmp_path / "out" / "model.yaml").read_text(encoding="utf-8")
    (tmp_path / "model" / "ORDERS05.txt").unlink()  # the served folder must not need the model's folder
    assert clean.sim.info is not None
    settings = tmp_path / "settings.yaml"
    settings.write_text(simulator_settings(["ERP_IDOC_INBOUND"], clean.sim.info, tmp_path / "state"), encoding="utf-8")
    reads = clean.sim.control.calls("IDOCTYPE_READ_COMPLETE")
    with ServiceProcess(tmp_path / "out", settings, tmp_path / "state", {"SAP_PASSWORD": "idocbridge"}) as service:
        command = [sys.executable, "-m", "idocbridge", "send", "--url", f"{service.url}/{SERVICE}",
                   "--operation", "SendOrder", "--json", str(_two_orders(tmp_path / "orders.xml"))]  # fmt: skip
        result = _until("2 IDoc(s): 2 CONFIRMED", lambda: subprocess.run(command, check=False, capture_output=True,
                                                                        text=True, timeout=300))  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    results = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    assert [r["state"] for r in results] == ["CONFIRMED", "CONFIRMED"]
    assert [i["status"] for i in clean.sim.control.idocs()] == ["53", "53"]
    assert clean.sim.control.calls("IDOCTYPE_READ_COMPLETE") == reads  # from the model


def test_idoc_convert_reads_the_metadata_from_sap_through_an_alias(clean: Running, tmp_path: Path) -> None:
    assert clean.sim.info is not None
    settings = tmp_path / "settings.yaml"
    settings.write_text(simulator_settings(["ERP_IDOC_INBOUND"], clean.sim.info, tmp_path / "state"), encoding="utf-8")
    flat = tmp_path / "orders05.idoc"
    command = [sys.executable, "-m", "idocbridge", "idoc", "convert", str(ORDERS05_XML), "--to", "flat",
               "--alias", "ERP_IDOC_INBOUND", "--model", str(EXAMPLES / "idoc_service" / "model.yaml"),
               "--settings", str(settings), "-o", str(flat)]  # fmt: skip
    result = subprocess.run(command, check=False, capture_output=True, text=True, timeout=300,
                            env=os.environ | {"SAP_PASSWORD": "idocbridge"})  # fmt: skip
    assert result.returncode == 0, result.stderr
    orders05 = read_parser_file(ORDERS05_PARSER)
    expected = io.StringIO()
    write_flat_idoc(expected, idoc_to_records(next(iter_idoc_xml(ORDERS05_XML)), orders05, segnam="definition"))
    assert flat.read_bytes().decode("utf-8") == expected.getvalue()
    assert clean.sim.control.calls("IDOCTYPE_READ_COMPLETE") == 1
