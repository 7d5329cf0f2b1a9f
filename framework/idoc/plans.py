"""Slicing plans: a record layout's or segment's fields prepared once for cutting text into values and
placing values back, so that the per-record loops do nothing but slice, trim and look up.

A plan belongs to its record layout or segment definition (their ``plan`` property builds it on first
use); nothing in it depends on a record. Cutting stops at the text's end: records and SDATA are usually
right-trimmed, and the fields beyond the last character are blank.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable, Mapping
from typing import Protocol

__all__ = ["FieldSpec", "PlacedField", "SlicePlan", "trim_blanks"]


class PlacedField(Protocol):
    """A field placed in a text: record fields and segment fields alike."""

    @property
    def name(self) -> str: ...

    @property
    def offset(self) -> int: ...

    @property
    def end(self) -> int: ...


FieldSpec = tuple[int, int, bool]
"""A field's offset, length and whether it is numeric (TYPE NUMERIC or NUMC)."""


def trim_blanks(text: str) -> str:
    """``text.rstrip(" ")``, quickly for long runs of blanks (``str.rstrip`` with an argument tests character
    by character; without one it is several times faster, so that goes first and the result is checked)."""
    trimmed = text.rstrip()
    removed = len(text) - len(trimmed)
    if removed == 0 or text.endswith(" " * removed):
        return trimmed
    return text.rstrip(" ")  # other white space at the end (a tab, a no-break space): keep it


class SlicePlan:
    """The fields of a record layout or segment, in order, as (name, offset, end) slices, with their
    lengths and an index by name."""

    __slots__ = ("_heads", "_starts", "index", "length", "name_set", "names", "widths")

    def __init__(self, fields: Iterable[PlacedField], numeric: Iterable[bool] | None = None) -> None:
        placed = list(fields)
        flags = list(numeric) if numeric is not None else [False] * len(placed)
        slices = tuple((field.name, field.offset, field.end) for field in placed)
        self.names: tuple[str, ...] = tuple(field.name for field in placed)
        """The field names, in order."""
        self.name_set: frozenset[str] = frozenset(self.names)
        self.widths: tuple[tuple[str, int], ...] = tuple((f.name, f.end - f.offset) for f in placed)
        """Each field's name and length, in order."""
        self.length: int = placed[-1].end if placed else 0
        """Characters up to the end of the last field."""
        self.index: dict[str, FieldSpec] = {
            field.name: (field.offset, field.end - field.offset, flag)
            for field, flag in zip(placed, flags, strict=True)
        }
        """Each field's offset, length and numeric flag, by name."""
        self._starts = [field.offset for field in placed]
        self._heads = [slices[:count] for count in range(len(slices) + 1)]  # the fields starting before a text's end

    def values(self, text: str) -> dict[str, str]:
        """The fields' values cut from ``text``: right-trimmed, empty ones left out, in field order."""
        if text.endswith(" "):  # full width: trailing blanks carry nothing, and trimming them at once is quicker
            text = trim_blanks(text)
        cut = self._heads[bisect_left(self._starts, len(text))]
        if len(cut) > 2 and text.isprintable():  # no white space but blanks: str.rstrip() (quick) trims only blanks
            return {name: value for name, start, end in cut if (value := text[start:end].rstrip())}
        return {name: value for name, start, end in cut if (value := text[start:end].rstrip(" "))}

    def join(self, values: Mapping[str, str]) -> str | None:
        """The text of ``values`` (missing fields blank), full width, for fields that start at 0 and follow
        each other without gaps (a record layout); None if a value is longer than its field or not a string
        (the caller then finds and reports which). Names that are not fields are not looked at."""
        try:
            text = "".join([(values.get(name) or "").ljust(width) for name, width in self.widths])
        except (TypeError, AttributeError):
            return None
        return text if len(text) == self.length else None

    def fits(self, values: Mapping[str, str]) -> bool:
        """True if every value names a field and is no longer than it (then :meth:`join` succeeds)."""
        index = self.index
        try:
            return all(len(value) <= index[name][1] for name, value in values.items())
        except (KeyError, TypeError):
            return False
