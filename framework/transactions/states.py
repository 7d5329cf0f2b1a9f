"""The states of a tRFC outbox entry, the phase a retry resumes, and the allowed transitions (SAP-FACTS §3).

::

    ACCEPTED --assign_tid--> TID_ASSIGNED --mark_executed--> EXECUTED --mark_confirmed--> CONFIRMED (final)
    ACCEPTED | TID_ASSIGNED | EXECUTED --> RETRY_WAIT     (a temporary error; from EXECUTED a failed confirm)
    ACCEPTED | TID_ASSIGNED --> FAILED (final)            (a permanent error)
    ACCEPTED --> CANCELLED (final)                        (operator)
    RETRY_WAIT --> the state its phase completes, RETRY_WAIT, FAILED (not after execution),
                   CANCELLED (only without a TID)
    FAILED --> RETRY_WAIT                                 (operator retry, keeping the TID)
    FAILED --> CANCELLED                                  (operator: give up; SAP refused the call, so
                                                           nothing of it runs there; its qRFC queue goes on)

IDoc packets (:mod:`idocbridge.transactions.packets`): an ACCEPTED IDoc entry gathered into a packet is
PACKED; the packet is an entry of its own that runs the states above for all its IDocs under one TID.
When it is CONFIRMED its IDocs are too; when SAP refuses it, it is REFUSED and its IDocs go on in two
smaller packets (PACKED again), or, alone, FAILED::

    ACCEPTED --> PACKED --> CONFIRMED | FAILED            (with its packet)
    PACKED --> PACKED                                     (its packet was refused: a smaller packet)
    ACCEPTED | TID_ASSIGNED | RETRY_WAIT --> REFUSED      (a packet SAP refused; final)

The phase of an entry follows from what it already has: no TID yet means it must get one
(:attr:`Phase.GET_TID`), a TID but no execution means it must submit with that TID
(:attr:`Phase.SUBMIT`), an execution means only the confirm is left (:attr:`Phase.CONFIRM`).
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum

from idocbridge.errors import IdocbridgeError

__all__ = [
    "ACTIVE_STATES",
    "FINAL_STATES",
    "QUEUE_OPEN_STATES",
    "SETTLED_STATES",
    "TRANSITIONS",
    "InvalidTransition",
    "OutboxError",
    "OutboxState",
    "Phase",
    "check_transition",
    "resume_phase",
]


class OutboxError(IdocbridgeError):
    """Base class of the tRFC outbox's errors."""


class InvalidTransition(OutboxError):
    """A state change the outbox rules forbid (for example a submit after the confirm)."""


class OutboxState(StrEnum):
    """Where an outbox entry stands."""

    ACCEPTED = "ACCEPTED"
    """Committed, nothing sent to SAP yet."""
    TID_ASSIGNED = "TID_ASSIGNED"
    """The TID from SAP is committed (write-ahead); the submit may be under way."""
    EXECUTED = "EXECUTED"
    """SAP ran the call; the confirm is still to do."""
    CONFIRMED = "CONFIRMED"
    """Confirmed: SAP forgot the TID. Final."""
    RETRY_WAIT = "RETRY_WAIT"
    """A temporary error; resumes its phase at ``next_attempt_at``."""
    FAILED = "FAILED"
    """A permanent error. Final, except for an operator's retry or cancel; it stops its qRFC queue."""
    CANCELLED = "CANCELLED"
    """Cancelled by an operator before any TID was assigned, or after it FAILED. Final."""
    PACKED = "PACKED"
    """Gathered into an IDoc packet (``packet_id``), which delivers it; it holds its qRFC queue."""
    REFUSED = "REFUSED"
    """A packet SAP refused: its IDocs went on in smaller packets, or, one left, FAILED. Final."""


class Phase(StrEnum):
    """The step an unfinished entry does next."""

    GET_TID = "GET_TID"
    SUBMIT = "SUBMIT"
    CONFIRM = "CONFIRM"

    @property
    def completes(self) -> OutboxState:
        """The state an entry reaches when this phase succeeds."""
        return _COMPLETES[self]


_COMPLETES = {
    Phase.GET_TID: OutboxState.TID_ASSIGNED,
    Phase.SUBMIT: OutboxState.EXECUTED,
    Phase.CONFIRM: OutboxState.CONFIRMED,
}

