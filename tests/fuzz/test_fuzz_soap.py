"""Fuzzing the SOAP endpoint of a served service (a real process, with the simulator behind it).

Inputs are valid requests of every operation of the example service (SOAP 1.1 and 1.2, with and
without a MessageId), mutated byte by byte and by hostile snippets (DTDs, entities, deep nesting,
huge and many attributes, long names, other encodings, stray envelopes), under any Content-Type.
Every input must end in a SOAP response or a SOAP fault that names its transaction; the service
must stay up, log no traceback, and keep its memory within a bound.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from lxml import etree

from idocbridge.soap.testing import ServiceProcess
from tests.fuzz.budget import count, fuzz_settings
from tests.soap.example_service import served_example

SERVICE = "saptRFCClientService"
NS = f"urn:tRFCClientExample:{SERVICE}"
ALIASES = ["RFCPort_IDOC_INBOUND_ASYNCHRONOUS", "RFCPort_STFC_CONNECTION"]
ENVELOPES = {"1.1": "http://schemas.xmlsoap.org/soap/envelope/", "1.2": "http://www.w3.org/2003/05/soap-envelope"}
MEDIA = {"1.1": "text/xml; charset=utf-8", "1.2": "application/soap+xml; charset=utf-8"}
MAX_RSS_MIB = 1024
"""Far above what the short or the long run needs (about 150 MiB): a guard against growth with each request."""

OPERATIONS = [
    "<t:TestSimpleTypes><t:requestText>hello</t:requestText><t:requestInt>7</t:requestInt></t:TestSimpleTypes>",
    "<t:SendTXTRAW><t:senderPort>SAPLEG</t:senderPort><t:senderPartner>LEGACY</t:senderPartner>"
    "<t:receiverPort>SAPQ01</t:receiverPort><t:receiverPartner>Q01CLNT100</t:receiverPartner>"
    "<t:lines>Order 4711</t:lines><t:lines>shipped</t:lines></t:SendTXTRAW>",
    "<t:SendAnyIDoc><t:idoc>EDI_DC40  100</t:idoc></t:SendAnyIDoc>",
]
SNIPPETS = [
    b'<!DOCTYPE x [<!ENTITY a "aaaaaaaaaa">]>',
    b"&a;",
    b"&#0;",
    b"&#x110000;",
    b"<![CDATA[<t:lines>]]>",
    b"<a>" * 80 + b"</a>" * 80,
    b" " + b" ".join(b"x%d='1'" % n for n in range(70)),
    b"<t:" + b"n" * 1200 + b"/>",
    b"\xef\xbb\xbf",
    b"\xff\xfe",
    b"\x00",
    b'<?xml version="1.0" encoding="UTF-16"?>',
    b"<soap:Header xmlns:soap='http://schemas.xmlsoap.org/soap/envelope/'/>",
    b"<t:MessageId>m-1</t:MessageId>",
    "\u202e\U0001f600é".encode(),
    b"\xc3\x28",
    b"<?pi x?><!-- c -->",
    b"xmlns:t='urn:other'",
]


def _request(version: str, operation: str, message_id: str | None) -> bytes:
    env = ENVELOPES[version]
    header = f"<s:Header><t:MessageId>{message_id}</t:MessageId></s:Header>" if message_id else ""
    return f'<s:Envelope xmlns:s="{env}" xmlns:t="{NS}">{header}<s:Body>{operation}</s:Body></s:Envelope>'.encode()


@st.composite
def requests(draw: st.DrawFn) -> tuple[bytes, str]:
    """A request body and its Content-Type: a valid request, mutated."""
    version = draw(st.sampled_from(sorted(ENVELOPES)))
    message_id = draw(st.none() | st.text(st.characters(codec="ascii", categories=["L", "N"]), min_size=1, max_size=20))
    body = bytearray(_request(version, draw(st.sampled_from(OPERATIONS)), message_id))
    for _ in range(draw(st.integers(0, 4))):
        position = draw(st.integers(0, len(body)))
        kind = draw(st.sampled_from(["flip", "delete", "insert", "snippet", "duplicate"]))
        if kind == "flip" and position < len(body):
            body[position] ^= 1 << draw(st.integers(0, 7))
        elif kind == "delete":
            del body[position : position + draw(st.integers(1, 40))]
        elif kind == "insert":
            body[position:position] = draw(st.binary(min_size=1, max_size=30))
        elif kind == "snippet":
            body[position:position] = draw(st.sampled_from(SNIPPETS))
        else:
            end = position + draw(st.integers(1, 200))
            body[position:position] = body[position:end] * draw(st.integers(1, 50))
    if draw(st.booleans()) and b"encoding" not in body[:60]:
        body = bytearray(_utf16(bytes(body)))
    media = draw(st.sampled_from([MEDIA[version], MEDIA[version], "text/plain", "application/json", "", "text/xml"]))
    return bytes(body), media


def _utf16(body: bytes) -> bytes:
    """``body`` as UTF-16 with a declaration saying so (bytes that are not UTF-8 stay as they decode)."""
    text = body.decode("utf-8", errors="replace")
    return ('<?xml version="1.0" encoding="UTF-16"?>' + text).encode("utf-16")


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceProcess]:
    root = tmp_path_factory.mktemp("fuzz-soap")
    with served_example(root) as (_, running):
        yield running
        assert running.process is not None
        assert running.process.poll() is None, "the service died"
        log = (root / "state" / "serve.log").read_text(errors="replace")
        assert "Traceback" not in log, log[-3000:]
        rss = _rss_mib(running.process.pid)
        print(f"\nservice RSS after the SOAP fuzz run: {rss} MiB")
        assert rss < MAX_RSS_MIB


@pytest.fixture(scope="module")
def client(service: ServiceProcess) -> Iterator[httpx.Client]:
    """One client for every input: keep-alive connections, as partner systems use them."""
    with httpx.Client(base_url=service.url, timeout=60) as shared:
        yield shared


def _rss_mib(pid: int) -> int:
    status = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines())
    return int(status["VmRSS"].split()[0]) // 1024


@given(requests())
@fuzz_settings(short=200)
@example((_request("1.1", OPERATIONS[0], None), MEDIA["1.1"]))
@example((_request("1.2", OPERATIONS[1], "m-1"), MEDIA["1.2"]))
@example(  # found by the long run: the fault about this crowded start tag quoted the NUL in its name
    (b"<r:E\x00nvelope " + b" ".join(b'xmlns:p%d="urn:%d"' % (n, n) for n in range(65)) + b"/>", MEDIA["1.1"])
)
def test_every_request_ends_in_a_response_or_a_fault(client: httpx.Client, request: tuple[bytes, str]) -> None:
    body, media = request
    count("soap endpoint")
    headers = {"Content-Type": media} if media else {}
    response = client.post(f"/{SERVICE}", content=body, headers=headers)
    assert response.status_code in {200, 400, 413, 415, 500, 503}, (response.status_code, response.text[:500])
    root = etree.fromstring(response.content)
    assert etree.QName(root).localname == "Envelope", response.text[:500]
    if response.status_code == 200:
        assert root.find(".//{*}Fault") is None, response.text[:500]
        return
    reason = root.findtext(".//faultstring") or root.findtext(".//{*}Reason/{*}Text") or ""
    assert "(transaction " in reason, response.text[:500]
    assert "Traceback" not in reason
