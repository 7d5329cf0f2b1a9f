"""The tRFC outbox: every call to SAP is committed before it is sent, then delivered exactly once.

An entry is accepted (:meth:`OutboxStore.accept`), claimed by a worker under a lease
(:meth:`OutboxStore.claim`), gets its TID committed before the submit (write-ahead), is executed and
confirmed; temporary errors wait in RETRY_WAIT and resume their phase with the same TID (SAP-FACTS §3).
The states and their rules are in :mod:`idocbridge.transactions.states`; the table ``trfc_outbox``
(migration 0002) in :mod:`idocbridge.transactions.tables`. See docs/outbox-storage.md.
"""

from __future__ import annotations

from idocbridge.transactions.states import (
    ACTIVE_STATES,
    FINAL_STATES,
    TRANSITIONS,
    InvalidTransition,
    OutboxError,
    OutboxState,
    Phase,
    check_transition,
    resume_phase,
)
from idocbridge.transactions.store import Accepted, DuplicateTid, EntryBusy, EntryNotFound, LeaseLost, OutboxStore
from idocbridge.transactions.tables import NewEntry, OutboxEntry, TrfcOutboxRow, outbox_table

__all__ = [
    "ACTIVE_STATES",
    "FINAL_STATES",
    "TRANSITIONS",
    "Accepted",
    "DuplicateTid",
    "EntryBusy",
    "EntryNotFound",
    "InvalidTransition",
    "LeaseLost",
    "NewEntry",
    "OutboxEntry",
    "OutboxError",
    "OutboxState",
    "OutboxStore",
    "Phase",
    "TrfcOutboxRow",
    "check_transition",
    "outbox_table",
    "resume_phase",
]
