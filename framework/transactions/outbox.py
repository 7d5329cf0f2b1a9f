"""What a SOAP request does with a tRFC chain: accept it into the outbox, then wait a little or fully.

``guaranteed`` operations reply as soon as the entry is committed, after waiting briefly so that the
reply can usually name the TID and CONFIRMED; ``synchronous`` ones wait for the confirm and report
failure as a fault. A message ID makes a request idempotent: the same ID returns the same entry.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from idocbridge.errors import IdocbridgeError
from idocbridge.transactions.scheduler import OutboxWorker
from idocbridge.transactions.states import OutboxState
from idocbridge.transactions.store import EntryNotFound, OutboxStore
from idocbridge.transactions.tables import NewEntry, OutboxEntry
from idocbridge.values import dumps

__all__ = ["FINAL", "DeliveryFailed", "DeliveryPending", "Outbox", "json_safe"]

FINAL = frozenset({OutboxState.CONFIRMED, OutboxState.FAILED, OutboxState.CANCELLED})


class DeliveryFailed(IdocbridgeError):
    """A synchronous delivery ended FAILED: SAP refused the call."""

    def __init__(self, entry: OutboxEntry) -> None:
        super().__init__(entry.last_error or "delivery failed")
        self.entry = entry


class DeliveryPending(IdocbridgeError):
    """A synchronous delivery did not finish in time; the outbox goes on with it."""

    def __init__(self, entry: OutboxEntry) -> None:
        super().__init__(f"not confirmed yet (state {entry.state})")
        self.entry = entry


def json_safe(parameters: dict[str, Any]) -> dict[str, Any]:
    """Parameters as plain JSON values (decimals and bytes tagged), as the outbox stores them."""
    result: dict[str, Any] = json.loads(dumps(parameters))
    return result


@dataclass
class Outbox:
    store: OutboxStore
    worker: OutboxWorker
    guaranteed_wait: float = 2.0
    synchronous_wait: float = 60.0

    def submit(self, entry: NewEntry, synchronous: bool) -> tuple[OutboxEntry, bool]:
        """Accept ``entry`` (or find its twin by message ID); return the entry after waiting, and whether it is new."""
        accepted, created = self.store.accept(entry)
        if created:
            self.worker.wake()
        waited = self.wait(accepted.id, self.synchronous_wait if synchronous else self.guaranteed_wait)
        return waited, created

    def wait(self, entry_id: str, timeout: float) -> OutboxEntry:
        """The entry once final, or as it stands after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        delay = 0.01
        while True:
            entry = self.store.get(entry_id)
            if entry is None:  # purged while waiting: only possible with a retention shorter than a request
                raise EntryNotFound(f"outbox entry {entry_id} disappeared while the request waited for it")
            if entry.state in FINAL or time.monotonic() >= deadline:
                return entry
            time.sleep(delay)
            delay = min(delay * 2, 0.2)

    @staticmethod
    def receipt(entry: OutboxEntry) -> dict[str, Any]:
        return {"transactionId": entry.transaction_id, "tid": entry.tid or "", "state": str(entry.state)}
