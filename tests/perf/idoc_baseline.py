"""A plain converter for the IDoc conversion benchmark: lxml iterparse and string slicing, nothing else.

What a straightforward script would do with the same metadata offsets: no validation, no intermediate
records or segment objects. Flat -> IDoc-XML slices each line by the offsets and builds the ``<IDOC>``
element with lxml; IDoc-XML -> flat iterparses ``<IDOC>`` elements and places each field's text at its
offset; flat -> JSON slices into dicts and dumps them. It writes what ``idocbridge idoc convert`` writes
for valid input (flat output with definition names in SEGNAM, CRLF, right-trimmed records), so the
benchmark can compare the two outputs byte for byte. Invalid input is outside its scope.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from lxml import etree

from idocbridge.idoc import TXTRAW01, IDocType, read_parser_file
from idocbridge.models.builtins import EDI_DC40_LAYOUT

__all__ = ["CONVERTERS", "flat_to_json", "flat_to_xml", "main", "xml_to_flat"]

Slice = tuple[str, int, int]  # name, offset, end

_CONTROL: list[Slice] = []
for _name, _length in EDI_DC40_LAYOUT:
    _CONTROL.append((_name, _CONTROL[-1][2] if _CONTROL else 0, (_CONTROL[-1][2] if _CONTROL else 0) + _length))
_CONTROL_WIDTHS = dict(EDI_DC40_LAYOUT)


@dataclass
class _Segment:
    segment_type: str
    definition_name: str
    tag: str
    parent: str | None
    level: int
    fields: list[Slice]
    offsets: dict[str, int]


def _plans(idoc_type: IDocType) -> dict[str, _Segment]:
    """Each segment's slicing plan, by segment type, definition name and XML tag."""
    plans: dict[str, _Segment] = {}
    for segment in idoc_type.iter_segments():
        parent = idoc_type.parent(segment.segment_type)
        plan = _Segment(
            segment.segment_type,
            segment.definition_name,
            segment.segment_type.replace("/", "_-"),
            parent.segment_type if parent is not None else None,
            segment.level,
            [(f.name, f.offset, f.end) for f in segment.fields],
            {f.name.replace("/", "_-"): f.offset for f in segment.fields},
        )
        plans[segment.segment_type] = plans[segment.definition_name] = plans[plan.tag] = plan
    return plans


def _lines(path: Path) -> Iterator[str]:
    with path.open(encoding="utf-8", newline="") as handle:
        for line in handle:
            yield line.rstrip("\r\n")


def flat_to_xml(path: Path, out: IO[bytes], idoc_type: IDocType) -> int:
    """Write a flat file's IDocs as pretty-printed IDoc-XML; returns how many."""
    plans = _plans(idoc_type)
    count = 0
    with etree.xmlfile(out, encoding="UTF-8") as document:
        document.write_declaration()
        with document.element(idoc_type.extension or idoc_type.name):
            idoc: etree._Element | None = None
            open_segments: dict[str, etree._Element] = {}
            for line in _lines(path):
                if line.startswith("EDI_DC40"):
                    if idoc is not None:
                        _write(document, idoc)
                        count += 1
                    idoc = etree.Element("IDOC", BEGIN="1")
                    control = etree.SubElement(idoc, "EDI_DC40", SEGMENT="1")
                    for name, start, end in _CONTROL:
                        value = line[start:end].rstrip(" ")
                        if value:
                            etree.SubElement(control, name).text = value
                    open_segments.clear()
                    continue
                assert idoc is not None
                plan = plans[line[:30].rstrip(" ")]
                parent = idoc if plan.parent is None else open_segments[plan.parent]
                element = etree.SubElement(parent, plan.tag, SEGMENT="1")
                sdata = line[63:]
                for name, start, end in plan.fields:
                    value = sdata[start:end].rstrip(" ")
                    if value:
                        etree.SubElement(element, name.replace("/", "_-")).text = value
                open_segments[plan.segment_type] = element
            if idoc is not None:
                _write(document, idoc)
                count += 1
            document.write("\n")
    out.write(b"\n")
    return count


def _write(document: Any, idoc: etree._Element) -> None:  # lxml's incremental writer
    etree.indent(idoc, space="  ", level=1)
    document.write("\n  ")
    document.write(idoc)


