"""Finding requests by whatever a person has of them: a transaction ID, an outbox ID, a TID, SAP's DOCNUM or
a business key (the MessageId the client sent, the message type, an order number the model names).

:func:`find_requests` tries each kind in turn, each one an indexed lookup, and stops at the first that
matches:

1. a transaction ID (``trfc_outbox.transaction_id``; else one the transaction log holds);
2. an outbox entry's ID;
3. a TID (an entry's own; a packet's TID gives the packet's IDoc entries, by their ``packet_id``; else
   a correlation ID of the transaction log);
4. a DOCNUM SAP gave an IDoc (digits, zero-padded to 16: ``sap_idocs.docnum``);
5. a business key's value, of any name; ``NAME=VALUE`` a key of that name only (``MessageId=...``,
   ``E1EDK01-BELNR=...``; the name in any case).

The text is trimmed; IDs and values are compared as given (key values as they were recorded: trimmed,
cut to 255 characters). :func:`transactions_with_key` and :func:`outbox_ids_with_key` are the key lookup as
subqueries (``idocbridge log --key``, ``idocbridge tx list --key``); :func:`entries_with_key` lists the
outbox entries of a key.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from sqlalchemy import ColumnElement, Connection, Engine, Select, and_, func, or_, select

from idocbridge.tlog.tables import transaction_log_table
from idocbridge.transactions.fate_tables import KEY_VALUE_LENGTH, business_keys_table, sap_idocs_table
from idocbridge.transactions.keys import MESSAGE_ID_KEY
from idocbridge.transactions.states import OutboxState
from idocbridge.transactions.tables import COLUMNS_BUT_PARAMETERS, OutboxEntry, entry_without_parameters, outbox_table

__all__ = [
    "Match",
    "entries_with_key",
    "find_requests",
    "outbox_ids_with_key",
    "split_key",
    "transactions_with_key",
]

_T, _L, _I, _K = outbox_table, transaction_log_table, sap_idocs_table, business_keys_table

DOCNUM_LENGTH = 16
"""SAP's IDoc numbers have 16 digits (EDIDC-DOCNUM); shorter ones are zero-padded."""

NAME_LENGTH = 64
"""Longest key name kept (``business_keys.name``)."""

_NAME = re.compile(r"[A-Za-z0-9_/-]{1,64}")
"""What the ``NAME`` of ``NAME=VALUE`` may be: a key name (``MessageId``, ``MESTYP``, ``E1EDK01-BELNR``)."""


@dataclass(frozen=True, slots=True)
class Match:
    """What :func:`find_requests` found for a text."""

    outbox_ids: tuple[str, ...]
    """Outbox entries found, oldest first (a packet's IDoc entries, not the packet, when a TID/DOCNUM names one
    of them)."""
    transaction_ids: tuple[str, ...]
    """Requests found, oldest first (also those known only from the transaction log)."""
    matched: str
    """What the text was taken as, for people: "transaction ID", "outbox ID", "TID", "SAP DOCNUM", "MessageId",
    "E1EDK01-BELNR" (the key's name; several names joined by " or ") ...; "" when nothing matched."""


_NOTHING = Match((), (), "")


def find_requests(engine: Engine, text: str, *, limit: int = 200) -> Match:
    """The outbox entries and requests ``text`` names (see the module's text); at most ``limit`` of each: the
    newest, still oldest first. Nothing found (or an empty text): ``Match((), (), "")``."""
    if limit < 1:
        raise ValueError(f"the limit is >= 1, not {limit}")
    wanted = text.strip()
    if not wanted or not _storable(wanted):
        return _NOTHING
    with engine.connect() as connection:
        for lookup in _LOOKUPS:
            found = lookup(connection, wanted, limit)
            if found is not None:
                return found
    return _NOTHING


def _storable(text: str) -> bool:
    """Whether a database can hold ``text`` (no NUL, no lone surrogate), so that any ID or key may."""
    return "\x00" not in text and not any(0xD800 <= ord(char) <= 0xDFFF for char in text)


# -- the lookups, in order -------------------------------------------------------------------------------------

_Lookup = Callable[[Connection, str, int], Match | None]

