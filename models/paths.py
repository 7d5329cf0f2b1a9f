"""Mapping paths: ``root.field[*].field[0]...`` parsed into segments."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from idocbridge.models.datatypes import Structure
from idocbridge.models.index import ModelIndex, ResolvedType

__all__ = ["Path", "PathSyntaxError", "Segment", "parse_path", "resolve_type"]

_SEGMENT = re.compile(r"^(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:\[(?P<index>\*|[0-9]+)\])?$")


class PathSyntaxError(ValueError):
    pass


@dataclass(frozen=True)
class Segment:
    name: str
    index: int | str | None = None  # None, "*" or a position

    def __str__(self) -> str:
        return self.name if self.index is None else f"{self.name}[{self.index}]"


@dataclass(frozen=True)
class Path:
    root: str
    segments: tuple[Segment, ...]

    @property
    def wildcards(self) -> int:
        return sum(1 for segment in self.segments if segment.index == "*")

    def __str__(self) -> str:
        return ".".join([self.root, *(str(s) for s in self.segments)])

    def prefix_through_last_wildcard(self) -> str | None:
        last = max((i for i, s in enumerate(self.segments) if s.index == "*"), default=None)
        if last is None:
            return None
        return str(Path(self.root, self.segments[: last + 1]))

    def wildcard_prefixes(self) -> list[str]:
        """The path up to and including each ``[*]``: the lists this path fills entry by entry."""
        return [str(Path(self.root, self.segments[: i + 1])) for i, s in enumerate(self.segments) if s.index == "*"]

    def covers(self, other: Path) -> bool:
        """True if ``other`` lies inside this path, or both may write the same value.

        ``[*]`` covers every index; ``[0]`` and ``[1]`` are different entries.
        """
        if self.root != other.root or len(self.segments) > len(other.segments):
            return False
        for mine, theirs in zip(self.segments, other.segments, strict=False):
            if mine.name != theirs.name:
                return False
            if "*" not in (mine.index, theirs.index) and mine.index != theirs.index:
                return False
        return True


@functools.lru_cache(maxsize=4096)  # paths are few and parsed per request: each once
def parse_path(text: str) -> Path:
    parts = text.strip().split(".")
    if not parts or not parts[0]:
        raise PathSyntaxError(f"'{text}' is not a path")
    segments = []
    for part in parts[1:]:
        match = _SEGMENT.match(part)
        if match is None:
            raise PathSyntaxError(f"'{part}' in path '{text}' is not a field name, field[*] or field[n]")
        index = match.group("index")
        segments.append(Segment(match.group("name"), index if index in (None, "*") else int(index)))
    return Path(parts[0], tuple(segments))


def resolve_type(index: ModelIndex, root: Structure, path: Path) -> ResolvedType | None:
    """The type ``path`` leads to from ``root``; None if it leads nowhere (the rules explain why)."""
    if index.structures.get(root.name) is not root:  # a structure the index does not hold: nothing to remember
        return _resolve_type(index, root, path)
    key = (root.name, path)
    if key not in index.path_types:
        index.path_types[key] = _resolve_type(index, root, path)
    return index.path_types[key]


def _resolve_type(index: ModelIndex, root: Structure, path: Path) -> ResolvedType | None:
    current = ResolvedType(structure=root)
    for segment in path.segments:
        if current.array or current.structure is None:
            return None
        found = next((f for f in current.structure.fields if f.name == segment.name), None)
        resolved = index.field_type(found) if found is not None else None
        if resolved is None:
            return None
        if segment.index is not None:
            if not resolved.array:
                return None
            resolved = resolved.element()
        current = resolved
    return current
