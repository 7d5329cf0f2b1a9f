"""Hostile input and broken surroundings (issue 13): values the simulator must refuse rather than store,
failed logons it must log and count, state it must keep private, paths it must record absolutely.

Each test runs against the simulator as a real process, over its real sockets.
"""

from __future__ import annotations

import base64
import re
import ssl
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from idocbridge.connectors import ABAPApplicationError
from idocbridge.sapsim.protocol import decode, encode
from idocbridge.sapsim.rfc.tlv import record
from idocbridge.sapsim.testing import SimulatorProcess, txtraw
from tests.sapsim.rfc.conftest import logon_parameters
from tests.sapsim.rfc.wire import classic_exchange, json_session, ni, recorded_messages, websocket_rfc
from tests.waiting import wait_until

saprfclib = pytest.importorskip("saprfclib")

# saprfclib 0.1.8 leaves its socket to the garbage collector when a logon fails.
pytestmark = pytest.mark.filterwarnings(
    r"ignore:Exception ignored in. <socket.socket:pytest.PytestUnraisableExceptionWarning"
)

IDOC = "IDOC_INBOUND_ASYNCHRONOUS"
MEBIBYTE = 1 << 20


@pytest.fixture(scope="module")
def recorded(simulator_process: SimulatorProcess) -> dict[str, list[bytes]]:
    """Real messages of saprfclib (through the saprfc connector) on both RFC wires."""
    return {transport: recorded_messages(simulator_process, transport) for transport in ("cpic", "wrfc")}


def _ask(connection: Any, message: dict[str, Any]) -> dict[str, Any]:
    connection.send(encode(message))
    return decode(connection.recv(timeout=30))


def _call(function: str, **values: bytes) -> bytes:
    """A call's TLV stream: function, then each value as a named parameter."""
    parts = [record(0x0502), record(0x0102, function.encode("utf-16-le"))]
    for name, value in values.items():
        parts += [record(0x0201, name.encode("utf-16-le")), record(0x0203, value)]
    return b"".join(parts) + record(0xFFFF)


def _classic(sim: SimulatorProcess, recorded: dict[str, list[bytes]], body: bytes) -> bytes:
    """Handshake and logon as saprfclib sent them, then one call with ``body``; all the gateway sent back."""
    messages = recorded["cpic"]
    call_frame = messages[5]  # the first call after the logon: its 80-byte header and 8-byte footer
    stream = b"".join(ni(message) for message in messages[:5]) + ni(call_frame[:80] + body + call_frame[-8:])
    exchange = classic_exchange(sim, stream)
    assert exchange.closed, "the gateway did not close the connection after the stream ended"
    return exchange.received


def _websocket(sim: SimulatorProcess, recorded: dict[str, list[bytes]], body: bytes) -> bytes:
    """The recorded LOGON over a fresh WebSocket RFC connection, then one call with ``body``; its reply."""
    with websocket_rfc(sim) as connection:
        connection.send(recorded["wrfc"][0])
        connection.recv(timeout=30)
        connection.send(body)
        reply = connection.recv(timeout=30)
    assert isinstance(reply, bytes)
    return reply


def _says(reply: bytes, text: str) -> bool:
    return text.encode("utf-16-le") in reply or text.encode("latin-1") in reply


def _nothing_stored(sim: SimulatorProcess, *values: str) -> None:
    assert sim.control.tids() == []
    assert sim.control.idocs() == []
    stored = str(sim.control.events()) + str(sim.control.command("inspect.counters"))
    for value in values:
        assert value[:64] not in stored


# -- 1. TIDs and other values a client could make the simulator store ---------------------------------


