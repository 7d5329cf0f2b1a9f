"""Immutable descriptions of IDoc types: fields, segments, groups and their hierarchy.

The tree follows the LEVEL hierarchy of SAP's IDoc definitions. A group (BEGIN_GROUP in a parser file)
is a repeatable unit that starts with its first segment, the *group head*: the group's only child is
that head, and the segments and groups nested below the head (one LEVEL deeper) are the head's
children. Segments outside groups have no children. A segment type occurs at most once in an IDoc
type, so every segment has exactly one place (:meth:`IDocType.path`) in the tree.

Field offsets of segment fields are 0-based positions inside SDATA, which starts at character 64 of
the 1063-character data record (SAP-FACTS §4): CHARACTER_FIRST 000064 is SDATA offset 0.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cached_property

from idocbridge.idoc.plans import SlicePlan

__all__ = [
    "NUMERIC_TYPES",
    "SDATA_LENGTH",
    "SDATA_START",
    "FieldDefinition",
    "GroupDefinition",
    "IDocType",
    "Node",
    "SegmentDefinition",
    "split_definition_name",
]

SDATA_START = 64
"""1-based character of the data record at which SDATA starts (CHARACTER_FIRST of SDATA offset 0)."""

SDATA_LENGTH = 1000
"""Characters of SDATA in a data record (EDI_DD40)."""

NUMERIC_TYPES = frozenset({"NUMERIC", "NUMC"})
"""Field TYPE values whose content must be digits only (or blank)."""

_RESOLVED_LIMIT = 4096
"""SEGNAMs (as written) an IDoc type remembers it resolved; the spellings of a file's segments are few."""


@dataclass(frozen=True)
class FieldDefinition:
    """One field: NAME, TEXT, TYPE, LENGTH, FIELD_POS and its 0-based offset (in SDATA for segment fields).

    ``values`` holds the (VALUE, VALUE_TEXT) code list of the older parser-file format, in file order.
    For the fields of the control, data and status records the offset counts from the record's start.
    """

    name: str
    text: str
    type: str
    length: int
    position: int
    offset: int
    values: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        if self.length < 1 or self.offset < 0 or self.position < 1:
            raise ValueError(f"field {self.name}: length and position must be positive and the offset not negative")

    @property
    def end(self) -> int:
        """Offset just past the field's last character."""
        return self.offset + self.length

    @property
    def is_numeric(self) -> bool:
        """True for numeric text fields (TYPE NUMERIC or NUMC): digits only, or blank."""
        return self.type in NUMERIC_TYPES

    def value_in(self, sdata: str) -> str:
        """The field's characters in a (possibly right-trimmed) SDATA, padded with blanks to its length."""
        return sdata[self.offset : self.end].ljust(self.length)


@dataclass(frozen=True)
class SegmentDefinition:
    """A segment of an IDoc type: definition name (E2EDK01005), segment type (E1EDK01), attributes, fields.

    ``min_occurs``/``max_occurs`` are LOOPMIN/LOOPMAX as written. An optional segment may be absent; when
    present it must occur at least ``min_occurs`` times. ``children`` are the segments and groups nested
    below this one (only a group head has children).
    """

    definition_name: str
    segment_type: str
    level: int
    mandatory: bool
    min_occurs: int
    max_occurs: int
    qualified: bool = False
    fields: tuple[FieldDefinition, ...] = ()
    children: tuple[Node, ...] = ()

    def __post_init__(self) -> None:
        _check_occurrences(f"segment {self.segment_type}", self.level, self.min_occurs, self.max_occurs)
        names = [f.name for f in self.fields]
        if len(set(names)) != len(names):
            raise ValueError(f"segment {self.segment_type}: field names are not unique")
        for before, after in zip(self.fields, self.fields[1:], strict=False):
            if after.offset < before.end:
                raise ValueError(f"segment {self.segment_type}: field {after.name} overlaps field {before.name}")
        if self.fields and self.fields[-1].end > SDATA_LENGTH:
            raise ValueError(f"segment {self.segment_type}: the fields extend beyond {SDATA_LENGTH} characters")

    @property
    def version(self) -> str | None:
        """The 3-digit release suffix of the definition name (``005`` of E2EDK01005), None if it has none."""
        return split_definition_name(self.definition_name, self.segment_type)[1]

    @property
    def sdata_length(self) -> int:
        """Characters of SDATA the fields cover (0 for a segment listed without fields)."""
        return self.fields[-1].end if self.fields else 0

    def field(self, name: str) -> FieldDefinition | None:
        """The field called ``name``, None if the segment has no such field."""
        return next((f for f in self.fields if f.name == name), None)

    @cached_property
    def plan(self) -> SlicePlan:
        """The fields prepared for cutting SDATA and placing values into it (built once per segment)."""
        return SlicePlan(self.fields, (f.is_numeric for f in self.fields))


