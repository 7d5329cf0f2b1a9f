"""One tRFC unit from start to end: TID, submit, confirm, in that order (SAP-FACTS §3).

This is the one place that knows the sequence; the outbox's deliverer and the steps of a direct
activity both drive a :class:`TrfcUnit`. Each step is written down in the unit's
:class:`UnitJournal` before the next one starts, so a durable journal (the outbox) makes the
sequence write-ahead: the TID is committed before the submit, the execution before the confirm.

The rules it keeps:

- a TID is asked for once; every submit of the unit uses it, however often it is retried;
- nothing is submitted after the confirm, and nothing is confirmed before a submit succeeded;
- the confirm runs on a connection that can confirm the unit: a library that confirms only units
  submitted on the same connection (SAP's PyRFC) gets the unit submitted again under the same TID
  first, which SAP answers without running the call again (its TID table says it ran), but only while
  no confirm has gone out: the journal records that one goes out *before* it is sent, because SAP may
  forget the TID as soon as it arrives, and a submit after that would run the call again;
- a confirm that could not be sent raises, so the journal never records a confirm that did not happen.
  A unit whose earlier confirm may have reached SAP, resumed on a connection that cannot confirm it,
  is recorded as confirmed without another call (SAP may keep the TID in its table; it still never
  runs it twice).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Protocol

from idocbridge.connectors.base import Connector, Parameters
from idocbridge.errors import IdocbridgeError

__all__ = ["NO_JOURNAL", "TrfcUnit", "UnitCall", "UnitJournal", "UnitSequenceError"]

log = logging.getLogger("idocbridge.connectors")


class UnitSequenceError(IdocbridgeError):
    """A step out of order: a submit without a TID or after the confirm, a confirm before the submit."""


@dataclass(frozen=True)
class UnitCall:
    """The one function call a tRFC unit holds (qRFC with ``queue``)."""

    function: str
    parameters: Parameters
    queue: str | None = None


class UnitJournal(Protocol):
    """Where a unit's progress is committed; each method returns only once it is written."""

    def tid_assigned(self, tid: str) -> None:
        """SAP gave the unit ``tid``; nothing has been sent under it yet."""

    def before_change(self) -> None:
        """A call that changes SAP is about to go out: raise to stop it (e.g. the work was taken over)."""

    def executed(self, tid: str, confirm_sending: bool = False) -> None:
        """SAP ran the unit's call; with ``confirm_sending``, its confirm goes out next (as :meth:`confirm_sending`
        says, written with the execution)."""

    def confirm_sending(self, tid: str) -> None:
        """A confirm is about to go out: from now on the unit is never submitted again."""

    def confirmed(self, tid: str) -> None:
        """SAP confirmed the unit and forgets its TID."""


class _NoJournal:
    """A journal that writes nothing down: direct delivery, whose progress lives only in the request."""

    def tid_assigned(self, tid: str) -> None:
        return None

    def before_change(self) -> None:
        return None

    def executed(self, tid: str, confirm_sending: bool = False) -> None:
        return None

    def confirm_sending(self, tid: str) -> None:
        return None

    def confirmed(self, tid: str) -> None:
        return None


NO_JOURNAL: UnitJournal = _NoJournal()
"""The journal of units whose progress is kept in memory only (``delivery: direct``)."""


@dataclass
class TrfcUnit:
    """The state of one unit and the steps that move it on; resume a unit by giving its TID and progress."""

    journal: UnitJournal = field(default=NO_JOURNAL)
    tid: str | None = None
    executed: bool = False
    confirm_sent: bool = False
    """A confirm went out (it may have reached SAP): never submit the unit again."""
    confirmed: bool = False

    def assign_tid(self, sap: Connector) -> str:
        """The unit's TID: asked of SAP the first time, then always the same."""
        if self.tid is None:
            tid = sap.get_transaction_id()
            self.journal.tid_assigned(tid)
            self.tid = tid
        return self.tid

    def submit(self, sap: Connector, call: UnitCall, *, confirm_next: bool = False) -> None:
        """Run ``call`` in SAP under the unit's TID; a unit that ran already is not submitted again.

        ``confirm_next``: the caller confirms the unit on this connection right after, so the journal
        writes the execution and the confirm's going out in one step (where ``sap`` can confirm it)."""
        tid = self._tid("submit")
        if self.confirmed:
            raise UnitSequenceError(f"unit {tid} is confirmed: its call is never submitted again")
        if self.executed:
            return
        self.journal.before_change()
        sap.submit_transaction(tid, call.function, call.parameters, call.queue)
        self.executed = True
        confirming = confirm_next and sap.can_confirm(tid)
        self.journal.executed(tid, confirm_sending=confirming)
        self.confirm_sent = self.confirm_sent or confirming

    def confirm(self, sap: Connector, call: UnitCall | None = None) -> None:
        """Let SAP forget the TID. ``call`` lets a connection that did not submit the unit submit it
        again first (SAP skips the execution), where the library needs that for the confirm."""
        tid = self._tid("confirm")
        if not self.executed:
            raise UnitSequenceError(f"unit {tid} cannot be confirmed before its call ran")
        if self.confirmed:
            return
        self.journal.before_change()
        if not sap.can_confirm(tid):
            if self.confirm_sent:
                log.warning(
                    "unit %s: an earlier confirm may have reached SAP and this connection cannot confirm it without "
                    "submitting it again, which could run the call twice; it is recorded as confirmed (SAP may keep "
                    "the TID in ARFCRSTATE, see SM58; it never runs it again)",
                    tid,
                )
                self.confirmed = True
                self.journal.confirmed(tid)
                return
            if call is None:
                raise UnitSequenceError(
                    f"this connection cannot confirm unit {tid} without submitting it again, and its call is unknown"
                )
            sap.submit_transaction(tid, call.function, call.parameters, call.queue)
        if not self.confirm_sent:
            self.journal.confirm_sending(tid)
            self.confirm_sent = True
        sap.confirm_transaction(tid)
        self.confirmed = True
        self.journal.confirmed(tid)

    def _tid(self, step: str) -> str:
        if self.tid is None:
            raise UnitSequenceError(f"a unit needs its TID before the {step}")
        return self.tid
