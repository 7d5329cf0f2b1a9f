"""IDoc type metadata read from an SAP system with IDOCTYPE_READ_COMPLETE, and a cache for it.

IDOCTYPE_READ_COMPLETE answers with PE_HEADER (EDI_IAPI00), PT_SEGMENTS (EDI_IAPI01, one row per segment
in document order) and PT_FIELDS (EDI_IAPI02, one row per segment field). :func:`read_idoc_type` calls
it through any :class:`~idocbridge.connectors.Connector` and rebuilds the :class:`IDocType` a parser
file of the same type gives (the record-section fields excepted: SAP does not send them here).

Groups: a segment with PARFLG ``X`` heads a group, and that row's GRP_MUSTFL, GRP_OCCMIN and GRP_OCCMAX
are the group's STATUS, LOOPMIN and LOOPMAX; the group has the head's LEVEL. SAP does not number
groups, so they are numbered 1, 2, ... in document order, as parser files do. A row that does not fit
(a PARSEG naming no group head before it, a LEVEL that is not its parent's plus one, a number that is
not a number, fields that overlap, ...) raises :class:`RemoteMetadataError` naming the row; nothing is
guessed.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any

from idocbridge.connectors.base import Connector
from idocbridge.connectors.errors import ABAPApplicationError
from idocbridge.idoc.errors import RemoteMetadataError
from idocbridge.idoc.metadata import SDATA_START, FieldDefinition, GroupDefinition, IDocType, Node, SegmentDefinition

__all__ = ["FUNCTION", "IDocTypeCache", "RemoteMetadataError", "idoc_type_from_answer", "read_idoc_type"]

FUNCTION = "IDOCTYPE_READ_COMPLETE"
"""The function module that reads the metadata of a basic type (with extension) from SAP."""

_TYPES = {"CHAR": "CHARACTER", "NUMC": "NUMERIC", "DATS": "DATE", "TIMS": "TIME"}
"""EDI_IAPI02 DATATYPE -> TYPE as parser files write it; other data types are kept as SAP sends them."""


def _label(name: str, extension: str | None) -> str:
    return name if extension is None else f"{name} with extension {extension}"


def read_idoc_type(
    connection: Connector,
    name: str,
    extension: str | None = None,
    release: str | None = None,
    *,
    system: str | None = None,
) -> IDocType:
    """IDoc type ``name`` (with ``extension``, as of ``release``) as the SAP system behind ``connection`` has it.

    ``connection`` is an open connector (or one that opens on first use). ``system`` names the system in
    error messages (an alias name, say); without it the connector's repr is used. An ABAP exception
    (OBJECT_UNKNOWN for an unknown type) and an answer that makes no valid IDoc type raise
    :class:`RemoteMetadataError`; connection failures raise the connector's own errors.
    """
    where = system if system is not None else repr(connection)
    parameters = {"PI_IDOCTYP": name}
    if extension:
        parameters["PI_CIMTYP"] = extension
    if release:
        parameters["PI_RELEASE"] = release
    try:
        answer = connection.call(FUNCTION, parameters)
    except ABAPApplicationError as exc:
        raise RemoteMetadataError(
            _label(name, extension or None), where, f"{FUNCTION} raised {exc.key}: {exc.message}", key=exc.key
        ) from exc
    return idoc_type_from_answer(answer, name, extension or None, system=where)


def idoc_type_from_answer(answer: Mapping[str, Any], name: str, extension: str | None, *, system: str) -> IDocType:
    """Rebuild an :class:`IDocType` from IDOCTYPE_READ_COMPLETE's PE_HEADER, PT_SEGMENTS and PT_FIELDS.

    Values may be strings (as PyRFC gives NUMC fields) or integers. Raises :class:`RemoteMetadataError`
    naming the first row that cannot be used.
    """
    return _Builder(name, extension, system).build(answer)


@dataclass(eq=False)
class _Segment:
    """A PT_SEGMENTS row, checked, while the tree is put together."""

    row: str
    nr: int
    segment_type: str
    definition_name: str
    level: int
    mandatory: bool
    min_occurs: int
    max_occurs: int
    qualified: bool
    group: tuple[int, bool, int, int] | None  # number, mandatory, min, max when the segment heads a group
    children: list[_Segment] = field(default_factory=list)
    fields: list[FieldDefinition] = field(default_factory=list)


class _Builder:
    def __init__(self, name: str, extension: str | None, system: str) -> None:
        self.name = name
        self.extension = extension
        self.system = system

    def fail(self, detail: str, row: str | None = None) -> RemoteMetadataError:
        return RemoteMetadataError(_label(self.name, self.extension), self.system, detail, row=row)

    def text(self, values: Mapping[str, Any], key: str, row: str) -> str:
        value = values.get(key)
        if value is None:
            return ""
        if not isinstance(value, str):
            raise self.fail(f"{key} {value!r} is not text", row)
        return value.strip()

    def number(self, values: Mapping[str, Any], key: str, row: str) -> int:
        value = values.get(key)
        if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
            return value
        if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
            return int(value.strip())
        raise self.fail(f"{key} {value!r} is not a number" if key in values else f"{key} is missing", row)

    def flag(self, values: Mapping[str, Any], key: str, row: str) -> bool:
        value = self.text(values, key, row)
        if value not in ("", "X"):
            raise self.fail(f"{key} {value!r} is neither 'X' nor blank", row)
        return value == "X"

    def rows(self, answer: Mapping[str, Any], table: str) -> list[Mapping[str, Any]]:
        rows = answer.get(table)
        if not isinstance(rows, list) or not all(isinstance(row, Mapping) for row in rows):
            raise self.fail(f"the answer has no table {table}")
        return rows

    def build(self, answer: Mapping[str, Any]) -> IDocType:
        header = answer.get("PE_HEADER")
        if not isinstance(header, Mapping):
            raise self.fail("the answer has no PE_HEADER")
        idoctyp = self.text(header, "IDOCTYP", "PE_HEADER")
        cimtyp = self.text(header, "CIMTYP", "PE_HEADER") or None
        if (idoctyp, cimtyp) != (self.name, self.extension):
            raise self.fail(f"SAP answered for {_label(idoctyp, cimtyp)}", "PE_HEADER")
        segments, top = self.segments(self.rows(answer, "PT_SEGMENTS"))
        self.fields(self.rows(answer, "PT_FIELDS"), segments)
        try:
            nodes = tuple(self.node(segment) for segment in top)
            return IDocType(
                self.name, self.extension, nodes, release=self.text(header, "RELEASED", "PE_HEADER") or None
            )
        except ValueError as exc:
            raise self.fail(str(exc)) from exc

    def segments(self, rows: list[Mapping[str, Any]]) -> tuple[dict[str, _Segment], list[_Segment]]:
        """All segments by segment type, and the top-level ones, in document order."""
        segments: dict[str, _Segment] = {}
        top: list[_Segment] = []
        open_heads: list[_Segment] = []  # the group heads enclosing the current row, outermost first
        groups = 0
        previous_nr = 0
        for index, values in enumerate(rows, start=1):
            segment_type = self.text(values, "SEGMENTTYP", f"PT_SEGMENTS row {index}")
            row = f"PT_SEGMENTS row {index} ({segment_type or 'no SEGMENTTYP'})"
            if not segment_type:
                raise self.fail("SEGMENTTYP is blank", row)
            if segment_type in segments:
                raise self.fail(f"segment type {segment_type} occurs twice", row)
            definition_name = self.text(values, "SEGMENTDEF", row)
            if not definition_name:
                raise self.fail("SEGMENTDEF is blank", row)
            nr = self.number(values, "NR", row)
            if nr <= previous_nr:
                raise self.fail(f"NR {nr} does not follow NR {previous_nr} of the row before", row)
            previous_nr = nr
            level = self.number(values, "HLEVEL", row)
            heads_group = self.flag(values, "PARFLG", row)
            group = None
            if heads_group:
                groups += 1
                group = (
                    groups,
                    self.flag(values, "GRP_MUSTFL", row),
                    self.number(values, "GRP_OCCMIN", row),
                    self.number(values, "GRP_OCCMAX", row),
                )
            segment = _Segment(
                row=row,
                nr=nr,
                segment_type=segment_type,
                definition_name=definition_name,
                level=level,
                mandatory=self.flag(values, "MUSTFL", row),
                min_occurs=self.number(values, "OCCMIN", row),
                max_occurs=self.number(values, "OCCMAX", row),
                qualified=self.flag(values, "QUALIFIER", row),
                group=group,
            )
            parent_type = self.text(values, "PARSEG", row)
            parent_nr = self.number(values, "PARPNO", row) if values.get("PARPNO") not in (None, "") else 0
            if parent_type:
                self.place(segment, segments.get(parent_type), parent_type, parent_nr, open_heads)
            else:
                if parent_nr != 0:
                    raise self.fail(f"PARPNO {parent_nr} is set, but PARSEG is blank", row)
                open_heads.clear()
                top.append(segment)
            if heads_group:
                open_heads.append(segment)
            segments[segment_type] = segment
        return segments, top

    def place(
        self, segment: _Segment, parent: _Segment | None, parent_type: str, parent_nr: int, open_heads: list[_Segment]
    ) -> None:
        """Put a segment below its PARSEG, which must be an enclosing group head."""
        row = segment.row
        if parent is None:
            raise self.fail(f"PARSEG {parent_type} names no segment before this row", row)
        if parent.group is None:
            raise self.fail(f"PARSEG {parent_type} does not head a group (its PARFLG is not 'X')", row)
        if parent not in open_heads:
            raise self.fail(f"the row is not in the group of its PARSEG {parent_type}", row)
        if parent_nr != parent.nr:
            raise self.fail(f"PARPNO {parent_nr} is not the NR {parent.nr} of PARSEG {parent_type}", row)
        if segment.level != parent.level + 1:
            detail = f"HLEVEL {segment.level} is not one more than the level {parent.level} of {parent_type}"
            raise self.fail(detail, row)
        del open_heads[open_heads.index(parent) + 1 :]
        parent.children.append(segment)

    def fields(self, rows: list[Mapping[str, Any]], segments: dict[str, _Segment]) -> None:
        for index, values in enumerate(rows, start=1):
            segment_type = self.text(values, "SEGMENTTYP", f"PT_FIELDS row {index}")
            name = self.text(values, "FIELDNAME", f"PT_FIELDS row {index}")
            row = f"PT_FIELDS row {index} ({segment_type or 'no SEGMENTTYP'}-{name or 'no FIELDNAME'})"
            segment = segments.get(segment_type)
            if segment is None:
                raise self.fail(f"SEGMENTTYP {segment_type or '(blank)'} names no segment of PT_SEGMENTS", row)
            if not name:
                raise self.fail("FIELDNAME is blank", row)
            datatype = self.text(values, "DATATYPE", row)
            if not datatype:
                raise self.fail("DATATYPE is blank", row)
            length = self.number(values, "EXTLEN", row)
            first = self.number(values, "BYTE_FIRST", row)
            last = self.number(values, "BYTE_LAST", row)
            if first < SDATA_START:
                raise self.fail(f"BYTE_FIRST {first} lies before SDATA (character {SDATA_START})", row)
            if last - first + 1 != length:
                raise self.fail(f"BYTE_FIRST {first} to BYTE_LAST {last} does not span EXTLEN {length}", row)
            try:
                definition = FieldDefinition(
                    name=name,
                    text=self.text(values, "DESCRP", row),
                    type=_TYPES.get(datatype, datatype),
                    length=length,
                    position=self.number(values, "FIELD_POS", row),
                    offset=first - SDATA_START,
                )
            except ValueError as exc:
                raise self.fail(str(exc), row) from exc
            if any(known.name == name for known in segment.fields):
                raise self.fail(f"{segment_type} has a field {name} already", row)
            if segment.fields and definition.offset < segment.fields[-1].end:
                raise self.fail(f"the field overlaps field {segment.fields[-1].name} of {segment_type}", row)
            segment.fields.append(definition)

    def node(self, segment: _Segment) -> Node:
        try:
            definition = SegmentDefinition(
                definition_name=segment.definition_name,
                segment_type=segment.segment_type,
                level=segment.level,
                mandatory=segment.mandatory,
                min_occurs=segment.min_occurs,
                max_occurs=segment.max_occurs,
                qualified=segment.qualified,
                fields=tuple(segment.fields),
                children=tuple(self.node(child) for child in segment.children),
            )
            if segment.group is None:
                return definition
            number, mandatory, low, high = segment.group
            return GroupDefinition(number, segment.level, mandatory, low, high, (definition,))
        except ValueError as exc:
            raise self.fail(str(exc), segment.row) from exc


CacheKey = tuple[Hashable, str, str | None, str | None]
"""(system, basic type, extension, release) as :class:`IDocTypeCache` keys its entries."""


class IDocTypeCache:
    """IDoc types read from SAP systems, kept per (system, basic type, extension, release).

    ``ttl`` is the time to live of an entry in seconds (None: entries never expire). Thread-safe:
    concurrent misses for the same key wait for one another, so SAP is asked once; misses for different
    keys load in parallel. Failed reads are not cached. ``clock`` is for tests.
    """

    def __init__(self, ttl: float | None = None, *, clock: Callable[[], float] = time.monotonic) -> None:
        if ttl is not None and ttl <= 0:
            raise ValueError(f"ttl must be positive seconds or None, not {ttl}")
        self.ttl = ttl
        self._clock = clock
        self._lock = threading.Lock()
        self._entries: dict[CacheKey, tuple[IDocType, float | None]] = {}
        self._loading: dict[CacheKey, threading.Lock] = {}
        self._generation = 0

    def get(
        self,
        system: Hashable,
        opener: Callable[[], AbstractContextManager[Connector]],
        name: str,
        extension: str | None = None,
        release: str | None = None,
    ) -> IDocType:
        """The IDoc type from the cache, or read from SAP through a connection ``opener()`` yields.

        ``system`` identifies the SAP system (an alias name, say; it also names the system in errors).
        ``opener`` is called only on a miss and must return a context manager giving an open connector:
        ``pool.connection`` of a :class:`~idocbridge.connectors.pool.ConnectionPool`, or a function
        returning a new :class:`~idocbridge.connectors.Connector` (which opens on entry, closes on exit).
        Raises what :func:`read_idoc_type` raises.
        """
        key: CacheKey = (system, name, extension or None, release or None)
        with self._lock:
            found = self._fresh(key)
            if found is not None:
                return found
            loading = self._loading.setdefault(key, threading.Lock())
        with loading:
            with self._lock:
                found = self._fresh(key)
                if found is not None:
                    return found
                generation = self._generation
            with opener() as connection:
                idoc_type = read_idoc_type(connection, name, extension or None, release or None, system=str(system))
            with self._lock:
                if generation == self._generation:  # not invalidated while SAP was asked
                    expires = None if self.ttl is None else self._clock() + self.ttl
                    self._entries[key] = (idoc_type, expires)
            return idoc_type

    def invalidate(self, system: Hashable | None = None, name: str | None = None) -> None:
        """Forget the entries of ``system`` and/or basic type ``name``; with neither, forget everything.

        A read under way when this is called returns its result but does not store it.
        """
        with self._lock:
            self._generation += 1
            for key in list(self._entries):
                if (system is None or key[0] == system) and (name is None or key[1] == name):
                    del self._entries[key]

    def __len__(self) -> int:
        """The number of entries held (expired ones included until they are asked for)."""
        with self._lock:
            return len(self._entries)

    def _fresh(self, key: CacheKey) -> IDocType | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        idoc_type, expires = entry
        if expires is not None and self._clock() >= expires:
            del self._entries[key]
            return None
        return idoc_type
