"""The receipt of a tRFC delivery: what every answer and the outbox say about a request's transaction.

One builder for all of them (the chain's direct delivery, the outbox's answers, the deliverer's
CONFIRMED receipt), so the three can never disagree. It imports nothing of the outbox, so any module
of it may use it.
"""

from __future__ import annotations

from typing import Any

__all__ = ["delivery_receipt"]


def delivery_receipt(
    transaction_id: str, tid: str | None, state: str, packet_position: int | None = None
) -> dict[str, Any]:
    """The receipt: the request's ``transactionId``, the SAP ``tid`` ("" while there is none) and the ``state``;
    for an IDoc sent in a packet also its ``packetPosition`` (from 1), the ``tid`` being its packet's."""
    receipt: dict[str, Any] = {"transactionId": transaction_id, "tid": tid or "", "state": str(state)}
    if packet_position is not None:
        receipt["packetPosition"] = packet_position
    return receipt
