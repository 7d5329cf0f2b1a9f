"""suds (suds-community) calls every operation of both example services from the served WSDL.

suds builds each request from the WSDL's types: plain dictionaries for structures (attributes keyed
``_NAME``), a list for repeated elements, the MessageId header from ``soapheaders``; nothing hand-written
but the IDoc-XML document of the one operation that takes any IDoc type (``xs:any``: the document is its
payload, passed as an element). What reaches SAP is read back from the simulator.
"""

from __future__ import annotations

import io
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from lxml import etree
from suds import WebFault
from suds.client import Client
from suds.sax.parser import Parser

from idocbridge.idoc import TXTRAW01
from idocbridge.idoc.flat import write_flat_idoc
from idocbridge.idoc.idoc_xml import idoc_from_element
from idocbridge.idoc.tables import idoc_to_records
from tests.soap.example_service import IDOC_SERVICE, SERVICE, Served, served_example, served_idoc_example
from tests.waiting import wait_until

CONTROL = {"TABNAM": "EDI_DC40", "DIRECT": "2", "IDOCTYP": "TXTRAW01", "MESTYP": "TXTRAW", "SNDPOR": "LEGACY",
           "SNDPRT": "LS", "SNDPRN": "LEG", "RCVPOR": "SAPSIM", "RCVPRT": "LS", "RCVPRN": "SIM100"}  # fmt: skip


@pytest.fixture(scope="module")
def trfc(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, Client]]:
    with served_example(tmp_path_factory.mktemp("suds-trfc")) as (sim, service):
        yield sim, Client(service.wsdl_url(SERVICE), cache=None)


@pytest.fixture(scope="module")
def idoc(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Served, Client]]:
    with served_idoc_example(tmp_path_factory.mktemp("suds-idoc")) as served:
        yield served, Client(served.service.wsdl_url(IDOC_SERVICE), cache=None)


def _confirmed(client: Client, call: Callable[[], Any]) -> Any:
    """The receipt of ``call()`` sent with one MessageId until it says CONFIRMED (the first answer may come
    before the confirm)."""
    client.set_options(soapheaders={"MessageId": f"suds-{uuid.uuid4().hex}"})
    try:
        return wait_until(lambda: (receipt := call()).state == "CONFIRMED" and receipt, what="a CONFIRMED receipt")
    finally:
        client.set_options(soapheaders=())


def _fault(call: Callable[[], Any]) -> tuple[str, str]:
    """The fault code and string of a call that must fail."""
    with pytest.raises(WebFault) as raised:
        call()
    fault = raised.value.fault
    return str(fault.faultcode), str(fault.faultstring)


def _only_idoc(sim: Any, tid: str) -> dict[str, Any]:
    (found,) = sim.control.idocs(tid=tid)
    assert isinstance(found, dict)
    return found


def test_test_simple_types_answers_from_sap(trfc: tuple[Any, Client]) -> None:
    _, client = trfc
    answer = client.service.TestSimpleTypes(requestText="Hello from suds")
    assert answer.echoText == "Hello from suds" and "Sysid: SIM" in answer.responseText


def test_send_txtraw_reaches_sap_once_with_status_53(trfc: tuple[Any, Client]) -> None:
    sim, client = trfc
    receipt = _confirmed(client, lambda: client.service.SendTXTRAW(
        senderPort="LEGACY", senderPartner="LEG", receiverPort="SAPSIM", receiverPartner="SIM100",
        lines=["first line", "second line"]))  # fmt: skip
    found = _only_idoc(sim, receipt.tid)
    assert (found["idoctyp"], found["status"], found["segments"]) == ("TXTRAW01", "53", 2)


def test_send_any_idoc_takes_control_and_data_records(trfc: tuple[Any, Client]) -> None:
    sim, client = trfc
    control = {key: value for key, value in CONTROL.items() if key not in ("SNDPOR", "RCVPOR")}
    receipt = _confirmed(client, lambda: client.service.SendAnyIDoc(
        controlRecord=control, dataRecords=[{"SEGNAM": "E1TXTRW", "SDATA": "from suds"}]))  # fmt: skip
    found = _only_idoc(sim, receipt.tid)
    assert (found["sndprn"], found["rcvprn"], found["status"]) == ("LEG", "SIM100", "53")


