"""A pool's connection taken for each SAP call and given back in between: a tRFC unit holds SAP only while SAP works.

The steps of an outbox delivery are SAP calls with commits in between (the TID before the submit, the
execution before the confirm, the confirm itself). Holding one of the alias's few connections through
those commits caps the deliveries at ``poolSize / (SAP's time + the commits' time)``; SAP's own limit is
``poolSize / SAP's time``. An :class:`OnDemandConnection` takes a connection from the pool for a call
and keeps it until :meth:`OnDemandConnection.release` (the outbox's journal calls it before each
commit); the next call takes one again, whichever is free.

A connector that keeps a unit on one connection (:attr:`Connector.keeps_units_on_one_connection`: the
pyrfc connector, whose libraries hold the unit's handle on the connection that submitted it) is kept
from its first call until the unit ends, as before.

Deliveries run with more threads than the pool has connections, so waiting for one is their normal
course: they wait without reporting PoolExhausted to the transaction log (that stays the signal of
requests waiting), at most the pool's timeout, after which the entry is retried with its TID.
"""

from __future__ import annotations

from collections.abc import Callable

from idocbridge.connectors.base import Connector, Parameters, Result
from idocbridge.connectors.errors import CommunicationError
from idocbridge.connectors.pool import ConnectionPool

__all__ = ["OnDemandConnection"]


class OnDemandConnection(Connector):
    """Calls on a connection of ``pool``, taken at the first call and given back by :meth:`release` or at the end.

    Use it as a context manager (as any connector): leaving the block gives back what it holds (:meth:`close`).
    One thread at a time, like any connector.
    """

    def __init__(self, pool: ConnectionPool) -> None:
        self._pool = pool
        self._held: Connector | None = None
        self._pinned = False

    @property
    def holding(self) -> bool:
        """Whether a connection of the pool is held now."""
        return self._held is not None

    def release(self) -> None:
        """Give the held connection back to the pool, unless the unit must stay on it."""
        if self._held is not None and not self._pinned:
            self._give_back(broken=False)

    def open(self) -> None:
        """Nothing: a connection is taken at the first call."""

    def close(self) -> None:
        """Give back whatever is held (the connection stays open in the pool)."""
        self._pinned = False
        self.release()

    @property
    def is_open(self) -> bool:
        return True

    def ping(self) -> None:
        self._on_connection(lambda sap: sap.ping())

    def call(self, function: str, parameters: Parameters) -> Result:
        return self._on_connection(lambda sap: sap.call(function, parameters))

    def get_transaction_id(self) -> str:
        return self._on_connection(lambda sap: sap.get_transaction_id())

    def submit_transaction(self, tid: str, function: str, parameters: Parameters, queue: str | None = None) -> None:
        self._on_connection(lambda sap: sap.submit_transaction(tid, function, parameters, queue))

    def confirm_transaction(self, tid: str) -> None:
        self._on_connection(lambda sap: sap.confirm_transaction(tid))

    def can_confirm(self, tid: str) -> bool:
        return self._on_connection(lambda sap: sap.can_confirm(tid))

    def _on_connection[T](self, work: Callable[[Connector], T]) -> T:
        if self._held is None:
            self._held = self._pool.acquire(report=False)
            self._pinned = self._held.keeps_units_on_one_connection
        try:
            return work(self._held)
        except CommunicationError:
            self._pinned = False
            self._give_back(broken=True)
            raise

    def _give_back(self, *, broken: bool) -> None:
        held, self._held = self._held, None
        if held is not None:
            self._pool.release(held, broken=broken or not held.is_open)
