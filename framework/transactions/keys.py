"""Business keys: recorded with each accepted outbox entry, in the transaction that accepts it.

A key is what a person searches by: the MessageId the client sent, the IDoc's message type and partners,
the sender's DOCNUM, an order number the model names (``E1EDK01-BELNR``). ``idocbridge log --key``,
``idocbridge tx show`` and the monitor find requests by any of them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, insert, select

from idocbridge.db.prepared import Prepared
from idocbridge.transactions.fate_tables import KEY_VALUE_LENGTH, business_keys_table

__all__ = ["KEYS_OF", "MESSAGE_ID_KEY", "insert_keys", "key_rows"]

MESSAGE_ID_KEY = "MessageId"
"""The key name of the MessageId the client sent (a request of many IDocs: the one it sent, on each)."""

_INSERT = Prepared(insert(business_keys_table))
_K = business_keys_table

KEYS_OF = (
    select(_K.c.outbox_id, _K.c.name, _K.c.value)
    .where(_K.c.outbox_id.in_(bindparam("b_ids", expanding=True)))
    .order_by(_K.c.id)
)
"""The keys of the outbox entries ``b_ids``, in the order they were recorded."""


def key_rows(
    outbox_id: str | None,
    transaction_id: str,
    keys: Iterable[tuple[str, str]],
    at: datetime,
    message_id: str | None = None,
) -> list[dict[str, Any]]:
    """The ``business_keys`` rows of one entry: the MessageId (when sent) and ``keys``, each once."""
    named = [(MESSAGE_ID_KEY, message_id)] if message_id else []
    unique = dict.fromkeys((name, value[:KEY_VALUE_LENGTH]) for name, value in [*named, *keys] if value)
    return [
        {"outbox_id": outbox_id, "transaction_id": transaction_id, "name": name[:64], "value": value, "at": at}
        for name, value in unique
    ]


def insert_keys(connection: Connection, rows: Sequence[dict[str, Any]]) -> None:
    """Insert ``rows`` (:func:`key_rows`) in the caller's transaction; nothing for none."""
    if rows:
        _INSERT.execute_many(connection, rows)