def xml_to_flat(path: Path, out: IO[bytes], idoc_type: IDocType) -> int:
    """Write an IDoc-XML file's IDocs as a flat file (definition names, CRLF, right-trimmed); returns how many."""
    plans = _plans(idoc_type)
    count = 0
    with path.open("rb") as handle:
        for _, idoc in etree.iterparse(handle, tag="IDOC", resolve_entities=False, no_network=True, huge_tree=True):
            lines: list[str] = []
            control = {child.tag: (child.text or "").rstrip(" ") for child in idoc[0]}
            control.setdefault("TABNAM", "EDI_DC40")
            lines.append("".join(control.get(name, "").ljust(_CONTROL_WIDTHS[name]) for name, _, _ in _CONTROL))
            _segments(idoc, 1, 0, plans, lines)
            out.write("".join(line.rstrip(" ") + "\r\n" for line in lines).encode("utf-8"))
            count += 1
            idoc.clear()
            while idoc.getprevious() is not None:
                del idoc.getparent()[0]  # type: ignore[union-attr]
    return count


def _segments(
    parent: etree._Element, first: int, parent_number: int, plans: dict[str, _Segment], lines: list[str]
) -> None:
    """Append the records of ``parent``'s segments (from child ``first`` on) to ``lines``."""
    for element in parent[first:]:
        if element.get("SEGMENT") is None:
            continue
        plan = plans[element.tag]
        number = len(lines)  # the control record is line 0
        sdata = [" "] * 1000
        for child in element:
            if child.get("SEGMENT") is None:
                start = plan.offsets[child.tag]
                value = (child.text or "").rstrip(" ")
                sdata[start : start + len(value)] = value
        header = f"{plan.definition_name:<30}{'':19}{number:06d}{parent_number:06d}{plan.level:02d}"
        lines.append(header + "".join(sdata))
        _segments(element, 0, number, plans, lines)


def flat_to_json(path: Path, out: IO[bytes], idoc_type: IDocType) -> int:
    """Write a flat file's IDocs as a JSON array, one IDoc per line; returns how many."""
    plans = _plans(idoc_type)
    count = 0
    idoc: dict[str, Any] | None = None
    open_segments: dict[str, dict[str, Any]] = {}
    out.write(b"[")
    for line in _lines(path):
        if line.startswith("EDI_DC40"):
            if idoc is not None:
                out.write((",\n" if count else "\n").encode() + json.dumps(idoc, ensure_ascii=False).encode("utf-8"))
                count += 1
            control = {name: value for name, start, end in _CONTROL if (value := line[start:end].rstrip(" "))}
            idoc = {"control": control, "segments": []}
            open_segments.clear()
            continue
        assert idoc is not None
        plan = plans[line[:30].rstrip(" ")]
        sdata = line[63:]
        fields = {name: value for name, start, end in plan.fields if (value := sdata[start:end].rstrip(" "))}
        segment = {"segment": plan.segment_type, "fields": fields}
        if plan.parent is None:
            idoc["segments"].append(segment)
        else:
            open_segments[plan.parent].setdefault("children", []).append(segment)
        open_segments[plan.segment_type] = segment
    if idoc is not None:
        out.write((",\n" if count else "\n").encode() + json.dumps(idoc, ensure_ascii=False).encode("utf-8"))
        count += 1
    out.write(b"\n]\n" if count else b"]\n")
    return count


CONVERTERS = {"xml": flat_to_xml, "flat": xml_to_flat, "json": flat_to_json}
"""The converter to each target format (IDoc-XML is converted to flat, flat to the others)."""


def main(arguments: list[str]) -> None:
    """``SOURCE TO TARGET [PARSERFILE]``: convert as ``idocbridge idoc convert SOURCE --to TO -o TARGET``
    (without a parser file: TXTRAW01) and print the same summary line, timed after the metadata is read."""
    source, to, target = Path(arguments[0]), arguments[1], Path(arguments[2])
    idoc_type = read_parser_file(Path(arguments[3])) if len(arguments) > 3 else TXTRAW01
    started = time.monotonic()
    with target.open("wb") as out:
        count = CONVERTERS[to](source, out, idoc_type)
    elapsed = time.monotonic() - started
    size = source.stat().st_size / 1e6
    print(f"converted {count} IDoc(s) from baseline to {to}: {size:.1f} MB in {elapsed:.3f} s", file=sys.stderr)
