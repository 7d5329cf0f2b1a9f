"""Documents <-> records: SEGNUM/PSGNUM/HLEVEL, SEGNAM style, padding, the hierarchy from order and metadata."""

from __future__ import annotations

import pytest

from idocbridge.idoc import (
    IDoc,
    IDocConversionError,
    IDocRecords,
    Segment,
    idoc_to_records,
    parse_parser_text,
    records_to_idoc,
    validate_idoc,
)
from tests.idoc.samples import ZTEST01, valid_records

ZTEST = parse_parser_text(ZTEST01, "ztest01.txt")
CONTROL = {"TABNAM": "EDI_DC40", "IDOCTYP": "ZTEST01", "DIRECT": "2"}


def _document() -> IDoc:
    """The document of samples.valid_records()."""
    return IDoc(
        dict(CONTROL),
        [
            Segment("Z1HEAD", {"DOCNO": "0000004711", "COUNT": "00002"}),
            Segment("Z1NOTE", {"NOTE": "first note"}),
            Segment(
                "Z1ITEM",
                {"POSNR": "000010", "MATNR": "MAT-1"},
                [
                    Segment("Z1SCHED", {"QTY": "00005"}),
                    Segment("Z1SCHED", {"QTY": "00007"}),
                    Segment("Z1TEXT", {"TDID": "0001"}, [Segment("Z1TLINE", {"TLINE": "a text line"})]),
                ],
            ),
            Segment(
                "Z1ITEM",
                {"POSNR": "000020", "MATNR": "MAT-2"},
                [
                    Segment("Z1SCHED", {"QTY": "00001"}),
                    Segment("Z1SCHED", {"QTY": "00002"}),
                ],
            ),
            Segment("Z1SUM", {"TOTAL": "42"}),
        ],
    )


def test_to_records_numbers_segments_and_names_parents_and_levels() -> None:
    records = idoc_to_records(_document(), ZTEST, segnam="definition")
    assert records.control == CONTROL
    assert records.data == valid_records()
    assert [(r["SEGNUM"], r["PSGNUM"], r["HLEVEL"]) for r in records.data][:7] == [
        ("000001", "000000", "01"),
        ("000002", "000000", "02"),
        ("000003", "000000", "02"),
        ("000004", "000003", "03"),
        ("000005", "000003", "03"),
        ("000006", "000003", "03"),
        ("000007", "000006", "04"),
    ]
    assert validate_idoc(ZTEST, records.data) == []


def test_segnam_is_the_segment_type_by_default_or_the_definition_name() -> None:
    by_type = idoc_to_records(_document(), ZTEST)
    by_definition = idoc_to_records(_document(), ZTEST, segnam="definition")
    assert [r["SEGNAM"] for r in by_type.data][:4] == ["Z1HEAD", "Z1NOTE", "Z1ITEM", "Z1SCHED"]
    assert [r["SEGNAM"] for r in by_definition.data][:4] == ["Z2HEAD001", "Z2NOTE", "Z2ITEM002", "Z2SCHED"]
    assert records_to_idoc(by_type, ZTEST) == records_to_idoc(by_definition, ZTEST) == _document()


def test_a_document_may_name_segments_by_definition_name() -> None:
    idoc = IDoc(dict(CONTROL), [Segment("Z2HEAD001", {"DOCNO": "1"})])
    assert idoc_to_records(idoc, ZTEST).data == [
        {"SEGNAM": "Z1HEAD", "SEGNUM": "000001", "PSGNUM": "000000", "HLEVEL": "01", "SDATA": "1"}
    ]


def _sdata(padding: str) -> list[str]:
    idoc = IDoc(
        dict(CONTROL),
        [
            Segment("Z1HEAD", {"DOCNO": " A", "COUNT": "2"}),
            Segment("Z1NOTE", {"NOTE": "x"}),
            Segment(
                "Z1ITEM", {"POSNR": "10", "MATNR": "M"}, [Segment("Z1SCHED", {"QTY": "7"}), Segment("Z1SCHED", {})]
            ),
            Segment("Z1SUM", {"TOTAL": "0A"}),
        ],
    )
    return [r.get("SDATA", "") for r in idoc_to_records(idoc, ZTEST, padding=padding).data]  # type: ignore[arg-type]


