"""find_requests: a transaction ID, an outbox ID, a TID, SAP's DOCNUM or a business key finds the requests and
their outbox entries, the first kind that matches winning; each lookup reads an index (SQLite, and PostgreSQL
when configured). The rows are written by the outbox, the FateStore and the transaction log themselves."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, event

from idocbridge.tlog.queries import LogFilter, query_rows
from idocbridge.transactions import NewEntry, OutboxState
from idocbridge.transactions.fate import FateStore
from idocbridge.transactions.search import (
    Match,
    entries_with_key,
    find_requests,
    split_key,
    transactions_with_key,
)
from tests.transactions.conftest import TID, TID2, Clock, new_entry
from tests.transactions.search_data import Logged, accept, deliver, log, order_keys, outbox, record_fate

T1 = "1" * 40
T2 = "2" * 40
T3 = "3" * 40


def test_a_transaction_id_finds_the_entries_of_its_request_in_order(engine: Engine, clock: Clock) -> None:
    store = outbox(engine, clock)
    accept(store, clock, T1, "m-other", "4700")
    entries = accept(store, clock, T2, "m-many", "4711", "4712", "4713")
    assert find_requests(engine, T2) == Match(tuple(entry.id for entry in entries), (T2,), "transaction ID")


def test_a_transaction_id_only_the_log_knows_is_found_there(engine: Engine, clock: Clock) -> None:
    log(engine, clock, Logged(T3))
    assert find_requests(engine, T3) == Match((), (T3,), "transaction ID")


def test_an_outbox_id_finds_its_entry_even_a_packet(engine: Engine, clock: Clock) -> None:
    store = outbox(engine, clock, packets=True)
    idocs = [entry.id for entry in accept(store, clock, T1, None, "1", "2")]
    (packet_id,) = store.gather(clock()).packets
    assert find_requests(engine, idocs[1]) == Match((idocs[1],), (T1,), "outbox ID")
    packet = store.get(packet_id)
    assert packet is not None
    assert find_requests(engine, packet_id) == Match((packet_id,), (packet.transaction_id,), "outbox ID")


def test_a_tid_finds_its_entry(engine: Engine, clock: Clock) -> None:
    store = outbox(engine, clock)
    (entry,) = accept(store, clock, T1, "m1", "4711")
    deliver(store, clock, entry.id, TID)
    assert find_requests(engine, TID) == Match((entry.id,), (T1,), "TID")


def test_a_packets_tid_finds_its_idoc_entries_not_the_packet(engine: Engine, clock: Clock) -> None:
    store = outbox(engine, clock, packets=True)
    first = accept(store, clock, T1, "m1", "4711")
    second = accept(store, clock, T2, "m2", "4712", "4713")
    (packet_id,) = store.gather(clock()).packets
    deliver(store, clock, packet_id, TID)
    members = tuple(entry.id for entry in first + second)
    assert find_requests(engine, TID) == Match(members, (T1, T2), "TID")


def test_a_tid_only_the_log_knows_is_found_there(engine: Engine, clock: Clock) -> None:
    log(engine, clock, Logged(T1, TID), Logged(T2, TID), Logged(T3, TID2))
    assert find_requests(engine, TID) == Match((), (T1, T2), "TID")


def test_a_sap_docnum_finds_its_idoc_entry_with_or_without_leading_zeros(engine: Engine, clock: Clock) -> None:
    store = outbox(engine, clock)
    (entry,) = accept(store, clock, T1, "m1", "4711")
    deliver(store, clock, entry.id, TID)
    record_fate(engine, clock, ["0000000000000815"])
    expected = Match((entry.id,), (T1,), "SAP DOCNUM")
    assert find_requests(engine, "815") == expected
    assert find_requests(engine, "0000000000000815") == expected
    assert find_requests(engine, "816") == Match((), (), "")


def test_a_docnum_of_a_packet_finds_the_idoc_entry_it_belongs_to(engine: Engine, clock: Clock) -> None:
    store = outbox(engine, clock, packets=True)
    entries = accept(store, clock, T1, "m1", "1", "2", "3")
    (packet_id,) = store.gather(clock()).packets
    deliver(store, clock, packet_id, TID)
    record_fate(engine, clock, ["0000000000000901", "0000000000000902", "0000000000000903"])
    assert find_requests(engine, "902") == Match((entries[1].id,), (T1,), "SAP DOCNUM")


def test_a_docnum_sap_gave_a_packet_as_a_whole_finds_its_idoc_entries(engine: Engine, clock: Clock) -> None:
    """SAP created fewer IDocs than the packet carried: they are recorded for the packet, not by position."""
    store = outbox(engine, clock, packets=True)
    entries = accept(store, clock, T1, "m1", "1", "2", "3")
    (packet_id,) = store.gather(clock()).packets
    deliver(store, clock, packet_id, TID)
    record_fate(engine, clock, ["0000000000000901"])
    assert find_requests(engine, "901") == Match(tuple(entry.id for entry in entries), (T1,), "SAP DOCNUM")


def test_a_business_key_value_of_any_name(engine: Engine, clock: Clock) -> None:
    store = outbox(engine, clock)
    (first,) = accept(store, clock, T1, "m1", "4500017")
    (second,) = accept(store, clock, T2, "m2", "4500018")
    assert find_requests(engine, "4500018") == Match((second.id,), (T2,), "E1EDK01-BELNR")
    both = Match((first.id, second.id), (T1, T2), "MESTYP")
    assert find_requests(engine, "ORDERS") == both
    assert find_requests(engine, "mestyp=ORDERS") == both, "the key's name in any case"
    assert find_requests(engine, "orders") == Match((), (), ""), "a value as recorded"


def test_the_message_id_finds_every_entry_of_its_request(engine: Engine, clock: Clock) -> None:
    store = outbox(engine, clock)
    entries = accept(store, clock, T1, "order-4711", "1", "2")
    expected = Match(tuple(entry.id for entry in entries), (T1,), "MessageId")
    assert find_requests(engine, "order-4711") == expected
    assert find_requests(engine, "messageid=order-4711") == expected


def test_name_equals_value_keeps_to_that_name(engine: Engine, clock: Clock) -> None:
    """A partner number that is also another IDoc's order number: NAME=VALUE tells them apart."""
    store = outbox(engine, clock)
    (by_partner,) = accept(store, clock, T1, "m1", "1")
    (by_order,) = accept(store, clock, T2, "m2", "LEGACYSYS")
    assert find_requests(engine, "LEGACYSYS") == Match((by_partner.id, by_order.id), (T1, T2),
                                                       "SNDPRN or E1EDK01-BELNR")  # fmt: skip
    assert find_requests(engine, "E1EDK01-BELNR=LEGACYSYS") == Match((by_order.id,), (T2,), "E1EDK01-BELNR")
    assert find_requests(engine, " SNDPRN = LEGACYSYS ") == Match((by_partner.id, by_order.id), (T1, T2), "SNDPRN")