@pytest.mark.parametrize("tid", ["Z" * MEBIBYTE, "A" * 25, "a" * 24, "A" * 23, "G" * 24, ""])
def test_the_json_protocol_refuses_anything_but_a_tid_and_stores_nothing(sim: SimulatorProcess, tid: str) -> None:
    with json_session(sim) as connection:
        for request in (
            {"id": 1, "op": "confirm", "tid": tid},
            {"id": 2, "op": "submit", "tid": tid, "function": IDOC, "params": txtraw("x")},
            {"id": 3, "op": "submit", "tid": tid, "function": IDOC, "params": txtraw("x"), "queue": "Q"},
        ):
            reply = _ask(connection, request)
            assert reply["ok"] is False, reply
            assert (reply["error"]["kind"], reply["error"]["key"]) == ("invalid", "RFC_INVALID_PARAMETER")
            assert "is not a TID (24 hexadecimal characters)" in reply["error"]["message"]
            assert len(reply["error"]["message"]) < 200  # the TID is not echoed back whole
        assert _ask(connection, {"id": 4, "op": "ping"})["ok"] is True
    assert sim.control.events() == []
    _nothing_stored(sim, tid or "\x00")


@pytest.mark.parametrize("queue", ["Q" * 25, "Q" * MEBIBYTE, "ORDERS\nQ", "ORDERS\x00"])
def test_a_queue_name_that_is_not_one_is_refused_and_nothing_is_stored(sim: SimulatorProcess, queue: str) -> None:
    with json_session(sim) as connection:
        tid = _ask(connection, {"id": 1, "op": "get_tid"})["result"]["tid"]
        request = {"id": 2, "op": "submit", "tid": tid, "function": IDOC, "params": txtraw("x"), "queue": queue}
        reply = _ask(connection, request)
        assert reply["ok"] is False, reply
        assert "is not a qRFC queue name (1 to 24 characters" in reply["error"]["message"]
        assert len(reply["error"]["message"]) < 200
    _nothing_stored(sim, queue)
    assert not [name for name in sim.control.command("inspect.counters") if name.startswith(("queue:", "qrfc:"))]


def test_a_queue_name_of_24_characters_is_taken(sim: SimulatorProcess) -> None:
    with sim.connector() as sap:
        tid = sap.get_transaction_id()
        sap.submit_transaction(tid, IDOC, txtraw("in a long queue"), queue="Q" * 24)
    assert [call["tid"] for call in sim.control.command("inspect.queue", queue="Q" * 24)] == [tid]


def test_queues_a_client_makes_up_leave_no_lock_behind(sim: SimulatorProcess) -> None:
    with json_session(sim) as connection:
        for number in range(200):
            tid = _ask(connection, {"id": 1, "op": "get_tid"})["result"]["tid"]
            request = {"id": 2, "op": "submit", "tid": tid, "function": "RFC_PING", "params": {}, "queue": f"Q{number}"}
            assert _ask(connection, request)["ok"] is True
    assert sim.control.command("status")["queue_locks"] == 0


def test_an_idoc_over_the_json_protocol_is_stored_no_larger_than_sap_stores_it(sim: SimulatorProcess) -> None:
    params = txtraw("x" * MEBIBYTE, SNDPRN="P" * MEBIBYTE)
    params["IDOC_CONTROL_REC_40"][0]["Z" * 1000] = "not a field of EDI_DC40"
    params["IDOC_DATA_REC_40"][0]["EXTRA"] = "y" * MEBIBYTE
    files = [sim.state / "sim.db", sim.state / "sim.db-wal"]
    before = sum(path.stat().st_size for path in files)
    with sim.connector() as sap:
        sap.call(IDOC, params)
    (idoc,) = sim.control.idocs(full=True)
    assert idoc["control"]["SNDPRN"] == "P" * 10 and "Z" * 1000 not in idoc["control"]
    (record,) = idoc["data"]
    assert len(record["SDATA"]) == 1000 and "EXTRA" not in record
    assert idoc["status"] == "60"  # SDATA as sent was too long
    assert any("SDATA" in status["text"] for status in idoc["statuses"]), idoc["statuses"]
    assert sum(path.stat().st_size for path in files) - before < MEBIBYTE // 2


