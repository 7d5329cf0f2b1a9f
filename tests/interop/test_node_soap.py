"""node-soap (Node.js) as the client of the served tRFC client example, with the simulator behind it.

node-soap reads the served WSDL, builds each request from plain objects and parses the answers and
faults; nothing here hands it XML. The tests skip, saying why, where node or node-soap is missing.
"""

from __future__ import annotations

import io
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import pytest
from lxml import etree

from idocbridge.idoc import TXTRAW01
from idocbridge.idoc.flat import write_flat_idoc
from idocbridge.idoc.idoc_xml import idoc_from_element
from idocbridge.idoc.tables import idoc_to_records
from idocbridge.models import load_model
from idocbridge.sapsim.testing import SimulatorProcess
from tests.conftest import EXAMPLES
from tests.interop.node_client import call_node, node_client  # noqa: F401 - node_client: the fixture
from tests.soap.example_service import IDOC_SERVICE, NS, SERVICE, served_example, served_idoc_example
from tests.waiting import confirmed_receipt

pytestmark = pytest.mark.usefixtures("node_client")

IDOC_SERVICE_NAMESPACE = "urn:IDocServiceExample:IDocService"
IDOC_NAMESPACE = f"{IDOC_SERVICE_NAMESPACE}:idoc"

SOAP_VERSIONS = [
    pytest.param(False, 500, "soap:Client", id="soap11"),
    pytest.param(True, 400, "soap:Sender", id="soap12"),
]
"""Whether node-soap sends SOAP 1.2, and the HTTP status and fault code a client's mistake gets then."""


@dataclass
class Running:
    """The simulator and the served example (processes), and the WSDL address node-soap reads."""

    sim: SimulatorProcess
    wsdl: str

    def call(self, operation: str, args: dict[str, Any], **request: Any) -> dict[str, Any]:
        """What node-soap makes of calling ``operation`` with ``args`` (call.mjs's answer)."""
        return call_node({"wsdl": self.wsdl, "operation": operation, "args": args, **request})


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    with served_example(tmp_path_factory.mktemp("node-soap")) as (sim, service):
        yield Running(sim, service.wsdl_url(SERVICE))


def _message_id(message_id: str) -> dict[str, Any]:
    """The MessageId SOAP header as node-soap's addSoapHeader takes it: the element in the service's namespace."""
    return {"header": {"MessageId": message_id}, "namespace": "tns", "xmlns": NS}


def _receipt(answer: dict[str, Any]) -> SimpleNamespace:
    """The delivery receipt node-soap parsed, with its fields as attributes; a fault fails the test."""
    assert answer["ok"], answer
    return SimpleNamespace(**answer["result"])


def _code_and_reason(fault: dict[str, Any]) -> tuple[str, str]:
    """The fault code and the text for people of a fault node-soap parsed, SOAP 1.1 or 1.2."""
    if "faultcode" in fault:
        return fault["faultcode"], fault["faultstring"]
    text = fault["Reason"]["Text"]
    return fault["Code"]["Value"], text["$value"] if isinstance(text, dict) else text


def _model_inputs() -> dict[str, set[str]]:
    """Each operation of the example and the fields of its input, as node-soap's describe() names them."""
    model = load_model(EXAMPLES / "trfc_client" / "model.yaml").model
    structures = {structure.name: structure for structure in model.structures}
    (service,) = model.services
    inputs = {operation.name: operation.input for port_type in service.port_types for operation in port_type.operations}
    return {
        name: {field.name + ("[]" if field.array else "") for field in structures[str(structure)].fields}
        for name, structure in inputs.items()
    }


def _fields(described: dict[str, Any]) -> set[str]:
    return set(described) - {"targetNSAlias", "targetNamespace"}


def test_node_soap_sees_each_operation_of_both_ports_with_the_models_input_fields(running: Running) -> None:
    ports = call_node({"describe": True, "wsdl": running.wsdl})[SERVICE]
    assert set(ports) == {"IDocInterfaceSoap11", "IDocInterfaceSoap12"}
    expected = _model_inputs()
    for name, operations in ports.items():
        assert {operation: _fields(described["input"]) for operation, described in operations.items()} == expected, name
        assert operations["TestSimpleTypes"]["input"]["requestText"] == "ddic.CHAR.255|xs:string|maxLength"
        assert operations["SendTXTRAW"]["input"]["lines[]"] == "ddic.CHAR.72|xs:string|maxLength"
        any_idoc = operations["SendAnyIDoc"]["input"]
        assert any_idoc["controlRecord"]["IDOCTYP"] == "ddic.CHAR.30|xs:string|maxLength"
        assert any_idoc["dataRecords[]"]["SDATA"] == "ddic.CHAR.1000|xs:string|maxLength"
        assert _fields(operations["SendTXTRAW"]["output"]) >= {"transactionId", "tid", "state"}


