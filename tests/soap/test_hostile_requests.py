"""Hostile requests against the service process: each gets a SOAP fault (or a closed connection) within
the service's bounds, and the service goes on answering valid requests."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from lxml import etree

from idocbridge.soap.envelope import RequestLimits
from idocbridge.soap.testing import ServiceProcess
from tests.perf.bench_hostile import many_attributes, too_long_lines, txtraw_request
from tests.soap.example_service import served_example

SERVICE = "saptRFCClientService"
NS = f"urn:tRFCClientExample:{SERVICE}"
ALIASES = ["RFCPort_IDOC_INBOUND_ASYNCHRONOUS", "RFCPort_STFC_CONNECTION"]
SOAP11 = "http://schemas.xmlsoap.org/soap/envelope/"
XML = {"Content-Type": "text/xml; charset=utf-8"}
IN_PROGRESS = 2
HEADER_SECONDS = 1


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceProcess]:
    limits = f"  maxRequestsInProgress: {IN_PROGRESS}\n  headerTimeoutSeconds: {HEADER_SECONDS}\n"
    with served_example(tmp_path_factory.mktemp("hostile"), limits) as (_, running):
        yield running


def _post(service: ServiceProcess, body: bytes, headers: dict[str, str] = XML) -> httpx.Response:
    return httpx.post(f"{service.url}/{SERVICE}", content=body, headers=headers, timeout=120)


def _fault(response: httpx.Response) -> tuple[str, list[str]]:
    """The faultstring and the detail's error lines of a SOAP 1.1 fault."""
    root = etree.fromstring(response.content)
    reason = root.findtext(".//faultstring")
    assert reason is not None, response.text
    return reason, [error.text or "" for error in root.iter("{*}error")]


def _still_serves(service: ServiceProcess) -> None:
    response = _post(service, txtraw_request(["still served"]))
    assert response.status_code == 200, response.text


def test_schema_validation_reports_the_first_errors_and_counts_them_all(service: ServiceProcess) -> None:
    response = _post(service, too_long_lines(3_000))
    assert response.status_code == 500
    reason, errors = _fault(response)
    assert "does not match the service's schema in 3000 places" in reason
    assert "the fault lists the first 20" in reason
    assert len(errors) == 20 and all("maxLength" in error or "length" in error for error in errors), errors
    _still_serves(service)


def test_a_few_schema_errors_come_with_their_lines(service: ServiceProcess) -> None:
    response = _post(service, txtraw_request(["fine", "y" * 73, "fine", "z" * 80]))
    reason, errors = _fault(response)
    assert reason.startswith("the SendTXTRAW request does not match the service's schema: line 4:"), reason
    assert [error.split(":")[0] for error in errors] == ["line 4", "line 6"]