def test_padding_never_places_values_as_given() -> None:
    assert _sdata("Never") == [" A" + " " * 8 + "2", "x", "10" + " " * 4 + "M", "7", "", "0A"]


def test_padding_mixed_zero_fills_numeric_fields_only() -> None:
    assert _sdata("Mixed") == [" A" + " " * 8 + "00002", "x", "000010M", "00007", "", "0A"]


def test_padding_always_also_pads_sdata_to_the_segment_length() -> None:
    assert _sdata("Always") == [
        " A" + " " * 8 + "00002",
        "x".ljust(20),
        "000010" + "M".ljust(18),
        "00007",
        " " * 5,
        "0A".ljust(15),
    ]


def test_numeric_padding_decides_validity() -> None:
    idoc = IDoc(
        dict(CONTROL),
        [
            Segment("Z1HEAD", {"COUNT": "2"}),
            Segment("Z1ITEM", {"POSNR": "10"}, [Segment("Z1SCHED", {"QTY": "1"}), Segment("Z1SCHED", {"QTY": "2"})]),
        ],
    )
    never = validate_idoc(ZTEST, idoc_to_records(idoc, ZTEST).data)
    assert [(p.segment_number, p.field, p.rule) for p in never] == [
        (1, "COUNT", "not-numeric"),
        (2, "POSNR", "not-numeric"),
        (3, "QTY", "not-numeric"),
        (4, "QTY", "not-numeric"),
    ]
    assert validate_idoc(ZTEST, idoc_to_records(idoc, ZTEST, padding="Mixed").data) == []


def test_records_to_idoc_ignores_psgnum_and_hlevel() -> None:
    records = valid_records()
    for record in records:
        record["PSGNUM"] = "999999"
        record["HLEVEL"] = "09"
    assert records_to_idoc(IDocRecords(dict(CONTROL), records), ZTEST) == _document()
    for record in records:
        del record["PSGNUM"], record["HLEVEL"], record["SEGNUM"]
    assert records_to_idoc(IDocRecords(dict(CONTROL), records), ZTEST) == _document()


def test_records_to_idoc_builds_the_tree_from_order_and_metadata() -> None:
    rows = [
        "Z2HEAD001",
        "Z2ITEM002",
        "Z2SCHED",
        "Z2TEXT",
        "Z2TLINE",
        "Z2TLINE",
        "Z2TEXT",
        "Z2ITEM002",
        "Z2SCHED",
        "Z2SUM",
    ]
    idoc = records_to_idoc(IDocRecords({}, [{"SEGNAM": name} for name in rows]), ZTEST)
    shape = [(s.type, [(c.type, [g.type for g in c.children]) for c in s.children]) for s in idoc.segments]
    assert shape == [
        ("Z1HEAD", []),
        ("Z1ITEM", [("Z1SCHED", []), ("Z1TEXT", ["Z1TLINE", "Z1TLINE"]), ("Z1TEXT", [])]),
        ("Z1ITEM", [("Z1SCHED", [])]),
        ("Z1SUM", []),
    ]


def test_records_to_idoc_reports_every_problem_and_drops_nothing() -> None:
    records = IDocRecords(
        dict(CONTROL),
        [
            {"SEGNAM": "Z2SCHED", "SDATA": "00001"},
            {"SEGNAM": "Z2HEAD001", "SDATA": "1"},
            {"SEGNAM": "Z2BOGUS", "SDATA": "x"},
            {"SEGNAM": "", "SDATA": "y"},
            {"SEGNAM": "Z2SUM", "SDATA": "123456789012345X"},
            {"SEGNAM": "Z2SUM", "SDATA": "1".ljust(1001)},  # trailing blanks are no data, however many
        ],
    )
    with pytest.raises(IDocConversionError) as raised:
        records_to_idoc(records, ZTEST)
    assert [p.message for p in raised.value.problems] == [
        "segment 1 Z1SCHED: Z1SCHED belongs below Z1ITEM, and no Z1ITEM is open here [parent]",
        "segment 3 Z2BOGUS: Z2BOGUS is not a segment of ZTEST01 [unknown-segment]",
        "segment 4: SEGNAM is empty [unknown-segment]",
        "segment 5 Z1SUM: SDATA has data up to character 16, but the fields of Z1SUM end at character 15: "
        "that data would be lost [sdata-too-long]",
    ]
    assert str(raised.value).startswith("the records of IDoc ZTEST01 cannot be read:\n  segment 1 Z1SCHED")


