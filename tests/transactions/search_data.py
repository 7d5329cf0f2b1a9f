"""Requests written the way the service writes them, for the tests of finding them again (tests/transactions/
test_search.py, test_search_cli.py): accepted into the outbox with their business keys, delivered, their IDocs'
fate in SAP recorded by the FateStore, their story in the transaction log."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import Engine

from idocbridge.tlog import LogEntry, TransactionLog
from idocbridge.transactions import OutboxEntry, OutboxStore
from idocbridge.transactions.fate import FateStore
from idocbridge.transactions.fate_tables import SapIDoc, SapStatus
from idocbridge.transactions.packets import PacketRule
from tests.transactions.conftest import LEASE, Clock, new_entry

OWNER = "worker-1"


def idoc(text: str, docnum: str = "0000000000000042") -> dict[str, Any]:
    """The parameters of IDOC_INBOUND_ASYNCHRONOUS with one IDoc."""
    control = {"DOCNUM": docnum, "MESTYP": "ORDERS", "IDOCTYP": "ORDERS05"}
    return {"IDOC_CONTROL_REC_40": [control], "IDOC_DATA_REC_40": [{"SEGNAM": "E1EDK01", "SDATA": text}]}


def order_keys(belnr: str, sender_docnum: str = "0000000000000042") -> tuple[tuple[str, str], ...]:
    """The keys the service records for an ORDERS IDoc whose model names E1EDK01-BELNR."""
    return (("IDOCTYP", "ORDERS05"), ("MESTYP", "ORDERS"), ("SNDPRN", "LEGACYSYS"), ("RCVPRN", "SIM100"),
            ("SNDDOCNUM", sender_docnum), ("E1EDK01-BELNR", belnr))  # fmt: skip


def outbox(engine: Engine, clock: Clock, *, packets: bool = False) -> OutboxStore:
    """An outbox that follows the IDocs of alias ERP in SAP (and gathers them into packets of up to 3)."""
    return OutboxStore(engine, clock=clock, follow_fate=["ERP"], packets={"ERP": PacketRule(3)} if packets else None)


def accept(store: OutboxStore, clock: Clock, transaction_id: str, message_id: str | None, *belnrs: str,
           service: str = "IDocService") -> list[OutboxEntry]:  # fmt: skip
    """One request of as many IDocs as ``belnrs``, each with its keys (a millisecond after the last one)."""
    entries = [
        new_entry(service=service, parameters=idoc(belnr), transaction_id=transaction_id, message_id=message_id,
                  keys=order_keys(belnr))
        for belnr in belnrs
    ]  # fmt: skip
    accepted = [one.entry for one in store.accept_all(entries)]
    clock.advance(0.001)
    return accepted


def deliver(store: OutboxStore, clock: Clock, entry_id: str, tid: str) -> OutboxEntry:
    """Claim, submit and confirm ``entry_id`` (an IDoc alone, or a packet) under ``tid``."""
    assert store.claim_one(entry_id, OWNER, clock(), LEASE) is not None
    store.assign_tid(entry_id, OWNER, tid)
    store.mark_executed(entry_id, OWNER)
    return store.mark_confirmed(entry_id, OWNER, {"tid": tid})


def record_fate(engine: Engine, clock: Clock, docnums: Sequence[str], statuses: Sequence[str] = ("64", "62", "53"),
                ) -> list[SapIDoc]:  # fmt: skip
    """What the FateFollower records for the confirmed units due now: SAP created ``docnums`` for the (one)
    due unit, and each went through ``statuses`` (the last one read as its status)."""
    fate = FateStore(engine, clock=clock)
    clock.advance(5)
    (unit,) = fate.due_units(clock(), ["ERP"])
    fate.record_idocs(unit, list(docnums), None)
    recorded = []
    for number, (sap_idoc, _) in enumerate(fate.due_idocs(clock(), ["ERP"])):
        at = clock() + timedelta(seconds=number)
        history = [SapStatus(counter, status, f"status {status}", at, "ALEREMOTE")
                   for counter, status in enumerate(statuses, 1)]  # fmt: skip
        recorded.append(fate.record_status(sap_idoc, statuses[-1], history))
    return recorded


@dataclass(frozen=True, slots=True)
class Logged:
    """A request the transaction log knows of: its transaction ID and TID."""

    transaction_id: str
    tid: str | None = None


def log(engine: Engine, clock: Clock, *requests: Logged) -> None:
    """Each request's SOAP call in the transaction log, with its SAP call under its TID if it has one."""
    with TransactionLog(engine) as tlog:
        for request in requests:
            common = {"transaction_id": request.transaction_id, "request_id": 1, "elapsed_ms": 0, "state": "OK",
                      "service": "IDocService", "operation": "SendOrder"}  # fmt: skip
            tlog.record(LogEntry(at=clock(), component="urn:IDocService.SendOrder", domain="INTERFACE",
                                 log_type="SERVICE_ENTER", **common))  # fmt: skip
            if request.tid is not None:
                tlog.record(LogEntry(at=clock(), component="ERP.IDOC_INBOUND_ASYNCHRONOUS", domain="SAPRFC",
                                     log_type="IO_EXIT", param1="outbox:submit", correlation_id=request.tid,
                                     **common))  # fmt: skip
            clock.advance(0.001)
