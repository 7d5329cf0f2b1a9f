"""Parser files written here: the happy path, both generations, extensions, and many kinds of damage."""

from __future__ import annotations

from pathlib import Path

import pytest

from idocbridge.idoc import GroupDefinition, IDocType, ParserFileError, SegmentDefinition, parse_parser_text
from idocbridge.idoc import read_parser_file as read
from tests.idoc.samples import ZTEST01, field, line_of, segment


def _parse(text: str) -> IDocType:
    return parse_parser_text(text, "z.txt")


def _error(text: str) -> str:
    with pytest.raises(ParserFileError) as raised:
        _parse(text)
    return str(raised.value)


def _edit(content: str, replacement: str | None, occurrence: int = 1, text: str = ZTEST01) -> str:
    """``text`` with the n-th line reading ``content`` replaced (None: deleted)."""
    lines = text.split("\n")
    number = line_of(text, content, occurrence)
    if replacement is None:
        del lines[number - 1]
    else:
        lines[number - 1] = replacement
    return "\n".join(lines)


def _mini(fields: str) -> str:
    return (
        "BEGIN_SEGMENT_SECTION\nBEGIN_IDOC ZMINI\n"
        + segment("Z2A", "Z1A", 1, "MANDATORY", (1, 1), fields)
        + ("END_IDOC\nEND_SEGMENT_SECTION\n")
    )


def test_the_synthetic_type_reads_completely() -> None:
    ztest = _parse(ZTEST01)
    assert ztest.segment_types == ("Z1HEAD", "Z1NOTE", "Z1ITEM", "Z1SCHED", "Z1TEXT", "Z1TLINE", "Z1SUM")
    head, note, item_group, total = ztest.segments
    assert isinstance(head, SegmentDefinition) and isinstance(note, SegmentDefinition)
    assert (head.level, head.mandatory, head.min_occurs, head.max_occurs, head.qualified) == (1, True, 1, 1, False)
    assert [(f.name, f.offset, f.length, f.is_numeric) for f in head.fields] == [
        ("DOCNO", 0, 10, False), ("COUNT", 10, 5, True),
    ]  # fmt: skip
    assert (note.qualified, note.mandatory, note.max_occurs) == (True, False, 3)
    assert isinstance(item_group, GroupDefinition)
    assert (item_group.number, item_group.level, item_group.mandatory, item_group.max_occurs) == (1, 2, True, 2)
    item = item_group.head
    assert item.definition_name == "Z2ITEM002" and item.version == "002"
    schedule, text_group = item.children
    assert isinstance(schedule, SegmentDefinition) and isinstance(text_group, GroupDefinition)
    assert (schedule.segment_type, schedule.min_occurs, schedule.max_occurs) == ("Z1SCHED", 2, 3)
    assert text_group.head.children[0] == ztest.segment("Z1TLINE")
    assert isinstance(total, SegmentDefinition) and total.segment_type == "Z1SUM"


def test_extensions_are_read_with_or_without_end_extension() -> None:
    text = ZTEST01.replace("BEGIN_IDOC          ZTEST01\n", "BEGIN_IDOC ZTEST01\nBEGIN_EXTENSION ZTESTX01\n")
    extended = _parse(text)
    assert (extended.name, extended.extension, extended.label) == (
        "ZTEST01",
        "ZTESTX01",
        "ZTEST01 with extension ZTESTX01",
    )
    closed = _parse(text.replace("  END_IDOC\n", "END_EXTENSION\nEND_IDOC\n"))
    assert closed == extended
    without = _error(ZTEST01.replace("  END_IDOC\n", "END_EXTENSION\nEND_IDOC\n"))
    assert without == "z.txt, line 151: expected BEGIN_SEGMENT, BEGIN_GROUP or END_IDOC, found 'END_EXTENSION' " + (
        "(in BEGIN_IDOC ZTEST01 at line 2)"
    )


def test_older_format_with_byte_positions_and_value_lists() -> None:
    old = field("ACTION", "CHARACTER", 3, 1, 64).replace("CHARACTER_", "BYTE_") + (
        "        VALUE                ''\n        VALUE_TEXT\n"
        "        VALUE                '001'\n        VALUE_TEXT           Reverse 'entire' document\n"
    )
    segment_ = _parse(_mini(old)).segment("Z1A")
    assert segment_ is not None
    (action,) = segment_.fields
    assert (action.offset, action.length, action.values) == (0, 3, (("", ""), ("001", "Reverse 'entire' document")))


def test_a_segment_listed_without_fields() -> None:
    text = _mini("").replace("      BEGIN_FIELDS\n      END_FIELDS\n", "")
    segment_ = _parse(text).segment("Z1A")
    assert segment_ is not None
    assert (segment_.fields, segment_.sdata_length) == ((), 0)