def test_trailing_blanks_in_sdata_are_not_data() -> None:
    records = IDocRecords({}, [{"SEGNAM": "Z2SUM", "SDATA": "7".ljust(1000)}])
    assert records_to_idoc(records, ZTEST).segments == [Segment("Z1SUM", {"TOTAL": "7"})]


def test_idoc_to_records_reports_unknown_segments_fields_and_values_too_long() -> None:
    idoc = IDoc(
        {"IDOCTYP": "ZTEST01", "MESTYP": "M" * 31},
        [
            Segment("Z1HEAD", {"DOCNO": "12345678901", "COLOUR": "red"}),
            Segment("Z1BOGUS", {}, [Segment("Z1NOTE", {"NOTE": "n"})]),
        ],
    )
    with pytest.raises(IDocConversionError) as raised:
        idoc_to_records(idoc, ZTEST)
    assert [(p.segment_number, p.segment, p.field, p.rule) for p in raised.value.problems] == [
        (0, "EDI_DC40", None, "value-too-long"),
        (1, "Z1HEAD", "DOCNO", "value-too-long"),
        (1, "Z1HEAD", "COLOUR", "unknown-field"),
        (2, "Z1BOGUS", None, "unknown-segment"),
    ]
    assert "EDI_DC40-MESTYP" in raised.value.problems[0].message
    assert str(raised.value).startswith("IDoc ZTEST01 cannot be written as records:\n  ")


def test_padding_does_not_hide_a_value_too_long() -> None:
    idoc = IDoc({}, [Segment("Z1HEAD", {"COUNT": "123456"})])
    with pytest.raises(IDocConversionError, match="'123456' has 6 characters, at most 5 allowed"):
        idoc_to_records(idoc, ZTEST, padding="Always")


def test_many_problems_are_summarised_in_the_message() -> None:
    idoc = IDoc({}, [Segment("Z1BOGUS") for _ in range(25)])
    with pytest.raises(IDocConversionError) as raised:
        idoc_to_records(idoc, ZTEST)
    assert len(raised.value.problems) == 25
    assert str(raised.value).endswith("... and 5 more")


def test_a_segment_below_the_wrong_parent_is_refused_not_silently_moved() -> None:
    idoc = IDoc(dict(CONTROL), [Segment("Z1HEAD", {}, [Segment("Z1SUM", {"TOTAL": "1"})])])
    with pytest.raises(IDocConversionError) as raised:
        idoc_to_records(idoc, ZTEST)
    assert [p.message for p in raised.value.problems] == [
        "segment 2 Z1SUM: Z1SUM belongs at the top level, but it is below Z1HEAD [parent]"
    ]


@pytest.mark.parametrize("padding", ["Never", "Mixed", "Always"])
def test_fields_in_any_order_give_the_sdata_of_field_order(padding: str) -> None:
    ordered = Segment("Z1ITEM", {"POSNR": "10", "MATNR": "MAT-1"})
    reversed_ = Segment("Z1ITEM", {"MATNR": "MAT-1", "POSNR": "10"})
    [first], [second] = (
        idoc_to_records(IDoc(dict(CONTROL), [segment]), ZTEST, padding=padding).data  # type: ignore[arg-type]
        for segment in (ordered, reversed_)
    )
    assert first == second
    assert first["SDATA"].startswith("10" if padding == "Never" else "000010")


def test_sdata_cut_stops_at_its_end_and_a_field_it_cuts_short_keeps_what_is_there() -> None:
    records = IDocRecords(dict(CONTROL), [{"SEGNAM": "Z1ITEM", "SDATA": "000010MAT"}, {"SEGNAM": "Z1ITEM"}])
    first, second = records_to_idoc(records, ZTEST).segments
    assert first.fields == {"POSNR": "000010", "MATNR": "MAT"}
    assert second.fields == {}
