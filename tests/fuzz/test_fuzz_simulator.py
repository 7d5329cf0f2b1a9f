"""Fuzz targets for the simulator's RFC endpoints: classic RFC (CPIC/NI), WebSocket RFC and the JSON protocol.

One simulator process serves the whole module; every input goes to it over a real socket. The
inputs are mutations of real byte streams (what saprfclib sends, through the saprfc connector,
recorded once per module) and generated JSON messages. The property, for every input:

- the simulator answers (an RFC error, a close frame, a JSON error) or closes the connection within
  a bound: it never hangs;
- it never dies, and a fresh valid logon and ping still succeed afterwards;
- no Python traceback or unhandled-handler error appears in its log (stdout and stderr);
- its memory stays bounded (RSS from /proc, before and after the module's run).
"""

from __future__ import annotations

import struct
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from websockets.exceptions import ConnectionClosed

from idocbridge.sapsim.protocol import decode, encode
from idocbridge.sapsim.testing import SimulatorProcess
from tests.fuzz.budget import count, fuzz_settings
from tests.sapsim.rfc.wire import classic_exchange, json_session, recorded_messages, websocket_rfc

saprfclib = pytest.importorskip("saprfclib")

# saprfclib 0.1.8 leaves its socket to the garbage collector when a logon fails.
pytestmark = pytest.mark.filterwarnings(
    r"ignore:Exception ignored in. <socket.socket:pytest.PytestUnraisableExceptionWarning"
)

REPLY_BOUND = 60.0
"""Seconds within which the simulator answers a message or closes the connection: far above its normal cost
(well under a second), even on a machine loaded by other runs; below the hang bound of every example."""
RSS_LIMIT_KB = 300 * 1024
"""A leak or blow-up guard: the simulator's resident memory after the run stays below 300 MB."""
PING_EVERY = 20
"""A fresh valid logon and ping (saprfclib over classic RFC) after every this many inputs, and at the end."""
_BAD_LOG_LINES = ("Traceback", "Error in connection handler", "failed\n", "ERROR ")

_seconds: dict[str, float] = {}


def _rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS in /proc status")


@dataclass
class Harness:
    """The simulator under fuzz, the recorded sessions, and what has been checked of its log."""

    sim: SimulatorProcess
    classic: list[bytes]
    websocket: list[bytes]
    rss_before_kb: int
    log_offset: int = 0
    inputs: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def pid(self) -> int:
        assert self.sim.process is not None
        return self.sim.process.pid

    def check(self) -> None:
        """After each input: alive, no traceback since the last check, and now and then a fresh valid ping."""
        assert self.sim.process is not None and self.sim.process.poll() is None, (
            f"the simulator died: {self.sim.log_tail()}"
        )
        log = self.sim.state / "sim.log"
        with log.open("rb") as handle:
            handle.seek(self.log_offset)
            new = handle.read().decode("utf-8", "replace")
            self.log_offset = handle.tell()
        bad = [marker for marker in _BAD_LOG_LINES if marker in new]
        assert not bad, f"the simulator logged {bad}:\n{new[-4000:]}"
        self.inputs += 1
        if self.inputs % PING_EVERY == 0:
            self.ping()

    def ping(self) -> None:
        """A fresh logon and RFCPING over classic RFC (saprfclib), and a JSON logon and ping."""
        assert self.sim.info is not None
        connection = saprfclib.connect(
            ashost=self.sim.info.gateway_host,
            sysnr=self.sim.info.system_number,
            client="100",
            user="IDOCUSER",
            passwd="idocbridge",
        )
        try:
            assert connection.ping() is True
        finally:
            connection.close()
        with json_session(self.sim) as session:
            session.send(encode({"id": 1, "op": "ping"}))
            assert decode(session.recv(timeout=REPLY_BOUND)) == {"id": 1, "ok": True, "result": {}}