def test_an_error_quoting_client_input_is_stored_bounded(sim: SimulatorProcess) -> None:
    params = txtraw("queued") | {"QNAME": "X" * MEBIBYTE}
    params["IDOC_DATA_QUEUE"] = params.pop("IDOC_DATA_REC_40")
    with sim.connector() as sap:
        tid = sap.get_transaction_id()
        with pytest.raises(ABAPApplicationError, match="is not the queue"):
            sap.submit_transaction(tid, "IDOC_INBOUND_IN_QUEUE", params, queue="QQ")
    (failed,) = sim.control.command("inspect.queue", queue="QQ")
    assert failed["state"] == "SYSFAIL" and "QUEUE_NAME_MISMATCH" in failed["error"]
    assert len(failed["error"]) <= 255
    assert all(len(event["detail"] or "") <= 255 for event in sim.control.events(tid))


@pytest.mark.parametrize("function", ["ARFC_DEST_CONFIRM", "API_CLEAR_TID"])
@pytest.mark.parametrize("wire", ["cpic", "wrfc"])
def test_rfc_confirms_refuse_anything_but_a_tid_as_a_system_failure(
    recorded: dict[str, list[bytes]], sim: SimulatorProcess, function: str, wire: str
) -> None:
    tid = "Z" * (MEBIBYTE // 4)
    value = tid.encode("utf-16-le")
    body = _call(function, TID=value)
    reply = _classic(sim, recorded, body) if wire == "cpic" else _websocket(sim, recorded, body)
    assert _says(reply, "is not a TID (24 hexadecimal characters)")
    assert len(reply) < 100_000  # the TID is not echoed back whole
    assert sim.control.events() == []
    _nothing_stored(sim, tid)


def test_an_rfc_unit_whose_tid_is_not_one_is_refused_and_nothing_is_stored(
    recorded: dict[str, list[bytes]], sim: SimulatorProcess
) -> None:
    """The recorded ARFC_DEST_SHIP of a tRFC unit, its TID (in STATE and DATA) replaced by 24 characters not hex."""
    (ship, *_) = [m for m in recorded["wrfc"] if "ARFC_DEST_SHIP".encode("utf-16-le") in m and b"D\x00A\x00T\x00A" in m]
    match = re.search(rb"(?:[0-9A-F]\x00){24}", ship)
    assert match is not None, "no TID in the recorded unit"
    hostile = ship.replace(match.group(), ("Z" * 24).encode("utf-16-le"))
    reply = _websocket(sim, recorded, hostile)
    assert _says(reply, "is not a TID (24 hexadecimal characters)")
    _nothing_stored(sim, "Z" * 24)
    assert sim.control.events() == []


@pytest.mark.parametrize("wire", ["cpic", "wrfc"])
def test_a_function_name_longer_than_sap_allows_is_refused_and_not_counted(
    recorded: dict[str, list[bytes]], sim: SimulatorProcess, wire: str
) -> None:
    for function in ("Z" * 100_000, "Z_MADE_UP_BY_A_CLIENT"):
        body = _call(function)
        reply = _classic(sim, recorded, body) if wire == "cpic" else _websocket(sim, recorded, body)
        assert _says(reply, "SYSTEM_FAILURE") or _says(reply, "CALL_FUNCTION_NOT_FOUND"), reply[:400]
    counted = sim.control.command("inspect.counters")
    assert not [name for name in counted if "Z_MADE_UP" in name or "ZZZZ" in name], counted
    assert counted[f"rfc:{wire}:(unknown)"] == 1  # the short made-up name: counted, but not by its name


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("user", "U" * MEBIBYTE, "Name or password is incorrect"),
        ("password", "p" * MEBIBYTE, "Name or password is incorrect"),
        ("alias_user", "A" * MEBIBYTE, "Name or password is incorrect"),
        ("client", "1" * MEBIBYTE, "a client has 3 characters"),
        ("language", "E" * MEBIBYTE, "a logon language is a 1- or 2-character language key"),
        ("password", 12345, "are text"),
    ],
)
def test_logon_fields_longer_than_sap_allows_are_refused(
    sim: SimulatorProcess, field: str, value: object, message: str
) -> None:
    logon: dict[str, Any] = {"type": "logon", "version": 1, "client": "100", "user": "IDOCUSER"}
    logon |= {"password": "idocbridge", field: value}
    with json_session(sim, log_on=False) as connection:
        reply = _ask(connection, logon)
    assert reply["type"] == "error", "the logon was taken"
    assert reply["error"]["kind"] == "logon" and message in reply["error"]["message"]
    assert len(reply["error"]["message"]) < 200
    wait_until(lambda: "logon refused (json)" in sim.log_tail(200), what="the refused logon in the log")
    assert "U" * 100 not in sim.log_tail(200) and "1" * 100 not in sim.log_tail(200)


