"""Deliver one claimed outbox entry: TID (written ahead), submit, confirm, each step committed.

The TID is committed before the call goes to SAP; a retry always reuses it; after the confirm
nothing is submitted again; a failed confirm is retried alone. Retryable failures (the network,
a busy TID, a full pool, logon or authorization problems an operator can fix) wait with backoff;
what SAP refuses (ABAP exceptions, bad parameters) fails permanently.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TypeVar

from idocbridge.adapters.context import RetryPolicy
from idocbridge.adapters.sap_call import log_event, logged_call
from idocbridge.connectors.base import Connector
from idocbridge.connectors.errors import AuthorizationError, ConnectorError, LogonError
from idocbridge.connectors.pool_set import PoolSet
from idocbridge.tlog.context import RequestContext
from idocbridge.tlog.entry import Domain, LogType
from idocbridge.tlog.writer import TransactionLog
from idocbridge.transactions.backoff import Backoff
from idocbridge.transactions.circuit import Circuits
from idocbridge.transactions.store import LeaseLost, OutboxStore
from idocbridge.transactions.tables import OutboxEntry
from idocbridge.values import dumps, loads

__all__ = ["Deliverer"]

log = logging.getLogger("idocbridge.transactions")
T = TypeVar("T")
_ONCE = RetryPolicy(attempts=1)
_LOG_FLUSH_SECONDS = 5.0
_MIN_CIRCUIT_WAIT = 1.0


class _Heartbeat:
    """Renews a lease every third of its length until the block ends or the lease is lost."""

    def __init__(self, store: OutboxStore, entry_id: str, owner: str, lease: timedelta) -> None:
        self._store, self._entry_id, self._owner, self._lease = store, entry_id, owner, lease
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name="idocbridge-lease", daemon=True)

    def __enter__(self) -> None:
        self._thread.start()

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()

    def _beat(self) -> None:
        while not self._stop.wait(self._lease.total_seconds() / 3):
            try:
                self._store.renew(self._entry_id, self._owner, datetime.now(UTC) + self._lease)
            except LeaseLost:
                return  # released (delivery done) or taken over: the next state change will say which
            except Exception:
                log.warning("renewing the lease of outbox entry %s failed", self._entry_id, exc_info=True)


def _temporary(error: ConnectorError) -> bool:
    return error.retryable or isinstance(error, LogonError | AuthorizationError)


class Deliverer:
    """Moves claimed entries towards CONFIRMED (or RETRY_WAIT / FAILED)."""

    def __init__(self, store: OutboxStore, pools: PoolSet, tlog: TransactionLog | None, owner: str,
                 backoff: Backoff | None = None, circuits: Circuits | None = None,
                 lease: timedelta = timedelta(seconds=60)) -> None:  # fmt: skip
        self.store = store
        self.pools = pools
        self.tlog = tlog
        self.owner = owner
        self.backoff = backoff or Backoff()
        self.circuits = circuits or Circuits()
        self.lease = lease

    def deliver(self, entry: OutboxEntry) -> None:
        """Deliver ``entry`` (claimed by this owner) as far as SAP lets it go now.

        The lease is renewed while the delivery runs, so no other instance takes the entry over
        from a live one, however long SAP or the pool takes.
        """
        request = RequestContext(entry.transaction_id, 0, entry.service, entry.operation)
        admission = self.circuits.admit(entry.alias)
        if admission == "refused":
            wait = max(self.circuits.retry_in(entry.alias), _MIN_CIRCUIT_WAIT)  # no spinning while a trial runs
            self._retry(entry, request, f"circuit of SAP alias {entry.alias} open: SAP unreachable", "CIRCUIT_OPEN",
                        failures=entry.attempts, wait=wait)  # fmt: skip
            return
        with _Heartbeat(self.store, entry.id, self.owner, self.lease):
            try:
                self._deliver(entry, request)
            finally:
                if admission == "trial":
                    self.circuits.settle(entry.alias)  # the trial ended without a verdict: let the next one try

    def _deliver(self, entry: OutboxEntry, request: RequestContext) -> None:
        try:
            tid = entry.tid
            if tid is None:
                tid = self._call(entry, request, "get_tid", "", lambda sap: sap.get_transaction_id(), None)
                self._transition(request, entry, "TID_ASSIGNED", tid)
                self.store.assign_tid(entry.id, self.owner, tid)
            if not entry.executed:
                parameters = loads(dumps(entry.parameters))  # decimals and bytes back from their JSON tags
                submit: Callable[[Connector], None] = lambda sap: sap.submit_transaction(  # noqa: E731
                    tid, entry.function, parameters, entry.queue
                )
                self._still_mine(entry)
                self._call(entry, request, "submit", entry.function, submit, tid)
                self._transition(request, entry, "EXECUTED", tid)
                self.store.mark_executed(entry.id, self.owner)
            self._still_mine(entry)
            self._call(entry, request, "confirm", "", lambda sap: sap.confirm_transaction(tid), tid)
            receipt = {"transactionId": entry.transaction_id, "tid": tid, "state": "CONFIRMED"}
            self._transition(request, entry, "CONFIRMED", tid)
            self.store.mark_confirmed(entry.id, self.owner, receipt)
            self.circuits.success(entry.alias)
        except LeaseLost:
            log.warning("outbox entry %s was taken over by another worker; leaving it", entry.id)
        except ConnectorError as exc:
            current = self.store.get(entry.id) or entry
            failures = current.attempts + 1
            if _temporary(exc) or current.executed:  # after execution only the confirm is left: never give up
                if not exc.retryable:  # logon or authorization: SAP is reachable, the circuit stays closed
                    self.circuits.success(entry.alias)
                else:
                    self.circuits.failure(entry.alias)
                self._retry(current, request, exc.message, exc.key, failures=failures)
            else:
                self.circuits.success(entry.alias)  # SAP answered: it is reachable
                self._fail(current, request, exc)
        except Exception as exc:  # a bug or a database error: back off rather than spin, never give up
            log.exception("delivering outbox entry %s failed", entry.id)
            current = self.store.get(entry.id) or entry
            self._retry(current, request, f"internal error: {type(exc).__name__}", "INTERNAL_ERROR",
                        failures=current.attempts + 1)  # fmt: skip

    def _still_mine(self, entry: OutboxEntry) -> None:
        """Renew the lease before a call that changes SAP; LeaseLost if another owner has the entry."""
        self.store.renew(entry.id, self.owner, datetime.now(UTC) + self.lease)

    def _call(self, entry: OutboxEntry, request: RequestContext, what: str, detail: str,
              action: Callable[[Connector], T], tid: str | None) -> T:  # fmt: skip
        component = f"{entry.alias}.{detail}" if detail else entry.alias
        pool = self.pools.for_alias(entry.alias)
        return logged_call(pool, self.tlog, request, component, f"outbox:{what}", detail, action, tid, _ONCE)

    def _transition(self, request: RequestContext, entry: OutboxEntry, state: str, tid: str | None,
                    error: str = "", ok: bool = True) -> None:  # fmt: skip
        """Log that ``entry`` reaches ``state``, and wait until it is written, before the state is committed.

        So a crash right after the commit cannot leave a state in the outbox that the log does not tell;
        a crash between the two leaves the log one step ahead, and the retry is logged as well.
        """
        log_event(self.tlog, request, LogType.TRANSITION_EXIT, "TRFCOutbox", 0, ok, state, error or entry.id, tid,
                  Domain.SAPRFC)  # fmt: skip
        if self.tlog is not None and not self.tlog.flush(_LOG_FLUSH_SECONDS):
            log.warning("the transaction log is behind; outbox entry %s goes on to %s", entry.id, state)

    def _retry(self, entry: OutboxEntry, request: RequestContext, error: str, key: str | None, *,
               failures: int, wait: float | None = None) -> None:  # fmt: skip
        now = datetime.now(UTC)
        due = self.backoff.next_attempt(now, failures) if wait is None else now + timedelta(seconds=wait)
        self._transition(request, entry, "RETRY_WAIT", entry.tid, f"{key}: {error}"[:200], ok=False)
        try:
            self.store.mark_retry(entry.id, self.owner, error, key, due)
        except LeaseLost:
            return

    def _fail(self, entry: OutboxEntry, request: RequestContext, exc: ConnectorError) -> None:
        self._transition(request, entry, "FAILED", entry.tid, f"{exc.key}: {exc.message}"[:200], ok=False)
        try:
            self.store.mark_failed(entry.id, self.owner, exc.message, exc.key)
        except LeaseLost:
            return
