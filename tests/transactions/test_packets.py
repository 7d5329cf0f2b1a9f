"""IDoc packets in the outbox store: gathering, following the packet, refusal and bisection, queues.

Each test runs on a real database (SQLite, and PostgreSQL when configured); the delivery of packets to
the simulator is in test_packet_delivery.py.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Engine

from idocbridge.models.alias import IDocPacketSettings
from idocbridge.transactions import InvalidTransition, LeaseLost, OutboxEntry, OutboxState, OutboxStore
from idocbridge.transactions.outbox import Outbox
from idocbridge.transactions.packets import (
    MAX_PACKET_SIZE,
    PacketMember,
    PacketRule,
    is_packable,
    packet_parameters,
)
from tests.transactions.conftest import LEASE, T0, Clock, new_entry

S = OutboxState
OWNER = "worker-1"


def _idoc(text: str, **control: str) -> dict[str, Any]:
    record = {"DOCNUM": "0000000000000042", "MESTYP": "TXTRAW", **control}
    return {"IDOC_CONTROL_REC_40": [record], "IDOC_DATA_REC_40": [{"SEGNAM": "E1TXTRW", "SDATA": text}]}


def _store(engine: Engine, clock: Clock, size: int = 3, wait: float = 0.0) -> OutboxStore:
    return OutboxStore(engine, clock=clock, packets={"ERP": PacketRule(size, wait)})


def _accept(store: OutboxStore, clock: Clock, count: int, queue: str | None = None, start: int = 0) -> list[str]:
    """Accept ``count`` IDocs, a millisecond apart (oldest first is the packets' order)."""
    ids = []
    for n in range(start, start + count):
        ids.append(store.accept(new_entry(parameters=_idoc(f"line {n}"), queue=queue, message_id=f"m{n}")).entry.id)
        clock.advance(0.001)
    return ids


def _get(store: OutboxStore, entry_id: str) -> OutboxEntry:
    entry = store.get(entry_id)
    assert entry is not None
    return entry


def _logged(member: PacketMember, state: str, tid: str | None, text: str, ok: bool) -> list[dict[str, Any]]:
    return []


def _confirm(store: OutboxStore, packet_id: str, tid: str) -> None:
    store.assign_tid(packet_id, OWNER, tid)
    store.mark_executed(packet_id, OWNER)
    store.mark_confirmed(packet_id, OWNER, {"tid": tid})


def _tid(number: int) -> str:
    return f"PACKET{number:018d}"


def _sent(store: OutboxStore, clock: Clock, count: int) -> tuple[list[str], str]:
    """``count`` IDocs gathered into one packet, claimed, with TID 1: (the IDocs, the packet)."""
    ids = _accept(store, clock, count)
    (packet_id,) = store.gather(clock()).packets
    store.claim(OWNER, clock(), 10, LEASE)
    store.assign_tid(packet_id, OWNER, _tid(1))
    return ids, packet_id


def test_a_packet_carries_its_idocs_in_order_each_numbered_by_its_position() -> None:
    first, second = _idoc("a"), _idoc("b")
    second["IDOC_DATA_REC_40"].append({"SEGNAM": "E1TXTRW", "SDATA": "b2"})
    packet = packet_parameters("IDOC_INBOUND_ASYNCHRONOUS", [first, second])
    assert [c["DOCNUM"] for c in packet["IDOC_CONTROL_REC_40"]] == ["0000000000000001", "0000000000000002"]
    assert [(d["DOCNUM"], d["SDATA"]) for d in packet["IDOC_DATA_REC_40"]] == [
        ("0000000000000001", "a"),
        ("0000000000000002", "b"),
        ("0000000000000002", "b2"),
    ]
    assert first["IDOC_CONTROL_REC_40"][0]["DOCNUM"] == "0000000000000042", "the IDocs' own parameters stay"


def test_only_calls_of_one_idoc_to_an_idoc_function_can_join_a_packet() -> None:
    assert is_packable("IDOC_INBOUND_ASYNCHRONOUS", _idoc("a"))
    two = _idoc("a")
    two["IDOC_CONTROL_REC_40"].append(dict(two["IDOC_CONTROL_REC_40"][0]))
    assert not is_packable("IDOC_INBOUND_ASYNCHRONOUS", two), "a call of two IDocs is a packet already"
    assert not is_packable("STFC_CONNECTION", {"REQUTEXT": "x"})
    assert not is_packable("IDOC_INBOUND_ASYNCHRONOUS", {**_idoc("a"), "EXTRA": "x"})
    assert is_packable("IDOC_INBOUND_IN_QUEUE", {"QNAME": "Q1", "IDOC_CONTROL_REC_40": [{}], "IDOC_DATA_QUEUE": []})


def test_waiting_idocs_are_gathered_into_full_packets_and_a_lone_one_goes_alone(engine: Engine, clock: Clock) -> None:
    store = _store(engine, clock, size=3)
    ids = _accept(store, clock, 7)
    gathered = store.gather(clock())
    # 7 waiting, packets of 3: two full ones, and the last one is alone: it is no packet
    assert gathered.members == ids[:6]
    packets = [_get(store, packet_id) for packet_id in gathered.packets]
    assert [(p.state, p.packet_size, p.function, p.alias) for p in packets] == [
        (S.ACCEPTED, 3, "IDOC_INBOUND_ASYNCHRONOUS", "ERP")
    ] * 2
    for packet, members in zip(packets, (ids[:3], ids[3:6]), strict=True):
        assert [c["DOCNUM"] for c in packet.parameters["IDOC_CONTROL_REC_40"]] == [f"{n:016d}" for n in (1, 2, 3)]
        for position, member_id in enumerate(members, 1):
            member = _get(store, member_id)
            assert (member.state, member.packet_id, member.packet_position) == (S.PACKED, packet.id, position)
    assert _get(store, ids[6]).state is S.ACCEPTED
    claimed = store.claim(OWNER, clock(), 10, LEASE)
    assert {entry.id for entry in claimed} == {*gathered.packets, ids[6]}, "PACKED IDocs are never claimed alone"
    assert store.gather(clock()).packets == []


def test_a_wait_holds_new_idocs_back_for_a_fuller_packet(engine: Engine, clock: Clock) -> None:
    store = _store(engine, clock, size=10, wait=5.0)
    ids = _accept(store, clock, 3)
    assert store.gather(clock()).packets == [], "not full, and the oldest may still wait"
    assert store.claim(OWNER, clock(), 10, LEASE) == [], "an IDoc waiting for its packet is not delivered alone"
    clock.advance(5)
    gathered = store.gather(clock())
    assert len(gathered.packets) == 1 and gathered.members == ids


def test_an_idoc_for_an_alias_without_a_rule_is_never_packed(engine: Engine, clock: Clock) -> None:
    store = OutboxStore(engine, clock=clock, packets={"OTHER": PacketRule(10)})
    ids = _accept(store, clock, 3)
    assert store.gather(clock()).packets == []
    assert {entry.id for entry in store.claim(OWNER, clock(), 10, LEASE)} == set(ids)


def test_the_idocs_follow_their_packet_and_answer_its_tid_and_their_position(engine: Engine, clock: Clock) -> None:
    store = _store(engine, clock, size=2)
    ids = _accept(store, clock, 2)
    (packet_id,) = store.gather(clock()).packets
    (claimed,) = store.claim(OWNER, clock(), 10, LEASE)
    assert claimed.id == packet_id
    store.assign_tid(packet_id, OWNER, _tid(1))
    member = _get(store, ids[1])
    assert (member.state, member.packet_tid, member.tid) == (S.PACKED, _tid(1), None)
    assert Outbox.receipt(member) == {
        "transactionId": member.transaction_id,
        "tid": _tid(1),
        "state": "PACKED",
        "packetPosition": 2,
    }
    store.mark_executed(packet_id, OWNER)
    assert _get(store, ids[0]).state is S.PACKED
    store.mark_confirmed(packet_id, OWNER, {"tid": _tid(1)})
    for position, member_id in enumerate(ids, 1):
        receipt = Outbox.receipt(_get(store, member_id))
        assert (receipt["tid"], receipt["state"], receipt["packetPosition"]) == (_tid(1), "CONFIRMED", position)


def test_a_refused_packet_goes_on_in_halves_until_the_refused_idoc_fails_alone(engine: Engine, clock: Clock) -> None:
    store = _store(engine, clock, size=5)
    ids, packet_id = _sent(store, clock, 5)
    refused, halves = store.refuse_packet(packet_id, OWNER, "IDoc 4 is bad", "IDOC_REFUSED", member_log=_logged)
    assert (refused.state, refused.last_error_key) == (S.REFUSED, "IDOC_REFUSED")
    assert [_get(store, p).packet_size for p in halves.packets] == [3, 2]
    assert halves.members == ids
    first, second = (_get(store, p) for p in halves.packets)
    assert (first.tid, first.state, second.state) == (None, S.ACCEPTED, S.ACCEPTED), "new packets, new TIDs"
    assert [(m.packet_id, m.packet_position, m.packet_tid) for m in (_get(store, i) for i in ids)] == [
        (first.id, 1, None),
        (first.id, 2, None),
        (first.id, 3, None),
        (second.id, 1, None),
        (second.id, 2, None),
    ]
    assert [c["DOCNUM"] for c in second.parameters["IDOC_CONTROL_REC_40"]] == [f"{n:016d}" for n in (1, 2)]
    claimed = {entry.id for entry in store.claim(OWNER, clock(), 10, LEASE)}
    assert claimed == {first.id, second.id}
    _confirm(store, first.id, _tid(2))
    _, quarters = store.refuse_packet(second.id, OWNER, "IDoc 4 is bad", "IDOC_REFUSED")
    assert [_get(store, p).packet_size for p in quarters.packets] == [1, 1], "a packet of one tells which IDoc"
    store.claim(OWNER, clock(), 10, LEASE)
    _confirm(store, quarters.packets[1], _tid(3))
    _, last = store.refuse_packet(quarters.packets[0], OWNER, "IDoc 4 is bad", "IDOC_REFUSED")
    assert last.packets == [] and last.members == [ids[3]]
    bad = _get(store, ids[3])
    assert (bad.state, bad.last_error_key) == (S.FAILED, "IDOC_REFUSED")
    assert bad.last_error is not None and "IDoc 4 is bad" in bad.last_error
    assert [_get(store, i).state for i in ids] == [S.CONFIRMED] * 3 + [S.FAILED, S.CONFIRMED]


def test_a_refused_packet_holds_no_unconfirmed_tid_but_a_failed_one_does(engine: Engine, clock: Clock) -> None:
    store = _store(engine, clock, size=2)
    _, packet_id = _sent(store, clock, 2)
    assert set(store.oldest_unconfirmed()) == {"ERP"}  # TID 1 sent, not confirmed
    _, halves = store.refuse_packet(packet_id, OWNER, "bad", "IDOC_REFUSED")
    assert store.oldest_unconfirmed() == {}  # SAP rolled the call back: no TID of it waits there
    store.claim(OWNER, clock(), 10, LEASE)
    store.assign_tid(halves.packets[0], OWNER, _tid(2))
    store.mark_failed(halves.packets[0], OWNER, "SAP's runtime failed", "SYSTEM_FAILURE")
    assert store.oldest_unconfirmed() == {"ERP": _get(store, halves.packets[0]).created_at}


def test_a_packet_of_a_queue_is_gathered_from_its_head_and_keeps_its_place(engine: Engine, clock: Clock) -> None:
    store = _store(engine, clock, size=3)
    ids = _accept(store, clock, 4, queue="Q1")
    gathered = store.gather(clock())
    assert gathered.members == ids[:3] and len(gathered.packets) == 1
    later = _accept(store, clock, 1, queue="Q1", start=10)
    claimed = store.claim(OWNER, clock(), 10, LEASE)
    assert [entry.id for entry in claimed] == gathered.packets, "the IDocs after the packet wait for it"
    packet = claimed[0]
    assert packet.queue == "Q1"
    store.assign_tid(packet.id, OWNER, _tid(1))
    with pytest.raises(InvalidTransition, match="SAP keeps a refused call"):
        store.refuse_packet(packet.id, OWNER, "bad", "IDOC_REFUSED")
    store.mark_failed(packet.id, OWNER, "bad", "IDOC_REFUSED")
    assert store.claim(OWNER, clock(), 10, LEASE) == [], "its IDocs, still PACKED, stop the queue"
    store.retry_now(packet.id)
    (again,) = store.claim(OWNER, clock(), 10, LEASE)
    assert (again.id, again.tid) == (packet.id, _tid(1)), "retried under its TID, as SAP's queue expects"
    store.mark_executed(packet.id, OWNER)
    store.mark_confirmed(packet.id, OWNER, {"tid": _tid(1)})
    assert {entry.id for entry in store.claim(OWNER, clock(), 10, LEASE)} == {ids[3]}
    assert later[0] not in {entry.id for entry in store.claim(OWNER, clock(), 10, LEASE)}


def test_the_idocs_of_a_packet_log_each_step_under_their_own_request(engine: Engine, clock: Clock) -> None:
    store = _store(engine, clock, size=2)
    logged: list[tuple[str, str, str | None, str]] = []

    def member_log(member: PacketMember, state: str, tid: str | None, text: str, ok: bool) -> list[dict[str, Any]]:
        logged.append((member.id, state, tid, text))
        return []

    ids = _accept(store, clock, 2)
    (packet_id,) = store.gather(clock(), member_log).packets
    store.claim(OWNER, clock(), 10, LEASE)
    store.assign_tid(packet_id, OWNER, _tid(1), member_log=member_log)
    store.mark_executed(packet_id, OWNER)
    store.mark_confirmed(packet_id, OWNER, {"tid": _tid(1)}, member_log=member_log)
    assert [(entry, state, tid) for entry, state, tid, _ in logged] == [
        (ids[0], "PACKED", None),
        (ids[1], "PACKED", None),
        (ids[0], "CONFIRMED", _tid(1)),
        (ids[1], "CONFIRMED", _tid(1)),
    ]
    assert logged[3][3] == f"packet {packet_id} position 2 of 2"


def test_cancelling_a_failed_packet_cancels_its_idocs_which_keep_its_tid(engine: Engine, clock: Clock) -> None:
    store = _store(engine, clock, size=2)
    ids, packet_id = _sent(store, clock, 2)
    store.mark_failed(packet_id, OWNER, "dump", "SYSTEM_FAILURE")
    store.cancel(packet_id)
    for entry in (_get(store, i) for i in ids):
        assert (entry.state, entry.delivery_tid) == (S.CANCELLED, _tid(1)), "SAP may hold it: the TID tells"


def test_a_queue_whose_head_is_in_flight_is_not_gathered(engine: Engine, clock: Clock) -> None:
    store = _store(engine, clock, size=3)
    ids = _accept(store, clock, 3, queue="Q1")
    store.claim_one(ids[0], OWNER, clock(), LEASE)
    store.mark_retry(ids[0], OWNER, "down", "COMMUNICATION_FAILURE", T0)
    assert store.gather(clock()).packets == [], "the head waits for a retry: a packet behind it would overtake it"


def test_an_operator_acts_on_the_packet_not_on_its_idocs(engine: Engine, clock: Clock) -> None:
    store = _store(engine, clock, size=2)
    ids = _accept(store, clock, 2)
    (packet_id,) = store.gather(clock()).packets
    with pytest.raises(InvalidTransition, match=f"travels in IDoc packet {packet_id}"):
        store.cancel(ids[0])
    store.cancel(packet_id)
    assert [_get(store, i).state for i in ids] == [S.CANCELLED, S.CANCELLED]


def _queued_idoc(text: str, qname: str | None) -> dict[str, Any]:
    call: dict[str, Any] = {
        "IDOC_CONTROL_REC_40": [{"MESTYP": "TXTRAW"}],
        "IDOC_DATA_QUEUE": [{"SEGNAM": "E1TXTRW", "SDATA": text}],
    }
    if qname is not None:
        call["QNAME"] = qname
    return call


def test_in_a_queue_a_packet_ends_before_an_idoc_whose_qname_differs(engine: Engine, clock: Clock) -> None:
    store = _store(engine, clock, size=10)
    ids = []
    for number, qname in enumerate(["Q1", None, "Q1", "Q1"]):
        new = new_entry(function="IDOC_INBOUND_IN_QUEUE", parameters=_queued_idoc(f"q{number}", qname), queue="Q1",
                        message_id=f"q{number}")  # fmt: skip
        ids.append(store.accept(new).entry.id)
        clock.advance(0.001)
    assert store.gather(clock()).packets == [], "the first IDoc would be a packet of one: it goes alone"
    assert [entry.id for entry in store.claim(OWNER, clock(), 10, LEASE)] == [ids[0]], "the queue goes on in order"


def test_a_stopped_queue_does_not_keep_other_idocs_from_their_packets(engine: Engine, clock: Clock) -> None:
    store = _store(engine, clock, size=3)
    stopped = _accept(store, clock, 4, queue="A")
    store.claim_one(stopped[0], OWNER, clock(), LEASE)
    store.mark_failed(stopped[0], OWNER, "refused", "IDOC_ERROR")
    others = _accept(store, clock, 3, queue="B", start=10)
    gathered = store.gather(clock())
    assert gathered.members == others, "queue B is packed; queue A waits behind its FAILED head"


def test_an_idoc_a_worker_holds_is_not_packed_until_its_lease_ran_out(engine: Engine, clock: Clock) -> None:
    store = _store(engine, clock, size=3)
    ids = _accept(store, clock, 3)
    assert store.claim_one(ids[0], OWNER, clock(), LEASE) is not None
    gathered = store.gather(clock())
    assert gathered.members == ids[1:], "the IDoc under a live lease stays with its worker"
    ids += _accept(store, clock, 1, start=10)
    clock.advance(LEASE.total_seconds() + 1)
    assert store.gather(clock()).members == [ids[0], ids[3]], "an expired lease frees it for a packet"
    with pytest.raises(LeaseLost):
        store.assign_tid(ids[0], OWNER, _tid(9))  # the old worker learns it lost the IDoc


def test_a_packet_failing_for_another_reason_keeps_its_idocs_and_its_tid(engine: Engine, clock: Clock) -> None:
    store = _store(engine, clock, size=2)
    ids, packet_id = _sent(store, clock, 2)
    store.mark_failed(packet_id, OWNER, "the logon ticket expired", "CONFIGURATION")
    assert [_get(store, i).state for i in ids] == [S.PACKED, S.PACKED], "they wait for the operator with it"
    retried = store.retry_now(packet_id)
    assert (retried.state, retried.tid) == (S.RETRY_WAIT, _tid(1)), "the same TID: SAP runs it at most once"
    (claimed,) = store.claim(OWNER, clock(), 10, LEASE)
    assert claimed.id == packet_id


def test_an_idoc_that_failed_alone_is_retried_alone_and_its_refused_packet_kept(engine: Engine, clock: Clock) -> None:
    store = _store(engine, clock, size=2)
    ids, packet_id = _sent(store, clock, 2)
    _, halves = store.refuse_packet(packet_id, OWNER, "bad", "IDOC_REFUSED")
    store.claim(OWNER, clock(), 10, LEASE)
    _confirm(store, halves.packets[1], _tid(2))
    store.refuse_packet(halves.packets[0], OWNER, "bad", "IDOC_REFUSED")
    assert _get(store, ids[0]).state is S.FAILED
    clock.advance(3600)
    store.purge(clock())
    assert store.get(halves.packets[0]) is not None, "the FAILED IDoc still names the packet SAP refused"
    assert store.get(packet_id) is None and store.get(halves.packets[1]) is None
    retried = store.retry_now(ids[0])
    assert (retried.state, retried.packet_id, retried.packet_tid) == (S.RETRY_WAIT, None, None)
    assert "packetPosition" not in Outbox.receipt(retried), "it goes alone now"


def test_packets_are_claimed_in_their_idocs_turn_before_younger_idocs(engine: Engine, clock: Clock) -> None:
    store = _store(engine, clock, size=2)
    _accept(store, clock, 25)
    gathered = store.gather(clock())
    assert len(gathered.packets) == 10, "ten packets per group and gathering; the rest waits for the next"
    claimed = store.claim(OWNER, clock(), 3, LEASE)
    assert [entry.id for entry in claimed] == gathered.packets[:3], "the oldest IDocs are in the packets"


def test_a_packet_rule_takes_the_sizes_the_model_takes() -> None:
    field = IDocPacketSettings.model_fields["size"]
    bounds = {type(rule).__name__: getattr(rule, "ge", getattr(rule, "le", None)) for rule in field.metadata}
    assert (bounds["Ge"], bounds["Le"]) == (2, MAX_PACKET_SIZE)
    assert PacketRule(2).size == 2 and PacketRule(MAX_PACKET_SIZE).size == MAX_PACKET_SIZE
    for size in (0, 1, MAX_PACKET_SIZE + 1):
        with pytest.raises(ValueError, match=f"a packet holds 2 to {MAX_PACKET_SIZE} IDocs, not {size}"):
            PacketRule(size)
