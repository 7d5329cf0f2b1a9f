"""Fault codes and HTTP statuses as SOAP 1.1 and SOAP 1.2 define them, posted as raw envelopes over HTTP to the
served example (a process, with the simulator behind it).

SOAP 1.1 (W3C Note §4.4.1, §6.2; WS-I Basic Profile 1.1 R1126): VersionMismatch, MustUnderstand, Client,
Server, every fault with HTTP 500. SOAP 1.2 (Part 1 §5.4.6-5.4.8; Part 2 Table 20): VersionMismatch (500,
with an Upgrade header block), MustUnderstand (500, a NotUnderstood header block per block), Sender (400),
Receiver (500), DataEncodingUnknown (500). Refusals at the HTTP level keep their status.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
from lxml import etree

from idocbridge.sapsim.testing import SimulatorProcess
from idocbridge.soap.testing import ServiceProcess
from tests.soap.example_service import NS, SERVICE, served_example

SOAP11 = "http://schemas.xmlsoap.org/soap/envelope/"
SOAP12 = "http://www.w3.org/2003/05/soap-envelope"
DRAFT = "http://www.w3.org/2001/12/soap-envelope"
"""The namespace of a SOAP 1.2 draft: an envelope the service does not take."""
ENVELOPES = {"1.1": SOAP11, "1.2": SOAP12}
MEDIA = {"1.1": "text/xml; charset=utf-8", "1.2": "application/soap+xml; charset=utf-8"}
FAULT_NS = "urn:idocbridge:fault:1"
WSA = "http://www.w3.org/2005/08/addressing"
ROLE = "http://www.w3.org/2003/05/soap-envelope/role/"
ACTOR_NEXT = "http://schemas.xmlsoap.org/soap/actor/next"
MAX_BODY = 100_000


@dataclass
class Served:
    sim: SimulatorProcess
    service: ServiceProcess

    def post(self, body: bytes, media: str) -> httpx.Response:
        headers = {"Content-Type": media} if media else {}
        return httpx.post(f"{self.service.url}/{SERVICE}", content=body, headers=headers, timeout=60)

    def stfc_calls(self) -> int:
        """How many STFC_CONNECTION calls (TestSimpleTypes) SAP has answered: a refused request made none."""
        return self.sim.control.calls("STFC_CONNECTION")


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    with served_example(tmp_path_factory.mktemp("fault-codes"), f"  maxBodyBytes: {MAX_BODY}\n") as (sim, service):
        yield Served(sim, service)


@dataclass
class Fault:
    """A fault as the client reads it off the wire."""

    status: int
    media: str
    version: str
    """The version of the fault's envelope, by its namespace."""
    code: str
    """The fault code as ``{namespace}local``, its prefix resolved where it is written."""
    subcodes: list[str]
    reason: str
    transaction: str
    """The transaction ID in the service's fault element (in a detail, or a header entry)."""
    detail: bool
    """Whether the Fault has a detail (SOAP 1.1) or Detail (SOAP 1.2) element."""
    header: list[etree._Element]


def _resolved(element: etree._Element, value: str) -> str:
    """A QName written in ``element`` (text or attribute), as ``{namespace}local``."""
    prefix, _, local = value.strip().rpartition(":")
    namespace = element.nsmap.get(prefix or None)
    return f"{{{namespace}}}{local}" if namespace else local


def _fault(response: httpx.Response) -> Fault:
    root = etree.fromstring(response.content)
    env = etree.QName(root).namespace
    assert etree.QName(root).localname == "Envelope" and env in (SOAP11, SOAP12), response.text
    version = "1.1" if env == SOAP11 else "1.2"
    (node,) = root.findall(f"{{{env}}}Body/{{{env}}}Fault")
    header = root.find(f"{{{env}}}Header")
    if version == "1.1":
        assert [child.tag for child in node][:2] == ["faultcode", "faultstring"], response.text
        code_node = node.find("faultcode")
        assert code_node is not None
        code, subcodes = _resolved(code_node, code_node.text or ""), []
        reason, detail = node.findtext("faultstring") or "", node.find("detail") is not None
    else:
        values = node.findall(f"{{{env}}}Code/{{{env}}}Value") + node.findall(f".//{{{env}}}Subcode/{{{env}}}Value")
        code, *subcodes = [_resolved(value, value.text or "") for value in values]
        reason = node.findtext(f"{{{env}}}Reason/{{{env}}}Text") or ""
        detail = node.find(f"{{{env}}}Detail") is not None
    transactions = root.findall(f".//{{{FAULT_NS}}}transactionId")
    assert len(transactions) == 1, response.text
    transaction = transactions[0].text or ""
    assert reason.endswith(f"(transaction {transaction})") and len(transaction) == 40, reason
    return Fault(response.status_code, response.headers["content-type"].partition(";")[0], version, code, subcodes,
                 reason, transaction, detail, list(header) if header is not None else [])  # fmt: skip


