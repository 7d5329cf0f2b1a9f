"""``idocbridge sim`` as users run it: start, fault, inspect, issue-cert."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from idocbridge.connectors import ABAPApplicationError, CommunicationError
from idocbridge.sapsim.testing import SimulatorProcess, txtraw


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    command = [str(Path(sys.executable).parent / "idocbridge"), "sim", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)


def test_the_simulator_announces_where_it_listens(sim: SimulatorProcess) -> None:
    log = (sim.state / "sim.log").read_text()
    assert sim.info is not None
    assert f"SAP simulator SIM listening on {sim.info.url} (WebSocket RFC)" in log
    assert f"clients trust the development CA at {sim.state / 'tls' / 'ca.pem'}" in log
    written = json.loads((sim.state / "sim.json").read_text())
    assert written["message_server"] == {"host": "127.0.0.1", "http_port": sim.info.message_server_port}
    assert written["router"] == {"host": "127.0.0.1", "port": sim.info.router_port}
    assert 0 not in (sim.info.message_server_port, sim.info.router_port)
    announced = f"message server (HTTP) on 127.0.0.1:{sim.info.message_server_port}; SAProuter on 127.0.0.1:"
    assert announced + str(sim.info.router_port) in log


def test_fault_and_inspect_from_the_command_line(sim: SimulatorProcess) -> None:
    state = str(sim.state)
    armed = _run("fault", "drop_after", "--state", state, "--function", "IDOC_INBOUND_ASYNCHRONOUS")
    assert armed.returncode == 0, armed.stderr
    listed = json.loads(_run("faults", "--state", state).stdout)
    assert [(f["kind"], f["function"], f["count"]) for f in listed] == [("drop_after", "IDOC_INBOUND_ASYNCHRONOUS", 1)]
    with sim.connector() as sap:
        tid = sap.get_transaction_id()
        with pytest.raises(CommunicationError):  # the armed drop_after: executed, then the connection breaks
            sap.submit_transaction(tid, "IDOC_INBOUND_ASYNCHRONOUS", txtraw("from the CLI test"))
        sap.open()
        sap.submit_transaction(tid, "IDOC_INBOUND_ASYNCHRONOUS", txtraw("from the CLI test"))
    table = _run("inspect", "idocs", "--state", state)
    assert table.returncode == 0 and "TXTRAW01" in table.stdout and "53" in table.stdout
    (idoc,) = json.loads(_run("inspect", "idocs", "--json", "--state", state).stdout)
    assert idoc["tid"] == tid
    events = json.loads(_run("inspect", "events", tid, "--state", state).stdout)
    assert [e["event"] for e in events] == ["EXECUTED", "SKIPPED"]
    bad = _run("inspect", "widgets", "--state", state)
    assert bad.returncode == 2 and "choose one of" in bad.stderr


def test_issue_cert(sim: SimulatorProcess, tmp_path: Path) -> None:
    result = _run("issue-cert", "IDOCUSER", "--state", str(sim.state), "-o", str(tmp_path))
    assert result.returncode == 0, result.stderr
    with sim.connector(
        None, None, client_certificate=tmp_path / "IDOCUSER.pem", client_key=tmp_path / "IDOCUSER.key"
    ) as sap:
        assert sap.system["user"] == "IDOCUSER"


def test_commands_without_a_running_simulator_say_so(tmp_path: Path) -> None:
    result = _run("inspect", "idocs", "--state", str(tmp_path))
    assert result.returncode == 1
    assert "no running simulator found" in result.stderr


def test_a_broken_configuration_is_reported_with_its_position(tmp_path: Path) -> None:
    config = tmp_path / "sim.yaml"
    config.write_text('systemId: sim\nusers:\n  - name: U\n    client: "1000"\n', encoding="utf-8")
    result = _run("--state", str(tmp_path / "state"), "--port", "0", "--config", str(config))
    assert result.returncode == 1
    assert f"{config}:1:11: error: 'sim' is not an SAP system ID" in result.stderr
    assert f"{config}:4:13: error: client '1000' is not three digits" in result.stderr


def test_a_stopped_queue_is_restarted_or_deleted_from_the_command_line(sim: SimulatorProcess) -> None:
    state = str(sim.state)
    with sim.connector() as sap:
        for attempt in range(2):
            armed = _run("fault", "abap_exception", "--state", state, "--function", "IDOC_INBOUND_ASYNCHRONOUS")
            assert armed.returncode == 0, armed.stderr
            failed, waiting = sap.get_transaction_id(), sap.get_transaction_id()
            with pytest.raises(ABAPApplicationError):
                sap.submit_transaction(failed, "IDOC_INBOUND_ASYNCHRONOUS", txtraw(f"failed {attempt}"), queue="Q")
            sap.submit_transaction(waiting, "IDOC_INBOUND_ASYNCHRONOUS", txtraw(f"waiting {attempt}"), queue="Q")
            action = ("restart", "delete")[attempt]
            done = _run("queue", action, "Q", "--state", state)
            assert done.returncode == 0, done.stderr
            result = json.loads(done.stdout)
            assert result["restarted" if action == "restart" else "deleted"] == failed
            assert [row["state"] for row in result["queue"]] == ["EXECUTED"] * (3 if attempt else 2)
    texts = [sim.control.command("inspect.idoc", docnum=i["docnum"])["data"][0]["SDATA"] for i in sim.control.idocs()]
    assert texts == ["failed 0", "waiting 0", "waiting 1"]
    again = _run("queue", "restart", "Q", "--state", state)
    assert again.returncode == 1 and "queue Q is not stopped" in again.stderr
    bad = _run("queue", "flush", "Q", "--state", state)
    assert bad.returncode == 2 and "choose restart or delete" in bad.stderr