def test_a_value_holding_an_equals_sign_is_found_whole(engine: Engine, clock: Clock) -> None:
    """A MessageId may be Base64 (``...==``): the text is also taken whole."""
    store = outbox(engine, clock)
    (entry,) = accept(store, clock, T1, "b3JkZXI=", "1")
    assert find_requests(engine, "b3JkZXI=") == Match((entry.id,), (T1,), "MessageId")
    assert split_key("b3JkZXI=") == (None, "b3JkZXI="), "no value after the = : no NAME=VALUE"
    assert split_key("MessageId=a=b") == ("MessageId", "a=b")


def test_the_first_kind_that_matches_wins(engine: Engine, clock: Clock) -> None:
    """An order number that happens to be another request's transaction ID names that request."""
    store = outbox(engine, clock)
    (request,) = accept(store, clock, T1, "m1", "1")
    accept(store, clock, T2, "m2", T1)
    assert find_requests(engine, T1) == Match((request.id,), (T1,), "transaction ID")


def test_the_text_is_trimmed_and_ids_are_taken_as_given(engine: Engine, clock: Clock) -> None:
    store = outbox(engine, clock)
    (entry,) = accept(store, clock, T1, "m1", "1")
    assert find_requests(engine, f"  {entry.id}\n") == Match((entry.id,), (T1,), "outbox ID")
    assert find_requests(engine, entry.id.upper()) == Match((), (), "")
    assert find_requests(engine, "   ") == Match((), (), "")


def test_the_limit_keeps_the_newest_oldest_first(engine: Engine, clock: Clock) -> None:
    store = outbox(engine, clock)
    ids = [accept(store, clock, f"{number:040x}", f"m{number}", str(number))[0].id for number in range(5)]
    found = find_requests(engine, "ORDERS", limit=2)
    assert found.outbox_ids == tuple(ids[3:])
    assert found.transaction_ids == (f"{3:040x}", f"{4:040x}")
    with pytest.raises(ValueError, match="limit"):
        find_requests(engine, "ORDERS", limit=0)


def test_keys_of_purged_entries_still_name_their_requests(engine: Engine, clock: Clock) -> None:
    store = outbox(engine, clock)
    (entry,) = accept(store, clock, T1, "m1", "4711")
    deliver(store, clock, entry.id, TID)
    clock.advance(3600)
    assert store.purge(clock()) == 1
    assert find_requests(engine, "4711") == Match((), (T1,), "E1EDK01-BELNR")


