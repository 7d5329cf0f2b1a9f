"""The syntax-neutral source tree: parsed YAML or XML values that remember where they came from.

Both readers produce :class:`SourceNode` trees. Validation works on their plain values and maps every
error back to a node, so a message can always name the file, line and column.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from idocbridge.models.diagnostics import Location

__all__ = ["KeyKind", "SourceNode", "Syntax"]

Syntax = Literal["yaml", "xml"]
KeyKind = Literal["key", "attribute", "element"]
Scalar = str | int | float | bool | None


@dataclass(eq=False)
class SourceNode:
    """A mapping, a sequence or a scalar, with the location of the value and of each key."""

    value: dict[str, SourceNode] | list[SourceNode] | Scalar
    location: Location
    syntax: Syntax
    key_locations: dict[str, Location] = field(default_factory=dict)
    key_kinds: dict[str, KeyKind] = field(default_factory=dict)
    text_offset: int = 0
    """Columns from ``location`` to the first character of a scalar's text (an opening quote, or
    ``name="`` of an XML attribute)."""

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

    def to_plain(self) -> object:
        """The value as plain dicts, lists and scalars (what validation consumes)."""
        if isinstance(self.value, dict):
            return {key: node.to_plain() for key, node in self.value.items()}
        if isinstance(self.value, list):
            return [node.to_plain() for node in self.value]
        return self.value

    def walk(self, path: Sequence[str | int]) -> tuple[SourceNode, list[SourceNode]]:
        """Follow ``path`` as far as it goes; return the deepest node reached and the nodes passed."""
        node = self
        passed: list[SourceNode] = []
        for step in path:
            nxt = node.child(step)
            if nxt is None:
                break
            passed.append(node)
            node = nxt
        return node, passed
