"""validate_idoc: every rule, with the exact messages, on ZTEST01 and on a real flat IDoc."""

from __future__ import annotations

from pathlib import Path

import pytest

from idocbridge.idoc import (
    GroupDefinition,
    IDocProblem,
    IDocType,
    Rule,
    SegmentDefinition,
    parse_parser_text,
    read_parser_file,
    validate_idoc,
)
from idocbridge.idoc.document import IDoc, Segment
from idocbridge.idoc.tables import IDocConversionError, idoc_to_records
from idocbridge.idoc.validation import validate_control_record
from tests.idoc.conftest import SAPIDOC, external
from tests.idoc.samples import ZTEST01, record, valid_records

ZTEST = parse_parser_text(ZTEST01, "ztest01.txt")
HEAD = "0000004711" + "00002"
FULLWIDTH_DIGITS = "\uff11\uff12\uff13\uff14\uff15"  # str.isdigit() accepts them; SAP's NUMC does not


def _messages(records: list[dict[str, str]], idoc_type: IDocType = ZTEST) -> list[str]:
    return [problem.message for problem in validate_idoc(idoc_type, records)]


def _bare(*rows: str | tuple[str, str]) -> list[dict[str, str]]:
    """Records with blank SEGNUM, PSGNUM and HLEVEL: the hierarchy comes from the order alone."""
    return [record(row) if isinstance(row, str) else record(*row) for row in rows]


ITEM: tuple[str, str] = ("Z1ITEM", "000010MAT")
SCHED: tuple[str, str] = ("Z1SCHED", "00001")


def test_a_valid_idoc_has_no_problems() -> None:
    assert validate_idoc(ZTEST, valid_records()) == []
    assert _messages(_bare(("Z1HEAD", HEAD), ITEM, SCHED, SCHED)) == []


def test_segnam_may_be_a_type_a_definition_or_another_release_of_it() -> None:
    names = ["Z1HEAD", "Z2HEAD001", "Z2ITEM002", "Z2ITEM001", "Z2ITEM", "Z1ITEM "]
    for name in names:
        assert ZTEST.resolve(name) is not None, name
    records = _bare(("Z2HEAD001", HEAD), ("Z2ITEM001", "000010"), SCHED, SCHED, ("  Z2ITEM  ", "000020"), SCHED, SCHED)
    assert _messages(records) == []


def test_right_trimmed_padded_and_missing_values_are_fine() -> None:
    records = [{"SEGNAM": "Z1HEAD", "SDATA": "0000004711".ljust(1000)}, {"SEGNAM": "Z1ITEM"}, *_bare(SCHED, SCHED)]
    assert _messages(records) == []


def test_unknown_segment() -> None:
    records = [*_bare(("Z1HEAD", HEAD), "Z2BOGUS", " ", ITEM, SCHED, SCHED)]
    problems = validate_idoc(ZTEST, records)
    assert problems[0] == IDocProblem(
        2,
        "Z2BOGUS",
        None,
        "unknown-segment",
        "segment 2 Z2BOGUS: Z2BOGUS is not a segment of ZTEST01 [unknown-segment]",
    )
    assert [str(p) for p in problems[1:]] == ["segment 3: SEGNAM is empty [unknown-segment]"]
    assert problems[0].rule == Rule.UNKNOWN_SEGMENT


def test_order_among_siblings() -> None:
    assert _messages(_bare(("Z1HEAD", HEAD), ITEM, SCHED, SCHED, "Z1NOTE", "Z1SUM")) == [
        "segment 5 Z1NOTE: out of order: Z1NOTE must come before Z1ITEM (segment 2) [order]",
    ]


def test_order_a_child_away_from_its_parent() -> None:
    assert _messages(_bare(("Z1HEAD", HEAD), ITEM, SCHED, SCHED, "Z1SUM", SCHED)) == [
        "segment 6 Z1SCHED: out of place: Z1SCHED belongs below Z1ITEM and must directly follow it or its other "
        "children (the last Z1ITEM is segment 2) [order]",
    ]


def test_a_child_without_its_parent() -> None:
    problems = validate_idoc(ZTEST, _bare(("Z1HEAD", HEAD), SCHED, "Z1SUM"))
    assert [p.message for p in problems] == [
        "IDoc ZTEST01: mandatory group 1 (Z1ITEM) is missing [min-occurs]",
        "segment 2 Z1SCHED: no Z1ITEM precedes it, but Z1SCHED belongs below Z1ITEM [parent]",
    ]
    assert (problems[0].segment_number, problems[0].segment, problems[0].rule) == (0, "Z1ITEM", "min-occurs")


def test_psgnum_must_name_the_parent() -> None:
    records = valid_records()
    records[3]["PSGNUM"] = "000002"
    records[1]["PSGNUM"] = "000001"
    records[6]["PSGNUM"] = "abc"
    assert _messages(records) == [
        "segment 2 Z1NOTE: PSGNUM 000001 names a parent, but Z1NOTE is a top-level segment: expected 000000 [parent]",
        "segment 4 Z1SCHED: PSGNUM 000002 does not name its parent Z1ITEM (segment 3): expected 000003 [parent]",
        "segment 7 Z1TLINE, field PSGNUM: 'abc' is not numeric [not-numeric]",
    ]


