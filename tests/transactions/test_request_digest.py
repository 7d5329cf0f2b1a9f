"""A MessageId stands for one request: sent again with a different request, the outbox refuses it."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import Connection, Engine, update

from idocbridge.transactions import OutboxEntry, OutboxStore, outbox_table
from idocbridge.transactions.store import MessageIdReused, request_digest
from tests.transactions.conftest import new_entry

FIRST = "0000000182469dcd0001612899fea700e3d869aa"
SECOND = "0000000182469dcd0002612899fea700e3d869bb"
ORDER = {"IDOC_CONTROL_REC_40": [{"DOCNUM": "1", "MESTYP": "ORDERS"}], "IDOC_DATA_REC_40": [{"SDATA": "10 PCS"}]}
ALTERED = {"IDOC_CONTROL_REC_40": [{"DOCNUM": "1", "MESTYP": "ORDERS"}], "IDOC_DATA_REC_40": [{"SDATA": "99 PCS"}]}


def test_the_same_message_id_with_the_same_request_returns_the_first_entry(store: OutboxStore) -> None:
    first, created = store.accept(new_entry(message_id="order-1", parameters=ORDER, transaction_id=FIRST))
    reordered = {
        "IDOC_DATA_REC_40": [{"SDATA": "10 PCS"}],
        "IDOC_CONTROL_REC_40": [{"MESTYP": "ORDERS", "DOCNUM": "1"}],
    }
    again, created_again = store.accept(new_entry(message_id="order-1", parameters=reordered, transaction_id=SECOND))
    assert created and not created_again
    assert again == first  # keys in another order are the same request
    assert first.request_digest == request_digest("SendOrder", ORDER)
    assert len(first.request_digest) == 64


def test_the_same_message_id_with_another_request_is_refused_naming_the_first(store: OutboxStore) -> None:
    first = store.accept(new_entry(message_id="order-1", parameters=ORDER, transaction_id=FIRST)).entry
    with pytest.raises(MessageIdReused, match=f"transaction {FIRST}") as refused:
        store.accept(new_entry(message_id="order-1", parameters=ALTERED, transaction_id=SECOND))
    assert refused.value.entry == first
    assert sum(store.counts().values()) == 1
    assert store.accept(new_entry(message_id="order-2", parameters=ALTERED)).created  # a new ID is a new request


def test_the_digest_covers_the_operation_and_the_parameters() -> None:
    assert request_digest("SendOrder", ORDER) == request_digest("SendOrder", dict(reversed(ORDER.items())))
    assert request_digest("SendOrder", ORDER) != request_digest("SendOrder", ALTERED)
    assert request_digest("SendOrder", ORDER) != request_digest("SendInvoice", ORDER)


def test_an_entry_accepted_before_digests_were_kept_answers_any_repeat(engine: Engine, store: OutboxStore) -> None:
    first = store.accept(new_entry(message_id="order-1", parameters=ORDER)).entry
    with engine.begin() as connection:  # as migration 0003 leaves the entries of older releases
        connection.execute(update(outbox_table).values(request_digest=None))
    again, created = store.accept(new_entry(message_id="order-1", parameters=ALTERED))
    assert (again.id, created) == (first.id, False)


def test_threads_racing_with_one_message_id_and_different_requests_make_one_entry(store: OutboxStore) -> None:
    barrier = threading.Barrier(8)

    def accept(index: int) -> str:
        barrier.wait()
        try:
            return "created" if store.accept(new_entry(message_id="m", parameters={"n": index})).created else "again"
        except MessageIdReused:
            return "refused"

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(accept, range(8)))
    assert sorted(results) == ["created"] + ["refused"] * 7


def test_a_twin_found_by_the_unique_index_is_compared_too(store: OutboxStore, monkeypatch: pytest.MonkeyPatch) -> None:
    store.accept(new_entry(message_id="m", parameters=ORDER, transaction_id=FIRST))
    real = OutboxStore._by_message_ids
    calls: list[int] = []

    def blind_once(connection: Connection, service: str, operation: str,
                   message_ids: Sequence[str | None]) -> dict[str, OutboxEntry]:  # fmt: skip
        calls.append(1)  # the first look finds nothing, as if the twin came later
        return {} if len(calls) == 1 else real(connection, service, operation, message_ids)

    monkeypatch.setattr(OutboxStore, "_by_message_ids", staticmethod(blind_once))
    with pytest.raises(MessageIdReused, match=f"transaction {FIRST}"):
        store.accept(new_entry(message_id="m", parameters=ALTERED))
    assert len(calls) == 2