def test_a_value_longer_than_its_field_is_a_client_fault_naming_it(trfc: tuple[Any, Client]) -> None:
    sim, client = trfc
    code, reason = _fault(lambda: client.service.SendTXTRAW(senderPort="LEGACY", senderPartner="P" * 11,
                                                            receiverPort="SAPSIM", receiverPartner="SIM100",
                                                            lines=["x"]))  # fmt: skip
    assert code.endswith("Client")
    assert "senderPartner" in reason and "transaction" in reason
    assert all(found["sndprn"] != "P" * 11 for found in sim.control.idocs()), "nothing of it reached SAP"


def test_send_text_idoc_takes_the_idoc_as_typed_structures(idoc: tuple[Served, Client]) -> None:
    served, client = idoc
    document = {"IDOC": [{"_BEGIN": "1", "EDI_DC40": {"_SEGMENT": "1", **CONTROL},
                          "E1TXTRW": [{"_SEGMENT": "1", "TLINE": "Hello from suds"},
                                      {"_SEGMENT": "1", "TLINE": "  indented"}]}]}  # fmt: skip
    receipt = _confirmed(client, lambda: client.service.SendTextIDoc(document))
    found = _only_idoc(served.sim, receipt.tid)
    assert (found["idoctyp"], found["status"], found["segments"]) == ("TXTRAW01", "53", 2)
    sent = str(client.last_sent())
    assert "<TXTRAW01>" in sent and '<IDOC BEGIN="1">' in sent, "the IDoc-XML travels without a namespace"


def test_send_text_idoc_refuses_a_segment_too_long_naming_it(idoc: tuple[Served, Client]) -> None:
    _, client = idoc
    document = {"IDOC": [{"_BEGIN": "1", "EDI_DC40": {"_SEGMENT": "1", **CONTROL},
                          "E1TXTRW": [{"_SEGMENT": "1", "TLINE": "x" * 73}]}]}  # fmt: skip
    code, reason = _fault(lambda: client.service.SendTextIDoc(document))
    assert code.endswith("Client") and "TLINE" in reason, reason


def _txtraw01_document(line: str) -> str:
    """A TXTRAW01 IDoc-XML document of one line (the file a partner system would send)."""
    control = "".join(f"<{name}>{value}</{name}>" for name, value in CONTROL.items())
    return (f'<TXTRAW01><IDOC BEGIN="1"><EDI_DC40 SEGMENT="1">{control}</EDI_DC40>'
            f'<E1TXTRW SEGMENT="1"><TLINE>{line}</TLINE></E1TXTRW></IDOC></TXTRAW01>')  # fmt: skip


def test_send_idoc_xml_takes_any_idoc_xml_document(idoc: tuple[Served, Client]) -> None:
    served, _ = idoc
    # suds writes an element given for xs:any only into its pretty-printed envelope (its compact one keeps
    # just the element's name): the client option prettyxml says which to send
    client = Client(served.service.wsdl_url(IDOC_SERVICE), cache=None, prettyxml=True)
    document = Parser().parse(string=_txtraw01_document("any type, from suds").encode("utf-8")).root()
    receipt = _confirmed(client, lambda: client.service.SendIDocXML(document))
    found = _only_idoc(served.sim, receipt.tid)
    assert (found["idoctyp"], found["status"]) == ("TXTRAW01", "53")


def test_send_flat_idoc_takes_the_file_text(idoc: tuple[Served, Client]) -> None:
    served, client = idoc
    parsed = idoc_from_element(etree.fromstring(_txtraw01_document("flat, from suds").encode("utf-8"))[0], "TXTRAW01")
    text = io.StringIO()
    write_flat_idoc(text, idoc_to_records(parsed, TXTRAW01))
    receipt = _confirmed(client, lambda: client.service.SendFlatIDoc(flatIDoc=text.getvalue()))
    found = _only_idoc(served.sim, receipt.tid)
    assert (found["idoctyp"], found["status"], found["segments"]) == ("TXTRAW01", "53", 1)


def test_a_flat_idoc_that_is_none_is_a_client_fault_naming_its_line(idoc: tuple[Served, Client]) -> None:
    _, client = idoc
    code, reason = _fault(lambda: client.service.SendFlatIDoc(flatIDoc="not a flat IDoc"))
    assert code.endswith("Client") and "line 1" in reason and "transaction" in reason
