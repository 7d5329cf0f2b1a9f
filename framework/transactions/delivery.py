"""Deliver one claimed outbox entry: its tRFC unit on one connection, each step committed first.

The unit's sequence (TID, submit, confirm) is :class:`idocbridge.connectors.unit.TrfcUnit`'s; this
module gives it a journal that is the outbox: the TID is committed before the submit, the execution
before the confirm, the confirm only once SAP took it. A retry resumes the unit with the same TID;
after the confirm nothing is submitted again; a confirm that could not be sent is retried alone. When
SAP took the confirm but the outbox could not record it (a database error), the entry is retried at
once: the confirm is sent again (SAP answers it for a TID it has forgotten) and then recorded.

Retryable failures (the network, a busy TID, a full pool, logon or authorization problems an
operator can fix) wait with backoff; what SAP refuses (ABAP exceptions, bad parameters) fails
permanently. Only failures that say something about the SAP system (it cannot be reached) count
towards its alias's circuit: a full pool, a busy TID or a configuration error do not.

A delivery that takes longer than ``max_delivery`` (a call that never returns) is abandoned: the
entry waits for a retry with the same TID, and whatever the hung call does later is not recorded.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from idocbridge.connectors.errors import (
    ABAPApplicationError,
    AuthorizationError,
    ConfirmNotSentError,
    ConnectorConfigurationError,
    ConnectorError,
    LogonError,
    TransactionBusyError,
)
from idocbridge.connectors.on_demand import OnDemandConnection
from idocbridge.connectors.pool import PoolTimeoutError
from idocbridge.connectors.pool_set import PoolSet
from idocbridge.connectors.unit import TrfcUnit, UnitCall
from idocbridge.tlog.context import RequestContext
from idocbridge.tlog.entry import Domain, LogType
from idocbridge.tlog.sap_calls import event_entry, logged_step
from idocbridge.tlog.tables import row_from_entry
from idocbridge.tlog.writer import TransactionLog
from idocbridge.transactions.backoff import Backoff
from idocbridge.transactions.circuit import Circuits
from idocbridge.transactions.heartbeat import Heartbeats
from idocbridge.transactions.packets import PacketMember
from idocbridge.transactions.receipts import delivery_receipt
from idocbridge.transactions.states import OutboxError
from idocbridge.transactions.store import LeaseLost, OutboxStore
from idocbridge.transactions.tables import OutboxEntry

__all__ = ["Deliverer", "DeliveryAbandoned"]

log = logging.getLogger("idocbridge.transactions")
_MIN_CIRCUIT_WAIT = 1.0
_RECORD_AGAIN_SECONDS = 1.0
_RECORD_AGAIN_ATTEMPTS = 5
"""After SAP took a unit's confirm and the outbox could not record it: a new confirm (which SAP takes for a TID
it forgot) and the record are tried again this soon, not after the backoff, so the entry does not sit waiting
(up to ``_RECORD_AGAIN_ATTEMPTS`` attempts; then the backoff applies)."""
_NO_VERDICT = (PoolTimeoutError, TransactionBusyError, ConfirmNotSentError, ConnectorConfigurationError)
"""Failures that say nothing about whether the SAP system is reachable: they leave its circuit alone."""


class DeliveryAbandoned(OutboxError):
    """The delivery ran longer than its maximum; what it does now is no longer recorded."""


def _temporary(error: ConnectorError) -> bool:
    return error.retryable or isinstance(error, LogonError | AuthorizationError)


class _OutboxJournal:
    """The journal of one delivery: the outbox store under this worker's lease, each step and its log entry
    committed together.

    Every write holds the journal's lock, so that abandoning the delivery (from the heartbeat) and a
    late step of the hung call cannot both be written; once the delivery has ended (:meth:`finish`), the
    heartbeat cannot abandon it any more. The lease owner is the instance, shared by its threads: these
    two rules keep a late thread from changing an entry another thread of the instance has claimed since.
    Each step renews the lease; a call that changes SAP renews it first only when a third of the lease
    has passed since (the heartbeat renews it meanwhile).
    """

    def __init__(self, deliverer: Deliverer, entry: OutboxEntry, request: RequestContext,
                 between_calls: Callable[[], None]) -> None:  # fmt: skip
        self._deliverer, self._entry, self._request = deliverer, entry, request
        self.between_calls = between_calls
        """Called before each write: gives the SAP connection back to its pool while the outbox commits."""
        self._lock = threading.Lock()
        self._abandoned = False
        self._finished = False
        self._released = False
        self._renewed = float("-inf")
        """When the lease was last renewed (monotonic, taken before the write): unknown at first."""

    @property
    def abandoned(self) -> bool:
        """Whether the heartbeat abandoned this delivery (its lease is no longer this delivery's)."""
        with self._lock:
            return self._abandoned

    @property
    def released(self) -> bool:
        """Whether a state change ended the lease (CONFIRMED, RETRY_WAIT, FAILED): nothing is left to release."""
        with self._lock:
            return self._released

    def renewed(self, at: float) -> None:
        """The heartbeat renewed the lease with a write begun at ``at`` (monotonic); no lock, so that a
        slow write of the delivery cannot hold the heartbeat up."""
        self._renewed = max(self._renewed, at)

    def tid_assigned(self, tid: str) -> None:
        deliverer = self._deliverer
        with self.writing():
            self.between_calls()
            log = deliverer.transition_log(self._request, self._entry, "TID_ASSIGNED", tid)
            self._renewing(lambda: deliverer.store.assign_tid(self._entry.id, deliverer.owner, tid,
                                                              renew=deliverer.lease, log=log,
                                                              member_log=deliverer.member_log))  # fmt: skip

    def before_change(self) -> None:
        deliverer = self._deliverer
        with self.writing():
            if time.monotonic() - self._renewed < deliverer.lease.total_seconds() / 3:
                return
            self.between_calls()
            self._renewing(lambda: deliverer.store.renew(self._entry.id, deliverer.owner,
                                                         datetime.now(UTC) + deliverer.lease))  # fmt: skip

    def executed(self, tid: str, confirm_sending: bool = False) -> None:
        deliverer = self._deliverer
        with self.writing():
            self.between_calls()
            log = deliverer.transition_log(self._request, self._entry, "EXECUTED", tid)
            self._renewing(lambda: deliverer.store.mark_executed(self._entry.id, deliverer.owner,
                                                                 confirm_sending=confirm_sending,
                                                                 renew=deliverer.lease, log=log))  # fmt: skip

    def confirm_sending(self, tid: str) -> None:
        with self.writing():
            self.between_calls()
            self._deliverer.store.mark_confirm_sent(self._entry.id, self._deliverer.owner)

    def confirmed(self, tid: str) -> None:
        deliverer = self._deliverer
        receipt = delivery_receipt(self._entry.transaction_id, tid, "CONFIRMED")
        with self.writing():
            self.between_calls()
            log = deliverer.transition_log(self._request, self._entry, "CONFIRMED", tid)
            deliverer.store.mark_confirmed(self._entry.id, deliverer.owner, receipt, log=log,
                                           member_log=deliverer.member_log)  # fmt: skip
            self.ended()

    def _renewing(self, write: Callable[[], object]) -> None:
        """Run ``write``, which renews the lease; the renewal counts from before it began (while it waits for
        the writer, the lease runs on)."""
        started = time.monotonic()
        write()
        self._renewed = started

    def ended(self) -> None:
        """A state change that ends the lease was committed (call while holding :meth:`writing`)."""
        self._released = True

    def leave(self) -> None:
        """Leave the entry to its lease, which expires: the outbox could not record how the delivery ended."""
        with self._lock:
            self._released = True

    def abandon(self, reason: str) -> bool:
        """Stop recording this delivery and let the entry wait for a retry; False if it already ended."""
        with self._lock:
            if self._abandoned or self._finished:
                return False
            self._abandoned = True
            current = self._deliverer.store.get(self._entry.id) or self._entry
            if current.lease_owner != self._deliverer.owner or current.is_final:
                return False
            self._deliverer.retry(current, self._request, reason, "DELIVERY_TIMEOUT", failures=current.attempts + 1)
            return True

    def finish(self) -> None:
        """The delivery has ended: the heartbeat may no longer abandon it."""
        with self._lock:
            self._finished = True

    @contextmanager
    def writing(self) -> Iterator[None]:
        """Hold the lock for one write; refuse once the delivery was abandoned."""
        with self._lock:
            if self._abandoned:
                raise DeliveryAbandoned(f"the delivery of outbox entry {self._entry.id} was abandoned")
            yield


class Deliverer:
    """Moves claimed entries towards CONFIRMED (or RETRY_WAIT / FAILED).

    Requests waiting for an entry learn of its state changes from the store they share
    (:class:`idocbridge.transactions.outbox.NotifyingStore` in a served deployment).
    """

    def __init__(self, store: OutboxStore, pools: PoolSet, tlog: TransactionLog | None, owner: str,
                 backoff: Backoff | None = None, circuits: Circuits | None = None,
                 lease: timedelta = timedelta(seconds=60),
                 max_delivery: timedelta = timedelta(minutes=10)) -> None:  # fmt: skip
        self.store = store
        self.pools = pools
        self.tlog = tlog
        self.owner = owner
        self.backoff = backoff or Backoff()
        self.circuits = circuits or Circuits()
        self.lease = lease
        self.max_delivery = max_delivery
        self.retries: Counter[str] = Counter()
        """Deliveries set to wait for a retry, per alias, since this deliverer was made (for /metrics)."""
        self._heartbeats = Heartbeats()

    def deliver(self, entry: OutboxEntry) -> bool:
        """Deliver ``entry`` (claimed by this owner) as far as SAP lets it go now.

        The lease is renewed while the delivery runs, so no other instance takes the entry over
        from a live one, up to ``max_delivery``; then the delivery is abandoned and retried later.
        Returns whether the caller should still release the lease: False when the last state change
        ended it already, or when the delivery was abandoned (the lease is then no longer this
        delivery's: another thread of this instance may hold it by now).
        """
        request = RequestContext(entry.transaction_id, 0, entry.service, entry.operation)
        if entry.alias not in self.pools:
            try:
                self._without_alias(entry, request)
            except Exception:  # the database: not released at once, which would hand it out again while it fails
                log.exception("outbox entry %s stays as it is; its lease expires and it is tried again", entry.id)
            return False
        admission = self.circuits.admit(entry.alias)
        if admission == "refused":
            wait = max(self.circuits.retry_in(entry.alias), _MIN_CIRCUIT_WAIT)  # no spinning while a trial runs
            self.retry(entry, request, f"circuit of SAP alias {entry.alias} open: SAP unreachable", "CIRCUIT_OPEN",
                       failures=entry.attempts, wait=wait)  # fmt: skip
            return False
        sap = OnDemandConnection(self.pools.for_alias(entry.alias))  # SAP's connection only for its calls
        journal = _OutboxJournal(self, entry, request, sap.release)
        renew, expire = self._renew_lease(entry, journal), self._abandon_late(entry, journal)
        with self._heartbeats.beating(self.lease.total_seconds() / 3, self.max_delivery.total_seconds(), renew, expire):
            try:
                self._deliver(entry, request, journal, sap)
            finally:
                journal.finish()
                if admission == "trial":
                    self.circuits.settle(entry.alias)  # the trial ended without a verdict: let the next one try
        return not journal.abandoned and not journal.released

    def _without_alias(self, entry: OutboxEntry, request: RequestContext) -> None:
        """RETRY_WAIT for an entry whose SAP alias this deployment does not have: the model lost the alias after the
        entry was accepted, or this instance runs an older model than the one that accepted it. A worker claims only
        its own aliases' entries (:attr:`OutboxStore.aliases`), so this is for an entry handed over otherwise.
        Nothing is sent."""
        known = ", ".join(self.pools.aliases) or "none"
        error = f"SAP alias {entry.alias} is not in the model this instance serves (its aliases: {known}); "
        if entry.tid is None:
            error += ("nothing was sent: restore the alias in the model and restart, or cancel the entry (it has no "
                      "TID yet)")  # fmt: skip
        else:
            error += (f"its TID {entry.tid} may be in SAP already (SM58) and it goes with that TID once an instance "
                      "with the alias takes it: restore the alias in the model and restart")  # fmt: skip
        log.warning("outbox entry %s: %s", entry.id, error)
        self.retry(entry, request, error, "ALIAS_NOT_CONFIGURED", failures=entry.attempts + 1)

    def _renew_lease(self, entry: OutboxEntry, journal: _OutboxJournal) -> Callable[[], bool]:
        """The heartbeat's renewal of ``entry``'s lease: False once the lease is gone (released or taken over:
        the delivery's next state change says which)."""

        def renew() -> bool:
            started = time.monotonic()
            try:
                self.store.renew(entry.id, self.owner, datetime.now(UTC) + self.lease)
            except LeaseLost:
                return False
            except Exception:
                log.warning("renewing the lease of outbox entry %s failed", entry.id, exc_info=True)
                return True
            journal.renewed(started)
            return True

        return renew

    def _abandon_late(self, entry: OutboxEntry, journal: _OutboxJournal) -> Callable[[], None]:
        """What the heartbeat does once the delivery of ``entry`` has run for ``max_delivery``."""

        def abandon() -> None:
            reason = (f"SAP did not finish the delivery within {self.max_delivery.total_seconds():g} s; retried "
                      "later with the same TID")  # fmt: skip
            try:
                if journal.abandon(reason):
                    log.warning("outbox entry %s: %s", entry.id, reason)
            except Exception:
                log.warning("abandoning the delivery of outbox entry %s failed", entry.id, exc_info=True)

        return abandon

    def _deliver(self, entry: OutboxEntry, request: RequestContext, journal: _OutboxJournal,
                 sap: OnDemandConnection) -> None:  # fmt: skip
        unit = TrfcUnit(journal, entry.tid, entry.executed, confirm_sent=entry.confirm_sent)
        call = UnitCall(entry.function, entry.parameters, entry.queue)
        try:
            with sap:
                if unit.tid is None:
                    self._step(entry, request, "get_tid", "", lambda: unit.assign_tid(sap), None)
                tid = unit.tid
                if not unit.executed:
                    submit = lambda: unit.submit(sap, call, confirm_next=True)  # noqa: E731
                    self._step(entry, request, "submit", entry.function, submit, tid)
                self._step(entry, request, "confirm", "", lambda: unit.confirm(sap, call), tid)
            self.circuits.success(entry.alias)
        except (LeaseLost, DeliveryAbandoned) as exc:
            log.warning("outbox entry %s: %s; leaving it", entry.id, exc)
        except ConnectorError as exc:
            try:
                current = self.store.get(entry.id) or entry
            except Exception:
                current = entry
            if not isinstance(exc, _NO_VERDICT):
                if exc.retryable:
                    self.circuits.failure(entry.alias)
                else:  # SAP answered (a logon, authorization or ABAP error): it is reachable
                    self.circuits.success(entry.alias)
            try:
                with journal.writing():
                    if _temporary(exc) or current.executed:  # after execution only the confirm is left
                        self.retry(current, request, exc.message, exc.key, failures=current.attempts + 1)
                    else:
                        self._fail(current, request, exc)
                    journal.ended()
            except DeliveryAbandoned:
                log.warning("outbox entry %s: the abandoned delivery failed late (%s); leaving it", entry.id, exc.key)
        except Exception as exc:  # a bug or a database error: back off rather than spin, never give up
            log.exception("delivering outbox entry %s failed", entry.id)
            self._after_internal_error(entry, request, journal, unit, exc)

    def _after_internal_error(self, entry: OutboxEntry, request: RequestContext, journal: _OutboxJournal,
                              unit: TrfcUnit, exc: Exception) -> None:  # fmt: skip
        """RETRY_WAIT after a bug or a database error; when even that cannot be written, the entry is left to its
        lease."""
        reason, wait = f"internal error: {type(exc).__name__}", None
        if unit.confirmed and entry.attempts < _RECORD_AGAIN_ATTEMPTS:  # SAP took the confirm: record it
            reason += f" after SAP took the confirm of TID {unit.tid}; it is confirmed again and recorded shortly"
            wait = _RECORD_AGAIN_SECONDS
        try:
            with journal.writing():
                current = self.store.get(entry.id) or entry
                self.retry(current, request, reason, "INTERNAL_ERROR", failures=current.attempts + 1,
                           wait=wait)  # fmt: skip
                journal.ended()
        except DeliveryAbandoned:
            log.warning("outbox entry %s: the abandoned delivery failed late; leaving it", entry.id)
        except Exception:
            log.exception("outbox entry %s stays as it is; its lease expires and it is tried again", entry.id)
            journal.leave()  # not released at once: that would deliver it again while the database fails

    def _step[T](self, entry: OutboxEntry, request: RequestContext, what: str, detail: str,
              action: Callable[[], T], tid: str | None) -> T:  # fmt: skip
        component = f"{entry.alias}.{detail}" if detail else entry.alias
        return logged_step(self.tlog, request, component, f"outbox:{what}", detail, action, tid)

    def transition_log(
        self, request: RequestContext, entry: OutboxEntry, state: str, tid: str | None, error: str = "", ok: bool = True
    ) -> list[dict[str, Any]]:
        """The log row telling that ``entry`` reaches ``state``, to commit with the state change itself (so the
        log never lacks a state the outbox holds); none when the log's level leaves transitions out."""
        return self._transition_row(request, state, error or entry.id, tid, ok)

    def member_log(
        self, member: PacketMember, state: str, tid: str | None, text: str, ok: bool
    ) -> list[dict[str, Any]]:
        """The log row telling that an IDoc of a packet reaches ``state`` (under its own request's transaction
        ID, the packet's TID as its correlation), to commit with the packet's state change."""
        request = RequestContext(member.transaction_id, 0, member.service, member.operation)
        return self._transition_row(request, state, text, tid, ok)

    def _transition_row(
        self, request: RequestContext, state: str, text: str, tid: str | None, ok: bool
    ) -> list[dict[str, Any]]:
        if self.tlog is None or not self.tlog.enabled_for(LogType.TRANSITION_EXIT):
            return []
        event = event_entry(request, LogType.TRANSITION_EXIT, "TRFCOutbox", 0, ok, state, text, tid, Domain.SAPRFC)
        return [row_from_entry(event)]

    def retry(self, entry: OutboxEntry, request: RequestContext, error: str, key: str | None, *,
              failures: int, wait: float | None = None) -> None:  # fmt: skip
        """RETRY_WAIT until the backoff after ``failures`` failures (or ``wait`` seconds), keeping the TID."""
        now = datetime.now(UTC)
        due = self.backoff.next_attempt(now, failures) if wait is None else now + timedelta(seconds=wait)
        log = self.transition_log(request, entry, "RETRY_WAIT", entry.tid, f"{key}: {error}"[:200], ok=False)
        try:
            self.store.mark_retry(entry.id, self.owner, error, key, due, log=log)
        except LeaseLost:
            return
        self.retries[entry.alias] += 1

    def _fail(self, entry: OutboxEntry, request: RequestContext, exc: ConnectorError) -> None:
        """FAILED. A packet whose call SAP's function refused (an ABAP exception on the submit: SAP rolled it
        back) is split instead (see :mod:`idocbridge.transactions.packets`), unless it is in a qRFC queue: SAP
        keeps a refused queued call at the head of its queue (SYSFAIL), so it FAILS with its TID like any
        entry. A packet that fails otherwise (configuration, SAP's runtime) keeps its IDocs and its TID for an
        operator's retry."""
        refused = (
            entry.is_packet and entry.queue is None and isinstance(exc, ABAPApplicationError) and entry.tid is not None
        )
        state = "REFUSED" if refused else "FAILED"
        log = self.transition_log(request, entry, state, entry.tid, f"{exc.key}: {exc.message}"[:200], ok=False)
        try:
            if refused:
                self.store.refuse_packet(entry.id, self.owner, exc.message, exc.key, log=log,
                                         member_log=self.member_log)  # fmt: skip
            else:
                self.store.mark_failed(entry.id, self.owner, exc.message, exc.key, log=log)
        except LeaseLost:
            return