@pytest.fixture(scope="module")
def harness(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Harness]:
    """One simulator process for the module; its RSS is stated and bounded at the end."""
    with SimulatorProcess(tmp_path_factory.mktemp("fuzz-sim")) as sim:
        assert sim.info is not None and sim.process is not None
        classic = recorded_messages(sim, "cpic")
        websocket = recorded_messages(sim, "wrfc")
        harness = Harness(sim, classic, websocket, _rss_kb(sim.process.pid))
        yield harness
        harness.ping()
        rss_after = _rss_kb(harness.pid)
        log = (sim.state / "sim.log").read_text(errors="replace")
    rates = ", ".join(
        f"{target} {count_:,} inputs in {_seconds.get(target, 0):.1f} s "
        f"({count_ / max(_seconds.get(target, 0), 1e-9):.0f}/s)"
        for target, count_ in sorted(_counts.items())
    )
    print(
        f"\nsimulator RSS before {harness.rss_before_kb / 1024:.1f} MB, after {rss_after / 1024:.1f} MB; {rates}",
        file=sys.stderr,
    )
    assert not [marker for marker in _BAD_LOG_LINES if marker in log], log[-4000:]
    assert rss_after < RSS_LIMIT_KB, f"the simulator holds {rss_after / 1024:.0f} MB after the run"


_counts: dict[str, int] = {}


def _ran(target: str, started: float) -> None:
    count(target)
    _counts[target] = _counts.get(target, 0) + 1
    _seconds[target] = _seconds.get(target, 0.0) + time.monotonic() - started


# -- mutations of recorded byte streams ---------------------------------------------------------------


def _records(tlv: bytes) -> list[bytes]:
    """The raw records of a TLV stream, as far as they can be split (the rest is one last piece)."""
    pieces, position = [], 0
    while position + 4 <= len(tlv):
        start = position
        tag, length = struct.unpack_from(">HH", tlv, position)
        position += 4
        if tag == 0xFFFF:
            break
        if length == 0xFFFF and position + 4 <= len(tlv):
            (length,) = struct.unpack_from(">I", tlv, position)
            position += 4
        position = min(position + length, len(tlv))
        if position + 2 <= len(tlv) and struct.unpack_from(">H", tlv, position)[0] == tag:
            position += 2
        pieces.append(tlv[start:position])
    pieces.append(tlv[position if position <= len(tlv) else len(tlv) :] if position < len(tlv) else b"")
    return pieces


@st.composite
def _mutated(draw: st.DrawFn, message: bytes, body_at: int) -> bytes:
    """One message with one mutation: byte flips, a cut, added bytes, or a TLV record repeated."""
    kind = draw(st.sampled_from(["flip", "cut", "extend", "repeat", "repeat", "length", "random"]))
    data = bytearray(message)
    if kind == "flip" and data:
        for _ in range(draw(st.integers(1, 8))):
            index = draw(st.integers(0, len(data) - 1))
            data[index] ^= draw(st.integers(1, 255))
    elif kind == "cut":
        del data[draw(st.integers(0, len(data))) :]
    elif kind == "extend":
        data += draw(st.binary(min_size=1, max_size=256))
    elif kind == "repeat" and len(data) > body_at:
        head, records = bytes(data[:body_at]), _records(bytes(data[body_at:]))
        index = draw(st.integers(0, len(records) - 1))
        times = draw(st.sampled_from([2, 3, 10, 100, 1000, 5000]))
        records[index:index] = [records[index]] * times
        data = bytearray(head + b"".join(records))
    elif kind == "length" and len(data) > body_at + 4:
        # A record's length field: zero, one off, the extended form, or far beyond the message.
        records = _records(bytes(data[body_at:]))
        index = draw(st.integers(0, len(records) - 1))
        offset = body_at + sum(len(r) for r in records[:index]) + 2
        if offset + 2 <= len(data):
            value = draw(st.sampled_from([0, 1, 0xFFFE, 0xFFFF, draw(st.integers(0, 0xFFFF))]))
            struct.pack_into(">H", data, offset, value)
            if value == 0xFFFF and offset + 6 <= len(data):
                struct.pack_into(">I", data, offset + 2, draw(st.sampled_from([0, 1 << 20, 1 << 31, 0xFFFFFFFF])))
    elif kind == "random":
        data = bytearray(draw(st.binary(max_size=512)))
    return bytes(data)


