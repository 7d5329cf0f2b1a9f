"""End to end: the simulator and the served service as processes, zeep as the client."""

from __future__ import annotations

import httpx
import pytest
import zeep
from lxml import etree

from tests.soap.conftest import NS, Running
from tests.waiting import confirmed_receipt, wait_until


def test_test_simple_types_calls_stfc_connection(running: Running) -> None:
    answer = running.client.service.TestSimpleTypes(requestText="Hello SAP")
    assert answer.echoText == "Hello SAP"
    assert "Sysid: SIM" in answer.responseText and "Logon_Data: 100/IDOCUSER/E" in answer.responseText


def test_send_txtraw_delivers_one_idoc_per_request(running: Running) -> None:
    receipt = confirmed_receipt(lambda message_id: running.client.service.SendTXTRAW(
        senderPort="LEGACY", senderPartner="LEG", receiverPort="SAPSIM", receiverPartner="SIM100",
        lines=["first line", "second line"], _soapheaders={"MessageId": message_id},
    ))  # fmt: skip
    assert len(receipt.tid) == 24 and len(receipt.transactionId) == 40
    (idoc,) = running.sim.control.idocs(tid=receipt.tid)
    assert (idoc["idoctyp"], idoc["status"], idoc["segments"]) == ("TXTRAW01", "53", 2)
    assert running.sim.control.tids() == []  # confirmed: SAP forgot the TID


def test_send_any_idoc_passes_control_and_data_records(running: Running) -> None:
    control = {"TABNAM": "EDI_DC40", "DIRECT": "2", "IDOCTYP": "TXTRAW01", "MESTYP": "TXTRAW", "SNDPRT": "LS",
               "SNDPRN": "LEG", "RCVPRT": "LS", "RCVPRN": "SIM100"}  # fmt: skip
    receipt = confirmed_receipt(lambda message_id: running.client.service.SendAnyIDoc(
        controlRecord=control, dataRecords=[{"SEGNAM": "E1TXTRW", "SDATA": "x"}], _soapheaders={"MessageId": message_id}
    ))  # fmt: skip
    (idoc,) = running.sim.control.idocs(tid=receipt.tid)
    assert (idoc["sndprn"], idoc["rcvprn"], idoc["status"]) == ("LEG", "SIM100", "53")


def _post(running: Running, body: bytes, content_type: str = "text/xml; charset=utf-8") -> httpx.Response:
    return httpx.post(running.endpoint, content=body, headers={"Content-Type": content_type}, timeout=60)


def _fault(response: httpx.Response) -> tuple[str, str]:
    root = etree.fromstring(response.content)
    code = root.findtext(".//faultcode") or root.findtext(".//{*}Code/{*}Value") or ""
    reason = root.findtext(".//faultstring") or root.findtext(".//{*}Reason/{*}Text") or ""
    return code, reason


def _envelope(payload: str, version: str = "1.1") -> bytes:
    env = "http://schemas.xmlsoap.org/soap/envelope/" if version == "1.1" else "http://www.w3.org/2003/05/soap-envelope"
    return f'<s:Envelope xmlns:s="{env}"><s:Body>{payload}</s:Body></s:Envelope>'.encode()


BOMB = (
    b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;">]>'
    b'<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body>&lol2;</s:Body></s:Envelope>'
)

UTF16_BOMB = BOMB.replace(b'version="1.0"', b'version="1.0" encoding="UTF-16"').decode().encode("utf-16")


@pytest.mark.parametrize(
    ("body", "code", "reason"),
    [
        (b"<s:Envelope xmlns:s='http://schemas.xmlsoap.org/soap/envelope/'><s:Body>", "Client", "not well-formed XML"),
        (BOMB, "Client", "DTDs and entities are not allowed"),
        (UTF16_BOMB, "Client", "DTDs and entities are not allowed"),
        (
            _envelope(
                f'<t:TestSimpleTypes xmlns:t="{NS}"><t:requestText>{"x" * 300}</t:requestText></t:TestSimpleTypes>'
            ),
            "Client",
            "does not match the service's schema",
        ),
        (
            _envelope(f'<t:TestSimpleTypes xmlns:t="{NS}"><t:nonsense>1</t:nonsense></t:TestSimpleTypes>'),
            "Client",
            "does not match the service's schema",
        ),
        (
            _envelope(
                f'<t:SendAnyIDoc xmlns:t="{NS}"><t:controlRecord><t:DOCNUM>ABC</t:DOCNUM></t:controlRecord>'
                "</t:SendAnyIDoc>"
            ),
            "Client",
            "does not match the service's schema",
        ),
        (_envelope(f'<t:DeleteEverything xmlns:t="{NS}"/>'), "Client", "is not an operation of saptRFCClientService"),
        (b"<notsoap/>", "VersionMismatch", "not a SOAP 1.1 or 1.2 Envelope"),
        (_envelope("<a>" * 100 + "</a>" * 100), "Client", "nests deeper than 64"),
    ],
)
def test_bad_requests_get_soap_faults_and_the_service_keeps_serving(
    running: Running, body: bytes, code: str, reason: str
) -> None:
    response = _post(running, body)
    assert response.status_code == 500  # SOAP 1.1: every fault with HTTP 500 (WS-I Basic Profile 1.1 R1126)
    found, text = _fault(response)
    assert found == f"soap:{code}"
    assert reason in text
    assert "(transaction " in text
    assert running.client.service.TestSimpleTypes(requestText="still here").echoText == "still here"


