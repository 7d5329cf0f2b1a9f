"""Read SAP "parser" files: the IDoc documentation (WE60, report RSEIDOC3) of an IDoc type as plain text.

Both generations are read: field positions as CHARACTER_FIRST/CHARACTER_LAST, or in the older format as
BYTE_FIRST/BYTE_LAST with VALUE/VALUE_TEXT code lists and often without the record section. The grammar
accepted (one keyword per line, blank lines ignored, CRLF or LF)::

    [BEGIN_RECORD_SECTION [BEGIN_CONTROL_RECORD Fields END_CONTROL_RECORD] [... DATA ...] [... STATUS ...]
     END_RECORD_SECTION]
    BEGIN_SEGMENT_SECTION
      BEGIN_IDOC name [BEGIN_EXTENSION name] Item+ [END_EXTENSION] END_IDOC
    END_SEGMENT_SECTION
    Item    ::= Segment | Group
    Group   ::= BEGIN_GROUP number  LEVEL STATUS LOOPMIN LOOPMAX  Segment Item*  END_GROUP
    Segment ::= BEGIN_SEGMENT definition-name  SEGMENTTYPE [QUALIFIED] LEVEL STATUS LOOPMIN LOOPMAX
                [BEGIN_FIELDS Field+ END_FIELDS]  END_SEGMENT
    Field   ::= NAME [TEXT] TYPE LENGTH FIELD_POS (CHARACTER_FIRST CHARACTER_LAST | BYTE_FIRST BYTE_LAST)
                (VALUE 'code' VALUE_TEXT text)*

Attributes may come in any order, each once. Nothing is guessed: a missing keyword, a number that is not
one, fields that overlap or leave gaps, a segment type defined twice all raise :class:`ParserFileError`
naming the line. The items of a group after its first segment must lie below it (a higher LEVEL).
"""

from __future__ import annotations

import dataclasses
import stat
from pathlib import Path

from idocbridge.idoc.errors import ParserFileError
from idocbridge.idoc.metadata import (
    SDATA_LENGTH,
    SDATA_START,
    FieldDefinition,
    GroupDefinition,
    IDocType,
    Node,
    SegmentDefinition,
)
from idocbridge.idoc.parser_fields import read_fields
from idocbridge.idoc.parser_lines import Cursor, Line

__all__ = ["MAX_PARSER_FILE_BYTES", "parse_parser_text", "read_parser_file"]

MAX_PARSER_FILE_BYTES = 64 * 1024 * 1024
"""Far above the largest IDoc type's documentation (a few MB); a larger file, or a device, is not read."""

_SEGMENT_ATTRIBUTES = ("SEGMENTTYPE", "QUALIFIED", "LEVEL", "STATUS", "LOOPMIN", "LOOPMAX")
_GROUP_ATTRIBUTES = ("LEVEL", "STATUS", "LOOPMIN", "LOOPMAX")
_ITEMS = ("BEGIN_SEGMENT", "BEGIN_GROUP")
_RECORDS = ("CONTROL", "DATA", "STATUS")
_STATUS = {"MANDATORY": True, "OPTIONAL": False}


def read_parser_file(path: Path) -> IDocType:
    """Read a parser file (UTF-8, or Latin-1 where it is not valid UTF-8) into an :class:`IDocType`."""
    try:
        mode = path.stat().st_mode
        if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):  # a FIFO would block, a device might never end
            raise ParserFileError(str(path), None, "cannot read the file: not a regular file")
        with path.open("rb") as handle:
            data = handle.read(MAX_PARSER_FILE_BYTES + 1)
    except OSError as exc:
        raise ParserFileError(str(path), None, f"cannot read the file: {exc.strerror or exc}") from exc
    if len(data) > MAX_PARSER_FILE_BYTES:
        raise ParserFileError(str(path), None, f"larger than {MAX_PARSER_FILE_BYTES // (1024 * 1024)} MiB: "
                              "is this a parser file?")  # fmt: skip
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("latin-1")  # SAP GUI downloads in the front end's code page
    return parse_parser_text(text, str(path))