FINAL_STATES = frozenset({OutboxState.CONFIRMED, OutboxState.FAILED, OutboxState.CANCELLED, OutboxState.REFUSED})
"""States no worker touches again."""

ACTIVE_STATES = frozenset(
    {OutboxState.ACCEPTED, OutboxState.TID_ASSIGNED, OutboxState.EXECUTED, OutboxState.RETRY_WAIT}
)
"""States a worker may claim (RETRY_WAIT once ``next_attempt_at`` has come)."""

SETTLED_STATES = frozenset({OutboxState.CONFIRMED, OutboxState.CANCELLED, OutboxState.REFUSED})
"""States that leave nothing open in SAP or for an operator: the others are open (FAILED too, since its TID may
wait in SAP's tRFC table until an operator acts; a packet SAP refused is settled, its IDocs went on alone)."""

QUEUE_OPEN_STATES = ACTIVE_STATES | {OutboxState.FAILED, OutboxState.PACKED}
"""States of an entry that hold the later entries of its qRFC queue back: only CONFIRMED and CANCELLED let
them go (FAILED stops the queue until an operator acts)."""

_S = OutboxState
TRANSITIONS: Mapping[OutboxState, frozenset[OutboxState]] = {
    _S.ACCEPTED: frozenset({_S.TID_ASSIGNED, _S.RETRY_WAIT, _S.FAILED, _S.CANCELLED, _S.PACKED, _S.REFUSED}),
    _S.TID_ASSIGNED: frozenset({_S.EXECUTED, _S.RETRY_WAIT, _S.FAILED, _S.REFUSED}),
    _S.EXECUTED: frozenset({_S.CONFIRMED, _S.RETRY_WAIT}),
    _S.RETRY_WAIT: frozenset(
        {_S.TID_ASSIGNED, _S.EXECUTED, _S.CONFIRMED, _S.RETRY_WAIT, _S.FAILED, _S.CANCELLED, _S.REFUSED}
    ),
    _S.CONFIRMED: frozenset(),
    _S.FAILED: frozenset({_S.RETRY_WAIT, _S.CANCELLED}),
    _S.CANCELLED: frozenset(),
    _S.PACKED: frozenset({_S.PACKED, _S.CONFIRMED, _S.FAILED}),
    _S.REFUSED: frozenset(),
}
"""The states each state may change to; from RETRY_WAIT :func:`check_transition` also checks the phase."""


def resume_phase(tid: str | None, executed: bool) -> Phase:
    """The phase an entry with this TID and execution flag does next (a retry resumes it)."""
    if executed:
        return Phase.CONFIRM
    return Phase.GET_TID if tid is None else Phase.SUBMIT


def check_transition(old: OutboxState, new: OutboxState, phase: Phase | None = None) -> None:
    """Raise :class:`InvalidTransition` unless an entry in ``old`` may change to ``new``.

    ``phase`` is the entry's :func:`resume_phase`. Given, it adds the phase rules: RETRY_WAIT resumes
    only its own phase; after a TID was assigned an entry can no longer be cancelled (a submit may have
    reached SAP, which a cancel cannot undo), except a FAILED one, which SAP refused; an executed entry is
    never FAILED, its confirm is retried.
    """
    if new not in TRANSITIONS[old]:
        allowed = ", ".join(sorted(TRANSITIONS[old])) or "nothing: it is final"
        raise InvalidTransition(f"an outbox entry in {old} cannot change to {new} (allowed: {allowed})")
    if phase is None:
        return
    if new == _S.CANCELLED and phase is not Phase.GET_TID and old != _S.FAILED:
        raise InvalidTransition(f"an outbox entry in phase {phase} cannot be cancelled: its TID may have reached SAP")
    if new in (_S.FAILED, _S.REFUSED) and phase is Phase.CONFIRM:
        raise InvalidTransition("an executed outbox entry cannot fail: SAP ran it, only its confirm is retried")
    if old == _S.RETRY_WAIT and new in _COMPLETES.values() and new != phase.completes:
        raise InvalidTransition(
            f"an outbox entry waiting to resume phase {phase} can only change to {phase.completes}, not {new}"
        )
