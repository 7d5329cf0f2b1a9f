"""The MessageId header, as clients send it: reused IDs, WS-Addressing, nil and empty IDs, misunderstood headers.

One simulator and one served service (processes) for the module; zeep where the test is about what a
client library sends, raw envelopes over HTTP where the envelope itself is the point.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
import zeep
from lxml import etree
from zeep.wsa import WsAddressingPlugin

from tests.soap.conftest import NS, SERVICE, Running

WSA = "http://www.w3.org/2005/08/addressing"
FAULT_NS = "urn:idocbridge:fault:1"
SOAP11 = "http://schemas.xmlsoap.org/soap/envelope/"


def _send(running: Running, text: str, headers: Any = None) -> Any:
    extra = {"_soapheaders": headers} if headers is not None else {}
    return running.client.service.SendTXTRAW(senderPort="P", senderPartner="S", receiverPort="R", receiverPartner="Q",
                                             lines=[text], **extra)  # fmt: skip


def _element(namespace: str, name: str, text: str) -> etree._Element:
    element = etree.Element(f"{{{namespace}}}{name}")
    element.text = text
    return element


def _detail(fault: zeep.exceptions.Fault) -> dict[str, str]:
    assert fault.detail is not None
    info = fault.detail.find(f"{{{FAULT_NS}}}fault")
    assert info is not None
    return {etree.QName(child).localname: child.text or "" for child in info}


def test_a_message_id_sent_again_with_another_request_is_refused_naming_the_first(running: Running) -> None:
    first = _send(running, "order 4711: 10 pieces", {"MessageId": "reuse-1"})
    with pytest.raises(zeep.exceptions.Fault) as refused:
        _send(running, "order 4711: 99 pieces", {"MessageId": "reuse-1"})  # the client reused an ID by mistake
    assert refused.value.code == "soap:Client"
    assert f"first sent with a different request (transaction {first.transactionId}" in refused.value.message
    detail = _detail(refused.value)
    assert (detail["outboxTransactionId"], detail["tid"]) == (first.transactionId, first.tid)
    assert detail["state"] == first.state
    again = _send(running, "order 4711: 10 pieces", {"MessageId": "reuse-1"})  # the same request: the first answer
    assert (again.transactionId, again.tid) == (first.transactionId, first.tid)
    texts = [str(idoc["data"]) for idoc in running.sim.control.idocs(full=True)]
    assert sum("order 4711: 10 pieces" in text for text in texts) == 1
    assert not [text for text in texts if "99 pieces" in text]


def test_ws_addressing_message_id_makes_a_request_idempotent_and_wsa_clients_call_every_operation(
    running: Running,
) -> None:
    wsa = "urn:uuid:6b29fc40-ca47-1067-b31d-00dd010662da"
    first = _send(running, "sent with wsa:MessageID", [_element(WSA, "MessageID", wsa)])
    again = _send(running, "sent with wsa:MessageID", [_element(WSA, "MessageID", wsa)])
    assert (again.transactionId, again.tid) == (first.transactionId, first.tid)
    both = _send(running, "sent with wsa:MessageID", [_element(WSA, "MessageID", wsa), _element(NS, "MessageId", wsa)])
    assert both.tid == first.tid  # both headers with the same ID: one ID
    assert len(running.sim.control.idocs(tid=first.tid)) == 1
    with pytest.raises(zeep.exceptions.Fault, match="two different message IDs") as refused:
        _send(running, "sent with wsa:MessageID", [_element(WSA, "MessageID", wsa), _element(NS, "MessageId", "x")])
    assert refused.value.code == "soap:Client"
    client = zeep.Client(running.service.wsdl_url(SERVICE), plugins=[WsAddressingPlugin()])  # a new ID per call
    one, other = (client.service.SendTXTRAW(senderPort="P", senderPartner="S", receiverPort="R", receiverPartner="Q",
                                            lines=["WS-Addressing 1"]) for _ in range(2))  # fmt: skip
    assert one.tid != other.tid  # two messages, two IDs: two deliveries
    # every WS-Addressing request carries wsa:MessageID; an operation without the outbox takes it as the message's
    # ID only (its own MessageId header is refused there, see below)
    assert client.service.TestSimpleTypes(requestText="with WS-Addressing").echoText == "with WS-Addressing"


def _txtraw(text: str) -> str:
    return (f'<t:SendTXTRAW xmlns:t="{NS}"><t:senderPort>P</t:senderPort><t:senderPartner>S</t:senderPartner>'
               f"<t:receiverPort>R</t:receiverPort><t:receiverPartner>Q</t:receiverPartner><t:lines>{text}</t:lines>"
            "</t:SendTXTRAW>")  # fmt: skip


def _envelope(header: str, payload: str, *, headers: int = 1) -> bytes:
    blocks = f"<s:Header>{header}</s:Header>" * headers
    return (f'<s:Envelope xmlns:s="{SOAP11}" xmlns:t="{NS}" xmlns:wsa="{WSA}" '
            f'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">{blocks}<s:Body>{payload}</s:Body></s:Envelope>'
            ).encode()  # fmt: skip


def _post(running: Running, body: bytes) -> etree._Element:
    response = httpx.post(running.endpoint, content=body, headers={"Content-Type": "text/xml; charset=utf-8"},
                          timeout=60)  # fmt: skip
    return etree.fromstring(response.content)


def _client_fault(root: etree._Element) -> str:
    assert root.findtext(".//faultcode") == "soap:Client", etree.tostring(root).decode()
    return root.findtext(".//faultstring") or ""


@pytest.mark.parametrize(
    ("header", "headers", "reason"),
    [
        ('<m:MessageId xmlns:m="urn:someone:else">h-1</m:MessageId>', 1, "MessageId in namespace urn:someone:else"),
        ("<t:MessageID>h-2</t:MessageID>", 1, f"MessageID in namespace {NS} is not understood"),
        ("<t:messageId>h-3</t:messageId>", 1, f"messageId in namespace {NS} is not understood"),
        ("<MessageId>h-4</MessageId>", 1, "MessageId in no namespace is not understood"),
        ('<a:MessageID xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing">h-5</a:MessageID>', 1,
         "MessageID in namespace http://schemas.xmlsoap.org/ws/2004/08/addressing"),
        ("<wsa:MessageId>h-6</wsa:MessageId>", 1, f"MessageId in namespace {WSA} is not understood"),
        ("<t:MessageId>h-7</t:MessageId><t:MessageId>h-8</t:MessageId>", 1, "2 MessageId headers; send one"),
        ("<wsa:MessageID>h-9</wsa:MessageID><wsa:MessageID>h-9</wsa:MessageID>", 1, "2 wsa:MessageID headers"),
        ("<t:MessageId>h-10</t:MessageId>", 2, "2 Header elements; it may have one"),
        ("<t:MessageId></t:MessageId>", 1, "the MessageId header is empty"),
        ("<t:MessageId>   </t:MessageId>", 1, "the MessageId header is empty"),
        ('<t:MessageId xsi:nil="true">h-11</t:MessageId>', 1, "is nil and holds 'h-11'"),
        (f"<t:MessageId>{'x' * 121}</t:MessageId>", 1, "holds 1 to 120 characters, not 121"),
    ],
)  # fmt: skip
def test_a_message_id_the_service_does_not_understand_is_a_client_fault(
    running: Running, header: str, headers: int, reason: str
) -> None:
    before = len(running.sim.control.idocs())
    text = f"misunderstood {reason[:20]}"
    assert reason in _client_fault(_post(running, _envelope(header, _txtraw(text), headers=headers)))
    assert len(running.sim.control.idocs()) == before, "a refused request reached SAP"


@pytest.mark.parametrize("nil", ['xsi:nil="true"', 'xsi:nil="1"'])
def test_a_nil_message_id_is_absent(running: Running, nil: str) -> None:
    answers = [_post(running, _envelope(f"<t:MessageId {nil}/>", _txtraw("nil ID"))) for _ in range(2)]
    tids = [answer.findtext(f".//{{{NS}}}tid") for answer in answers]
    assert [answer.findtext(f".//{{{NS}}}state") for answer in answers] == ["CONFIRMED", "CONFIRMED"]
    assert tids[0] != tids[1] and all(tid and len(tid) == 24 for tid in tids)  # no ID: two requests, two IDocs


def test_the_wsdl_offers_the_message_id_only_where_it_is_honoured(running: Running) -> None:
    wsdl = etree.fromstring(httpx.get(f"{running.endpoint}?wsdl", timeout=10).content)
    ns = {"wsdl": "http://schemas.xmlsoap.org/wsdl/", "soap": "http://schemas.xmlsoap.org/wsdl/soap/",
          "soap12": "http://schemas.xmlsoap.org/wsdl/soap12/"}  # fmt: skip
    offered = {
        operation.get("name"): len(operation.findall("wsdl:input/soap:header", ns))
        + len(operation.findall("wsdl:input/soap12:header", ns))
        for operation in wsdl.findall("wsdl:binding/wsdl:operation", ns)
    }
    assert offered == {"SendAnyIDoc": 1, "SendTXTRAW": 1, "TestSimpleTypes": 0}  # per binding (1.1 and 1.2)
    stfc = "<t:TestSimpleTypes><t:requestText>hi</t:requestText></t:TestSimpleTypes>"
    body = _envelope("<t:MessageId>stfc-1</t:MessageId>", stfc)
    reason = _client_fault(_post(running, body))
    assert "operation TestSimpleTypes is not delivered through the outbox (it makes no tRFC transaction)" in reason


BATCH = 60


def test_a_batch_sent_twice_and_once_altered_delivers_each_request_once(running: Running) -> None:
    clients = threading.local()  # one zeep client per thread

    def send(number: int, text: str) -> Any:
        if not hasattr(clients, "client"):
            clients.client = zeep.Client(running.service.wsdl_url(SERVICE))
        try:
            return clients.client.service.SendTXTRAW(senderPort="P", senderPartner="S", receiverPort="R",
                                                     receiverPartner="Q", lines=[text],
                                                     _soapheaders={"MessageId": f"batch-{number}"})  # fmt: skip
        except zeep.exceptions.Fault as fault:
            return fault

    with ThreadPoolExecutor(8) as pool:
        first = list(pool.map(lambda n: send(n, f"batch line {n}"), range(BATCH)))
        again = list(pool.map(lambda n: send(n, f"batch line {n}"), range(BATCH)))
        altered = list(pool.map(lambda n: send(n, f"batch line {n}, altered"), range(BATCH)))
    assert [receipt.transactionId for receipt in again] == [receipt.transactionId for receipt in first]
    for receipt, refused in zip(first, altered, strict=True):
        assert isinstance(refused, zeep.exceptions.Fault) and refused.code == "soap:Client"
        assert f"first sent with a different request (transaction {receipt.transactionId}" in refused.message
    texts = [str(idoc["data"]) for idoc in running.sim.control.idocs(full=True) if "batch line" in str(idoc["data"])]
    assert len(texts) == BATCH and not [text for text in texts if "altered" in text]