@st.composite
def classic_streams(draw: st.DrawFn, messages: list[bytes]) -> bytes:
    """A recorded classic RFC session, cut after some frame, with mutated frames and NI length prefixes."""
    frames: list[tuple[bytes, int | None]] = [(m, None) for m in messages[: draw(st.integers(1, len(messages)))]]
    for _ in range(draw(st.integers(1, 3))):
        index = draw(st.integers(0, len(frames) - 1))
        payload, declared = frames[index]
        operation = draw(st.sampled_from(["mutate", "mutate", "mutate", "ni_length", "huge", "drop", "double"]))
        if operation == "mutate":
            frames[index] = (draw(_mutated(payload, 80 if index >= 4 else 0)), declared)
        elif operation == "ni_length":
            frames[index] = (payload, max(0, len(payload) + draw(st.integers(-100, 100))))
        elif operation == "huge":
            frames[index] = (payload, draw(st.sampled_from([1 << 26, (1 << 26) + 1, 1 << 31, 0xFFFFFFFF])))
        elif operation == "drop" and len(frames) > 1:
            del frames[index]
        elif operation == "double":
            frames.insert(index, frames[index])
    return b"".join(struct.pack(">I", len(p) if d is None else d) + p for p, d in frames)


@given(data=st.data())
@fuzz_settings(short=60, share=1 / 3)
def test_classic_rfc_survives_mutated_sessions(harness: Harness, data: st.DataObject) -> None:
    stream = data.draw(classic_streams(harness.classic), label="stream")
    started = time.monotonic()
    exchange = classic_exchange(harness.sim, stream, deadline=REPLY_BOUND)
    assert exchange.closed, f"the gateway neither answered nor closed within {REPLY_BOUND} s"
    harness.check()
    _ran("simulator: classic RFC (CPIC/NI)", started)


@st.composite
def websocket_messages(draw: st.DrawFn, messages: list[bytes]) -> list[bytes | str]:
    """The recorded WebSocket RFC messages (LOGON, calls), cut after some message, some of them mutated."""
    chosen: list[bytes | str] = list(messages[: draw(st.integers(1, len(messages)))])
    for _ in range(draw(st.integers(1, 3))):
        index = draw(st.integers(0, len(chosen) - 1))
        message = chosen[index]
        if not isinstance(message, bytes):
            continue  # already sent as text
        operation = draw(st.sampled_from(["mutate", "mutate", "mutate", "text", "double"]))
        if operation == "mutate":
            chosen[index] = draw(_mutated(message, 0))
        elif operation == "text":
            chosen[index] = message.decode("latin-1")
        else:
            chosen.insert(index, message)
    return chosen


@given(data=st.data())
@fuzz_settings(short=40, share=1 / 3)
def test_websocket_rfc_survives_mutated_messages(harness: Harness, data: st.DataObject) -> None:
    messages = data.draw(websocket_messages(harness.websocket), label="messages")
    started = time.monotonic()
    with websocket_rfc(harness.sim) as connection:
        for message in messages:
            try:
                connection.send(message)
                connection.recv(timeout=REPLY_BOUND)  # a reply, or the close (ConnectionClosed)
            except ConnectionClosed:
                break
            except TimeoutError:
                pytest.fail(f"WebSocket RFC neither answered nor closed within {REPLY_BOUND} s")
    harness.check()
    _ran("simulator: WebSocket RFC", started)


_FUNCTIONS = ["RFC_PING", "STFC_CONNECTION", "RFC_SYSTEM_INFO", "IDOC_INBOUND_ASYNCHRONOUS", "IDOC_INBOUND_IN_QUEUE",
              "IDOCTYPE_READ_COMPLETE", "RFC_GET_FUNCTION_INTERFACE", "Z_NOT_THERE"]  # fmt: skip