@pytest.mark.parametrize("soap12", [False, True], ids=["soap11", "soap12"])
def test_test_simple_types_answers_node_soap_with_the_echo_and_the_sap_response(running: Running, soap12: bool) -> None:
    answer = running.call("TestSimpleTypes", {"requestText": "Hello from node-soap"}, soap12=soap12)
    assert answer["ok"], answer
    assert answer["result"]["echoText"] == "Hello from node-soap"
    response = answer["result"]["responseText"]
    assert "Sysid: SIM" in response and "Logon_Data: 100/IDOCUSER/E" in response


@pytest.mark.parametrize(("soap12", "status", "code"), SOAP_VERSIONS)
def test_a_too_long_request_text_comes_back_as_a_fault_naming_the_field_and_its_limit(
    running: Running, soap12: bool, status: int, code: str
) -> None:
    answer = running.call("TestSimpleTypes", {"requestText": "x" * 256}, soap12=soap12)
    assert not answer["ok"] and "fault" in answer, answer
    assert answer["status"] == status
    fault_code, reason = _code_and_reason(answer["fault"])
    assert fault_code == code
    assert "the TestSimpleTypes request does not match the service's schema" in reason
    assert "requestText" in reason and "exceeds the allowed maximum length of '255'" in reason
    assert "(transaction " in reason


def test_a_request_missing_a_required_field_comes_back_as_a_fault_naming_the_field(running: Running) -> None:
    args = {"senderPort": "LEGACY", "senderPartner": "LEG", "receiverPort": "SAPSIM", "lines": ["no receiver"]}
    answer = running.call("SendTXTRAW", args, soapHeaders=[_message_id(f"test-{uuid.uuid4().hex}")])
    assert not answer["ok"] and answer["status"] == 500, answer
    fault_code, reason = _code_and_reason(answer["fault"])
    assert fault_code == "soap:Client"
    assert "the SendTXTRAW request does not match the service's schema" in reason
    assert f"Expected is ( {{{NS}}}receiverPartner )" in reason


def test_a_message_id_header_in_no_namespace_is_refused_naming_the_namespace_it_needs(running: Running) -> None:
    args = {"senderPort": "LEGACY", "senderPartner": "NONS", "receiverPort": "SAPSIM", "receiverPartner": "SIM100"}
    answer = running.call("SendTXTRAW", args, soapHeaders=[{"header": {"MessageId": "no-namespace"}}])
    assert not answer["ok"] and answer["status"] == 500, answer
    fault_code, reason = _code_and_reason(answer["fault"])
    assert fault_code == "soap:Client"
    assert f"send the message ID as MessageId in namespace {NS}" in reason
    assert [idoc for idoc in running.sim.control.idocs() if idoc["sndprn"] == "NONS"] == []  # refused, not sent


def test_send_txtraw_built_by_node_soap_delivers_one_idoc_with_its_lines(running: Running) -> None:
    args = {"senderPort": "LEGACY", "senderPartner": "NODE", "receiverPort": "SAPSIM", "receiverPartner": "SIM100",
            "lines": ["first line from node-soap", "second line"]}  # fmt: skip
    receipt = confirmed_receipt(
        lambda message_id: _receipt(running.call("SendTXTRAW", args, soapHeaders=[_message_id(message_id)]))
    )
    assert len(receipt.tid) == 24 and len(receipt.transactionId) == 40
    (idoc,) = running.sim.control.idocs(tid=receipt.tid, full=True)
    assert (idoc["idoctyp"], idoc["mestyp"], idoc["sndprn"], idoc["status"]) == ("TXTRAW01", "TXTRAW", "NODE", "53")
    assert [(record["SEGNAM"], record["SDATA"]) for record in idoc["data"]] == [
        ("E1TXTRW", "first line from node-soap"),
        ("E1TXTRW", "second line"),
    ]


def test_send_any_idoc_takes_edi_dc40_and_edi_dd40_records_as_node_soap_objects(running: Running) -> None:
    control = {"TABNAM": "EDI_DC40", "DIRECT": "2", "IDOCTYP": "TXTRAW01", "MESTYP": "TXTRAW", "SNDPOR": "LEGACY",
               "SNDPRT": "LS", "SNDPRN": "NODEANY", "RCVPOR": "SAPSIM", "RCVPRT": "LS", "RCVPRN": "SIM100"}  # fmt: skip
    args = {"controlRecord": control, "dataRecords": [{"SEGNAM": "E1TXTRW", "SDATA": "a record from node-soap"}]}
    receipt = confirmed_receipt(
        lambda message_id: _receipt(running.call("SendAnyIDoc", args, soapHeaders=[_message_id(message_id)]))
    )
    (idoc,) = running.sim.control.idocs(tid=receipt.tid, full=True)
    assert (idoc["sndprn"], idoc["rcvprn"], idoc["status"]) == ("NODEANY", "SIM100", "53")
    assert [record["SDATA"] for record in idoc["data"]] == ["a record from node-soap"]


IDOC_CONTROL = {"attributes": {"SEGMENT": "1"}, "TABNAM": "EDI_DC40", "DIRECT": "2", "IDOCTYP": "TXTRAW01",
                "MESTYP": "TXTRAW", "SNDPOR": "LEGACY", "SNDPRT": "LS", "SNDPRN": "NODEXML", "RCVPOR": "SAPSIM",
                "RCVPRT": "LS", "RCVPRN": "SIM100"}  # fmt: skip