def _blocks(fault: Fault, name: str) -> list[etree._Element]:
    return [block for block in fault.header if block.tag == f"{{{SOAP12}}}{name}"]


def _not_understood(fault: Fault) -> list[str]:
    return [_resolved(block, block.get("qname", "")) for block in _blocks(fault, "NotUnderstood")]


def _upgrade(fault: Fault) -> list[str]:
    (upgrade,) = _blocks(fault, "Upgrade")
    supported = upgrade.findall(f"{{{SOAP12}}}SupportedEnvelope")
    assert len(supported) == len(upgrade), etree.tostring(upgrade)
    return [_resolved(element, element.get("qname", "")) for element in supported]


def _envelope(version_or_namespace: str, payload: str, header: str = "", root: str = "Envelope",
              attributes: str = "") -> bytes:  # fmt: skip
    env = ENVELOPES.get(version_or_namespace, version_or_namespace)
    head = f"<s:Header>{header}</s:Header>" if header else ""
    return (f'<s:{root} xmlns:s="{env}" xmlns:t="{NS}" xmlns:p="urn:partner:headers" xmlns:wsa="{WSA}">{head}'
            f"<s:Body{attributes}>{payload}</s:Body></s:{root}>").encode()  # fmt: skip


def _echo(text: str, attributes: str = "") -> str:
    return f"<t:TestSimpleTypes{attributes}><t:requestText>{text}</t:requestText></t:TestSimpleTypes>"


def _txtraw(text: str) -> str:
    return (
        "<t:SendTXTRAW><t:senderPort>P</t:senderPort><t:senderPartner>S</t:senderPartner><t:receiverPort>R"
        f"</t:receiverPort><t:receiverPartner>Q</t:receiverPartner><t:lines>{text}</t:lines></t:SendTXTRAW>"
    )


def _echoed(response: httpx.Response, text: str, version: str) -> None:
    """The answer is TestSimpleTypes's, in ``version``."""
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith(MEDIA[version].partition(";")[0])
    root = etree.fromstring(response.content)
    assert etree.QName(root).namespace == ENVELOPES[version]
    assert root.findtext(f".//{{{NS}}}echoText") == text


# Client / Sender and Server / Receiver


@pytest.mark.parametrize(("version", "status", "code"), [("1.1", 500, f"{{{SOAP11}}}Client"),
                                                         ("1.2", 400, f"{{{SOAP12}}}Sender")])  # fmt: skip
def test_a_request_the_client_must_fix_is_a_client_or_sender_fault(
    served: Served, version: str, status: int, code: str
) -> None:
    fault = _fault(served.post(_envelope(version, "<t:DeleteEverything/>"), MEDIA[version]))
    assert (fault.status, fault.media, fault.version, fault.code) == (status, MEDIA[version].partition(";")[0],
                                                                      version, code)  # fmt: skip
    assert fault.subcodes == []  # the service defines no subcodes
    assert "DeleteEverything in namespace" in fault.reason and "is not an operation of" in fault.reason
    assert fault.detail and fault.header == []


@pytest.mark.parametrize(("version", "code"), [("1.1", f"{{{SOAP11}}}Server"), ("1.2", f"{{{SOAP12}}}Receiver")])
def test_a_failure_on_the_service_side_is_a_server_or_receiver_fault_with_500(
    served: Served, version: str, code: str
) -> None:
    served.sim.control.add_fault("abap_exception", function="STFC_CONNECTION", key="SYSTEM_BUSY")
    fault = _fault(served.post(_envelope(version, _echo("refused by SAP")), MEDIA[version]))
    assert (fault.status, fault.version, fault.code, fault.subcodes) == (500, version, code, [])
    assert "SAP refused the call" in fault.reason and fault.detail


# VersionMismatch


