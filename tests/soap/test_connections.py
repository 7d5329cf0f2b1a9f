"""The service's connections, read on the service's side: every accepted connection sends at once."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import httpx
import pytest

from idocbridge.soap.http_protocol import MAX_HEADER_BYTES
from idocbridge.soap.testing import ServiceProcess
from tests.peer_sockets import accepted_socket_option
from tests.soap.example_service import served_example

SERVICE = "saptRFCClientService"


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceProcess]:
    with served_example(tmp_path_factory.mktemp("connections")) as (_, running):
        yield running


def test_an_accepted_connection_does_not_wait_for_the_clients_ack(service: ServiceProcess) -> None:
    """Without TCP_NODELAY every keep-alive reply waits for the client's delayed ACK (~40 ms)."""
    assert service.process is not None
    host, port = service.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port))) as client:
        pid = service.process.pid
        assert accepted_socket_option(pid, client, socket.IPPROTO_TCP, socket.TCP_NODELAY, expected=1) == 1


def _read_answers(connection: socket.socket, count: int) -> list[bytes]:
    """``count`` HTTP answers with a Content-Length, read off ``connection`` in order."""
    connection.settimeout(30)
    buffered, answers = b"", []
    while len(answers) < count:
        head_end = buffered.find(b"\r\n\r\n")
        if head_end >= 0:
            head = buffered[:head_end].decode("latin-1").lower()
            length = int(head.split("content-length:")[1].split("\r\n")[0])
            end = head_end + 4 + length
            if len(buffered) >= end:
                answers.append(buffered[:end])
                buffered = buffered[end:]
                continue
        chunk = connection.recv(65536)
        assert chunk, f"the connection closed after {len(answers)} answers: {buffered!r}"
        buffered += chunk
    return answers


def test_requests_sent_back_to_back_on_one_connection_are_answered_in_order(service: ServiceProcess) -> None:
    host, port = service.url.removeprefix("http://").split(":")
    paths = ["/health", f"/{SERVICE}?wsdl", "/health"]
    pipelined = b"".join(f"GET {path} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode() for path in paths)
    with socket.create_connection((host, int(port))) as connection:
        connection.sendall(pipelined)
        answers = _read_answers(connection, len(paths))
    assert all(answer.startswith(b"HTTP/1.1 200") for answer in answers), answers
    assert b"wsdl:definitions" in answers[1] and b"wsdl:definitions" not in answers[0] + answers[2]


def _all_of(connection: socket.socket) -> bytes:
    connection.settimeout(30)
    answer = b""
    while chunk := connection.recv(65536):
        answer += chunk
    return answer


@pytest.mark.parametrize("complete", [False, True], ids=["still open", "complete"])
@pytest.mark.parametrize("written", ["in pieces", "at once"])
@pytest.mark.parametrize("shape", ["one long header", "many headers"])
def test_headers_beyond_the_limit_are_answered_431_and_the_connection_closed(
    service: ServiceProcess, shape: str, written: str, complete: bool
) -> None:
    host, port = service.url.removeprefix("http://").split(":")
    if shape == "one long header":
        headers = b"X-Long: " + b"a" * MAX_HEADER_BYTES + b"\r\n"
    else:
        headers = b"".join(b"X-Many-%d: value\r\n" % number for number in range(MAX_HEADER_BYTES // 16))
    head = f"GET /health HTTP/1.1\r\nHost: {host}\r\n".encode() + headers + (b"\r\n" if complete else b"")
    with socket.create_connection((host, int(port))) as connection:
        step = 1024 if written == "in pieces" else len(head)  # a slow client, or headers whole in one read
        for start in range(0, len(head), step):
            connection.sendall(head[start : start + step])
        answer = _all_of(connection)
    assert answer.startswith(b"HTTP/1.1 431 Request Header Fields Too Large"), answer[:200]
    assert answer.endswith(f"exceed {MAX_HEADER_BYTES} bytes\n".encode())
    assert httpx.get(f"{service.url}/health", timeout=30).status_code == 200


def test_a_request_refused_for_its_headers_comes_after_the_answer_of_the_one_before(service: ServiceProcess) -> None:
    host, port = service.url.removeprefix("http://").split(":")
    first = f"GET /{SERVICE}?wsdl HTTP/1.1\r\nHost: {host}\r\n\r\n".encode()
    second = f"GET /health HTTP/1.1\r\nHost: {host}\r\nX-Long: ".encode() + b"a" * 2 * MAX_HEADER_BYTES + b"\r\n\r\n"
    with socket.create_connection((host, int(port))) as connection:
        connection.sendall(first + second)
        answer = _all_of(connection)
    assert answer.startswith(b"HTTP/1.1 200"), answer[:200]
    assert b"</wsdl:definitions>" in answer
    assert answer.index(b"HTTP/1.1 431") > answer.index(b"</wsdl:definitions>")


def test_headers_just_within_the_limit_are_served(service: ServiceProcess) -> None:
    host, port = service.url.removeprefix("http://").split(":")
    request_line = f"GET /health HTTP/1.1\r\nHost: {host}\r\n".encode()
    filler = MAX_HEADER_BYTES - len(request_line) - len(b"X-Fill: \r\n\r\n")
    head = request_line + b"X-Fill: " + b"a" * filler + b"\r\n\r\n"
    assert len(head) == MAX_HEADER_BYTES
    with socket.create_connection((host, int(port))) as connection:
        connection.sendall(head)
        (answer,) = _read_answers(connection, 1)
    assert answer.startswith(b"HTTP/1.1 200"), answer[:200]
