"""An IDoc as WE02 shows it: the control record, and the data records as a tree of segments with named fields.

The IDoc comes from an outbox entry's parameters (the control and data record tables of the IDoc function);
field names and texts come from the IDoc type's metadata. A segment the metadata does not know is shown with
its raw SDATA. The nesting follows the metadata (each segment under the nearest segment above its level).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from idocbridge.idoc.keys import IDOC_TABLES, records_by_docnum
from idocbridge.idoc.metadata import IDocType

__all__ = ["IDocView", "SegmentNode", "idoc_views"]

CONTROL_SHOWN = ("DOCNUM", "IDOCTYP", "CIMTYP", "MESTYP", "MESCOD", "MESFCT", "SNDPOR", "SNDPRT", "SNDPRN",
                 "RCVPOR", "RCVPRT", "RCVPRN", "CREDAT", "CRETIM", "SERIAL", "ARCKEY")  # fmt: skip
"""The control record fields shown, in WE02's order of interest."""

Lookup = Callable[[str, str | None], IDocType]


@dataclass(slots=True)
class SegmentNode:
    """One data record: its segment name, level, fields (name, text, value) or raw SDATA, and children."""

    segnam: str
    level: int
    fields: list[tuple[str, str, str]]
    raw: str | None = None
    children: list[SegmentNode] = field(default_factory=list)
    number: int = 0


@dataclass(slots=True)
class IDocView:
    """One IDoc of a call: its control fields, its segment tree, and why fields may lack names."""

    control: list[tuple[str, str]]
    segments: list[SegmentNode]
    type_label: str
    note: str = ""
    segment_count: int = 0


def idoc_views(function: str, parameters: Mapping[str, Any], lookup: Lookup | None) -> list[IDocView]:
    """The IDocs in a call of ``function`` with ``parameters`` (none for a function without IDocs)."""
    tables = IDOC_TABLES.get(function)
    if tables is None:
        return []
    controls = [record for record in parameters.get(tables[0]) or [] if isinstance(record, Mapping)]
    data = [record for record in parameters.get(tables[1]) or [] if isinstance(record, Mapping)]
    by_docnum = records_by_docnum(data) if len(controls) > 1 else {}
    return [
        _view(control, by_docnum.get(_text(control.get("DOCNUM")), []) if len(controls) > 1 else data, lookup)
        for control in controls
    ]


def _view(control: Mapping[str, Any], data: list[Mapping[str, Any]], lookup: Lookup | None) -> IDocView:
    basic, extension = _text(control.get("IDOCTYP")), _text(control.get("CIMTYP")) or None
    idoc_type: IDocType | None = None
    note = ""
    if lookup is not None and basic:
        try:
            idoc_type = lookup(basic, extension)
        except Exception as exc:  # metadata unavailable: show raw SDATA, say why
            note = f"no metadata for {basic}{'/' + extension if extension else ''}: fields are shown unnamed ({exc})"
    shown = [(name, _text(control.get(name))) for name in CONTROL_SHOWN if _text(control.get(name))]
    roots: list[SegmentNode] = []
    stack: list[SegmentNode] = []
    for number, record in enumerate(data, start=1):
        node = _node(record, idoc_type, number)
        while stack and stack[-1].level >= node.level:
            stack.pop()
        (stack[-1].children if stack else roots).append(node)
        stack.append(node)
    label = idoc_type.label if idoc_type is not None else (basic + (f"/{extension}" if extension else ""))
    return IDocView(shown, roots, label, note, len(data))


def _node(record: Mapping[str, Any], idoc_type: IDocType | None, number: int) -> SegmentNode:
    segnam = _text(record.get("SEGNAM"))
    sdata = str(record.get("SDATA") or "")
    segment = idoc_type.resolve(segnam) if idoc_type is not None else None
    written_level = _text(record.get("HLEVEL"))
    if segment is None:
        level = int(written_level) if written_level.isdigit() else 1
        return SegmentNode(segnam, level, [], sdata.rstrip(), number=number)
    fields = [(definition.name, definition.text, value)
              for definition in segment.fields if (value := definition.value_in(sdata).strip())]  # fmt: skip
    return SegmentNode(segment.segment_type, segment.level, fields, None, number=number)


def _text(value: object) -> str:
    return "" if value is None else str(value).strip()
