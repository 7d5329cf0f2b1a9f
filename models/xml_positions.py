"""Exact positions of XML start tags and attributes.

lxml reports only a line per element (the line where its start tag ends). expat reports where each
start tag begins; a small tokenizer then finds each attribute's name and value inside the tag.
"""

from __future__ import annotations

import bisect
import re
import xml.parsers.expat
from dataclasses import dataclass, field

from idocbridge.models.diagnostics import Location
from idocbridge.models.source import RawText

__all__ = ["StartTag", "start_tags"]

_ATTRIBUTE = re.compile(r"\s*(?P<name>[^\s=/>]+)\s*=\s*(?P<quote>[\"'])")


@dataclass
class StartTag:
    """One start tag: where it begins, and each attribute's name location and raw value."""

    location: Location
    names: dict[str, Location] = field(default_factory=dict)
    values: dict[str, RawText] = field(default_factory=dict)


class _Text:
    def __init__(self, text: str, file: str) -> None:
        self.text = text
        self.file = file
        self.line_starts = [0] + [m.end() for m in re.finditer("\n", text)]

    def offset(self, line: int, column: int) -> int:
        return self.line_starts[line - 1] + column

    def location(self, offset: int) -> Location:
        line = bisect.bisect_right(self.line_starts, offset) - 1
        return Location(self.file, line + 1, offset - self.line_starts[line] + 1)


def start_tags(data: bytes, text: str, file: str) -> list[StartTag]:
    """Every start tag of a well-formed document, in document order."""
    positions: list[tuple[int, int]] = []
    parser = xml.parsers.expat.ParserCreate()
    parser.StartElementHandler = lambda _name, _attrs: positions.append(
        (parser.CurrentLineNumber, parser.CurrentColumnNumber)
    )
    parser.Parse(data, True)
    source = _Text(text, file)
    return [_tag(source, source.offset(line, column)) for line, column in positions]


def _tag(source: _Text, start: int) -> StartTag:
    tag = StartTag(source.location(start))
    text = source.text
    position = start + 1
    while position < len(text) and not text[position].isspace() and text[position] not in "/>":
        position += 1
    while True:
        match = _ATTRIBUTE.match(text, position)
        if match is None:
            return tag
        quote = match.group("quote")
        end = text.find(quote, match.end())
        if end < 0:
            return tag
        name = match.group("name")
        tag.names[name] = source.location(match.start("name"))
        tag.values[name] = RawText(text[match.end() : end], source.location(match.end()), "xml")
        position = end + 1
