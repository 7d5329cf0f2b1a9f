"""The receipt of a tRFC delivery: what every answer and the outbox say about a request's transaction.

One builder for all of them (the chain's direct delivery, the outbox's answers, the deliverer's
CONFIRMED receipt), so the three can never disagree. It imports nothing of the outbox, so any module
of it may use it.
"""

from __future__ import annotations

from typing import Any

__all__ = ["delivery_receipt", "request_receipt"]

_PROGRESS = ("FAILED", "CANCELLED", "RETRY_WAIT", "ACCEPTED", "PACKED", "TID_ASSIGNED", "EXECUTED", "CONFIRMED")
"""States from least to most advanced, as a request of many IDocs answers the least advanced of them."""


def delivery_receipt(
    transaction_id: str, tid: str | None, state: str, packet_position: int | None = None
) -> dict[str, Any]:
    """The receipt: the request's ``transactionId``, the SAP ``tid`` ("" while there is none) and the ``state``;
    for an IDoc sent in a packet also its ``packetPosition`` (from 1), the ``tid`` being its packet's."""
    receipt: dict[str, Any] = {"transactionId": transaction_id, "tid": tid or "", "state": str(state)}
    if packet_position is not None:
        receipt["packetPosition"] = packet_position
    return receipt


def request_receipt(transaction_id: str, receipts: list[dict[str, Any]]) -> dict[str, Any]:
    """The receipt of a request that carried many IDocs, from each IDoc's receipt (in request order).

    ``state`` is the least advanced of the IDocs' states (CONFIRMED only when every IDoc is); ``tid`` is
    their TID when all went under one (one packet), else ""; ``idocs`` lists each IDoc's ``number`` in the
    request (from 1), ``tid``, ``state`` and, sent in a packet, ``packetPosition``."""
    least = min((str(receipt["state"]) for receipt in receipts), key=_progress)
    tids = {receipt["tid"] for receipt in receipts}
    idocs = [
        {"number": number, **{key: value for key, value in receipt.items() if key != "transactionId"}}
        for number, receipt in enumerate(receipts, start=1)
    ]
    return {"transactionId": transaction_id, "tid": tids.pop() if len(tids) == 1 else "", "state": least,
            "idocs": idocs}  # fmt: skip


def _progress(state: str) -> int:
    """How far ``state`` is along :data:`_PROGRESS`; a state it does not know counts as the least."""
    return _PROGRESS.index(state) if state in _PROGRESS else -1