def test_hlevel_must_be_the_segments_level() -> None:
    records = valid_records()
    records[3]["HLEVEL"] = "02"
    records[0]["HLEVEL"] = "1"  # numerically the same level
    records[6]["HLEVEL"] = "4x"
    assert _messages(records) == [
        "segment 4 Z1SCHED: HLEVEL 02 differs from the level 03 of Z1SCHED [hlevel]",
        "segment 7 Z1TLINE, field HLEVEL: '4x' is not numeric [not-numeric]",
    ]


def test_segnum_counts_up_from_one() -> None:
    records = valid_records()
    for row in records:
        row["PSGNUM"] = ""
    for number, row in enumerate(records[2:], start=4):
        row["SEGNUM"] = f"{number:06d}"  # record 3 lost: one problem, not one per record
    records[0]["SEGNUM"] = "1"
    records[10]["SEGNUM"] = "00000A"
    assert _messages(records) == [
        "segment 3 Z1ITEM: SEGNUM 000004 is out of sequence (segment 2 has 000002): expected 000003 [segnum]",
        "segment 11 Z1SUM, field SEGNUM: '00000A' is not numeric [not-numeric]",
    ]
    records[0]["SEGNUM"] = "000000"
    assert _messages(records)[0] == (
        "segment 1 Z1HEAD: SEGNUM 000000 is out of sequence (it is the first record): expected 000001 [segnum]"
    )


def test_max_occurs_of_segments_children_and_groups() -> None:
    notes = ["Z1NOTE"] * 5
    assert _messages(_bare(("Z1HEAD", HEAD), *notes, ITEM, SCHED, SCHED)) == [
        "segment 5 Z1NOTE: Z1NOTE occurs more than 3 times [max-occurs]",
    ]
    assert _messages(_bare(("Z1HEAD", HEAD), ITEM, SCHED, SCHED, SCHED, SCHED)) == [
        "segment 6 Z1SCHED: Z1SCHED occurs more than 3 times below Z1ITEM (segment 2) [max-occurs]",
    ]
    items = [ITEM, SCHED, SCHED] * 3
    assert _messages(_bare(("Z1HEAD", HEAD), *items)) == [
        "segment 8 Z1ITEM: group 1 (Z1ITEM) repeats more than 2 times [max-occurs]",
    ]
    texts: list[str | tuple[str, str]] = [ITEM, SCHED, SCHED, "Z1TEXT", "Z1TLINE", "Z1TEXT", "Z1TEXT"]
    assert _messages(_bare(("Z1HEAD", HEAD), *texts)) == [
        "segment 8 Z1TEXT: group 2 (Z1TEXT) repeats more than 2 times below Z1ITEM (segment 2) [max-occurs]",
    ]


def test_min_occurs_missing_and_too_few() -> None:
    assert _messages([]) == [
        "IDoc ZTEST01: mandatory segment Z1HEAD is missing [min-occurs]",
        "IDoc ZTEST01: mandatory group 1 (Z1ITEM) is missing [min-occurs]",
    ]
    assert _messages(_bare(("Z1HEAD", HEAD), ITEM, ITEM, SCHED)) == [
        "segment 2 Z1ITEM: mandatory child segment Z1SCHED is missing [min-occurs]",
        "segment 3 Z1ITEM: child segment Z1SCHED occurs 1 time(s), at least 2 required [min-occurs]",
    ]
    two_groups = IDocType(
        "ZG", None, (GroupDefinition(1, 2, True, 2, 3, (SegmentDefinition("Z2G", "Z1G", 2, True, 1, 1),)),)
    )
    assert _messages(_bare("Z1G"), two_groups) == [
        "IDoc ZG: group 1 (Z1G) repeats 1 time(s), at least 2 required [min-occurs]",
    ]


def test_an_optional_segment_present_fewer_times_than_loopmin() -> None:
    optional = IDocType("ZO", "ZOX", (SegmentDefinition("Z2O", "Z1O", 2, False, 2, 4),))
    assert _messages([], optional) == []
    assert _messages(_bare("Z1O"), optional) == [
        "IDoc ZO with extension ZOX: segment Z1O occurs 1 time(s), at least 2 required [min-occurs]",
    ]


def test_sdata_too_long() -> None:
    problems = validate_idoc(ZTEST, _bare(("Z1HEAD", HEAD + "X"), ("Z1ITEM", "Y" * 1001), SCHED, SCHED))
    assert [p.message for p in problems] == [
        "segment 1 Z1HEAD: SDATA has data up to character 16, but the fields of Z1HEAD end at character 15 "
        "[sdata-too-long]",
        "segment 2 Z1ITEM: SDATA has 1001 characters, at most 1000 allowed [sdata-too-long]",
        "segment 2 Z1ITEM, field POSNR: 'YYYYYY' is not numeric [not-numeric]",
    ]
    assert (problems[0].field, problems[2].field) == (None, "POSNR")