def _txtraw01(*lines: str) -> dict[str, Any]:
    """A TXTRAW01 IDoc-XML document as node-soap objects: attributes under ``attributes``, lists for repeats."""
    segments = [{"attributes": {"SEGMENT": "1"}, "TLINE": line} for line in lines]
    return {"IDOC": [{"attributes": {"BEGIN": "1"}, "EDI_DC40": IDOC_CONTROL, "E1TXTRW": segments}]}


@pytest.fixture(scope="module")
def idoc_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    with served_idoc_example(tmp_path_factory.mktemp("node-soap-idoc")) as served:
        yield Running(served.sim, served.service.wsdl_url(IDOC_SERVICE))


def test_node_soap_sees_the_idoc_of_the_typed_operation_as_structures(idoc_service: Running) -> None:
    ports = call_node({"describe": True, "wsdl": idoc_service.wsdl})[IDOC_SERVICE]
    for operations in ports.values():
        document = operations["SendTextIDoc"]["input"]["TXTRAW01"]
        assert document["targetNamespace"] == IDOC_NAMESPACE
        idoc = document["IDOC[]"]
        assert idoc["E1TXTRW[]"]["TLINE"] == "string.72|xs:string|maxLength"
        assert idoc["EDI_DC40"]["MESTYP"] == "string.30|xs:string|maxLength"
        assert _fields(operations["SendFlatIDoc"]["input"]) == {"flatIDoc"}


def test_send_text_idoc_built_by_node_soap_travels_as_sap_idoc_xml(idoc_service: Running) -> None:
    def send(message_id: str) -> SimpleNamespace:
        answer = idoc_service.call("SendTextIDoc", {"TXTRAW01": _txtraw01("from node-soap", "  indented")},
                                   soapHeaders=[_idoc_message_id(message_id)])  # fmt: skip
        assert '<TXTRAW01><IDOC BEGIN="1">' in answer.get("request", ""), "the IDoc has no namespace"
        return _receipt(answer)

    receipt = confirmed_receipt(send)
    (idoc,) = idoc_service.sim.control.idocs(tid=receipt.tid, full=True)
    assert (idoc["idoctyp"], idoc["sndprn"], idoc["status"]) == ("TXTRAW01", "NODEXML", "53")
    assert [record["SDATA"] for record in idoc["data"]] == ["from node-soap", "  indented"]


def test_send_idoc_xml_takes_any_idoc_as_node_soap_objects(idoc_service: Running) -> None:
    args = {"TXTRAW01": _txtraw01("any type, from node-soap")}
    receipt = confirmed_receipt(lambda message_id: _receipt(
        idoc_service.call("SendIDocXML", args, soapHeaders=[_idoc_message_id(message_id)])))  # fmt: skip
    (idoc,) = idoc_service.sim.control.idocs(tid=receipt.tid, full=True)
    assert (idoc["idoctyp"], idoc["status"]) == ("TXTRAW01", "53")


def test_send_flat_idoc_takes_the_files_text_from_node_soap(idoc_service: Running) -> None:
    document = etree.fromstring(
        '<TXTRAW01><IDOC BEGIN="1"><EDI_DC40 SEGMENT="1">'
         + "".join(f"<{k}>{v}</{k}>" for k, v in IDOC_CONTROL.items() if k != "attributes")
         + '</EDI_DC40><E1TXTRW SEGMENT="1"><TLINE>flat, from node-soap</TLINE></E1TXTRW></IDOC></TXTRAW01>'
    )  # fmt: skip
    text = io.StringIO()
    write_flat_idoc(text, idoc_to_records(idoc_from_element(document[0], "TXTRAW01"), TXTRAW01))
    receipt = confirmed_receipt(lambda message_id: _receipt(idoc_service.call(
        "SendFlatIDoc", {"flatIDoc": text.getvalue()}, soapHeaders=[_idoc_message_id(message_id)])))  # fmt: skip
    (idoc,) = idoc_service.sim.control.idocs(tid=receipt.tid, full=True)
    assert [record["SDATA"] for record in idoc["data"]] == ["flat, from node-soap"]


def test_a_segment_value_too_long_is_a_fault_naming_the_field(idoc_service: Running) -> None:
    answer = idoc_service.call("SendTextIDoc", {"TXTRAW01": _txtraw01("x" * 73)})
    assert not answer["ok"] and "fault" in answer, answer
    fault_code, reason = _code_and_reason(answer["fault"])
    assert fault_code == "soap:Client" and "TLINE" in reason and "(transaction " in reason


def _idoc_message_id(message_id: str) -> dict[str, Any]:
    """The MessageId header of the IDoc service (in its service namespace, as for every operation)."""
    return {"header": {"MessageId": message_id}, "namespace": "tns", "xmlns": IDOC_SERVICE_NAMESPACE}