def test_a_language_of_two_characters_logs_on(sim: SimulatorProcess) -> None:
    logon = {"type": "logon", "version": 1, "client": "100", "user": "IDOCUSER", "password": "idocbridge"}
    with json_session(sim, logon | {"language": "DE"}) as connection:
        assert _ask(connection, {"id": 1, "op": "ping"})["ok"] is True


# -- 2. Failed logons: compared in constant time, logged, counted --------------------------------------


def _counter(sim: SimulatorProcess, name: str) -> int:
    value: int = sim.control.command("inspect.counters").get(name, 0)
    return value


def test_every_failed_logon_is_logged_at_warning_and_counted_without_its_password(sim: SimulatorProcess) -> None:
    assert sim.info is not None
    secret = "Wr0ng-pässwörd"  # not ASCII: compared as bytes
    logon = {"type": "logon", "version": 1, "client": "100", "user": "IDOCUSER", "password": secret}
    with json_session(sim, log_on=False) as connection:
        assert _ask(connection, logon)["error"]["kind"] == "logon"
    with pytest.raises(ValueError, match="Name or password is incorrect"):
        saprfclib.connect(**logon_parameters(sim, password=secret))
    credentials = base64.b64encode(f"IDOCUSER:{secret}".encode("latin-1")).decode()
    context = ssl.create_default_context(cafile=str(sim.info.ca_certificate))
    with pytest.raises(InvalidStatus) as refused:
        connect(
            sim.info.url,
            ssl=context,
            proxy=None,
            subprotocols=["rfc.sap.com"],  # type: ignore[list-item]
            additional_headers={"Authorization": f"Basic {credentials}", "sap-client": "100"},
        )
    assert refused.value.response.status_code == 401
    for transport in ("json", "cpic", "wrfc"):
        assert _counter(sim, f"logon_failures:{transport}") == 1, transport
        line = wait_until(
            lambda transport=transport: [
                line for line in sim.log_tail(200).splitlines() if f"logon refused ({transport}) from" in line
            ],
            what=f"the {transport} refusal in the log",
        )[-1]
        assert " WARNING " in line and "from '127.0.0.1:" in line
        assert "client '100', user 'IDOCUSER': Name or password is incorrect" in line
    log = (sim.state / "sim.log").read_text(errors="replace")
    assert secret not in log and "Wr0ng" not in log


def test_a_logon_refused_by_a_fault_or_an_unknown_client_is_counted_too(sim: SimulatorProcess) -> None:
    sim.control.add_fault("refuse_logon")
    logon = {"type": "logon", "version": 1, "client": "100", "user": "IDOCUSER", "password": "idocbridge"}
    for attempt in (logon, logon | {"client": "999"}):
        with json_session(sim, log_on=False) as connection:
            assert _ask(connection, attempt)["type"] == "error"
    assert _counter(sim, "logon_failures:json") == 2
    with json_session(sim, logon):  # the fault is used up: a right logon is taken and not counted
        pass
    assert _counter(sim, "logon_failures:json") == 2


