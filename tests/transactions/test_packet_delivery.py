"""IDoc packets delivered to the simulator process: one TID per packet, every IDoc once, a refused IDoc found
by bisection while the others go through.

A real :class:`OutboxWorker` and :class:`Deliverer` deliver over a real connection pool to the simulator,
from the outbox in a real database; what SAP holds is read from the simulator.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from typing import cast

from sqlalchemy import Engine

from idocbridge.connectors.pool import ConnectionPool
from idocbridge.connectors.pool_set import PoolSet
from idocbridge.sapsim.testing import SimulatorProcess, txtraw
from idocbridge.transactions import OutboxState, OutboxStore
from idocbridge.transactions.backoff import Backoff
from idocbridge.transactions.delivery import Deliverer
from idocbridge.transactions.packets import PacketRule
from idocbridge.transactions.scheduler import OutboxWorker
from tests.transactions.conftest import OnePool, new_entry

ALIAS = "ERP"


def _wait(condition: Callable[[], bool], what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout:g} s: {what}")
        time.sleep(0.05)


def _run_worker(store: OutboxStore, sim: SimulatorProcess, until: Callable[[], bool], what: str) -> None:
    pool = ConnectionPool(ALIAS, lambda: sim.connector(timeout=30.0), size=2, timeout=10)
    pools = cast(PoolSet, OnePool(pool))
    deliverer = Deliverer(store, pools, None, "worker-1", backoff=Backoff(base=0.05, cap=0.2, jitter=0.0))
    worker = OutboxWorker(store, deliverer, workers=2, interval=0.05)
    worker.start()
    try:
        _wait(until, what)
    finally:
        worker.stop()
        pool.close()


def _accept(store: OutboxStore, texts: list[str], **control: str) -> list[str]:
    ids = []
    for text in texts:
        parameters = txtraw(text, **(control if text.startswith("bad") else {}))
        ids.append(store.accept(new_entry(alias=ALIAS, parameters=parameters, message_id=text)).entry.id)
    return ids


def _texts_in_sap(sim: SimulatorProcess) -> Counter[str]:
    return Counter(idoc["data"][0]["SDATA"] for idoc in sim.control.idocs(full=True))


def test_idocs_go_to_sap_in_packets_one_tid_each(engine: Engine, sim: SimulatorProcess) -> None:
    store = OutboxStore(engine, packets={ALIAS: PacketRule(size=8)})
    texts = [f"idoc {n}" for n in range(20)]
    ids = _accept(store, texts)
    _run_worker(store, sim, lambda: all(store.get(i).state is OutboxState.CONFIRMED for i in ids), "all CONFIRMED")  # type: ignore[union-attr]
    assert _texts_in_sap(sim) == Counter(texts), "every IDoc once"
    entries = [store.get(i) for i in ids]
    by_tid = Counter(entry.packet_tid for entry in entries if entry is not None)
    assert sorted(by_tid.values()) == [4, 8, 8], "20 waiting IDocs in packets of 8"
    sap_tids = Counter(idoc["tid"] for idoc in sim.control.idocs())
    assert sap_tids == by_tid, "SAP saw each packet under the TID its IDocs answer"
    for entry in entries:
        assert entry is not None and entry.packet_position is not None
        (idoc,) = [i for i in sim.control.idocs(tid=entry.packet_tid, full=True)
                   if i["data"][0]["SDATA"] == f"idoc {ids.index(entry.id)}"]  # fmt: skip
        assert idoc["tid"] == entry.packet_tid


def test_a_refused_idoc_is_found_by_bisection_and_the_others_arrive_once(engine: Engine, sim: SimulatorProcess) -> None:
    store = OutboxStore(engine, packets={ALIAS: PacketRule(size=8)})
    sim.control.add_fault("refuse_idoc", function="REFUSEME", key="IDOC_REFUSED", count=None)
    texts = [f"idoc {n}" for n in range(5)] + ["bad idoc"] + [f"idoc {n}" for n in range(6, 8)]
    ids = _accept(store, texts, MESTYP="REFUSEME")

    def settled() -> bool:
        return all(entry is not None and entry.is_final for entry in map(store.get, ids))

    _run_worker(store, sim, settled, "every IDoc CONFIRMED or FAILED")
    states = [store.get(i).state for i in ids]  # type: ignore[union-attr]
    assert states == [OutboxState.CONFIRMED] * 5 + [OutboxState.FAILED] + [OutboxState.CONFIRMED] * 2
    bad = store.get(ids[5])
    assert bad is not None and bad.last_error_key == "IDOC_REFUSED"
    assert _texts_in_sap(sim) == Counter(text for text in texts if not text.startswith("bad")), "each good IDoc once"
    refused = store.list(state=OutboxState.REFUSED)
    # 8 -> [1-4 ok] [5-8 refused] -> [5,6 refused] [7,8 ok] -> [5 ok] [6 refused, alone: FAILED]
    assert sorted(entry.packet_size or 0 for entry in refused) == [1, 2, 4, 8]


def test_a_refused_packet_of_a_queue_fails_with_its_tid_and_goes_through_when_retried(
    engine: Engine, sim: SimulatorProcess
) -> None:
    """SAP keeps a refused queued call as its queue's head (SYSFAIL): no split, the packet waits for an operator."""
    store = OutboxStore(engine, packets={ALIAS: PacketRule(size=8)})
    sim.control.add_fault("refuse_idoc", function="REFUSEME", key="IDOC_REFUSED", count=None)
    texts = ["idoc 0", "idoc 1", "bad idoc", "idoc 3"]
    ids = []
    for text in texts:
        call = txtraw(text, **({"MESTYP": "REFUSEME"} if text.startswith("bad") else {}))
        parameters = {"IDOC_CONTROL_REC_40": call["IDOC_CONTROL_REC_40"], "IDOC_DATA_QUEUE": call["IDOC_DATA_REC_40"]}
        new = new_entry(alias=ALIAS, function="IDOC_INBOUND_IN_QUEUE", queue="Q1", parameters=parameters,
                        message_id=text)  # fmt: skip
        ids.append(store.accept(new).entry.id)

    def packet_failed() -> bool:
        return bool(store.list(state=OutboxState.FAILED))

    _run_worker(store, sim, packet_failed, "the packet FAILED")
    (packet,) = store.list(state=OutboxState.FAILED)
    assert packet.packet_size == 4 and packet.tid is not None and packet.last_error_key == "IDOC_REFUSED"
    assert [store.get(i).state for i in ids] == [OutboxState.PACKED] * 4  # type: ignore[union-attr]
    assert store.list(state=OutboxState.REFUSED) == [], "not split"
    assert sim.control.idocs() == []
    sim.control.clear_faults()
    store.retry_now(packet.id)
    _run_worker(store, sim, lambda: all(store.get(i).state is OutboxState.CONFIRMED for i in ids), "CONFIRMED")  # type: ignore[union-attr]
    assert _texts_in_sap(sim) == Counter(texts)
    assert {idoc["tid"] for idoc in sim.control.idocs()} == {packet.tid}, "under the packet's TID"