@dataclass(frozen=True)
class GroupDefinition:
    """A segment group (BEGIN_GROUP): its number, LEVEL, STATUS, LOOPMIN, LOOPMAX and its head segment.

    Each repetition of the group is one occurrence of the head segment with the head's children.
    """

    number: int
    level: int
    mandatory: bool
    min_occurs: int
    max_occurs: int
    children: tuple[SegmentDefinition]

    def __post_init__(self) -> None:
        _check_occurrences(f"group {self.number}", self.level, self.min_occurs, self.max_occurs)
        if len(self.children) != 1 or not isinstance(self.children[0], SegmentDefinition):
            raise ValueError(f"group {self.number}: its only child must be its first segment")

    @property
    def head(self) -> SegmentDefinition:
        """The group's first segment; its occurrences are the group's repetitions."""
        return self.children[0]


type Node = SegmentDefinition | GroupDefinition
"""An entry of the segment tree."""


def _check_occurrences(what: str, level: int, low: int, high: int) -> None:
    if not 1 <= level <= 99:
        raise ValueError(f"{what}: level {level} is not between 1 and 99")
    if low < 0 or high < 1 or low > high:
        raise ValueError(f"{what}: occurrences {low}..{high} are not a valid range")


def split_definition_name(definition_name: str, segment_type: str) -> tuple[str, str | None]:
    """Split a definition name into its base and 3-digit release suffix: E2EDK01005 -> (E2EDK01, 005).

    The suffix is only recognised where the definition name is three characters longer than the segment
    type (E2EDK01005 for E1EDK01); E2EDK14 for E1EDK14 has none.
    """
    suffix = definition_name[len(segment_type) :]
    if len(definition_name) == len(segment_type) + 3 and suffix.isascii() and suffix.isdigit():
        return definition_name[: len(segment_type)], suffix
    return definition_name, None


