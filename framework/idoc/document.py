"""An IDoc as a document: its control record and a tree of segments with named field values.

This is the shape IDoc-XML has, and the one the converters share: flat files and the tables of
IDOC_INBOUND_ASYNCHRONOUS hold the same content as records (see :mod:`idocbridge.idoc.tables`).
Field values are right-trimmed and empty fields are left out; leading blanks are part of a value.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

__all__ = ["IDoc", "Segment"]


@dataclass(slots=True)
class Segment:
    """One segment occurrence: its segment type (E1EDK01), field values in field order, child segments."""

    type: str
    fields: dict[str, str] = field(default_factory=dict)
    children: list[Segment] = field(default_factory=list)

    def walk(self) -> Iterator[Segment]:
        """This segment and all below it, in document order."""
        yield self
        for child in self.children:
            yield from child.walk()


@dataclass
class IDoc:
    """One IDoc: the control record's fields (EDI_DC40, right-trimmed, empty ones left out) and its segments."""

    control: dict[str, str] = field(default_factory=dict)
    segments: list[Segment] = field(default_factory=list)

    @property
    def basic_type(self) -> str:
        """IDOCTYP of the control record ('' if it has none)."""
        return self.control.get("IDOCTYP", "")

    @property
    def extension(self) -> str | None:
        """CIMTYP of the control record, None if it has none."""
        return self.control.get("CIMTYP") or None

    @property
    def type_label(self) -> str:
        """The name IDoc-XML gives the document's root element: the extension if any, else the basic type."""
        return self.extension or self.basic_type

    def walk(self) -> Iterator[Segment]:
        """All segments in document order (depth first)."""
        for segment in self.segments:
            yield from segment.walk()

    @property
    def segment_count(self) -> int:
        return sum(1 for _ in self.walk())