@pytest.mark.parametrize(
    ("envelope", "media", "answered", "upgrade", "reason"),
    [
        (SOAP12, "1.1", "1.1", [SOAP11, SOAP12], "a SOAP 1.2 envelope sent as text/xml, the media type of SOAP 1.1"),
        (SOAP11, "1.2", "1.1", [SOAP12, SOAP11],
         "a SOAP 1.1 envelope sent as application/soap+xml, the media type of SOAP 1.2"),
        (DRAFT, "1.1", "1.1", [SOAP11, SOAP12], f"root element is Envelope in namespace {DRAFT}, not a SOAP 1.1"),
        (DRAFT, "1.2", "1.2", [SOAP12, SOAP11], f"root element is Envelope in namespace {DRAFT}, not a SOAP 1.1"),
    ],
    ids=["soap12-as-text-xml", "soap11-as-soap+xml", "other-as-text-xml", "other-as-soap+xml"],
)  # fmt: skip
def test_an_envelope_of_another_version_is_a_version_mismatch_naming_the_envelopes_taken(
    served: Served, envelope: str, media: str, answered: str, upgrade: list[str], reason: str
) -> None:
    before = served.stfc_calls()
    response = served.post(_envelope(envelope, _echo("never run")), MEDIA[media])
    fault = _fault(response)
    assert (fault.status, fault.version, fault.media) == (500, answered, MEDIA[answered].partition(";")[0])
    assert fault.code == f"{{{ENVELOPES[answered]}}}VersionMismatch" and fault.subcodes == []
    assert _upgrade(fault) == [f"{{{namespace}}}Envelope" for namespace in upgrade]
    assert reason in fault.reason
    assert "send SOAP 1.1 envelopes (namespace" in fault.reason and "as application/soap+xml" in fault.reason
    assert fault.detail == (answered == "1.2")  # SOAP 1.1 §4.4: no detail for a fault that is not about the Body
    assert served.stfc_calls() == before


@pytest.mark.parametrize("media", ["1.1", "1.2"])
def test_a_root_that_is_no_envelope_is_a_version_mismatch(served: Served, media: str) -> None:
    fault = _fault(served.post(b"<notsoap/>", MEDIA[media]))
    assert (fault.status, fault.code) == (500, f"{{{ENVELOPES[media]}}}VersionMismatch")
    assert "root element is notsoap in no namespace, not a SOAP 1.1 or 1.2 Envelope" in fault.reason
    assert _upgrade(fault)[0] == f"{{{ENVELOPES[media]}}}Envelope"


# MustUnderstand


def test_soap11_header_blocks_for_the_service_it_does_not_understand_are_a_must_understand_fault(
    served: Served,
) -> None:
    header = (
        '<p:Session s:mustUnderstand="1">s-1</p:Session>'
        f'<p:Route s:mustUnderstand="1" s:actor="{ACTOR_NEXT}">r-1</p:Route>'
        '<p:Audit s:mustUnderstand="1" s:actor="urn:partner:auditor">a-1</p:Audit>'  # for another node
        '<p:Trace s:mustUnderstand="0">t-1</p:Trace>'
    )
    before = served.stfc_calls()
    fault = _fault(served.post(_envelope("1.1", _echo("never run"), header), MEDIA["1.1"]))
    assert (fault.status, fault.media, fault.code) == (500, "text/xml", f"{{{SOAP11}}}MustUnderstand")
    assert _not_understood(fault) == ["{urn:partner:headers}Session", "{urn:partner:headers}Route"]
    assert "header blocks Session in namespace urn:partner:headers; Route in namespace" in fault.reason
    assert f"it processes the header blocks MessageId in namespace {NS} and MessageID in namespace {WSA}" in (
        fault.reason
    )
    assert not fault.detail  # SOAP 1.1 §4.4: about a header block, so no detail; the transaction in a header entry
    assert served.stfc_calls() == before


def test_soap12_header_blocks_for_the_service_it_does_not_understand_are_a_must_understand_fault(
    served: Served,
) -> None:
    header = (
        '<p:Session s:mustUnderstand="true">s-1</p:Session>'
        f'<p:Route s:mustUnderstand="1" s:role="{ROLE}ultimateReceiver">r-1</p:Route>'
        f'<p:Hop s:mustUnderstand=" true " s:role="{ROLE}next">h-1</p:Hop>'
        f'<p:Never s:mustUnderstand="true" s:role="{ROLE}none">n-1</p:Never>'  # processed by no node
        '<p:Audit s:mustUnderstand="true" s:role="urn:partner:auditor">a-1</p:Audit>'  # for another node
        '<p:Trace s:mustUnderstand="false">t-1</p:Trace><p:Debug s:mustUnderstand="0">d-1</p:Debug>'
        '<Unqualified s:mustUnderstand="1">u-1</Unqualified>'
    )
    before = served.stfc_calls()
    fault = _fault(served.post(_envelope("1.2", _echo("never run"), header), MEDIA["1.2"]))
    assert (fault.status, fault.media, fault.code) == (500, "application/soap+xml", f"{{{SOAP12}}}MustUnderstand")
    assert fault.subcodes == []
    partner = "{urn:partner:headers}"
    assert _not_understood(fault) == [f"{partner}Session", f"{partner}Route", f"{partner}Hop", "Unqualified"]
    assert served.stfc_calls() == before