@dataclass(frozen=True)
class IDocType:
    """A basic type (or basic type plus extension) with its segment tree.

    ``segments`` are the top-level segments and groups in order. ``release`` is the SAP release the
    definition belongs to, when known (parser files do not say). ``control_record``, ``data_record`` and
    ``status_record`` hold the record-section fields of a parser file that has them.
    """

    name: str
    extension: str | None
    segments: tuple[Node, ...]
    release: str | None = None
    control_record: tuple[FieldDefinition, ...] = ()
    data_record: tuple[FieldDefinition, ...] = ()
    status_record: tuple[FieldDefinition, ...] = ()
    _paths: dict[str, tuple[Node, ...]] = field(init=False, repr=False, compare=False)
    _types: dict[str, SegmentDefinition] = field(init=False, repr=False, compare=False)
    _definitions: dict[str, SegmentDefinition] = field(init=False, repr=False, compare=False)
    _bases: dict[str, SegmentDefinition] = field(init=False, repr=False, compare=False)
    _parents: dict[str, SegmentDefinition | None] = field(init=False, repr=False, compare=False)
    _resolved: dict[str, SegmentDefinition] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        paths: dict[str, tuple[Node, ...]] = {}
        types: dict[str, SegmentDefinition] = {}
        definitions: dict[str, SegmentDefinition] = {}
        groups: set[int] = set()
        for path in _walk(self.segments, ()):
            node = path[-1]
            if isinstance(node, GroupDefinition):
                if node.number in groups:
                    raise ValueError(f"{self.label}: group {node.number} occurs twice")
                groups.add(node.number)
                continue
            if node.segment_type in paths:
                raise ValueError(f"{self.label}: segment type {node.segment_type} occurs twice")
            if node.definition_name in definitions:
                raise ValueError(f"{self.label}: definition name {node.definition_name} occurs twice")
            paths[node.segment_type] = path
            types[node.segment_type] = node
            definitions[node.definition_name] = node
        bases = {split_definition_name(d, s.segment_type)[0]: s for d, s in reversed(definitions.items())}
        object.__setattr__(self, "_paths", paths)
        object.__setattr__(self, "_types", types)
        object.__setattr__(self, "_definitions", definitions)
        object.__setattr__(self, "_bases", bases)
        parents = {name: _parent_in(path) for name, path in paths.items()}
        object.__setattr__(self, "_parents", parents)
        object.__setattr__(self, "_resolved", {})

    @property
    def label(self) -> str:
        """The name for messages: ``ORDERS05``, or ``ORDERS05 with extension ZORDERS05``."""
        return self.name if self.extension is None else f"{self.name} with extension {self.extension}"

    @property
    def segment_types(self) -> tuple[str, ...]:
        """All segment types in document order (depth first)."""
        return tuple(self._types)

    def iter_segments(self) -> Iterator[SegmentDefinition]:
        """All segments in document order (depth first), group heads included."""
        yield from self._types.values()

    def segment(self, segment_type: str) -> SegmentDefinition | None:
        """The segment of this segment type (E1EDK01), None if the IDoc type has none."""
        return self._types.get(segment_type)

    def segment_by_definition(self, definition_name: str) -> SegmentDefinition | None:
        """The segment of a definition name (E2EDK01005 -> E1EDK01), None if unknown.

        Another release of the same segment (E2EDK01003, or E2EDK01 without suffix) finds it too: SAP
        keeps segment releases upward compatible, later releases only append fields.
        """
        found = self._definitions.get(definition_name)
        if found is not None:
            return found
        suffix = definition_name[-3:]
        if len(definition_name) > 3 and suffix.isascii() and suffix.isdigit():
            found = self._bases.get(definition_name[:-3])
            if found is not None:
                return found
        return self._bases.get(definition_name)

    def resolve(self, segnam: str) -> SegmentDefinition | None:
        """The segment a data record's SEGNAM names: a segment type or a definition name."""
        found = self._resolved.get(segnam)
        if found is None:
            name = segnam.strip()
            found = self.segment(name) or self.segment_by_definition(name)
            if found is not None and len(self._resolved) < _RESOLVED_LIMIT:
                self._resolved[segnam] = found
        return found

    def path(self, segment_type: str) -> tuple[Node, ...]:
        """The groups and segments from the top level down to the segment, itself included.

        Raises KeyError for a segment type the IDoc type does not have.
        """
        try:
            return self._paths[segment_type]
        except KeyError:
            raise KeyError(f"{self.label} has no segment type {segment_type}") from None

    def parent(self, segment_type: str) -> SegmentDefinition | None:
        """The segment directly above (None for a top-level segment or group head)."""
        try:
            return self._parents[segment_type]
        except KeyError:
            return _parent_in(self.path(segment_type))  # raises the KeyError naming the segment type


def _parent_in(path: tuple[Node, ...]) -> SegmentDefinition | None:
    above = [node for node in path[:-1] if isinstance(node, SegmentDefinition)]
    return above[-1] if above else None


def _walk(nodes: tuple[Node, ...], prefix: tuple[Node, ...]) -> Iterator[tuple[Node, ...]]:
    for node in nodes:
        path = (*prefix, node)
        yield path
        yield from _walk(node.children, path)
