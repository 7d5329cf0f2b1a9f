"""``idocbridge tx show`` by whatever the operator has (ID, transaction ID, TID, SAP DOCNUM, MessageId, a business
key), with the entry's keys and its IDocs' fate in SAP; ``tx list --key`` and ``log --key``. On SQLite, and on
PostgreSQL when configured (``--db``)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from click.testing import Result
from sqlalchemy import Engine
from typer.testing import CliRunner

from idocbridge.cli.log import log_app
from idocbridge.cli.tx import tx_app
from idocbridge.transactions import OutboxEntry, OutboxStore
from tests.transactions.conftest import TID, TID2, Clock
from tests.transactions.search_data import Logged, accept, deliver, log, outbox, record_fate

T1 = "1" * 40
T2 = "2" * 40
T3 = "3" * 40


def _run(app: Any, url: str, *arguments: str) -> Result:
    return CliRunner().invoke(app, [*arguments, "--db", url], env={"COLUMNS": "200"})


def _shown(url: str, text: str) -> dict[str, Any]:
    result = _run(tx_app, url, "show", text)
    assert result.exit_code == 0, result.output
    shown: dict[str, Any] = json.loads(result.stdout)
    return shown


@pytest.fixture
def delivered(engine: Engine, clock: Clock) -> OutboxEntry:
    """An ORDERS IDoc (MessageId order-4711, E1EDK01-BELNR 4500017) delivered under TID; SAP made it IDoc 815,
    posted (64, 62, 53). Another request, also ORDERS, waits in the outbox."""
    store = outbox(engine, clock)
    (entry,) = accept(store, clock, T1, "order-4711", "4500017")
    deliver(store, clock, entry.id, TID)
    record_fate(engine, clock, ["0000000000000815"])
    accept(store, clock, T2, "order-4712", "4500018")
    return entry


@pytest.mark.parametrize(
    "text",
    ["ID", T1, TID, "815", "0000000000000815", "order-4711", "MessageId=order-4711", "4500017",
     "e1edk01-belnr=4500017", " 4500017 "],
)  # fmt: skip
def test_show_finds_the_entry_by_any_of_its_ids_and_keys(url: str, delivered: OutboxEntry, text: str) -> None:
    assert _shown(url, delivered.id if text == "ID" else text)["id"] == delivered.id


def test_show_tells_the_keys_and_the_fate_in_sap(url: str, delivered: OutboxEntry) -> None:
    shown = _shown(url, "order-4711")
    assert (shown["state"], shown["tid"], shown["transaction_id"]) == ("CONFIRMED", TID, T1)
    assert {(key["name"], key["value"]) for key in shown["keys"]} >= {
        ("MessageId", "order-4711"), ("MESTYP", "ORDERS"), ("E1EDK01-BELNR", "4500017"), ("SNDPRN", "LEGACYSYS")
    }  # fmt: skip
    assert shown["sap_fate"] == "final"
    (sap,) = shown["sap_idocs"]
    assert (sap["docnum"], sap["tid"], sap["status"], sap["status_text"], sap["final"]) == (
        "0000000000000815", TID, "53", "status 53", True)  # fmt: skip
    assert sap["status_at"].endswith("+00:00")
    assert [(record["counter"], record["status"], record["text"]) for record in sap["history"]] == [
        (1, "64", "status 64"), (2, "62", "status 62"), (3, "53", "status 53")]  # fmt: skip
    assert "parameters" not in shown


def test_show_says_when_the_fate_is_not_read_yet_or_not_followed(url: str, engine: Engine, clock: Clock) -> None:
    followed = outbox(engine, clock)
    (waiting,) = accept(followed, clock, T1, "m1", "1")
    (due,) = accept(followed, clock, T2, "m2", "2")
    deliver(followed, clock, due.id, TID)
    (unfollowed,) = accept(OutboxStore(engine, clock=clock), clock, T3, "m3", "3")
    deliver(OutboxStore(engine, clock=clock), clock, unfollowed.id, TID2)
    assert [_shown(url, entry.id)["sap_fate"] for entry in (waiting, due, unfollowed)] == [
        "not read yet", "not read yet", "not followed"]  # fmt: skip
    assert all(_shown(url, entry.id)["sap_idocs"] == [] for entry in (waiting, due, unfollowed))
    record_fate(engine, clock, ["0000000000000900"], statuses=("64",))
    shown = _shown(url, due.id)
    assert (shown["sap_fate"], shown["sap_idocs"][0]["status"]) == ("followed", "64")


def test_show_of_a_packet_tells_each_idocs_own_docnum(url: str, engine: Engine, clock: Clock) -> None:
    store = outbox(engine, clock, packets=True)
    entries = accept(store, clock, T1, "m1", "1", "2", "3")
    (packet_id,) = store.gather(clock()).packets
    deliver(store, clock, packet_id, TID)
    record_fate(engine, clock, ["0000000000000901", "0000000000000902", "0000000000000903"])
    packet = _shown(url, TID)
    assert (packet["id"], packet["packet_size"], packet["keys"]) == (packet_id, 3, [])
    assert [(sap["outbox_id"], sap["docnum"]) for sap in packet["sap_idocs"]] == [
        (entry.id, f"{901 + number:016d}") for number, entry in enumerate(entries)]  # fmt: skip
    second = _shown(url, "902")
    assert second["id"] == entries[1].id
    assert [sap["docnum"] for sap in second["sap_idocs"]] == ["0000000000000902"]
    assert second["sap_fate"] == "final"


def test_show_lists_what_a_text_names_and_how_to_narrow(url: str, delivered: OutboxEntry, engine: Engine,
                                                        clock: Clock) -> None:  # fmt: skip
    result = _run(tx_app, url, "show", "ORDERS")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].rstrip() == "2 outbox entries match ORDERS (MESTYP)"
    assert delivered.id in result.stdout and "order-4711" in result.stdout
    assert "show one: idocbridge tx show ID" in result.stdout
    assert "NAME=VALUE" in result.stdout
    accept(outbox(engine, clock), clock, T3, "m3", "LEGACYSYS")
    both = _run(tx_app, url, "show", "LEGACYSYS")
    assert "3 outbox entries match LEGACYSYS (SNDPRN or E1EDK01-BELNR)" in both.stdout
    assert "narrow to one: SNDPRN=LEGACYSYS or E1EDK01-BELNR=LEGACYSYS" in both.stdout.replace("\n", " ")


def test_show_of_what_only_the_log_knows_points_to_the_log(url: str, engine: Engine, clock: Clock) -> None:
    log(engine, clock, Logged(T3, TID2))
    for text in (T3, TID2):
        result = _run(tx_app, url, "show", text)
        assert result.exit_code == 1
        assert f"no outbox entry for {'transaction ID' if text == T3 else 'TID'} {text}" in result.stderr
        assert f"see idocbridge log trace {T3}" in result.stderr.replace("\n", "")


def test_show_of_nothing_known_says_so(url: str, delivered: OutboxEntry) -> None:
    result = _run(tx_app, url, "show", "no-such-entry")
    assert result.exit_code == 1
    assert "no outbox entry with ID or TID no-such-entry" in result.stderr


def test_list_by_key(url: str, delivered: OutboxEntry) -> None:
    def listed(*options: str) -> list[str]:
        result = _run(tx_app, url, "list", "--json", *options)
        assert result.exit_code == 0, result.output
        return [json.loads(line)["transaction_id"] for line in result.stdout.splitlines()]

    assert listed("--key", "4500017") == [T1]
    assert listed("--key", "MESTYP=ORDERS") == [T2, T1]
    assert listed("--key", "ORDERS", "--status", "confirmed") == [T1]
    assert listed("--key", "ORDERS", "--limit", "1") == [T2]
    assert listed("--key", "SNDPRN=4500017") == []


def test_log_by_key(url: str, delivered: OutboxEntry, engine: Engine, clock: Clock) -> None:
    log(engine, clock, Logged(T1, TID), Logged(T2), Logged(T3))

    def logged(*options: str) -> list[tuple[str, str]]:
        result = _run(log_app, url, "--format", "json", *options)
        assert result.exit_code == 0, result.output
        return [(entry["transaction_id"], entry["log_type"]) for entry in map(json.loads, result.stdout.splitlines())]

    assert logged("--key", "4500017") == [(T1, "SERVICE_ENTER"), (T1, "IO_EXIT")]
    assert logged("-k", "MessageId=order-4712") == [(T2, "SERVICE_ENTER")]
    assert logged("--key", "MESTYP=ORDERS", "--type", "IO_EXIT") == [(T1, "IO_EXIT")]
    assert logged("--key", "ORDERS", "--limit", "1") == [(T2, "SERVICE_ENTER")]
    nothing = _run(log_app, url, "--key", "SNDPRN=4500017")
    assert (nothing.exit_code, nothing.stderr) == (0, "no entries match\n")
    empty = _run(log_app, url, "--key", " ")
    assert (empty.exit_code, empty.stderr) == (2, "error: --key needs a value: VALUE or NAME=VALUE\n")