def test_keys_of_a_request_without_outbox_entries_name_it(engine: Engine, clock: Clock) -> None:
    """Keys recorded without an outbox entry (outbox_id None) name the request alone."""
    from idocbridge.transactions.keys import insert_keys, key_rows

    with engine.begin() as connection:  # the writer the outbox calls, for a request that has no entry
        insert_keys(connection, key_rows(None, T1, [("E1EDK01-BELNR", "4711")], clock(), "m1"))
    assert find_requests(engine, "4711") == Match((), (T1,), "E1EDK01-BELNR")
    assert find_requests(engine, "m1") == Match((), (T1,), "MessageId")


def test_entries_with_key_lists_them_newest_first_by_state_and_service(engine: Engine, clock: Clock) -> None:
    store = outbox(engine, clock)
    (first,) = accept(store, clock, T1, "m1", "1")
    (second,) = accept(store, clock, T2, "m2", "2", service="OtherService")
    deliver(store, clock, first.id, TID)
    assert [entry.id for entry in entries_with_key(engine, "ORDERS")] == [second.id, first.id]
    assert [entry.id for entry in entries_with_key(engine, "ORDERS", newest=False)] == [first.id, second.id]
    assert [entry.id for entry in entries_with_key(engine, "MESTYP=ORDERS", state=OutboxState.CONFIRMED)] == [first.id]
    assert [entry.id for entry in entries_with_key(engine, "ORDERS", service="OtherService")] == [second.id]
    assert entries_with_key(engine, "ORDERS", limit=1)[0].parameters == {}


def test_the_log_of_the_requests_with_a_key(engine: Engine, clock: Clock) -> None:
    store = outbox(engine, clock)
    accept(store, clock, T1, "m1", "4711")
    accept(store, clock, T2, "m2", "4712")
    log(engine, clock, Logged(T1, TID), Logged(T2, TID2), Logged(T3))
    found = [entry for _, entry in query_rows(engine, LogFilter(transactions=transactions_with_key("4712")))]
    assert [(entry.transaction_id, entry.log_type) for entry in found] == [(T2, "SERVICE_ENTER"), (T2, "IO_EXIT")]
    typed = LogFilter(transactions=transactions_with_key("E1EDK01-BELNR=4711"), log_type="IO_EXIT")
    assert [entry.correlation_id for _, entry in query_rows(engine, typed)] == [TID]
    assert len(query_rows(engine, LogFilter(transactions=transactions_with_key("ORDERS")))) == 4


# -- every lookup reads an index -----------------------------------------------------------------------------------

MANY = 400
"""Entries in the outbox (and requests in the log) when the plans are read: enough that a scan costs."""


