"""What the review of the simulator found, pinned: TID ownership, malformed requests, secrets in logs."""

from __future__ import annotations

import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from websockets.sync.client import ClientConnection, connect

from idocbridge.connectors import AuthorizationError, CommunicationError, ConnectorConfigurationError
from idocbridge.connectors.pool import ConnectionPool, PoolWaitEvent
from idocbridge.idoc.registry import IDocTypeRegistry
from idocbridge.sapsim.config import load_config
from idocbridge.sapsim.control_client import ControlError
from idocbridge.sapsim.engine import Engine
from idocbridge.sapsim.faults import FaultPlan
from idocbridge.sapsim.protocol import CONTROL_PATH, RFC_PATH, decode, encode
from idocbridge.sapsim.store import SimulatorStore
from idocbridge.sapsim.testing import SimulatorProcess, txtraw
from tests.waiting import wait_until

IDOC = "IDOC_INBOUND_ASYNCHRONOUS"


def test_another_user_can_neither_confirm_nor_reuse_a_tid(sim: SimulatorProcess, tmp_path: Path) -> None:
    config = tmp_path / "two-users.yaml"
    config.write_text(
        "users:\n"
        "  - {name: ALICE, client: '100', password: a, functions: [IDOC_INBOUND_ASYNCHRONOUS, RFC_PING]}\n"
        "  - {name: MALLORY, client: '100', password: m, functions: [IDOC_INBOUND_ASYNCHRONOUS, RFC_PING]}\n",
        encoding="utf-8",
    )
    with SimulatorProcess(tmp_path / "state", config=config) as own:
        with own.connector("ALICE", "a") as alice, own.connector("MALLORY", "m") as mallory:
            tid = alice.get_transaction_id()
            alice.submit_transaction(tid, IDOC, txtraw("alice's"))
            with pytest.raises(AuthorizationError, match="belongs to another user"):
                mallory.confirm_transaction(tid)
            with pytest.raises(AuthorizationError, match="belongs to another user"):
                mallory.submit_transaction(tid, IDOC, txtraw("mallory's"))
            with pytest.raises(ConnectorConfigurationError, match="was executed for IDOC_INBOUND_ASYNCHRONOUS"):
                alice.submit_transaction(tid, "RFC_PING", {})
            alice.submit_transaction(tid, IDOC, txtraw("alice's"))
            alice.confirm_transaction(tid)
        assert len(own.control.idocs(tid=tid)) == 1


def test_tids_are_not_guessable_and_not_repeated_across_engines(tmp_path: Path) -> None:
    config, _ = load_config()
    engines = [Engine(config, SimulatorStore(tmp_path / f"{n}.db"), IDocTypeRegistry(), FaultPlan()) for n in range(2)]
    try:
        first, second = (engine.new_tid() for engine in engines)
        assert first != second  # same process, same second: still different TIDs
        assert len({engines[0].new_tid() for _ in range(1000)}) == 1000
    finally:
        for engine in engines:  # Python 3.13 warns about SQLite connections left to the garbage collector
            engine.store.close()


def test_a_tid_with_a_trailing_newline_is_refused(sim: SimulatorProcess) -> None:
    with sim.connector() as sap:
        tid = sap.get_transaction_id()
        with pytest.raises(ConnectorConfigurationError, match="is not a TID"):
            sap.submit_transaction(tid + "\n", IDOC, txtraw("newline"))
    assert sim.control.idocs() == []


@contextmanager
def _raw(sim: SimulatorProcess, path: str = RFC_PATH) -> Iterator[ClientConnection]:
    assert sim.info is not None
    context = ssl.create_default_context(cafile=str(sim.info.ca_certificate))
    url = sim.info.url.replace(RFC_PATH, path)
    with connect(url, ssl=context, proxy=None, legacy=False, max_size=None) as connection:
        yield connection


def _ask(connection: ClientConnection, message: dict[str, Any] | str) -> dict[str, Any]:
    connection.send(message if isinstance(message, str) else encode(message))
    return decode(connection.recv(timeout=10))