def test_a_50_mb_body_is_refused_without_being_read(running: Running) -> None:
    body = b"<x>" + b"a" * (50 * 1024 * 1024) + b"</x>"
    response = _post(running, body)
    assert response.status_code == 413
    assert "takes at most" in _fault(response)[1]
    assert running.client.service.TestSimpleTypes(requestText="after 50 MB").echoText == "after 50 MB"


def test_soap_12_requests_get_soap_12_answers_and_faults(running: Running) -> None:
    ok = _post(running, _envelope(f'<t:TestSimpleTypes xmlns:t="{NS}"><t:requestText>v1.2</t:requestText>'
                                  "</t:TestSimpleTypes>", "1.2"), "application/soap+xml; charset=utf-8")  # fmt: skip
    assert ok.status_code == 200 and ok.headers["content-type"].startswith("application/soap+xml")
    assert etree.fromstring(ok.content).findtext(".//{*}echoText") == "v1.2"
    bad = _post(running, _envelope(f'<t:Nope xmlns:t="{NS}"/>', "1.2"), "application/soap+xml; charset=utf-8")
    assert bad.status_code == 400 and _fault(bad)[0] == "soap:Sender"


def test_sap_failures_are_server_faults_with_key_and_tid(running: Running) -> None:
    running.sim.control.add_fault("abap_exception", function="IDOC_INBOUND_ASYNCHRONOUS", key="IDOC_LOCKED")

    def refused() -> zeep.exceptions.Fault | None:  # sent again with its MessageId until the answer is the refusal
        try:
            running.client.service.SendTXTRAW(senderPort="P", senderPartner="S", receiverPort="R", receiverPartner="Q",
                                              lines=["refused"], _soapheaders={"MessageId": "refused"})  # fmt: skip
        except zeep.exceptions.Fault as fault:
            return fault
        return None

    raised = wait_until(refused, what="the fault saying SAP refused the call")
    assert raised.code == "soap:Server"
    assert "SAP refused the call" in raised.message
    (fault,) = raised.detail
    details = {etree.QName(node).localname: node.text for node in fault}
    assert details.keys() >= {"transactionId", "key", "tid"} and details["key"] == "IDOC_LOCKED", details
    assert f"(transaction {details['transactionId']})" in raised.message and len(details["transactionId"]) == 40
    assert [e["event"] for e in running.sim.control.events(details["tid"])] == ["ROLLED_BACK"]  # the fault's TID


def test_a_dropped_connection_is_retried_with_the_same_tid(running: Running) -> None:
    running.sim.control.add_fault("drop_after", function="IDOC_INBOUND_ASYNCHRONOUS")

    def named_tid() -> str:  # the request sent again with its MessageId until the answer names the TID
        receipt = running.client.service.SendTXTRAW(senderPort="P", senderPartner="S", receiverPort="R",
                                                    receiverPartner="Q", lines=["dropped once"],
                                                    _soapheaders={"MessageId": "dropped-once"})  # fmt: skip
        return str(receipt.tid or "")

    tid = wait_until(named_tid, what="a receipt naming the TID")
    assert len(tid) == 24  # the TID was written ahead before the first submit
    events = _wait_for(running, tid, "CONFIRMED")
    assert events == ["EXECUTED", "SKIPPED", "CONFIRMED"]  # the retry reused the TID; SAP skipped it
    assert len(running.sim.control.idocs(tid=tid)) == 1


def _wait_for(running: Running, tid: str, event: str) -> list[str]:
    """The simulator's events of ``tid`` once ``event`` is among them."""

    def happened() -> list[str]:
        events = [e["event"] for e in running.sim.control.events(tid)]
        return events if event in events else []

    return wait_until(happened, what=f"{event} of TID {tid} in the simulator")


def test_wsdl_and_xsd_are_served_with_the_real_address(running: Running) -> None:
    wsdl = httpx.get(f"{running.endpoint}?wsdl", timeout=10)
    assert f'location="{running.endpoint}"' in wsdl.text
    xsd = httpx.get(f"{running.endpoint}?xsd", timeout=10)
    etree.XMLSchema(etree.fromstring(xsd.content))