def test_too_many_attributes_are_refused_before_parsing(service: ServiceProcess) -> None:
    limits = RequestLimits()
    for count in (limits.max_attributes_per_element + 1, 780_000):
        response = _post(service, many_attributes(count))
        assert response.status_code == 500  # SOAP 1.1: every fault with 500
        assert (
            f"element t:SendTXTRAW has more than {limits.max_attributes_per_element} attributes" in _fault(response)[0]
        )
    many_tags = "".join(f"<t:lines a='1' b='2' c='3'>{n}</t:lines>" for n in range(limits.max_attributes // 3 + 1))
    spread = _post(service, txtraw_request([]).replace(b"</t:SendTXTRAW>", many_tags.encode() + b"</t:SendTXTRAW>"))
    assert f"more than {limits.max_attributes} attributes" in _fault(spread)[0]
    long_name = _post(
        service, txtraw_request([]).replace(b"<t:senderPort>", b"<t:" + b"n" * 1_001 + b"/><t:senderPort>")
    )
    assert "a name of more than 1000 characters" in _fault(long_name)[0]
    _still_serves(service)


def test_attributes_in_utf16_are_counted_too(service: ServiceProcess) -> None:
    text = many_attributes(100_000).decode()
    body = text.replace("<s:Envelope", '<?xml version="1.0" encoding="UTF-16"?><s:Envelope', 1)
    response = _post(service, body.encode("utf-16"))
    assert response.status_code == 500  # SOAP 1.1: every fault with 500
    assert "has more than 64 attributes" in _fault(response)[0]


def _envelope(inner: str) -> bytes:
    return f'<s:Envelope xmlns:s="{SOAP11}" xmlns:t="{NS}">{inner}</s:Envelope>'.encode()


OPERATION = "<t:TestSimpleTypes><t:requestText>hi</t:requestText></t:TestSimpleTypes>"


@pytest.mark.parametrize(
    ("inner", "message"),
    [
        (f"<s:Body>{OPERATION}</s:Body><s:Body>{OPERATION}</s:Body>", "2 Body elements; it must have exactly one"),
        (f"<s:Header/><s:Header/><s:Body>{OPERATION}</s:Body>", "2 Header elements; it may have one"),
        (f"<s:Body>{OPERATION}</s:Body><s:Header/>", "the SOAP Header must come before the Body"),
        (f"<s:Body>{OPERATION}</s:Body><t:extra/>", "the SOAP envelope holds extra: an Envelope holds a Header and"),
        (f"<Body>{OPERATION}</Body>", "the SOAP envelope holds Body: an Envelope holds a Header and a Body of its own"),
        (f"junk<s:Body>{OPERATION}</s:Body>", "the SOAP Envelope holds text"),
        (f"<s:Body>{OPERATION}junk</s:Body>", "the SOAP Body holds text"),
        (f"<s:Body>{OPERATION}{OPERATION}</s:Body>", "the SOAP Body holds 2 elements"),
        ("<s:Header/>", "the SOAP envelope has no Body"),
    ],
)
def test_an_envelope_holds_one_header_then_one_body(service: ServiceProcess, inner: str, message: str) -> None:
    response = _post(service, _envelope(inner))
    assert response.status_code == 500  # SOAP 1.1: every fault with 500
    assert message in _fault(response)[0]


def test_a_message_id_in_a_second_header_is_not_ignored(service: ServiceProcess) -> None:
    header = "<s:Header><t:MessageId>order-1</t:MessageId></s:Header>"
    response = _post(service, _envelope(f"<s:Header/>{header}<s:Body>{OPERATION}</s:Body>"))
    assert response.status_code == 500  # SOAP 1.1: every fault with 500
    assert "2 Header elements" in _fault(response)[0]


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data", ""])
def test_a_post_that_is_not_soap_is_refused(service: ServiceProcess, content_type: str) -> None:
    headers = {"Content-Type": content_type} if content_type else {}
    request = httpx.Request("POST", f"{service.url}/{SERVICE}", content=_envelope(f"<s:Body>{OPERATION}</s:Body>"),
                            headers=headers)  # fmt: skip
    assert "content-type" not in request.headers or content_type
    with httpx.Client() as client:
        response = client.send(request)
    assert response.status_code == 415
    assert "a SOAP request has Content-Type text/xml" in _fault(response)[0]


@pytest.mark.parametrize("name", ["r:E\x00nvelope", "s:Env\x01elope", "s:Envelope\ufffe"])
def test_a_fault_quoting_characters_xml_cannot_carry_shows_them_escaped(service: ServiceProcess, name: str) -> None:
    """Found by the long fuzz run: the fault about a crowded start tag quoted its name, NUL and all, and could
    not be written (a traceback, and no answer a client could read)."""
    crowded = " ".join(
        f'xmlns:p{number}="urn:{number}"' for number in range(RequestLimits().max_attributes_per_element + 1)
    )
    response = _post(service, f"<{name} {crowded}/>".encode())
    assert response.status_code == 500  # SOAP 1.1: every fault with 500
    reason, _ = _fault(response)
    assert "attributes" in reason and name.encode("unicode_escape").decode() in reason, reason
    assert "Traceback" not in service.log_tail(200)


def test_health_tells_nothing_of_the_model(service: ServiceProcess) -> None:
    assert service.health() == {"status": "ok"}


def test_requests_beyond_the_limit_in_progress_are_told_to_come_back(service: ServiceProcess) -> None:
    host, port = service.url.removeprefix("http://").split(":")
    body = _envelope(f"<s:Body>{OPERATION}</s:Body>")
    head = (f"POST /{SERVICE} HTTP/1.1\r\nHost: {host}\r\nContent-Type: text/xml\r\n"
            f"Content-Length: {len(body)}\r\n\r\n").encode()  # fmt: skip
    slow = [socket.create_connection((host, int(port))) for _ in range(IN_PROGRESS)]
    try:
        for connection in slow:
            connection.sendall(head + body[:10])  # in progress: reading its body
        deadline = time.monotonic() + 30
        while True:  # the slow requests arrive at the service in their own time
            response = _post(service, body)
            if response.status_code == 503 or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        assert response.status_code == 503, response.text
        assert response.headers["retry-after"] == "1"
        assert f"the service is busy: {IN_PROGRESS} requests are in progress" in _fault(response)[0]
        for connection in slow:
            connection.sendall(body[10:])
            assert connection.recv(65536).startswith(b"HTTP/1.1 200")
    finally:
        for connection in slow:
            connection.close()
    _still_serves(service)


def test_headers_sent_a_byte_at_a_time_time_out(service: ServiceProcess) -> None:
    host, port = service.url.removeprefix("http://").split(":")
    head = f"POST /{SERVICE} HTTP/1.1\r\nHost: {host}\r\nContent-Type: text/xml\r\nX-Slow: ".encode() + b"a" * 1000
    answer = b""
    with socket.create_connection((host, int(port))) as connection:
        connection.settimeout(0.2)
        deadline = time.monotonic() + 20 * HEADER_SECONDS
        for byte in head:  # a byte every 0.2 s, until the service answers or closes
            if time.monotonic() > deadline:
                break
            try:
                connection.sendall(bytes([byte]))
                answer = connection.recv(1024)
            except TimeoutError:
                continue
            except OSError:
                break
            break
    assert answer.startswith(b"HTTP/1.1 408"), answer
    _still_serves(service)


def test_a_connection_that_sends_nothing_is_answered_408_and_closed(service: ServiceProcess) -> None:
    host, port = service.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port))) as connection:
        connection.settimeout(30)
        assert (
            connection.recv(1024) == b"HTTP/1.1 408 Request Timeout\r\nconnection: close\r\ncontent-length: 0\r\n\r\n"
        )
        assert connection.recv(1024) == b""