def test_line_ends_byte_order_mark_and_blank_text() -> None:
    crlf = ZTEST01.replace("\n", "\r\n")
    assert _parse(crlf) == _parse(ZTEST01) == _parse("\ufeff" + ZTEST01.replace("\n", "\r"))
    assert _parse(ZTEST01.replace("TEXT                Docno", "TEXT")).segments[0].fields[0].text == ""  # type: ignore[union-attr]


def test_files_latin1_unreadable(tmp_path: Path) -> None:
    latin = tmp_path / "latin.txt"
    latin.write_bytes(ZTEST01.replace("Docno", "Belegnummer für Bestellung").encode("latin-1"))
    head = read(latin).segment("Z1HEAD")
    assert head is not None and head.fields[0].text == "Belegnummer für Bestellung"
    with pytest.raises(ParserFileError) as raised:
        read(tmp_path)
    assert raised.value.line is None
    assert str(raised.value).startswith(f"{tmp_path}: cannot read the file: ")
    with pytest.raises(ParserFileError, match=r"missing\.txt: cannot read the file: No such file or directory"):
        read(tmp_path / "missing.txt")


DAMAGE = [
    pytest.param(
        _edit("SEGMENTTYPE Z1NOTE", "      SEGMENTTYP          Z1NOTE"),
        "line 29: expected SEGMENTTYPE, QUALIFIED, LEVEL, STATUS, LOOPMIN or LOOPMAX, found 'SEGMENTTYP Z1NOTE' "
        "(in BEGIN_SEGMENT Z2NOTE at line 28)",
        id="unexpected-keyword",
    ),
    pytest.param(
        _edit("BEGIN_SEGMENT Z2SUM", "    Z2SUM"),
        "line 134: expected BEGIN_SEGMENT, BEGIN_GROUP or END_IDOC, found 'Z2SUM' (in BEGIN_IDOC ZTEST01 at line 2)",
        id="begin-segment-missing",
    ),
    pytest.param(
        _edit("END_SEGMENT", None, 2),
        "line 45: expected END_SEGMENT, found 'BEGIN_GROUP 1' (closing BEGIN_SEGMENT Z2NOTE at line 28)",
        id="end-segment-missing",
    ),
    pytest.param(
        _edit("END_GROUP", None, 2),
        "line 135: LEVEL 02 is not below LEVEL 02 of the group's first segment Z2ITEM002 "
        "(in BEGIN_GROUP 1 at line 46); is END_GROUP missing before line 133?",
        id="end-group-missing",
    ),
    pytest.param(
        "\n".join(line for line in ZTEST01.split("\n") if line.strip() != "END_GROUP"),
        "line 134: LEVEL 02 is not below LEVEL 03 of the group's first segment Z2TEXT (in BEGIN_GROUP 2 at line 93); "
        "is END_GROUP missing before line 132?",
        id="both-end-groups-missing",
    ),
    pytest.param(
        _edit("LENGTH 000010", "        LENGTH              00001O"),
        "line 13: LENGTH needs a whole number of 1 to 10 digits, found '00001O'",
        id="length-not-numeric",
    ),
    pytest.param(
        "\n".join(ZTEST01.split("\n")[:60]) + "\n",
        "line 60: expected LENGTH, found the end of the file (in field POSNR at line 58, which has no LENGTH)",
        id="truncated-in-a-field",
    ),
    pytest.param(
        "\n".join(ZTEST01.split("\n")[:45]),
        "line 45: expected BEGIN_SEGMENT, BEGIN_GROUP or END_IDOC, found the end of the file "
        "(in BEGIN_IDOC ZTEST01 at line 2)",
        id="truncated-between-segments",
    ),
    pytest.param(
        ZTEST01[: ZTEST01.index("CHARACTER_LAST      000073") + len("CHARACTER_LAST      0000")],
        "line 16: expected VALUE, NAME or END_FIELDS, found the end of the file (in field DOCNO at line 10)",
        id="truncated-in-a-line",
    ),
    pytest.param(
        _edit("LOOPMAX 0000000001", None),
        "line 8: expected LOOPMAX, found 'BEGIN_FIELDS' (in BEGIN_SEGMENT Z2HEAD001 at line 3)",
        id="attribute-missing",
    ),
    pytest.param(
        _edit("STATUS OPTIONAL", "      LEVEL               02"),
        "line 32: LEVEL is given a second time (in BEGIN_SEGMENT Z2NOTE at line 28); the first is at line 31",
        id="attribute-twice",
    ),
    pytest.param(
        _edit("SEGMENTTYPE Z1SUM", "      SEGMENTTYPE         Z1NOTE"),
        "line 135: segment type Z1NOTE is defined a second time (first at line 29)",
        id="segment-type-twice",
    ),
    pytest.param(
        _edit("BEGIN_SEGMENT Z2SUM", "    BEGIN_SEGMENT       Z2NOTE"),
        "line 134: definition name Z2NOTE is defined a second time (first at line 28)",
        id="definition-twice",
    ),
    pytest.param(
        _edit("BEGIN_GROUP 2", "    BEGIN_GROUP         1"),
        "line 93: group 1 is defined a second time (first at line 46)",
        id="group-twice",
    ),
    pytest.param(
        _edit("BEGIN_GROUP 1", "    BEGIN_GROUP         A"),
        "line 46: BEGIN_GROUP needs a whole number of 1 to 10 digits, found 'A'",
        id="group-number",
    ),
    pytest.param(
        _edit("NAME COUNT", "        NAME                DOCNO"),
        "line 18: field DOCNO is defined a second time (in BEGIN_SEGMENT Z2HEAD001 at line 3)",
        id="field-twice",
    ),
    pytest.param(
        _edit("CHARACTER_FIRST 000074", "        CHARACTER_FIRST     000075"),
        "line 23: CHARACTER_FIRST 000075 should be right after field DOCNO: expected 000074",
        id="field-gap",
    ),
    pytest.param(
        _edit("CHARACTER_FIRST 000074", "        CHARACTER_FIRST     000070"),
        "line 23: CHARACTER_FIRST 000070 should be right after field DOCNO: expected 000074",
        id="field-overlap",
    ),
    pytest.param(
        _edit("CHARACTER_FIRST 000064", "        CHARACTER_FIRST     000001"),
        "line 15: CHARACTER_FIRST 000001 should be at character 64, where SDATA starts: expected 000064",
        id="field-before-sdata",
    ),
    pytest.param(
        _edit("CHARACTER_LAST 000073", "        CHARACTER_LAST      000072"),
        "line 16: CHARACTER_LAST 000072 does not fit CHARACTER_FIRST 000064 and LENGTH 000010: expected 000073",
        id="last-does-not-fit",
    ),
    pytest.param(
        _edit("FIELD_POS 0002", "        FIELD_POS           0003"),
        "line 22: FIELD_POS 0003 out of sequence: expected 0002",
        id="field-pos-sequence",
    ),
    pytest.param(
        _mini(field("BIG", "CHARACTER", 1001, 1, 64)),
        "line 16: field BIG ends at character 1064, beyond the end of SDATA at character 1063",
        id="field-beyond-sdata",
    ),
    pytest.param(
        _edit("CHARACTER_LAST 000073", "        BYTE_LAST           000073"),
        "line 16: BYTE_LAST mixes the BYTE_ and CHARACTER_ formats (in field DOCNO at line 10)",
        id="byte-and-character",
    ),
    pytest.param(
        _edit("TYPE CHARACTER", None),
        "line 17: expected TYPE, found 'NAME COUNT' (in field DOCNO at line 10, which has no TYPE)",
        id="field-attribute-missing",
    ),
    pytest.param(
        _edit("FIELD_POS 0001", "        FIELD_PS            0001"),
        "line 14: expected FIELD_POS, found 'FIELD_PS 0001' (in field DOCNO at line 10, which has no FIELD_POS)",
        id="field-attribute-misspelt",
    ),
    pytest.param(
        _edit("CHARACTER_LAST 000073", "        CHARACTER_LAST      000073\n        OFFSET 0"),
        "line 17: expected VALUE, NAME or END_FIELDS, found 'OFFSET 0' (in field DOCNO at line 10)",
        id="field-unknown-keyword",
    ),
    pytest.param(
        _edit("CHARACTER_LAST 000073", "        CHARACTER_LAST      000073\n        VALUE X"),
        "line 17: VALUE needs a code in single quotes such as 'X', found 'X'",
        id="value-unquoted",
    ),
    pytest.param(
        _edit("CHARACTER_LAST 000073", "        CHARACTER_LAST      000073\n        VALUE 'X'"),
        "line 19: expected VALUE_TEXT, found 'NAME COUNT' (after VALUE at line 17)",
        id="value-text-missing",
    ),
    pytest.param(
        _edit("LEVEL 03", "      LEVEL               02"),
        "line 78: LEVEL 02 is not below LEVEL 02 of the group's first segment Z2ITEM002 "
        "(in BEGIN_GROUP 1 at line 46); is END_GROUP missing before line 76?",
        id="group-member-not-below",
    ),
    pytest.param(
        _edit("STATUS MANDATORY", "      STATUS              REQUIRED"),
        "line 6: STATUS must be MANDATORY or OPTIONAL, found 'REQUIRED'",
        id="status",
    ),
    pytest.param(
        _edit("LOOPMIN 0000000001", "      LOOPMIN             0000000005", 2),
        "line 33: LOOPMIN 5 is greater than LOOPMAX 3",
        id="loopmin-above-loopmax",
    ),
    pytest.param(
        _edit("LOOPMAX 0000000001", "      LOOPMAX             0000000000"),
        "line 8: LOOPMAX 0000000000 is too small: the least allowed is 1",
        id="loopmax-zero",
    ),
    pytest.param(
        _edit("LOOPMAX 0000000001", "      LOOPMAX             99999999999"),
        "line 8: LOOPMAX needs a whole number of 1 to 10 digits, found '99999999999'",
        id="loopmax-too-long",
    ),
    pytest.param(
        _edit("LEVEL 01", "      LEVEL               00"),
        "line 5: LEVEL 00 is too small: the least allowed is 1",
        id="level-zero",
    ),
    pytest.param(
        _edit("LEVEL 01", "      LEVEL               100"),
        "line 5: LEVEL 100 is above 99",
        id="level-above-99",
    ),
    pytest.param(
        _edit("QUALIFIED", "      QUALIFIED X"),
        "line 30: QUALIFIED takes no value, found 'X'",
        id="qualified-value",
    ),
    pytest.param(
        _edit("BEGIN_SEGMENT Z2SUM", "    BEGIN_SEGMENT       Z2SUM Z1SUM"),
        "line 134: BEGIN_SEGMENT needs one name of at most 30 characters, found 'Z2SUM Z1SUM'",
        id="two-names",
    ),
    pytest.param(
        _edit("BEGIN_IDOC ZTEST01", "  BEGIN_IDOC"),
        "line 2: BEGIN_IDOC needs a name",
        id="idoc-without-name",
    ),
    pytest.param(
        "",
        "line 1: expected BEGIN_RECORD_SECTION or BEGIN_SEGMENT_SECTION, found the end of the file",
        id="empty",
    ),
    pytest.param(
        " \n\t\n",
        "line 2: expected BEGIN_RECORD_SECTION or BEGIN_SEGMENT_SECTION, found the end of the file",
        id="blank",
    ),
    pytest.param(
        "\x00\x01binary\xff",
        "line 1: expected BEGIN_RECORD_SECTION or BEGIN_SEGMENT_SECTION, found '\\x00\\x01binary\xff'",
        id="binary",
    ),
    pytest.param(
        ZTEST01 + "BEGIN_IDOC X\n",
        "line 153: expected the end of the file, found 'BEGIN_IDOC X' after END_SEGMENT_SECTION",
        id="content-after-the-end",
    ),
    pytest.param(
        "BEGIN_SEGMENT_SECTION\nBEGIN_IDOC ZEMPTY\nEND_IDOC\nEND_SEGMENT_SECTION\n",
        "line 3: expected BEGIN_SEGMENT or BEGIN_GROUP, found 'END_IDOC' (in BEGIN_IDOC ZEMPTY at line 2)",
        id="no-segments",
    ),
    pytest.param(
        "BEGIN_RECORD_SECTION\nBEGIN_DATA_RECORD\nBEGIN_FIELDS\n" + field("SEGNAM", "CHARACTER", 30, 1, 1)
        + "END_FIELDS\nEND_DATA_RECORD\nBEGIN_CONTROL_RECORD\n",
        "line 14: expected BEGIN_STATUS_RECORD or END_RECORD_SECTION, found 'BEGIN_CONTROL_RECORD'",
        id="records-out-of-order",
    ),
    pytest.param(
        "BEGIN_RECORD_SECTION\nEND_RECORD_SECTION\n",
        "line 2: expected BEGIN_SEGMENT_SECTION, found the end of the file (the file must describe an IDoc type)",
        id="records-only",
    ),
]  # fmt: skip


@pytest.mark.parametrize(("text", "message"), DAMAGE)
def test_damage_is_reported_with_its_line(text: str, message: str) -> None:
    assert _error(text) == f"z.txt, {message}"


def test_the_error_carries_source_line_and_detail() -> None:
    with pytest.raises(ParserFileError) as raised:
        parse_parser_text(_edit("LEVEL 01", "      LEVEL               00"), "some/file.txt")
    error = raised.value
    assert (error.source, error.line, error.detail) == (
        "some/file.txt",
        5,
        "LEVEL 00 is too small: the least allowed is 1",
    )


def test_a_long_unexpected_line_is_shortened() -> None:
    message = _error(_edit("BEGIN_SEGMENT Z2SUM", "    " + "X" * 100))
    assert f"found '{'X' * 60}...' (in BEGIN_IDOC" in message
