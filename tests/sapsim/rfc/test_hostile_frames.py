"""A hostile or broken client cannot make the gateway allocate without bound or stop serving others."""

from __future__ import annotations

import socket
import struct
import time
from pathlib import Path

import pytest

from idocbridge.sapsim.rfc.tlv import record
from idocbridge.sapsim.testing import SimulatorProcess
from tests.sapsim.rfc.conftest import counters, logon_parameters

saprfclib = pytest.importorskip("saprfclib")

# saprfclib 0.1.8 leaves its socket to the garbage collector when a logon fails.
pytestmark = pytest.mark.filterwarnings(
    r"ignore:Exception ignored in. <socket.socket:pytest.PytestUnraisableExceptionWarning"
)


def _open(sim: SimulatorProcess) -> socket.socket:
    assert sim.info is not None
    return socket.create_connection((sim.info.gateway_host, sim.info.gateway_port), timeout=10)


def _send(sock: socket.socket, payload: bytes) -> None:
    sock.sendall(struct.pack(">I", len(payload)) + payload)


def _receive(sock: socket.socket) -> bytes:
    (length,) = struct.unpack(">I", _exactly(sock, 4))
    return _exactly(sock, length)


def _exactly(sock: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            raise EOFError(f"closed after {len(data)} of {size} bytes")
        data += chunk
    return data


def _handshake(sock: socket.socket) -> bytes:
    """NI version, GW_CONNECT, GW_INFO, GW_DONE; the handle the gateway assigned."""
    _send(sock, b"\x02\x03" + bytes(62))
    assert _receive(sock)[20:24] == b"4103"
    _send(sock, b"\x06\x01" + bytes(70))
    handle = _receive(sock)[40:48]
    _send(sock, b"\x06\x0f" + bytes(222))
    _send(sock, b"\x06\x05" + bytes(78))
    assert _receive(sock)[:2] == b"\x06\x05"
    return handle


def _data_frame(handle: bytes, body: bytes) -> bytes:
    header = bytearray(76)
    header[0:4] = b"\x06\xcb\x02\x00"
    header[40:48] = handle
    return bytes(header) + b"\xff\xff\x00\x04" + body


def _closed(sock: socket.socket) -> bool:
    """True once the gateway has closed the connection (waits up to 10 s)."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            if sock.recv(65536) == b"":
                return True
        except (ConnectionResetError, TimeoutError):
            return True
    return False


def _still_serves(sim: SimulatorProcess) -> None:
    connection = saprfclib.connect(**logon_parameters(sim))
    try:
        assert connection.ping() is True
    finally:
        connection.close()


def _logged(sim: SimulatorProcess, text: str) -> bool:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if text in (sim.state / "sim.log").read_text(errors="replace"):
            return True
        time.sleep(0.05)
    return False


def test_a_frame_longer_than_the_limit_is_refused_before_it_is_read(sim: SimulatorProcess) -> None:
    with _open(sim) as sock:
        sock.sendall(struct.pack(">I", 0x7FFFFFFF))  # claims 2 GiB, sends nothing more
        assert _closed(sock)
    assert _logged(sim, "an NI frame of 2147483647 bytes is larger than the 67108864 bytes allowed")
    _still_serves(sim)


def test_an_unknown_handshake_message_closes_only_that_connection(sim: SimulatorProcess) -> None:
    with _open(sim) as sock:
        _send(sock, b"\x47\x45\x54\x20/ HTTP/1.1\r\n\r\n")
        assert _closed(sock)
    assert _logged(sim, "unknown handshake message type 4745")
    _still_serves(sim)


def test_a_call_before_the_logon_is_refused(sim: SimulatorProcess) -> None:
    with _open(sim) as sock:
        handle = _handshake(sock)
        _send(sock, _data_frame(handle, record(0x0502) + record(0x0102, "RFC_PING".encode("utf-16-le"))))
        assert _closed(sock)
    assert _logged(sim, "the first RFC frame is not a logon")
    assert "calls:RFC_PING" not in counters(sim)
    _still_serves(sim)


def test_a_record_longer_than_its_frame_closes_the_connection(sim: SimulatorProcess) -> None:
    com_head = bytes([0xD9, 0xC6, 0xC3]) + bytes([0xF0]) * 9
    with _open(sim) as sock:
        handle = _handshake(sock)
        _send(sock, _data_frame(handle, com_head + struct.pack(">HH", 0x0111, 0xFFFF) + struct.pack(">I", 1 << 30)))
        assert _closed(sock)
    assert _logged(sim, "record 0111 at byte 0 claims 1073741824 bytes; only 0 follow")
    _still_serves(sim)


def test_passwords_never_reach_the_log(tmp_path: Path) -> None:
    with SimulatorProcess(tmp_path / "sim", log_level="DEBUG") as own:
        with pytest.raises(ValueError, match="Name or password is incorrect"):
            saprfclib.connect(**logon_parameters(own, password="Wr0ng-Pa55word"))
        _still_serves(own)
        assert _logged(own, "client '100', user 'IDOCUSER': Name or password is incorrect")
        log = (own.state / "sim.log").read_text(errors="replace")
    assert "Wr0ng-Pa55word" not in log
    assert "idocbridge" not in log.replace("idocbridge.sapsim", "")
