"""The syntax-neutral source tree: parsed YAML or XML values that remember where they came from.

Both readers produce :class:`SourceNode` trees. Validation works on their plain values and maps every
error back to a node, so a message can always name the file, line and column.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

from idocbridge.models.diagnostics import Location

__all__ = ["KeyKind", "RawText", "SourceNode", "Syntax"]

Syntax = Literal["yaml", "xml"]
KeyKind = Literal["key", "attribute", "element"]
Scalar = str | int | float | bool | None
Style = Literal["plain", "single", "double", "xml"]

# One escape in the raw text stands for one character of the value.
_ESCAPES: dict[Style, re.Pattern[str]] = {
    "plain": re.compile(r"(?!)"),
    "single": re.compile(r"''"),
    "double": re.compile(r"\\(?:x[0-9A-Fa-f]{2}|u[0-9A-Fa-f]{4}|U[0-9A-Fa-f]{8}|.)"),
    "xml": re.compile(r"&(?:#[0-9]+|#x[0-9A-Fa-f]+|[A-Za-z]+);"),
}


@dataclass(frozen=True)
class RawText:
    """A scalar's text as written (without quotes), where it starts, and how it is escaped."""

    text: str
    start: Location
    style: Style

    def location_of(self, offset: int) -> Location:
        """Where the character at ``offset`` of the *value* stands in the file."""
        pattern = _ESCAPES[self.style]
        line, column = self.start.line, self.start.column
        position = 0
        for _ in range(offset):
            if position >= len(self.text):
                break
            match = pattern.match(self.text, position)
            step = match.end() - position if match else 1
            if self.text[position] == "\n":
                line, column = line + 1, 1
            else:
                column += step
            position += step
        return Location(self.start.file, line, column)


@dataclass(eq=False)
class SourceNode:
    """A mapping, a sequence or a scalar, with the location of the value and of each key."""

    value: dict[str, SourceNode] | list[SourceNode] | Scalar
    location: Location
    syntax: Syntax
    key_locations: dict[str, Location] = field(default_factory=dict)
    key_kinds: dict[str, KeyKind] = field(default_factory=dict)
    raw: RawText | None = None
    """For scalars written on one line: their text as written, to locate single characters."""

    @property
    def is_mapping(self) -> bool:
        return isinstance(self.value, dict)

    def child(self, step: str | int) -> SourceNode | None:
        """The child at ``step`` (a key or an index), or None."""
        if isinstance(self.value, dict) and isinstance(step, str):
            return self.value.get(step)
        if isinstance(self.value, list) and isinstance(step, int) and 0 <= step < len(self.value):
            return self.value[step]
        return None

    def key_location(self, key: str) -> Location:
        return self.key_locations.get(key, self.location)

    def key_kind(self, key: str) -> KeyKind:
        return self.key_kinds.get(key, "key")

    def scalar(self, key: str) -> Scalar:
        """The scalar value at ``key`` of a mapping node, or None."""
        node = self.child(key)
        if node is None or isinstance(node.value, dict | list):
            return None
        return node.value

    def text_location(self, offset: int) -> Location:
        """Where character ``offset`` of this scalar's value is written (its start if unknown)."""
        return self.raw.location_of(offset) if self.raw is not None else self.location

    def to_plain(self) -> object:
        """The value as plain dicts, lists and scalars (what validation consumes)."""
        if isinstance(self.value, dict):
            return {key: node.to_plain() for key, node in self.value.items()}
        if isinstance(self.value, list):
            return [node.to_plain() for node in self.value]
        return self.value
