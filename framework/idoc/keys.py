"""Business keys of an IDoc call: what identifies it to people (message type, partners, order numbers).

The control record gives the same keys for every IDoc: the IDoc type and extension, the message type, the
sender and receiver partner, and the sender's own DOCNUM. A model names more per operation as
``SEGMENT-FIELD`` (``E1EDK01-BELNR``): the field's value in the first segment of that type, cut from SDATA
with the IDoc type's metadata. Values are trimmed; empty ones are not keys.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from idocbridge.idoc.metadata import IDocType

__all__ = ["CONTROL_KEYS", "IDOC_TABLES", "KeyPath", "idoc_keys", "parse_key_paths", "records_by_docnum"]

CONTROL_KEYS: tuple[tuple[str, str], ...] = (
    ("IDOCTYP", "IDOCTYP"),
    ("CIMTYP", "CIMTYP"),
    ("MESTYP", "MESTYP"),
    ("SNDPRN", "SNDPRN"),
    ("RCVPRN", "RCVPRN"),
    ("SNDDOCNUM", "DOCNUM"),
)
"""(key name, control record field): the keys every IDoc has. SNDDOCNUM is the sender's DOCNUM (SAP gives
the IDoc a number of its own, recorded as its fate)."""

IDOC_TABLES: dict[str, tuple[str, str]] = {
    "IDOC_INBOUND_ASYNCHRONOUS": ("IDOC_CONTROL_REC_40", "IDOC_DATA_REC_40"),
    "IDOC_INBOUND_IN_QUEUE": ("IDOC_CONTROL_REC_40", "IDOC_DATA_QUEUE"),
}
"""The functions that take IDocs, and their control and data record tables."""

_PATH = re.compile(r"(?P<segment>[A-Z0-9_/]{1,30})-(?P<field>[A-Z0-9_/]{1,30})")

MetadataLookup = Callable[[str, str | None], IDocType]
"""The metadata of an IDoc type by basic type and extension (raises when unknown)."""


@dataclass(frozen=True, slots=True)
class KeyPath:
    """A key the model names: the ``field`` of the first segment of type ``segment``."""

    segment: str
    field: str

    @property
    def name(self) -> str:
        """``SEGMENT-FIELD``, the key's name in the log."""
        return f"{self.segment}-{self.field}"


def parse_key_paths(text: str | None) -> tuple[KeyPath, ...]:
    """The comma-separated ``SEGMENT-FIELD`` names of ``text`` (upper case); ValueError names a bad one."""
    paths: list[KeyPath] = []
    for written in (text or "").split(","):
        item = written.strip()
        if not item:
            continue
        match = _PATH.fullmatch(item.upper())
        if match is None:
            raise ValueError(f"{item!r} is no SEGMENT-FIELD name (write e.g. E1EDK01-BELNR)")
        paths.append(KeyPath(match["segment"], match["field"]))
    return tuple(paths)


def idoc_keys(
    function: str,
    parameters: Mapping[str, Any],
    paths: Sequence[KeyPath] = (),
    lookup: MetadataLookup | None = None,
) -> tuple[tuple[str, str], ...]:
    """The keys (name, value) of the IDocs in a call of ``function`` with ``parameters``: none for a function
    that takes no IDocs. ``paths`` need ``lookup`` (an IDoc type it does not know gives no such key)."""
    tables = IDOC_TABLES.get(function)
    if tables is None:
        return ()
    controls = _records(parameters.get(tables[0]))
    data = _records(parameters.get(tables[1]))
    keys: list[tuple[str, str]] = []
    by_docnum = records_by_docnum(data) if len(controls) > 1 and paths else {}
    for control in controls:
        keys.extend((name, value) for name, field in CONTROL_KEYS if (value := _text(control.get(field))))
        if paths and lookup is not None:
            own = by_docnum.get(_text(control.get("DOCNUM")), []) if len(controls) > 1 else data
            keys.extend(_path_keys(control, own, paths, lookup))
    return tuple(dict.fromkeys(keys))


def records_by_docnum(data: Iterable[Mapping[str, Any]]) -> dict[str, list[Mapping[str, Any]]]:
    """The data records of a call of many IDocs, by the DOCNUM of the IDoc each belongs to (in one pass)."""
    grouped: dict[str, list[Mapping[str, Any]]] = {}
    for record in data:
        grouped.setdefault(_text(record.get("DOCNUM")), []).append(record)
    return grouped


def _path_keys(
    control: Mapping[str, Any], data: Iterable[Mapping[str, Any]], paths: Sequence[KeyPath], lookup: MetadataLookup
) -> list[tuple[str, str]]:
    try:
        idoc_type = lookup(_text(control.get("IDOCTYP")), _text(control.get("CIMTYP")) or None)
    except Exception:  # an unknown type: the model's keys cannot be cut, the control keys stand
        return []
    wanted = {path.segment: path for path in paths}
    keys: list[tuple[str, str]] = []
    found: set[KeyPath] = set()
    for record in data:
        segment = idoc_type.resolve(_text(record.get("SEGNAM")))
        if segment is None:
            continue
        for path in paths:
            if path.segment != segment.segment_type or path in found or path.segment not in wanted:
                continue
            field = segment.field(path.field)
            if field is not None and (value := field.value_in(str(record.get("SDATA", ""))).strip()):
                keys.append((path.name, value))
            found.add(path)
        if len(found) == len(paths):
            break
    return keys


def _records(value: object) -> list[Mapping[str, Any]]:
    return [record for record in value if isinstance(record, Mapping)] if isinstance(value, list) else []


def _text(value: object) -> str:
    return "" if value is None else str(value).strip()
