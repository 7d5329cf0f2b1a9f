"""The built-in TXTRAW01 IDoc type."""

from __future__ import annotations

from idocbridge.idoc import TXTRAW01, TXTRAW_MESSAGE_TYPE, validate_idoc
from idocbridge.idoc.txtraw import TXTRAW_LINE_LENGTH, txtraw_records


def test_txtraw01_has_one_segment_with_tline_char_72() -> None:
    assert (TXTRAW01.name, TXTRAW01.extension, TXTRAW_MESSAGE_TYPE) == ("TXTRAW01", None, "TXTRAW")
    assert TXTRAW01.segment_types == ("E1TXTRW",)
    segment = TXTRAW01.segment("E1TXTRW")
    assert segment is not None
    assert TXTRAW01.resolve("E2TXTRW") is segment
    assert (segment.definition_name, segment.version, segment.level, segment.mandatory) == ("E2TXTRW", None, 2, True)
    assert (segment.min_occurs, segment.max_occurs, segment.children) == (1, 99999, ())
    (tline,) = segment.fields
    assert (tline.name, tline.type, tline.length, tline.offset, tline.position) == ("TLINE", "CHARACTER", 72, 0, 1)
    assert segment.sdata_length == TXTRAW_LINE_LENGTH == 72


def test_valid_txtraw_idocs() -> None:
    assert validate_idoc(TXTRAW01, txtraw_records(["Hello SAP", "", "x" * 72])) == []
    assert txtraw_records(["a"])[0] == {"SEGNAM": "E1TXTRW", "SEGNUM": "000001", "PSGNUM": "000000",
                                        "HLEVEL": "02", "SDATA": "a"}  # fmt: skip
    flat = [{"SEGNAM": "E2TXTRW", "SDATA": "line"}, {"SEGNAM": "E2TXTRW000", "SDATA": "line"}]
    assert validate_idoc(TXTRAW01, flat) == []


def test_invalid_txtraw_idocs() -> None:
    records = txtraw_records(["fine", "y" * 73, "z" * 1001])
    records[0]["HLEVEL"] = "01"
    records.append({"SEGNAM": "E1TXTRX", "SDATA": "typo"})
    assert [p.message for p in validate_idoc(TXTRAW01, records)] == [
        "segment 1 E1TXTRW: HLEVEL 01 differs from the level 02 of E1TXTRW [hlevel]",
        "segment 2 E1TXTRW: SDATA has data up to character 73, but the fields of E1TXTRW end at character 72 "
        "[sdata-too-long]",
        "segment 3 E1TXTRW: SDATA has 1001 characters, at most 1000 allowed [sdata-too-long]",
        "segment 4 E1TXTRX: E1TXTRX is not a segment of TXTRAW01 [unknown-segment]",
    ]
    assert [p.message for p in validate_idoc(TXTRAW01, [])] == [
        "IDoc TXTRAW01: mandatory segment E1TXTRW is missing [min-occurs]"
    ]
    too_many = txtraw_records(["."] * 100000)
    assert [p.message for p in validate_idoc(TXTRAW01, too_many)] == [
        "segment 100000 E1TXTRW: E1TXTRW occurs more than 99999 times [max-occurs]"
    ]
