"""The simulator's connections, read on the simulator's side: every listener's accepted connections send at
once, as an SAP system's do (a reply held back for the client's delayed ACK costs ~40 ms per call)."""

from __future__ import annotations

import socket

import pytest

from idocbridge.sapsim.testing import SimulatorProcess
from tests.peer_sockets import accepted_socket_option

LISTENERS = ["WebSocket RFC", "gateway (CPIC)", "message server", "SAProuter"]


@pytest.mark.parametrize("listener", LISTENERS)
def test_an_accepted_connection_does_not_wait_for_the_clients_ack(sim: SimulatorProcess, listener: str) -> None:
    info = sim.info
    assert info is not None and sim.process is not None
    address = {
        "WebSocket RFC": (info.host, info.port),
        "gateway (CPIC)": (info.gateway_host, info.gateway_port),
        "message server": (info.host, info.message_server_port),
        "SAProuter": (info.gateway_host, info.router_port),
    }[listener]
    assert address[1], f"the simulator has no {listener} listener"
    with socket.create_connection(address) as client:
        pid = sim.process.pid
        assert accepted_socket_option(pid, client, socket.IPPROTO_TCP, socket.TCP_NODELAY, expected=1) == 1