_ENTRY = (_T.c.id, _T.c.transaction_id, _T.c.packet_size)
"""What a lookup reads of an entry: its ID, its request, and whether it is a packet."""


class _Found(NamedTuple):
    id: str
    transaction_id: str
    packet_size: int | None


def _found(connection: Connection, query: Select[Any]) -> list[_Found]:
    return [_Found(row.id, row.transaction_id, row.packet_size) for row in connection.execute(query)]


def _by_transaction_id(connection: Connection, wanted: str, limit: int) -> Match | None:
    newest = (
        select(*_ENTRY)
        .where(_T.c.transaction_id == wanted)
        .order_by(_T.c.created_at.desc(), _T.c.id.desc())
        .limit(limit)
    )
    rows = _found(connection, newest)[::-1]
    if rows:
        return _match(rows, "transaction ID")
    logged = connection.execute(select(_L.c.transaction_id).where(_L.c.transaction_id == wanted).limit(1)).first()
    return None if logged is None else Match((), (wanted,), "transaction ID")


def _by_outbox_id(connection: Connection, wanted: str, limit: int) -> Match | None:
    rows = _found(connection, select(*_ENTRY).where(_T.c.id == wanted))
    return _match(rows, "outbox ID") if rows else None


def _by_tid(connection: Connection, wanted: str, limit: int) -> Match | None:
    rows = _found(connection, select(*_ENTRY).where(_T.c.tid == wanted))
    if rows:
        return _match(_unpacked(connection, rows, limit), "TID")
    first_seen = func.min(_L.c.at)
    logged = (
        select(_L.c.transaction_id, first_seen)
        .where(_L.c.correlation_id == wanted)
        .group_by(_L.c.transaction_id)
        .order_by(first_seen.desc(), _L.c.transaction_id.desc())
        .limit(limit)
    )
    transaction_ids = tuple(row.transaction_id for row in connection.execute(logged).all()[::-1])
    return Match((), transaction_ids, "TID") if transaction_ids else None


def _by_docnum(connection: Connection, wanted: str, limit: int) -> Match | None:
    if not (wanted.isascii() and wanted.isdigit()) or len(wanted) > DOCNUM_LENGTH:
        return None
    docnum = wanted.zfill(DOCNUM_LENGTH)
    # a DOCNUM names an IDoc per SAP system (alias): a few rows at most
    owners = connection.execute(select(_I.c.outbox_id).where(_I.c.docnum == docnum)).scalars().all()
    if not owners:
        return None
    rows = _entries(connection, list(dict.fromkeys(owners)))
    found = _match(_unpacked(connection, rows, limit), "SAP DOCNUM")
    return found if found.outbox_ids else None


def _by_key(connection: Connection, wanted: str, limit: int) -> Match | None:
    keys = connection.execute(
        select(_K.c.outbox_id, _K.c.transaction_id, _K.c.name)
        .where(_key_condition(wanted))
        .order_by(_K.c.id.desc())
        .limit(limit)
    ).all()[::-1]  # fmt: skip
    if not keys:
        return None
    named = [key.outbox_id for key in keys if key.outbox_id is not None]
    present = {row.id for row in _entries(connection, list(dict.fromkeys(named)))} if named else set()
    outbox_ids = tuple(dict.fromkeys(outbox_id for outbox_id in named if outbox_id in present))
    transaction_ids = tuple(dict.fromkeys(key.transaction_id for key in keys))
    return Match(outbox_ids, transaction_ids, " or ".join(dict.fromkeys(key.name for key in keys)))


_LOOKUPS: tuple[_Lookup, ...] = (_by_transaction_id, _by_outbox_id, _by_tid, _by_docnum, _by_key)


def _entries(connection: Connection, ids: Sequence[str]) -> list[_Found]:
    """The entries ``ids`` that exist, oldest first (by their primary key)."""
    if not ids:
        return []
    return _found(connection, select(*_ENTRY).where(_T.c.id.in_(list(ids))).order_by(_T.c.created_at, _T.c.id))