@pytest.mark.parametrize(
    "request_",
    [
        {"id": 1, "op": "call", "function": "STFC_CONNECTION", "params": [1, 2]},
        {"id": 1, "op": "submit", "function": IDOC, "tid": "A" * 24, "params": {}, "queue": {"q": 1}},
        {"id": 1, "op": "submit", "function": IDOC, "tid": 5, "params": {}},
        {"id": 1, "op": "launch"},
        '{"id": 1, "op": "call", "function": "STFC_CONNECTION", "params": {"REQUTEXT": {"$decimal": "abc"}}}',
        '{"id": 1, "op": "ping", "x": ' + "[" * 100_000 + "]" * 100_000 + "}",
        {"id": 1, "op": "submit", "function": IDOC, "tid": "B" * 24, "params": {"IDOC_CONTROL_REC_40": "abc"}},
    ],
)
def test_malformed_requests_get_an_error_and_the_connection_stays_usable(
    sim: SimulatorProcess, request_: dict[str, Any] | str
) -> None:
    with _raw(sim) as connection:
        logon = {"type": "logon", "version": 1, "client": "100", "user": "IDOCUSER", "password": "idocbridge"}
        assert _ask(connection, logon)["type"] == "logon_ok"
        reply = _ask(connection, request_)
        assert reply["ok"] is False
        assert reply["error"]["kind"] in ("invalid", "communication", "abap_runtime")
        assert _ask(connection, {"id": 2, "op": "ping"}) == {"id": 2, "ok": True, "result": {}}
    assert sim.control.idocs() == []


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"IDOC_CONTROL_REC_40": [None]}, "each row of table IDOC_CONTROL_REC_40"),
        ({"IDOC_CONTROL_REC_40": "abc"}, "parameter IDOC_CONTROL_REC_40 of IDOC_INBOUND_ASYNCHRONOUS is a table"),
        ({"IDOC_CONTROL_REC_40": [{}], "IDOC_DATA_REC_40": [{}, 7]}, "each row of table IDOC_DATA_REC_40"),
    ],
)
def test_parameters_of_the_wrong_shape_are_refused_before_the_function_runs(
    sim: SimulatorProcess, params: dict[str, Any], message: str
) -> None:
    """Found by the long fuzz run: a table row that is not an object reached the function module as a short
    dump with a traceback in the log; now it is refused as an invalid parameter, naming it."""
    log = sim.state / "sim.log"
    before = log.stat().st_size
    with _raw(sim) as connection:
        logon = {"type": "logon", "version": 1, "client": "100", "user": "IDOCUSER", "password": "idocbridge"}
        assert _ask(connection, logon)["type"] == "logon_ok"
        for op in ("call", "submit"):
            reply = _ask(connection, {"id": 1, "op": op, "function": IDOC, "tid": "C" * 24, "params": params})
            assert reply["ok"] is False
            assert reply["error"]["kind"] == "invalid", reply
            assert reply["error"]["message"].startswith(message), reply
    assert sim.control.idocs() == []
    with log.open("rb") as handle:
        handle.seek(before)
        assert b"Traceback" not in handle.read()


def test_the_control_endpoint_refuses_odd_tokens_and_survives_bad_filters(sim: SimulatorProcess) -> None:
    with _raw(sim, CONTROL_PATH) as connection:
        assert _ask(connection, {"token": "tökén"}) == {"ok": False, "error": "wrong control token"}
    with pytest.raises(ControlError, match="the command failed"):
        sim.control.command("inspect.idocs", tid=[1])
    assert sim.control.idocs() == []  # the control connection still works


def test_debug_logging_never_shows_the_token_or_passwords(tmp_path: Path) -> None:
    process = SimulatorProcess(tmp_path / "sim", log_level="DEBUG")
    with process as sim:
        with sim.connector() as sap:
            sap.ping()
        sim.control.idocs()
        token = sim.state.joinpath("control.token").read_text().strip()
    log = (tmp_path / "sim" / "sim.log").read_text()
    assert "connection open" in log  # DEBUG and INFO lines are there
    assert token not in log and 'idocbridge"' not in log


def test_a_waiter_of_a_closed_pool_gets_its_final_exit_event(sim: SimulatorProcess) -> None:
    events: list[PoolWaitEvent] = []
    pool = ConnectionPool("closing", sim.connector, size=1, timeout=10, on_wait=events.append)
    held = pool.acquire()
    failure: list[Exception] = []

    def wait() -> None:
        try:
            pool.acquire()
        except CommunicationError as exc:
            failure.append(exc)

    waiter = threading.Thread(target=wait)
    waiter.start()
    wait_until(lambda: [e.phase for e in events] == ["enter"], what="the second caller waiting for the connection")
    pool.close()
    waiter.join()
    pool.release(held)
    assert failure and "closed" in str(failure[0])
    assert [e.phase for e in events] == ["enter", "exit"]