# -- 3. The state folder and its database are private ------------------------------------------------


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_state_folder_and_database_are_readable_by_their_owner_only(tmp_path: Path) -> None:
    with SimulatorProcess(tmp_path / "state") as own:
        with own.connector() as sap:  # a write, so that the WAL files exist
            sap.submit_transaction(sap.get_transaction_id(), IDOC, txtraw("private"))
        state = own.state
        files = [state / "sim.db", state / "sim.db-wal", state / "sim.db-shm"]
        assert all(path.exists() for path in files), sorted(p.name for p in state.iterdir())
        assert _mode(state) == 0o700
        assert {path.name: _mode(path) for path in files} == {path.name: 0o600 for path in files}
        assert _mode(state / "control.token") == 0o600


def test_a_state_folder_with_looser_modes_is_tightened_with_a_log_line(tmp_path: Path) -> None:
    state = tmp_path / "state"
    state.mkdir(mode=0o755)
    state.chmod(0o755)
    for name in ("sim.db", "sim.db-wal"):
        (state / name).touch()
        (state / name).chmod(0o644)
    with SimulatorProcess(state) as own:
        with own.connector() as sap:
            sap.ping()
        assert _mode(state) == 0o700
        assert _mode(state / "sim.db") == 0o600 and _mode(state / "sim.db-wal") == 0o600
        log = own.log_tail(100)
    assert f"tightened the permissions of {state / 'sim.db'} from 0644 to 0600" in log
    assert f"tightened the permissions of {state} from 0755 to 0700" in log


# -- 4. A simulator started with a relative state path is found from anywhere -----------------------


def test_inspect_finds_a_simulator_started_from_another_folder_with_a_relative_state(tmp_path: Path) -> None:
    started_in, asked_from = tmp_path / "started-here", tmp_path / "elsewhere"
    started_in.mkdir()
    asked_from.mkdir()
    idocbridge = str(Path(sys.executable).parent / "idocbridge")
    command = [idocbridge, "sim", "--state", "rel/.sapsim", "--port", "0", "--gateway-port", "0"]
    process = subprocess.Popen(
        command, cwd=started_in, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL
    )
    state = started_in / "rel" / ".sapsim"
    try:
        wait_until(lambda: (state / "sim.json").exists() or process.poll() is not None, what="sim.json")
        assert process.poll() is None, "the simulator exited"
        for where, folder in ((asked_from, str(state)), (started_in / "rel", ".sapsim")):
            result = subprocess.run(
                [idocbridge, "sim", "inspect", "status", "--state", folder],
                cwd=where,
                capture_output=True,
                text=True,
                timeout=60,
                check=False,
            )
            assert result.returncode == 0, result.stderr
            assert '"system_id": "SIM"' in result.stdout
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_read_info_takes_a_relative_ca_path_as_the_state_folders_ca(tmp_path: Path) -> None:
    from idocbridge.sapsim.runner import read_info

    info = '{"url": "wss://127.0.0.1:1/sap/bc/rfc", "host": "127.0.0.1", "port": 1, "pid": 1, "ca": "x/tls/ca.pem"}'
    (tmp_path / "sim.json").write_text(info, encoding="utf-8")
    assert read_info(tmp_path).ca_certificate == tmp_path / "tls" / "ca.pem"


def test_a_state_folder_it_cannot_tighten_is_reported_not_fatal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A shared folder someone else owns (``--state /tmp/x``): chmod fails; the simulator says so and goes on."""
    from idocbridge.sapsim.store import SimulatorStore

    folder = tmp_path / "shared"
    folder.mkdir()
    folder.chmod(0o755)

    def refuse(self: Path, mode: int) -> None:
        raise PermissionError(1, "Operation not permitted", str(self))

    monkeypatch.setattr(Path, "chmod", refuse)
    store = SimulatorStore(folder / "sim.db")
    store.close()
    assert f"cannot tighten the permissions of {folder} (0755)" in caplog.text