def test_a_request_answered_before_its_body_was_read_closes_its_connection(service: ServiceProcess) -> None:
    host, port = service.url.removeprefix("http://").split(":")
    head = f"POST /{SERVICE} HTTP/1.1\r\nHost: {host}\r\nContent-Type: text/plain\r\nContent-Length: 100000\r\n\r\n"
    with socket.create_connection((host, int(port))) as connection:
        connection.settimeout(30)
        connection.sendall(head.encode() + b"x" * 10)
        answer = b""
        while b"</soap:Envelope>" not in answer:
            chunk = connection.recv(65536)
            assert chunk, answer
            answer += chunk
        assert answer.startswith(b"HTTP/1.1 415")
        head_lines = answer.split(b"\r\n\r\n", 1)[0].lower().split(b"\r\n")
        assert b"connection: close" in head_lines, answer  # no client sends its next request down this connection
        try:
            while connection.recv(65536):  # the rest of the body is never read: the service closes the connection
                connection.sendall(b"x")
        except (ConnectionResetError, BrokenPipeError):
            pass


def test_the_rest_of_a_large_refused_body_is_read_and_dropped_so_the_client_gets_the_answer(
    service: ServiceProcess,
) -> None:
    """A client sending a body over the limit fast fills the service's buffers before the 413 goes out; the
    service must go on reading (and dropping) it, or the client stalls and the connection is reset with
    the answer unread."""
    host, port = service.url.removeprefix("http://").split(":")
    rest = 32 * 1024 * 1024
    head = f"POST /{SERVICE} HTTP/1.1\r\nHost: {host}\r\nContent-Type: text/xml\r\nContent-Length: {rest + 1}\r\n\r\n"
    with socket.create_connection((host, int(port))) as connection:
        connection.settimeout(60)
        connection.sendall(head.encode())
        chunk = b"x" * (1024 * 1024)
        for _ in range(rest // len(chunk)):
            connection.sendall(chunk)  # a reset (the body left unread) fails here
        answer = b""
        while b"</soap:Envelope>" not in answer:
            data = connection.recv(65536)
            assert data, answer
            answer += data
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]


def test_a_request_whose_body_was_read_keeps_its_connection(service: ServiceProcess) -> None:
    host, port = service.url.removeprefix("http://").split(":")
    body = txtraw_request(["kept alive"])
    head = f"POST /{SERVICE} HTTP/1.1\r\nHost: {host}\r\nContent-Type: text/xml\r\nContent-Length: {len(body)}\r\n\r\n"
    with socket.create_connection((host, int(port))) as connection:
        connection.settimeout(30)
        for _ in range(2):
            connection.sendall(head.encode())
            connection.sendall(body)
            answer = b""
            while not answer.endswith(b"Envelope>"):
                chunk = connection.recv(65536)
                assert chunk, answer
                answer += chunk
            assert answer.startswith(b"HTTP/1.1 200"), answer
            assert b"connection: close" not in answer.lower()


def test_a_client_that_goes_away_mid_body_leaves_no_trace(service: ServiceProcess) -> None:
    host, port = service.url.removeprefix("http://").split(":")
    head = f"POST /{SERVICE} HTTP/1.1\r\nHost: {host}\r\nContent-Type: text/xml\r\nContent-Length: 100000\r\n\r\n"
    with socket.create_connection((host, int(port))) as connection:
        connection.sendall(head.encode() + b"<s:Envelope")
    _still_serves(service)
    assert "Traceback" not in service.log_tail(200)


def test_schema_faults_of_concurrent_requests_quote_their_own_values(service: ServiceProcess) -> None:
    def fault_of(number: int) -> list[str]:
        unexpected = f"<t:n{number:04d}/>" * 10
        operation = f"<t:TestSimpleTypes><t:requestText>x</t:requestText>{unexpected}</t:TestSimpleTypes>"
        while (response := _post(service, _envelope(f"<s:Body>{operation}</s:Body>"))).status_code == 503:
            time.sleep(0.01)  # the fixture lets two requests in at a time
        return _fault(response)[1]

    with ThreadPoolExecutor(8) as pool:
        faults = list(pool.map(fault_of, range(40)))
    for number, errors in enumerate(faults):
        assert errors and all(f"n{number:04d}" in error for error in errors), (number, errors[:2])


def test_the_runtime_database_is_private(service: ServiceProcess) -> None:
    files = sorted(Path(service.state).glob("runtime.db*"))
    assert [file.name for file in files] == ["runtime.db", "runtime.db-shm", "runtime.db-wal"]
    assert {file.name: oct(file.stat().st_mode & 0o777) for file in files} == {file.name: "0o600" for file in files}