_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=40),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=12,
)
_tids = st.one_of(
    st.text(alphabet="0123456789ABCDEF", min_size=24, max_size=24),
    st.text(max_size=30),
    st.sampled_from(["", "A" * 25, "A" * 100_000]),
)
_params = st.one_of(
    st.dictionaries(
        st.sampled_from(
            ["REQUTEXT", "IDOC_CONTROL_REC_40", "IDOC_DATA_REC_40", "FUNCNAME", "QNAME", "PI_IDOCTYP", "X"]
        ),
        _json_values,
        max_size=4,
    ),
    _json_values,
)
_requests = st.fixed_dictionaries(
    {"id": st.integers(0, 1000), "op": st.sampled_from(["ping", "call", "get_tid", "submit", "confirm", "launch"])},
    optional={
        "function": st.sampled_from(_FUNCTIONS) | _json_values,
        "params": _params,
        "tid": _tids | _json_values,
        "queue": st.none() | st.text(max_size=30) | _json_values,
    },
)
_logons = st.fixed_dictionaries(
    {"type": st.just("logon"), "version": st.just(1)},
    optional={
        "language": st.text(max_size=4),
        "alias_user": st.text(max_size=50) | _json_values,
        "certificate": _json_values,
        "client": st.just("100") | st.text(max_size=5) | _json_values,
        "user": st.just("IDOCUSER") | st.text(max_size=14) | _json_values,
        "password": st.just("idocbridge") | st.text(max_size=42) | _json_values,
    },
)


@given(
    logon=st.one_of(st.none(), _logons),
    messages=st.lists(
        st.one_of(_requests, _requests, st.text(max_size=200), st.binary(max_size=200)), min_size=1, max_size=6
    ),
)
@fuzz_settings(short=60, share=1 / 3)
@example(  # found by the long run: a table row that is not an object reached the function module
    logon=None,
    messages=[{"id": 1, "op": "submit", "function": "IDOC_INBOUND_ASYNCHRONOUS", "tid": "A" * 24,
               "params": {"IDOC_CONTROL_REC_40": [None]}}],
)  # fmt: skip
def test_json_protocol_answers_every_message(
    harness: Harness, logon: dict[str, Any] | None, messages: list[dict[str, Any] | str | bytes]
) -> None:
    started = time.monotonic()
    with json_session(harness.sim, log_on=False) as connection:
        valid = {"type": "logon", "version": 1, "client": "100", "user": "IDOCUSER", "password": "idocbridge"}
        connection.send(encode(logon if logon is not None else valid))
        try:
            if decode(connection.recv(timeout=REPLY_BOUND)).get("type") != "logon_ok":
                messages = []  # a refused logon closes the connection
            for message in messages:
                connection.send(encode(message) if isinstance(message, dict) else message)
                reply = decode(connection.recv(timeout=REPLY_BOUND))
                assert isinstance(reply.get("ok"), bool), reply
                if isinstance(message, dict) and isinstance(message.get("id"), int):
                    assert reply["id"] == message["id"]
        except ConnectionClosed:
            pass
        except TimeoutError:
            pytest.fail(f"the JSON protocol neither answered nor closed within {REPLY_BOUND} s")
    harness.check()
    _ran("simulator: JSON protocol", started)


def test_the_recorded_sessions_are_valid(harness: Harness) -> None:
    """The fuzz targets start from sessions the simulator takes whole (else they test nothing)."""
    stream = b"".join(struct.pack(">I", len(message)) + message for message in harness.classic)
    exchange = classic_exchange(harness.sim, stream, deadline=REPLY_BOUND)
    assert exchange.closed and len(exchange.received) > 10_000
    with websocket_rfc(harness.sim) as connection:
        for message in harness.websocket:
            connection.send(message)
            assert isinstance(connection.recv(timeout=REPLY_BOUND), bytes)
    assert (harness.sim.state / "sim.log").stat().st_size > 0
    harness.check()