def _fill(engine: Engine, clock: Clock, *, analyze: bool = True) -> dict[str, str]:
    """``MANY`` IDoc entries with keys, each request in the log, ``MANY // 10`` delivered with their fate in
    SAP; statistics taken unless not ``analyze`` (SQLite keeps none unless told to, as in a service's runtime
    database). Returns a text of each kind that matches, and two that match nothing."""
    store = outbox(engine, clock)
    news = [NewEntry(service="IDocService", operation="SendOrder", alias="ERP", function="IDOC_INBOUND_ASYNCHRONOUS",
                     parameters={}, transaction_id=f"{number:040x}", message_id="batch",
                     keys=order_keys(f"45{number:06d}")) for number in range(MANY)]  # fmt: skip
    accepted = [one.entry for one in store.accept_all(news)]
    requests = [Logged(entry.transaction_id, f"TID{number:021d}") for number, entry in enumerate(accepted)]
    log(engine, clock, *requests, Logged("f" * 40))
    for number, entry in enumerate(accepted[: MANY // 10]):
        deliver(store, clock, entry.id, f"SENT{number:020d}")
    fate = FateStore(engine, clock=clock)
    clock.advance(5)
    for number, unit in enumerate(fate.due_units(clock(), ["ERP"], limit=MANY)):
        fate.record_idocs(unit, [f"{4700 + number:016d}"], None)
    if analyze:
        with engine.begin() as connection:
            connection.exec_driver_sql("ANALYZE")
    return {
        "transaction ID": accepted[3].transaction_id,
        "transaction ID only the log knows": "f" * 40,
        "outbox ID": accepted[5].id,
        "TID": f"SENT{7:020d}",
        "TID only the log knows": f"TID{MANY - 1:021d}",
        "SAP DOCNUM": "4711",
        "business key": "45000011",
        "NAME=VALUE": "E1EDK01-BELNR=45000012",
        "nothing": "no-such-thing",
        "nothing (digits)": "99999",
    }


@contextmanager
def _statements(engine: Engine) -> Iterator[list[tuple[str, Any]]]:
    """The SQL statements (with their parameters) run on ``engine`` inside the block."""
    seen: list[tuple[str, Any]] = []

    def grab(connection: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            seen.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", grab)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", grab)


def _off_the_index(engine: Engine, statement: str, parameters: Any) -> list[str]:
    """What of the plan of ``statement`` reads a table other than by an index condition: on SQLite a SCAN (of
    the table or a whole index), on PostgreSQL a Seq Scan (it is told to avoid them: with an index that
    serves, it never picks one) or an index scan without an Index Cond. [] if every read is a lookup."""
    with engine.connect() as connection:
        if engine.dialect.name == "sqlite":
            plan = [str(row[-1]) for row in connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters)]
            return [line for line in plan if line.startswith("SCAN ")]
        connection.exec_driver_sql("SET enable_seqscan = off")
        plan = [str(row[0]) for row in connection.exec_driver_sql(f"EXPLAIN {statement}", parameters)]
    problems = [line for line in plan if "Seq Scan" in line]
    for number, line in enumerate(plan):
        if "Index Scan" in line or "Index Only Scan" in line:  # a leaf: its details reach the next node
            details = itertools.takewhile(lambda following: "->" not in following, plan[number + 1 :])
            if not any("Index Cond" in detail for detail in details):
                problems.append(line)
    return problems


def _plans_off_their_index(engine: Engine, run: Callable[[], object]) -> list[str]:
    with _statements(engine) as seen:
        run()
    assert seen, "no statement ran"
    return [f"{' '.join(statement.split())[:160]}: {problem}"
            for statement, parameters in seen for problem in _off_the_index(engine, statement, parameters)]  # fmt: skip


@pytest.mark.parametrize("analyze", [True, False], ids=["statistics", "no statistics"])
def test_every_lookup_reads_an_index(engine: Engine, clock: Clock, analyze: bool) -> None:
    texts = _fill(engine, clock, analyze=analyze)
    for kind, text in texts.items():
        found = find_requests(engine, text)
        assert (found.matched == "") is kind.startswith("nothing"), kind
        assert _plans_off_their_index(engine, lambda text=text: find_requests(engine, text)) == [], kind


@pytest.mark.parametrize("analyze", [True, False], ids=["statistics", "no statistics"])
def test_the_log_and_the_outbox_by_key_read_indexes(engine: Engine, clock: Clock, analyze: bool) -> None:
    _fill(engine, clock, analyze=analyze)
    since = datetime(2000, 1, 1, tzinfo=UTC)
    for key in ("45000011", "E1EDK01-BELNR=45000012"):
        for where in (LogFilter(), LogFilter(state="OK"), LogFilter(since=since, until=since + timedelta(days=99999))):
            keyed = replace(where, transactions=transactions_with_key(key))
            for newest in (True, False):
                found = query_rows(engine, keyed, limit=1000, newest=newest)
                assert len(found) == 2, (key, where)
                read = _plans_off_their_index(engine, lambda w=keyed, n=newest: query_rows(engine, w, limit=1000,
                                                                                              newest=n))  # fmt: skip
                assert read == [], (key, where, newest)
        assert len(entries_with_key(engine, key)) == 1
        assert _plans_off_their_index(engine, lambda key=key: entries_with_key(engine, key)) == []
        by_state = lambda key=key: entries_with_key(engine, key, state=OutboxState.ACCEPTED)  # noqa: E731
        assert _plans_off_their_index(engine, by_state) == []


def test_new_entry_keys_are_what_the_tests_search(engine: Engine, clock: Clock) -> None:
    """The keys the tests give NewEntry are recorded as the search reads them (trimmed, once each)."""
    store = outbox(engine, clock)
    store.accept(new_entry(keys=(("E1EDK01-BELNR", "4711"), ("E1EDK01-BELNR", "4711")), message_id="m1"))
    found = find_requests(engine, "4711")
    assert (len(found.outbox_ids), found.matched) == (1, "E1EDK01-BELNR")


def test_the_plan_check_sees_a_scan(engine: Engine, clock: Clock) -> None:
    """A lookup by a column without an index (``packet_tid``) is caught, on either database."""
    from sqlalchemy import select

    from idocbridge.transactions import outbox_table

    _fill(engine, clock)
    by_packet_tid = select(outbox_table.c.id).where(outbox_table.c.packet_tid == TID)

    def look() -> None:
        with engine.connect() as connection:
            connection.execute(by_packet_tid).all()

    assert _plans_off_their_index(engine, look) != []


def test_a_text_no_database_can_hold_matches_nothing(engine: Engine, clock: Clock) -> None:
    """What a person types into the monitor may be anything: a NUL or a lone surrogate is no error."""
    accept(outbox(engine, clock), clock, T1, "m1", "4711")
    for text in ("47\x0011", "4711\udc80", "\x00"):
        assert find_requests(engine, text) == Match((), (), "")