def _unpacked(connection: Connection, rows: Sequence[_Found], limit: int) -> list[_Found]:
    """``rows`` with each packet replaced by its IDoc entries (by ``packet_id``, in their order in it); a packet
    whose IDocs went on in other packets (it was refused and split) stays itself."""
    result: list[_Found] = []
    for row in rows:
        members: list[_Found] = []
        if row.packet_size is not None:
            in_it = select(*_ENTRY).where(_T.c.packet_id == row.id).order_by(_T.c.packet_position).limit(limit)
            members = _found(connection, in_it)
        result.extend(members or [row])
    return result[-limit:]


def _match(rows: Sequence[_Found], matched: str) -> Match:
    outbox_ids = tuple(dict.fromkeys(row.id for row in rows))
    transaction_ids = tuple(dict.fromkeys(row.transaction_id for row in rows))
    return Match(outbox_ids, transaction_ids, matched)


# -- business keys -----------------------------------------------------------------------------------------------


def split_key(text: str) -> tuple[str | None, str]:
    """``text`` (trimmed) as (key name, value): ``NAME=VALUE`` gives the name (None without one) and the value,
    cut as values are recorded. The name is taken as written and as keys are named (``MessageId``; the
    others in upper case: see :func:`_key_condition`)."""
    wanted = text.strip()
    name, equals, value = wanted.partition("=")
    if equals and _NAME.fullmatch(name.strip()) and value.strip():
        return name.strip(), value.strip()[:KEY_VALUE_LENGTH]
    return None, wanted[:KEY_VALUE_LENGTH]


def _key_condition(text: str) -> ColumnElement[bool]:
    """The ``business_keys`` rows ``text`` names: its value under any name; for ``NAME=VALUE`` those of that
    name (as written, or as keys are named: ``MessageId``, others in upper case) and also a value that is the
    whole text (a MessageId may hold ``=``). Each side reads an index: (name, value), or value."""
    wanted = text.strip()
    name, value = split_key(wanted)
    whole = _K.c.value == wanted[:KEY_VALUE_LENGTH]
    if name is None:
        return whole
    named = MESSAGE_ID_KEY if name.casefold() == MESSAGE_ID_KEY.casefold() else name.upper()
    names = sorted({name[:NAME_LENGTH], named[:NAME_LENGTH]})
    return or_(and_(_K.c.name.in_(names), _K.c.value == value), whole)


def transactions_with_key(text: str) -> Select[Any]:
    """The transaction IDs of the requests with the business key ``text`` (a value, or ``NAME=VALUE``), as a
    subquery: ``transaction_id IN (...)`` (by ``ix_business_keys_value`` / ``ix_business_keys_name_value``)."""
    return select(_K.c.transaction_id).where(_key_condition(text))


def outbox_ids_with_key(text: str) -> Select[Any]:
    """The outbox entries with the business key ``text`` (a value, or ``NAME=VALUE``), as a subquery."""
    return select(_K.c.outbox_id).where(_key_condition(text), _K.c.outbox_id.is_not(None))


def entries_with_key(
    engine: Engine,
    text: str,
    *,
    state: OutboxState | None = None,
    service: str | None = None,
    limit: int = 100,
    newest: bool = True,
) -> list[OutboxEntry]:
    """Up to ``limit`` outbox entries with the business key ``text`` (a value, or ``NAME=VALUE``), newest (or
    oldest) first, in ``state`` and of ``service`` when given; without their parameters (left empty)."""
    conditions: list[ColumnElement[bool]] = [_T.c.id.in_(outbox_ids_with_key(text))]
    # the key names few entries: compared as `column || ''`, state and service cannot draw the database to
    # their own index, which holds a large part of the outbox
    if state is not None:
        conditions.append(_T.c.state.concat("") == OutboxState(state).value)
    if service is not None:
        conditions.append(_T.c.service.concat("") == service)
    order = (_T.c.created_at.desc(), _T.c.id.desc()) if newest else (_T.c.created_at, _T.c.id)
    query = select(*COLUMNS_BUT_PARAMETERS).where(*conditions).order_by(*order).limit(limit)
    with engine.connect() as connection:
        return [entry_without_parameters(row) for row in connection.execute(query).mappings()]