def parse_parser_text(text: str, source: str) -> IDocType:
    """Parse the text of a parser file; ``source`` names it in error messages."""
    return _Parser(Cursor(text, source)).parse()


class _Parser:
    def __init__(self, cursor: Cursor) -> None:
        self.cursor = cursor
        self.segment_types: dict[str, int] = {}
        self.definitions: dict[str, int] = {}
        self.groups: dict[int, int] = {}

    def parse(self) -> IDocType:
        records: dict[str, tuple[FieldDefinition, ...]] = {}
        if self.cursor.at("BEGIN_RECORD_SECTION"):
            records = self._record_section()
            self.cursor.expect("BEGIN_SEGMENT_SECTION", context="(the file must describe an IDoc type)")
        else:
            self.cursor.expect("BEGIN_RECORD_SECTION", "BEGIN_SEGMENT_SECTION")
        idoc_line = self.cursor.expect("BEGIN_IDOC")
        name = self.cursor.name(idoc_line)
        extension = self.cursor.name(self.cursor.take()) if self.cursor.at("BEGIN_EXTENSION") else None
        closing = ("END_EXTENSION", "END_IDOC") if extension else ("END_IDOC",)
        items = self._items(closing, f"(in BEGIN_IDOC {name} at line {idoc_line.number})")
        if self.cursor.take().keyword == "END_EXTENSION":
            self.cursor.expect("END_IDOC", context=f"(closing BEGIN_IDOC {name} at line {idoc_line.number})")
        self.cursor.expect("END_SEGMENT_SECTION")
        if self.cursor.peek() is not None:
            raise self.cursor.unexpected(["the end of the file"], "after END_SEGMENT_SECTION")
        try:
            return IDocType(
                name,
                extension,
                tuple(items),
                None,
                records.get("CONTROL", ()),
                records.get("DATA", ()),
                records.get("STATUS", ()),
            )
        except ValueError as exc:  # the checks above should have caught it; report, never crash
            raise self.cursor.error(idoc_line, str(exc)) from exc

    def _record_section(self) -> dict[str, tuple[FieldDefinition, ...]]:
        self.cursor.take()
        records: dict[str, tuple[FieldDefinition, ...]] = {}
        remaining = list(_RECORDS)
        while remaining:
            kinds = [k for k in remaining if self.cursor.at(f"BEGIN_{k}_RECORD")]
            if not kinds:
                break
            remaining = remaining[remaining.index(kinds[0]) + 1 :]
            start = self.cursor.take()
            records[kinds[0]] = read_fields(self.cursor, 1, None, f"(in {start.keyword} at line {start.number})")
            self.cursor.expect(f"END_{kinds[0]}_RECORD", context=f"(closing {start.text} at line {start.number})")
        self.cursor.expect(*(f"BEGIN_{k}_RECORD" for k in remaining), "END_RECORD_SECTION")
        return records

    def _items(
        self, closing: tuple[str, ...], context: str, head: tuple[SegmentDefinition, Line] | None = None
    ) -> list[Node]:
        """Segments and groups up to one of ``closing`` (not taken); below the group's ``head`` if given."""
        items: list[Node] = []
        while (start := self.cursor.peek()) is not None and start.keyword in _ITEMS:
            item, level = self._group() if start.keyword == "BEGIN_GROUP" else self._segment()
            if head is not None and item.level <= head[0].level:
                raise self.cursor.error(
                    level,
                    f"LEVEL {level.value} is not below LEVEL {head[1].value} of the group's first segment "
                    f"{head[0].definition_name} {context}; is END_GROUP missing before line {start.number}?",
                )
            items.append(item)
        if not items and head is None:
            raise self.cursor.unexpected(_ITEMS, context)
        if not self.cursor.at(*closing):
            raise self.cursor.unexpected((*_ITEMS, *closing), context)
        return items

    def _group(self) -> tuple[GroupDefinition, Line]:
        start = self.cursor.take()
        number = self.cursor.number(start)
        if number in self.groups:
            raise self.cursor.error(
                start, f"group {number} is defined a second time (first at line {self.groups[number]})"
            )
        self.groups[number] = start.number
        context = f"(in BEGIN_GROUP {number} at line {start.number})"
        attributes = self._attributes(_GROUP_ATTRIBUTES, ("BEGIN_SEGMENT",), context)
        low, high, mandatory, level = self._occurrences(attributes)
        head, head_level = self._segment()
        children = self._items(("END_GROUP",), context, (head, head_level))
        self.cursor.take()
        head = dataclasses.replace(head, children=tuple(children))
        return GroupDefinition(number, level, mandatory, low, high, (head,)), attributes["LEVEL"]

    def _segment(self) -> tuple[SegmentDefinition, Line]:
        start = self.cursor.take()
        name = self.cursor.name(start)
        self._unique(self.definitions, name, start, "definition name")
        context = f"(in BEGIN_SEGMENT {name} at line {start.number})"
        attributes = self._attributes(_SEGMENT_ATTRIBUTES, ("BEGIN_FIELDS", "END_SEGMENT"), context)
        segment_type = self.cursor.name(attributes["SEGMENTTYPE"])
        self._unique(self.segment_types, segment_type, attributes["SEGMENTTYPE"], "segment type")
        low, high, mandatory, level = self._occurrences(attributes)
        fields: tuple[FieldDefinition, ...] = ()
        if self.cursor.at("BEGIN_FIELDS"):
            fields = read_fields(self.cursor, SDATA_START, SDATA_START + SDATA_LENGTH - 1, context)
        self.cursor.expect("END_SEGMENT", context=f"(closing BEGIN_SEGMENT {name} at line {start.number})")
        qualified = "QUALIFIED" in attributes
        try:
            segment = SegmentDefinition(name, segment_type, level, mandatory, low, high, qualified, fields)
        except ValueError as exc:  # the checks above should have caught it; report, never crash
            raise self.cursor.error(start, str(exc)) from exc
        return segment, attributes["LEVEL"]

    def _unique(self, seen: dict[str, int], name: str, line: Line, what: str) -> None:
        if name in seen:
            raise self.cursor.error(line, f"{what} {name} is defined a second time (first at line {seen[name]})")
        seen[name] = line.number

    def _attributes(self, allowed: tuple[str, ...], then: tuple[str, ...], context: str) -> dict[str, Line]:
        """Attribute lines in any order, each once, all but QUALIFIED required, followed by one of ``then``."""
        found: dict[str, Line] = {}
        while self.cursor.at(*allowed):
            line = self.cursor.take()
            if line.keyword in found:
                raise self.cursor.error(
                    line,
                    f"{line.keyword} is given a second time {context}; "
                    f"the first is at line {found[line.keyword].number}",
                )
            found[line.keyword] = line
        missing = [k for k in allowed if k not in found and k != "QUALIFIED"]
        unused = [k for k in allowed if k not in found]
        if not self.cursor.at(*then):
            raise self.cursor.unexpected([*unused, *([] if missing else then)], context)
        if missing:
            raise self.cursor.unexpected(missing, context)
        if "QUALIFIED" in found:
            self.cursor.flag(found["QUALIFIED"])
        return found

    def _occurrences(self, attributes: dict[str, Line]) -> tuple[int, int, bool, int]:
        """LOOPMIN, LOOPMAX, STATUS and LEVEL, checked."""
        status = attributes["STATUS"]
        if status.value not in _STATUS:
            raise self.cursor.error(status, f"STATUS must be MANDATORY or OPTIONAL, found {status.value[:60]!r}")
        level = self.cursor.number(attributes["LEVEL"], 1)
        if level > 99:
            raise self.cursor.error(attributes["LEVEL"], f"LEVEL {attributes['LEVEL'].value} is above 99")
        low = self.cursor.number(attributes["LOOPMIN"])
        high = self.cursor.number(attributes["LOOPMAX"], 1)
        if low > high:
            raise self.cursor.error(attributes["LOOPMIN"], f"LOOPMIN {low} is greater than LOOPMAX {high}")
        return low, high, _STATUS[status.value], level