@pytest.mark.parametrize("version", ["1.1", "1.2"])
def test_must_understand_comes_before_anything_of_the_body(served: Served, version: str) -> None:
    marked = '<p:Session s:mustUnderstand="1">s-1</p:Session>'
    fault = _fault(served.post(_envelope(version, "<t:DeleteEverything/>", marked), MEDIA[version]))
    assert (fault.status, fault.code) == (500, f"{{{ENVELOPES[version]}}}MustUnderstand")
    assert _not_understood(fault) == ["{urn:partner:headers}Session"]


@pytest.mark.parametrize(
    ("version", "header"),
    [
        ("1.1", '<p:Audit s:mustUnderstand="1" s:actor="urn:partner:auditor">a</p:Audit><p:Trace>t</p:Trace>'),
        ("1.1", '<p:Trace s:mustUnderstand="0">t</p:Trace>'),
        ("1.2", f'<p:Never s:mustUnderstand="true" s:role="{ROLE}none">n</p:Never>'),
        ("1.2", '<p:Audit s:mustUnderstand="1" s:role="urn:partner:auditor">a</p:Audit>'),
        ("1.2", '<p:Trace s:mustUnderstand="false">t</p:Trace><p:Debug>d</p:Debug>'),
    ],
    ids=["11-other-actor", "11-optional", "12-role-none", "12-other-role", "12-optional"],
)
def test_header_blocks_for_other_nodes_or_optional_ones_are_ignored(served: Served, version: str, header: str) -> None:
    response = served.post(_envelope(version, _echo("headers ignored"), header), MEDIA[version])
    _echoed(response, "headers ignored", version)


def _receipt(response: httpx.Response) -> str:
    assert response.status_code == 200, response.text
    transaction = etree.fromstring(response.content).findtext(f".//{{{NS}}}transactionId")
    assert transaction and len(transaction) == 40, response.text
    return transaction


@pytest.mark.parametrize(
    ("version", "header"),
    [
        ("1.1", '<t:MessageId s:mustUnderstand="1">{id}</t:MessageId>'),
        ("1.1", f'<t:MessageId s:mustUnderstand="1" s:actor="{ACTOR_NEXT}">{{id}}</t:MessageId>'),
        ("1.2", '<wsa:MessageID s:mustUnderstand="true">{id}</wsa:MessageID>'),
        ("1.2", f'<t:MessageId s:mustUnderstand="1" s:role="{ROLE}ultimateReceiver">{{id}}</t:MessageId>'),
    ],
    ids=["11-message-id", "11-message-id-next", "12-wsa-message-id", "12-message-id-ultimate-receiver"],
)
def test_header_blocks_the_service_understands_may_be_marked_must_understand(
    served: Served, version: str, header: str
) -> None:
    unique = uuid.uuid4().hex
    body = _envelope(version, _txtraw(f"marked {unique}"), header.format(id=f"marked-{unique}"))
    first, again = (_receipt(served.post(body, MEDIA[version])) for _ in range(2))
    assert first == again  # the MessageId was processed: the second request answers the first one's entry


@pytest.mark.parametrize(
    ("version", "header"),
    [
        ("1.1", '<t:MessageId s:actor="urn:partner:gateway">{id}</t:MessageId>'),
        ("1.2", f'<t:MessageId s:role="{ROLE}none">{{id}}</t:MessageId>'),
        ("1.2", '<wsa:MessageID s:role="urn:partner:gateway">{id}</wsa:MessageID>'),
    ],
    ids=["11-other-actor", "12-role-none", "12-other-role"],
)
def test_a_message_id_for_another_node_is_not_processed(served: Served, version: str, header: str) -> None:
    unique = uuid.uuid4().hex
    body = _envelope(version, _txtraw(f"not for us {unique}"), header.format(id=f"elsewhere-{unique}"))
    first, again = (_receipt(served.post(body, MEDIA[version])) for _ in range(2))
    assert first != again  # no MessageId reached the service: two requests, two entries


