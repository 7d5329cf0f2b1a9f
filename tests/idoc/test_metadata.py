"""The metadata dataclasses: invariants, lookups, release suffixes, the tree."""

from __future__ import annotations

import dataclasses

import pytest

from idocbridge.idoc import (
    FieldDefinition,
    GroupDefinition,
    IDocType,
    SegmentDefinition,
    parse_parser_text,
    split_definition_name,
)
from tests.idoc.samples import ZTEST01

ZTEST = parse_parser_text(ZTEST01, "ztest01.txt")


def _segment(definition: str, kind: str, *children: SegmentDefinition | GroupDefinition) -> SegmentDefinition:
    return SegmentDefinition(definition, kind, 2, False, 1, 9, children=children)


@pytest.mark.parametrize(
    ("definition", "segment_type", "expected"),
    [
        ("E2EDK01005", "E1EDK01", ("E2EDK01", "005")),
        ("E2EDK14", "E1EDK14", ("E2EDK14", None)),
        ("E2TXTRW", "E1TXTRW", ("E2TXTRW", None)),
        ("/ABC/E2SEG001", "/ABC/E1SEG", ("/ABC/E2SEG", "001")),
        ("E2ABCX01", "E1ABC", ("E2ABCX01", None)),
    ],
)
def test_split_definition_name(definition: str, segment_type: str, expected: tuple[str, str | None]) -> None:
    assert split_definition_name(definition, segment_type) == expected


def test_lookups_by_type_definition_and_release() -> None:
    item = ZTEST.segment("Z1ITEM")
    assert item is not None
    assert ZTEST.segment("Z2ITEM002") is None  # segment() takes segment types only
    assert ZTEST.segment_by_definition("Z2ITEM002") is item
    assert ZTEST.segment_by_definition("Z2ITEM007") is item
    assert ZTEST.segment_by_definition("Z2ITEM") is item
    assert ZTEST.segment_by_definition("Z2NOTE001") is ZTEST.segment("Z1NOTE")
    assert ZTEST.segment_by_definition("Z1ITEM") is None
    assert ZTEST.segment_by_definition("Z2ITEMX") is None
    assert ZTEST.segment_by_definition("001") is None
    assert ZTEST.resolve(" Z2ITEM002 ") is item and ZTEST.resolve("Z1ITEM") is item
    assert ZTEST.resolve("") is None
    assert [s.segment_type for s in ZTEST.iter_segments()] == list(ZTEST.segment_types)


def test_path_and_parent() -> None:
    path = ZTEST.path("Z1TLINE")
    assert [type(n).__name__ for n in path] == [
        "GroupDefinition", "SegmentDefinition", "GroupDefinition", "SegmentDefinition", "SegmentDefinition",
    ]  # fmt: skip
    parent = ZTEST.parent("Z1TLINE")
    assert parent is not None and parent.segment_type == "Z1TEXT"
    assert ZTEST.parent("Z1ITEM") is None and ZTEST.parent("Z1HEAD") is None
    with pytest.raises(KeyError, match="ZTEST01 has no segment type Z1NONE"):
        ZTEST.path("Z1NONE")


def test_field_helpers() -> None:
    count = FieldDefinition("COUNT", "Count", "NUMERIC", 5, 2, 10)
    assert (count.end, count.is_numeric) == (15, True)
    assert count.value_in("0000004711000") == "000  "
    assert count.value_in("") == "     "
    assert not FieldDefinition("X", "", "CHARACTER", 1, 1, 0).is_numeric
    assert FieldDefinition("N", "", "NUMC", 1, 1, 0).is_numeric
    head = ZTEST.segment("Z1HEAD")
    assert head is not None and head.field("COUNT") == count and head.field("NOPE") is None


def test_the_dataclasses_are_immutable_and_comparable() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        ZTEST.name = "X"  # type: ignore[misc]
    assert parse_parser_text(ZTEST01, "other name") == ZTEST
    assert hash(ZTEST) == hash(parse_parser_text(ZTEST01, "again"))


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: FieldDefinition("F", "", "CHARACTER", 0, 1, 0), "field F: length and position must be positive"),
        (lambda: SegmentDefinition("Z2", "Z1", 0, True, 1, 1), "segment Z1: level 0 is not between 1 and 99"),
        (lambda: SegmentDefinition("Z2", "Z1", 1, True, 2, 1), "segment Z1: occurrences 2..1 are not a valid range"),
        (lambda: SegmentDefinition("Z2", "Z1", 1, True, 0, 0), "segment Z1: occurrences 0..0"),
        (
            lambda: SegmentDefinition("Z2", "Z1", 1, True, 1, 1, fields=(
                FieldDefinition("A", "", "CHARACTER", 5, 1, 0), FieldDefinition("B", "", "CHARACTER", 5, 2, 4))),
            "segment Z1: field B overlaps field A",
        ),
        (
            lambda: SegmentDefinition("Z2", "Z1", 1, True, 1, 1, fields=(
                FieldDefinition("A", "", "CHARACTER", 5, 1, 0), FieldDefinition("A", "", "CHARACTER", 5, 2, 5))),
            "segment Z1: field names are not unique",
        ),
        (
            lambda: SegmentDefinition("Z2", "Z1", 1, True, 1, 1, fields=(FieldDefinition("A", "", "C", 2, 1, 999),)),
            "segment Z1: the fields extend beyond 1000 characters",
        ),
        (lambda: GroupDefinition(1, 2, True, 1, 1, ()), "group 1: its only child must be its first segment"),  # type: ignore[arg-type]
        (
            lambda: IDocType("ZD", None, (_segment("Z2A", "Z1A"), _segment("Z2B", "Z1A"))),
            "ZD: segment type Z1A occurs twice",
        ),
        (
            lambda: IDocType("ZD", "ZX", (_segment("Z2A", "Z1A"), _segment("Z2A", "Z1B"))),
            "ZD with extension ZX: definition name Z2A occurs twice",
        ),
        (
            lambda: IDocType("ZD", None, (
                GroupDefinition(1, 2, True, 1, 1, (_segment("Z2A", "Z1A", GroupDefinition(
                    1, 3, False, 1, 1, (_segment("Z2B", "Z1B"),))),)),)),
            "ZD: group 1 occurs twice",
        ),
    ],
)  # fmt: skip
def test_invalid_definitions_are_rejected(build: object, message: str) -> None:
    assert callable(build)
    with pytest.raises(ValueError, match=message.replace(".", r"\.")):
        build()
