"""The service's connections, read on the service's side: every accepted connection sends at once."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from idocbridge.soap.testing import ServiceProcess
from tests.peer_sockets import accepted_socket_option
from tests.soap.example_service import served_example


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