@pytest.mark.parametrize(
    ("version", "value", "status", "code", "allowed"),
    [
        ("1.1", "true", 500, f"{{{SOAP11}}}Client", 'SOAP 1.1 takes "1" or "0"'),
        ("1.2", "yes", 400, f"{{{SOAP12}}}Sender", 'SOAP 1.2 takes "true" or "1" or "false" or "0"'),
    ],
)  # fmt: skip
def test_a_must_understand_value_the_version_does_not_define_is_the_clients_fault(
    served: Served, version: str, value: str, status: int, code: str, allowed: str
) -> None:
    header = f'<p:Session s:mustUnderstand="{value}">s-1</p:Session>'
    fault = _fault(served.post(_envelope(version, _echo("never run"), header), MEDIA[version]))
    assert (fault.status, fault.code) == (status, code)
    assert f'Session in namespace urn:partner:headers has mustUnderstand="{value}"; {allowed}' in fault.reason


# DataEncodingUnknown


@pytest.mark.parametrize(
    ("version", "encoding", "code"),
    [
        ("1.1", "http://schemas.xmlsoap.org/soap/encoding/", f"{{{SOAP11}}}Client"),
        ("1.2", "http://www.w3.org/2003/05/soap-encoding", f"{{{SOAP12}}}DataEncodingUnknown"),
    ],
)
def test_an_encoded_body_is_data_encoding_unknown_in_soap12_and_a_client_fault_in_soap11(
    served: Served, version: str, encoding: str, code: str
) -> None:
    before = served.stfc_calls()
    payload = _echo("encoded", f' s:encodingStyle="{encoding}"')
    fault = _fault(served.post(_envelope(version, payload), MEDIA[version]))
    assert (fault.status, fault.code, fault.subcodes) == (500, code, [])
    assert f"TestSimpleTypes element is encoded as {encoding} (encodingStyle); this service takes literal XML" in (
        fault.reason
    )
    assert served.stfc_calls() == before


def test_soap12_allows_encoding_style_only_on_header_blocks_and_the_body_element(served: Served) -> None:
    attribute = ' s:encodingStyle="http://www.w3.org/2003/05/soap-envelope/encoding/none"'  # claims nothing, yet here
    fault = _fault(served.post(_envelope("1.2", _echo("never run"), attributes=attribute), MEDIA["1.2"]))
    assert (fault.status, fault.code) == (400, f"{{{SOAP12}}}Sender")
    assert "the SOAP Body has an encodingStyle attribute" in fault.reason


# Envelopes that cannot be read


@pytest.mark.parametrize(("version", "status", "code"), [("1.1", 500, f"{{{SOAP11}}}Client"),
                                                         ("1.2", 400, f"{{{SOAP12}}}Sender")])  # fmt: skip
@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"<s:Envelope xmlns:s='{env}'><s:Body>", "the request is not well-formed XML"),
        (b"<s:Envelope xmlns:s='{env}'><s:Body><a/></s:Body><s:Body><a/></s:Body></s:Envelope>",
         "2 Body elements; it must have exactly one"),
        (b"<!DOCTYPE x [<!ENTITY a 'a'>]><s:Envelope xmlns:s='{env}'><s:Body>&a;</s:Body></s:Envelope>",
         "DTDs and entities are not allowed"),
        (b"<s:Envelope xmlns:s='{env}'><s:Body>" + b"<a>" * 70 + b"</a>" * 70 + b"</s:Body></s:Envelope>",
         "nests deeper than 64"),
    ],
)  # fmt: skip
def test_an_envelope_that_cannot_be_read_is_a_client_fault_with_500_in_soap11_and_400_in_soap12(
    served: Served, version: str, status: int, code: str, body: bytes, reason: str
) -> None:
    fault = _fault(served.post(body.replace(b"{env}", ENVELOPES[version].encode()), MEDIA[version]))
    assert (fault.status, fault.version, fault.code) == (status, version, code)
    assert reason in fault.reason and fault.detail


# Refusals at the HTTP level


def test_a_post_that_is_not_soap_keeps_415_and_says_why(served: Served) -> None:
    fault = _fault(served.post(_envelope("1.1", _echo("never run")), "text/plain"))
    assert (fault.status, fault.version, fault.code) == (415, "1.1", f"{{{SOAP11}}}Client")
    assert "a SOAP request has Content-Type text/xml (SOAP 1.1) or application/soap+xml (SOAP 1.2)" in fault.reason


@pytest.mark.parametrize(("version", "code"), [("1.1", f"{{{SOAP11}}}Client"), ("1.2", f"{{{SOAP12}}}Sender")])
def test_a_body_too_large_keeps_413_in_either_version(served: Served, version: str, code: str) -> None:
    body = _envelope(version, _echo("x" * MAX_BODY))
    fault = _fault(served.post(body, MEDIA[version]))
    assert (fault.status, fault.version, fault.code) == (413, version, code)
    assert f"this service takes at most {MAX_BODY}" in fault.reason
