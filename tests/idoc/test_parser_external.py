"""Real parser files from the shared external test data: both generations, and a damaged one."""

from __future__ import annotations

from pathlib import Path

import pytest

from idocbridge.idoc import GroupDefinition, IDocType, ParserFileError, SegmentDefinition, parse_parser_text
from idocbridge.idoc import read_parser_file as read
from idocbridge.models.builtins import EDI_DC40_LAYOUT, EDI_DD40_LAYOUT
from tests.idoc.conftest import SAPIDOC, external


@pytest.fixture(scope="module")
def orders05() -> IDocType:
    return read(external(f"{SAPIDOC}/test/resources/ORDERS05.txt"))


@pytest.fixture(scope="module")
def orders01() -> IDocType:
    return read(external(f"{SAPIDOC}/main/resources/ORDERS01-Parseridoc.txt"))


def _groups(idoc_type: IDocType) -> dict[int, GroupDefinition]:
    found: dict[int, GroupDefinition] = {}
    pending = list(idoc_type.segments)
    while pending:
        node = pending.pop()
        if isinstance(node, GroupDefinition):
            found[node.number] = node
        pending.extend(node.children)
    return found


def test_orders05_has_57_segments_and_its_header_segment(orders05: IDocType) -> None:
    assert (orders05.name, orders05.extension, orders05.release) == ("ORDERS05", None, None)
    assert len(orders05.segment_types) == 57
    assert orders05.segment_types[:3] == ("E1EDK01", "E1EDK14", "E1EDK03")
    assert orders05.segment_types[-1] == "E1EDS01"
    header = orders05.segment("E1EDK01")
    assert header is not None
    assert orders05.segment_by_definition("E2EDK01005") is header
    assert (header.definition_name, header.version, header.level, header.mandatory) == ("E2EDK01005", "005", 1, True)
    assert (header.min_occurs, header.max_occurs, header.qualified, header.children) == (1, 1, False, ())
    action = header.fields[0]
    assert (action.name, action.offset, action.length, action.position, action.type) == ("ACTION", 0, 3, 1, "CHARACTER")
    assert action.text == "Action code for the whole EDI message"
    assert header.sdata_length == header.fields[-1].end


def test_orders05_groups_with_their_loopmax(orders05: IDocType) -> None:
    groups = _groups(orders05)
    assert sorted(groups) == list(range(1, 13))
    assert {n: g.max_occurs for n, g in groups.items()} == {
        1: 99, 2: 99, 3: 999999, 4: 16, 5: 8, 6: 1, 7: 1, 8: 9999999999, 9: 9999999, 10: 9999999999,
        11: 99999, 12: 999999,
    }  # fmt: skip
    partner = groups[1]
    assert (partner.level, partner.mandatory, partner.min_occurs, partner.head.segment_type) == (2, False, 1, "E1EDKA1")
    assert [c.segment_type for c in partner.head.children if isinstance(c, SegmentDefinition)] == ["E1EDKA3"]


def test_orders05_hierarchy_follows_levels(orders05: IDocType) -> None:
    path = orders05.path("E1TXTP1")
    assert [n.number if isinstance(n, GroupDefinition) else n.segment_type for n in path] == [
        3, "E1EDP01", 6, "E1EDPAD", 7, "E1TXTH1", "E1TXTP1",
    ]  # fmt: skip
    parent = orders05.parent("E1TXTP1")
    assert parent is not None
    assert parent.segment_type == "E1TXTH1"
    assert orders05.parent("E1EDK14") is None
    item = orders05.segment("E1EDP01")
    assert item is not None
    assert item.children[0] == orders05.segment("E1EDP02")
    kinds = [c.number if isinstance(c, GroupDefinition) else c.segment_type for c in item.children]
    assert kinds[:7] == ["E1EDP02", "E1CUREF", "E1ADDI1", "E1EDP03", "E1EDP04", 4, "E1EDP20"]


def test_orders05_record_section_matches_the_builtin_layouts(orders05: IDocType) -> None:
    assert [(f.name, f.length) for f in orders05.control_record] == list(EDI_DC40_LAYOUT)
    assert [(f.name, f.length) for f in orders05.data_record] == list(EDI_DD40_LAYOUT)
    sdata = orders05.data_record[-1]
    assert (sdata.name, sdata.offset) == ("SDATA", 63)
    assert len(orders05.status_record) == 24


def test_the_damaged_orders05_names_line_5767() -> None:
    path = external(f"{SAPIDOC}/main/resources/ORDERS05.txt")
    with pytest.raises(ParserFileError) as raised:
        read(path)
    assert raised.value.line == 5767
    assert raised.value.source == str(path)
    assert str(raised.value) == (
        f"{path}, line 5767: expected BEGIN_SEGMENT, BEGIN_GROUP or END_IDOC, found 'E2EDS01' "
        "(in BEGIN_IDOC ORDERS05 at line 549)"
    )


def test_orders01_older_format_with_value_lists(orders01: IDocType) -> None:
    assert orders01.name == "ORDERS01"
    assert len(orders01.segment_types) == 24
    assert (orders01.control_record, orders01.data_record, orders01.status_record) == ((), (), ())
    header = orders01.segment("E1EDK01")
    assert header is not None
    action = header.fields[0]
    assert (action.name, action.offset, action.length) == ("ACTION", 0, 3)
    assert action.values[:3] == (
        ("", "Initial: This field is not used in the message"),
        ("000", "No particular action required"),
        ("001", "Reverse entire document"),
    )
    assert len(action.values) == 6
    assert header.field("KZABS") is not None
    assert header.field("KZABS").values == (("X", "Yes"), ("", "No"))  # type: ignore[union-attr]
    assert _groups(orders01)[3].max_occurs == 9999999999


def test_line_ends_do_not_matter(tmp_path: Path) -> None:
    crlf = external(f"{SAPIDOC}/test/resources/ORDERS05.txt").read_bytes()
    assert b"\r\n" in crlf
    lf = tmp_path / "ORDERS05-lf.txt"
    lf.write_bytes(crlf.replace(b"\r\n", b"\n"))
    assert read(lf) == parse_parser_text(crlf.decode("ascii"), "crlf")


def test_a_record_definition_alone_is_not_an_idoc_type() -> None:
    path = external(f"{SAPIDOC}/main/resources/EDI_DC40")
    with pytest.raises(ParserFileError, match="line 1: expected BEGIN_RECORD_SECTION or BEGIN_SEGMENT_SECTION"):
        read(path)
