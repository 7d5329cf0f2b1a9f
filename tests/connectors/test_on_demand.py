"""OnDemandConnection: a pool's connection per SAP call, given back between calls, kept where the library needs it."""

from __future__ import annotations

import threading

import pytest

from idocbridge.connectors.base import Connector, Parameters
from idocbridge.connectors.errors import CommunicationError
from idocbridge.connectors.on_demand import OnDemandConnection
from idocbridge.connectors.pool import ConnectionPool, PoolWaitEvent
from tests.null_connector import TID, NullConnector


class _Connection(NullConnector):
    """Notes the calls it took; with ``broken``, every submit fails on the line."""

    def __init__(self, calls: list[tuple[int, str]], number: int, one_connection: bool, broken: bool) -> None:
        super().__init__()
        self.calls, self.number = calls, number
        self._one_connection, self._broken = one_connection, broken

    @property
    def keeps_units_on_one_connection(self) -> bool:
        return self._one_connection

    def get_transaction_id(self) -> str:
        self.calls.append((self.number, "tid"))
        return super().get_transaction_id()

    def submit_transaction(self, tid: str, function: str, parameters: Parameters, queue: str | None = None) -> None:
        if self._broken:
            raise CommunicationError("the line dropped")
        self.calls.append((self.number, "submit"))

    def confirm_transaction(self, tid: str) -> None:
        self.calls.append((self.number, "confirm"))


def _pool(calls: list[tuple[int, str]], *, one_connection: bool = False, broken: bool = False,
          waits: list[PoolWaitEvent] | None = None) -> ConnectionPool:  # fmt: skip
    made: list[int] = []

    def make() -> Connector:
        made.append(len(made) + 1)
        return _Connection(calls, made[-1], one_connection, broken and len(made) == 1)

    return ConnectionPool("ERP", make, size=2, timeout=1, on_wait=None if waits is None else waits.append)


def test_a_connection_is_taken_for_a_call_and_given_back_by_release_and_at_the_end() -> None:
    calls: list[tuple[int, str]] = []
    pool = _pool(calls)
    with OnDemandConnection(pool) as sap:
        assert not sap.holding and pool.stats().in_use == 0, "nothing is taken before the first call"
        assert sap.get_transaction_id() == TID
        assert sap.holding and pool.stats().in_use == 1
        sap.release()
        assert not sap.holding and pool.stats().in_use == 0
        sap.submit_transaction(TID, "IDOC_INBOUND_ASYNCHRONOUS", {})
        assert pool.stats().in_use == 1
    assert pool.stats().in_use == 0 and pool.stats().open == 1, "the one connection went back to the pool, open"
    assert calls == [(1, "tid"), (1, "submit")]


def test_a_connector_that_keeps_units_on_one_connection_keeps_its_connection_for_the_whole_unit() -> None:
    calls: list[tuple[int, str]] = []
    pool = _pool(calls, one_connection=True)
    with OnDemandConnection(pool) as sap:
        sap.get_transaction_id()
        sap.release()
        assert sap.holding and pool.stats().in_use == 1, "kept from the first call on"
        sap.submit_transaction(TID, "IDOC_INBOUND_ASYNCHRONOUS", {})
        sap.release()
        assert sap.holding and pool.stats().in_use == 1, "kept: the unit's handle lives on it"
        with pool.connection() as other:
            assert isinstance(other, _Connection) and other.number == 2, "the others are free for other units"
        sap.confirm_transaction(TID)
    assert pool.stats().in_use == 0
    assert calls == [(1, "tid"), (1, "submit"), (1, "confirm")]


def test_a_connection_that_failed_on_the_line_is_given_back_broken_and_the_next_call_takes_another() -> None:
    calls: list[tuple[int, str]] = []
    pool = _pool(calls, broken=True)
    with OnDemandConnection(pool) as sap:
        with pytest.raises(CommunicationError):
            sap.submit_transaction(TID, "IDOC_INBOUND_ASYNCHRONOUS", {})
        assert not sap.holding and pool.stats().replaced == 1, "closed, not returned to the pool"
        sap.submit_transaction(TID, "IDOC_INBOUND_ASYNCHRONOUS", {})
    assert calls == [(2, "submit")]
    assert pool.stats().open == 1 and pool.stats().in_use == 0


def test_a_delivery_waits_for_a_connection_without_reporting_pool_exhaustion() -> None:
    calls: list[tuple[int, str]] = []
    waits: list[PoolWaitEvent] = []
    pool = _pool(calls, waits=waits)
    first, second = pool.acquire(), pool.acquire()  # both connections taken: the next caller waits
    released = threading.Timer(0.2, lambda: pool.release(first))
    released.start()
    with OnDemandConnection(pool) as sap:
        assert sap.get_transaction_id() == TID
    released.join()
    assert calls == [(1, "tid")], "it waited for the connection given back"
    assert pool.stats().waiting == 0 and pool.stats().waits == 0, "not counted as a request's wait"
    assert waits == [], "no PoolExhausted for the transaction log: deliveries wait by design"
    with pool.connection():  # a request's wait is still reported
        threading.Timer(0.2, lambda: pool.release(second)).start()
        with pool.connection():
            pass
    assert [event.phase for event in waits] == ["enter", "exit"]
    assert pool.stats().waits == 1


def test_the_count_of_waiting_callers_comes_back_to_zero_when_the_wait_hook_raises() -> None:
    def broken_hook(event: PoolWaitEvent) -> None:
        raise RuntimeError("the hook failed")

    pool = ConnectionPool("ERP", lambda: _Connection([], 1, False, False), size=1, timeout=1, on_wait=broken_hook)
    with pool.connection():
        with pytest.raises(RuntimeError):
            pool.acquire()
        assert pool.stats().waiting == 0, "a wait that ended in an error is not counted as waiting"
