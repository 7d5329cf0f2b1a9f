"""The control record (EDI_DC40) and data record (EDI_DD40) of an IDoc, field by field, with exact widths.

Layouts follow SAP release 4.0 and later (SAP-FACTS §4): a control record has 524 characters, a data
record 1063 (63 characters of header and 1000 of SDATA). Widths are counted in characters, never bytes.
Records are held as dicts of field name to value; values are right-trimmed (SAP pads with blanks, so
trailing blanks carry nothing) while leading blanks are kept: they are part of the value.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cached_property

from idocbridge.errors import IdocbridgeError
from idocbridge.idoc.plans import PlacedField, SlicePlan, trim_blanks
from idocbridge.models.builtins import EDI_DC40_LAYOUT, EDI_DD40_LAYOUT

__all__ = [
    "CONTROL_RECORD",
    "CONTROL_TABNAM",
    "DATA_RECORD",
    "RecordError",
    "RecordField",
    "RecordLayout",
    "field_values",
    "format_record",
    "parse_record",
]


class RecordError(IdocbridgeError):
    """A record that does not fit its layout: too long, or a value longer than its field."""


@dataclass(frozen=True)
class RecordField:
    """A field of a record: its name, 0-based offset and length in characters."""

    name: str
    offset: int
    length: int

    @property
    def end(self) -> int:
        return self.offset + self.length


@dataclass(frozen=True)
class RecordLayout:
    """A record structure (EDI_DC40, EDI_DD40): its fields in order, without gaps."""

    name: str
    fields: tuple[RecordField, ...]

    @cached_property
    def length(self) -> int:
        return self.fields[-1].end

    @cached_property
    def names(self) -> tuple[str, ...]:
        return tuple(field.name for field in self.fields)

    @cached_property
    def plan(self) -> SlicePlan:
        """The fields prepared for cutting and formatting records (built once)."""
        return SlicePlan(self.fields)

    def field(self, name: str) -> RecordField | None:
        return next((field for field in self.fields if field.name == name), None)


def _layout(name: str, spec: tuple[tuple[str, int], ...]) -> RecordLayout:
    fields: list[RecordField] = []
    offset = 0
    for field_name, length in spec:
        fields.append(RecordField(field_name, offset, length))
        offset += length
    return RecordLayout(name, tuple(fields))


CONTROL_RECORD = _layout("EDI_DC40", EDI_DC40_LAYOUT)
"""EDI_DC40, the control record of release 4.0 and later: 524 characters."""

DATA_RECORD = _layout("EDI_DD40", EDI_DD40_LAYOUT)
"""EDI_DD40, the data record of release 4.0 and later: 1063 characters."""

CONTROL_TABNAM = "EDI_DC40"
"""TABNAM of a control record of release 4.0 and later; a flat file's control records start with it."""


def parse_record(text: str, layout: RecordLayout) -> dict[str, str]:
    """The fields of a record (possibly right-trimmed), right-trimmed; empty fields are left out.

    Raises :class:`RecordError` if ``text`` is longer than the layout.
    """
    plan = layout.plan
    if len(text) > plan.length:
        raise RecordError(f"{layout.name} record has {len(text)} characters, at most {plan.length} allowed")
    return plan.values(text)


def field_values(text: str, fields: Iterable[PlacedField]) -> dict[str, str]:
    """The values of ``fields`` (name, offset, end) cut from ``text``: right-trimmed, empty ones left out."""
    values: dict[str, str] = {}
    for field in fields:
        value = text[field.offset : field.end].rstrip(" ")
        if value:
            values[field.name] = value
    return values


def format_record(values: Mapping[str, str], layout: RecordLayout, *, trim: bool = True) -> str:
    """The record text of ``values`` (missing fields blank), right-trimmed unless ``trim`` is false.

    Raises :class:`RecordError` naming the field for an unknown field or a value longer than its field.
    """
    plan = layout.plan
    if plan.name_set.issuperset(values):
        text = plan.join(values)
        if text is not None:
            return trim_blanks(text) if trim else text
    unknown = sorted(set(values) - plan.name_set)
    if unknown:
        raise RecordError(f"{layout.name} has no field {', '.join(unknown)}; its fields are {' '.join(layout.names)}")
    parts: list[str] = []
    for field in layout.fields:
        value = values.get(field.name) or ""
        if len(value) > field.length:
            raise RecordError(
                f"{layout.name}-{field.name}: {value!r} has {len(value)} characters, at most {field.length} allowed"
            )
        parts.append(value.ljust(field.length))
    text = "".join(parts)
    return trim_blanks(text) if trim else text