def test_numeric_fields() -> None:
    records = _bare(
        ("Z1HEAD", "0000004711" + "00A02"), ("Z1ITEM", "12"), ("Z1SCHED", FULLWIDTH_DIGITS), ("Z1SCHED", " ")
    )
    assert _messages(records) == [
        "segment 1 Z1HEAD, field COUNT: '00A02' is not numeric [not-numeric]",
        "segment 2 Z1ITEM, field POSNR: '12    ' is not numeric [not-numeric]",
        f"segment 3 Z1SCHED, field QTY: '{FULLWIDTH_DIGITS}' is not numeric [not-numeric]",
    ]


def test_problems_come_in_record_order() -> None:
    records = _bare(("Z1HEAD", HEAD), ITEM, ("Z1SCHED", "x"), "Z1BOGUS")
    problems = validate_idoc(ZTEST, records)
    assert [p.segment_number for p in problems] == sorted(p.segment_number for p in problems)
    assert {p.rule for p in problems} == {"min-occurs", "not-numeric", "unknown-segment"}


def _flat(path: Path) -> list[dict[str, str]]:
    """The data records of a flat IDoc file (control record first, then 63 header characters + SDATA)."""
    lines = path.read_text(encoding="ascii").splitlines()[1:]
    return [
        {"SEGNAM": x[:30], "SEGNUM": x[49:55], "PSGNUM": x[55:61], "HLEVEL": x[61:63], "SDATA": x[63:]} for x in lines
    ]


def test_a_real_flat_idoc_whose_psgnum_values_are_wrong() -> None:
    orders01 = read_parser_file(external(f"{SAPIDOC}/main/resources/ORDERS01-Parseridoc.txt"))
    records = _flat(external(f"{SAPIDOC}/main/resources/ORDERS.idoc"))
    assert len(records) == 20
    problems = validate_idoc(orders01, records)
    assert {p.rule for p in problems} == {"parent"}
    assert [p.segment_number for p in problems] == [11, 12, 13, 14, 16, 17, 18, 19]
    assert problems[1].message == (
        "segment 12 E1EDP20: PSGNUM 000014 does not name its parent E1EDP01 (segment 10): expected 000010 [parent]"
    )
    for row in records:
        row["PSGNUM"] = ""
    assert validate_idoc(orders01, records) == []


@pytest.mark.parametrize("rule", list(Rule))
def test_every_rule_has_a_test_with_its_message(rule: Rule) -> None:
    source = Path(__file__).read_text(encoding="utf-8")
    assert f"[{rule.value}]" in source


def test_a_group_repeats_once_per_occurrence_of_its_first_segment() -> None:
    # The first segment's own LOOPMIN/LOOPMAX (1..1 in SAP's files) do not count: each occurrence opens a repetition.
    head = SegmentDefinition("Z2H", "Z1H", 2, True, 2, 2)
    grouped = IDocType("ZH", None, (GroupDefinition(1, 2, False, 1, 3, (head,)),))
    assert _messages(_bare("Z1H", "Z1H", "Z1H"), grouped) == []
    assert _messages(_bare("Z1H", "Z1H", "Z1H", "Z1H"), grouped) == [
        "segment 4 Z1H: group 1 (Z1H) repeats more than 3 times [max-occurs]",
    ]


def test_an_inbound_control_record_needs_direction_types_and_partners() -> None:
    assert validate_control_record({"DIRECT": "2", "IDOCTYP": "ZTEST01", "MESTYP": "ZTEST", "SNDPRN": "A",
                                    "RCVPRN": "B", "DOCNUM": "0000000000004711"}) == []  # fmt: skip
    messages = [p.message for p in validate_control_record({"DIRECT": "1", "IDOCTYP": "ZTEST01", "DOCNUM": "back"})]
    assert messages == [
        "control record EDI_DC40, field DIRECT: DIRECT is '1', inbound IDocs need 2 [control]",
        "control record EDI_DC40, field MESTYP: the message type (MESTYP) is missing [control]",
        "control record EDI_DC40, field SNDPRN: the sender partner (SNDPRN) is missing [control]",
        "control record EDI_DC40, field RCVPRN: the receiver partner (RCVPRN) is missing [control]",
        "control record EDI_DC40, field DOCNUM: 'back' is not numeric: DOCNUM holds an IDoc number [not-numeric]",
    ]


def test_conversion_to_records_reports_unknown_fields_and_values_too_long_with_the_same_rules() -> None:
    document = IDoc({"IDOCTYP": "ZTEST01"}, [
        Segment("Z1HEAD", {"DOCNO": "4711", "COLOUR": "red"}), Segment("Z1ITEM", {"MATNR": "MMMMMMMMMMMMMMMMMMM"}),
    ])  # fmt: skip
    with pytest.raises(IDocConversionError) as raised:
        idoc_to_records(document, ZTEST)
    assert [p.message for p in raised.value.problems] == [
        "segment 1 Z1HEAD, field COLOUR: Z1HEAD has no field COLOUR; its fields are DOCNO COUNT [unknown-field]",
        "segment 2 Z1ITEM, field MATNR: 'MMMMMMMMMMMMMMMMMMM' has 19 characters, at most 18 allowed [value-too-long]",
    ]
