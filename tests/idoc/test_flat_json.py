"""Flat files straight to JSON (idoc.flat_json): the objects and errors of the general path, sooner.

Every test reads the same lines both ways: the general path (iter_flat_segments' reading, segments_to_idoc,
idoc_to_json) and read_flat_json. The fuzz suite (tests/fuzz/test_fuzz_idoc.py) compares them on mutated
files too.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from idocbridge.errors import IdocbridgeError
from idocbridge.idoc import (
    TXTRAW01,
    FlatFileError,
    IDocConversionError,
    IDocRecords,
    IDocType,
    idoc_to_json,
    iter_idoc_xml,
    parse_parser_text,
    read_parser_file,
    write_flat_idoc,
)
from idocbridge.idoc.files import write_converted
from idocbridge.idoc.flat import read_flat_segments
from idocbridge.idoc.flat_json import read_flat_json
from idocbridge.idoc.tables import idoc_to_records, segments_to_idoc
from tests.conftest import EXAMPLES
from tests.idoc.conftest import SAPIDOC, external
from tests.idoc.samples import ZTEST01, valid_records

ZTEST = parse_parser_text(ZTEST01, "ztest01.txt")
CONTROL = {"TABNAM": "EDI_DC40", "IDOCTYP": "ZTEST01", "DIRECT": "2", "DOCNUM": "0000000000004711"}


def _by_type(control: dict[str, str]) -> IDocType:
    types = {"ZTEST01": ZTEST, "TXTRAW01": TXTRAW01}
    if control.get("IDOCTYP") not in types:
        raise IdocbridgeError(f"no metadata for {control.get('IDOCTYP')!r}")
    return types[control["IDOCTYP"]]


def _flat(*idocs: IDocRecords) -> list[str]:
    out = io.StringIO()
    for records in idocs:
        write_flat_idoc(out, records)
    return out.getvalue().splitlines(keepends=True)


def _general(lines: list[str], resolve: Callable[[dict[str, str]], IDocType] = _by_type) -> list[dict[str, Any]]:
    return [idoc_to_json(segments_to_idoc(c, s, resolve(c))) for c, s in read_flat_segments(lines, "f.idoc")]


def _fused(lines: list[str], resolve: Callable[[dict[str, str]], IDocType] = _by_type) -> list[dict[str, Any]]:
    return list(read_flat_json(lines, "f.idoc", resolve))


def _line(segnam: str, sdata: str) -> str:
    return segnam.ljust(30) + " " * 33 + sdata + "\r\n"


def test_a_tree_of_segments_reads_as_the_general_path_reads_it() -> None:
    lines = _flat(IDocRecords(dict(CONTROL), valid_records()))
    [idoc] = _fused(lines)
    assert [idoc] == _general(lines)
    assert [s["segment"] for s in idoc["segments"]] == ["Z1HEAD", "Z1NOTE", "Z1ITEM", "Z1ITEM", "Z1SUM"]
    item = idoc["segments"][2]
    assert [c["segment"] for c in item["children"]] == ["Z1SCHED", "Z1SCHED", "Z1TEXT"]
    assert item["children"][2]["children"] == [{"segment": "Z1TLINE", "fields": {"TLINE": "a text line"}}]
    assert "children" not in idoc["segments"][0]  # no empty lists: the shape idoc_to_json writes


def test_several_idocs_of_several_types_blank_lines_and_lf_ends() -> None:
    text = IDocRecords({**CONTROL, "IDOCTYP": "TXTRAW01"}, [{"SEGNAM": "E1TXTRW", "SDATA": "one line"}])
    lines = ["\n", *_flat(IDocRecords(dict(CONTROL), valid_records()), text), "   \n"]
    lines += [line.replace("\r\n", "\n") for line in _flat(IDocRecords(dict(CONTROL), valid_records()[:1]))]
    assert [i["control"]["IDOCTYP"] for i in _fused(lines)] == ["ZTEST01", "TXTRAW01", "ZTEST01"]
    assert _fused(lines) == _general(lines)


def test_a_control_record_without_data_records_is_an_idoc() -> None:
    lines = _flat(IDocRecords(dict(CONTROL)), IDocRecords(dict(CONTROL)))
    assert _fused(lines) == _general(lines) == [{"control": CONTROL, "segments": []}] * 2


def test_every_problem_of_an_idoc_is_listed_as_the_general_path_lists_it() -> None:
    control = _flat(IDocRecords(dict(CONTROL)))
    bad = [
        _line("Z2SCHED", "00001"),
        _line("Z2HEAD001", "1"),
        _line("Z2BOGUS", "x"),
        _line("", "y"),
        _line("Z2SUM", "123456789012345X"),
        _line("Z2SUM", "1".ljust(1000)),
    ]
    with pytest.raises(IDocConversionError) as general:
        _general(control + bad)
    with pytest.raises(IDocConversionError) as fused:
        _fused(control + bad)
    assert str(fused.value) == str(general.value)
    assert [p.rule for p in fused.value.problems] == ["parent", "unknown-segment", "unknown-segment", "sdata-too-long"]


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        ([_line("Z2HEAD001", "1")], r"^f\.idoc, line 1: a data record comes before the first control record"),
        (
            ["EDI_DC    1000000000000000001 30A53\n", _line("Z2HEAD001", "1")],
            r"^f\.idoc, line 1: this is an IDoc file in the record format before SAP release 4\.0 \(control record "
            r"EDI_DC, data records EDI_DD\), which idocbridge does not read",
        ),
        (["\n", "EDI_DC40" + "x" * 600 + "\n"], r"^f\.idoc, line 2: EDI_DC40 record has 608 characters"),
        (None, r"^f\.idoc, line 3: EDI_DD40 record has 1064 characters, at most 1063 allowed"),
    ],
)
def test_a_line_that_holds_no_record_is_named_as_the_general_path_names_it(
    lines: list[str] | None, message: str
) -> None:
    if lines is None:
        lines = [*_flat(IDocRecords(dict(CONTROL), valid_records()[:1])), "Z2SUM".ljust(1064) + "\n"]
    with pytest.raises(FlatFileError, match=message) as general:
        _general(lines)
    with pytest.raises(FlatFileError, match=message) as fused:
        _fused(lines)
    assert (fused.value.line, fused.value.detail) == (general.value.line, general.value.detail)


def test_an_idoc_before_a_bad_one_is_handed_out_first() -> None:
    lines = _flat(IDocRecords(dict(CONTROL), valid_records()), IDocRecords(dict(CONTROL), [{"SEGNAM": "Z2BOGUS"}]))
    objects = read_flat_json(lines, "f.idoc", _by_type)
    assert next(objects)["control"] == CONTROL
    with pytest.raises(IDocConversionError, match="Z2BOGUS is not a segment of ZTEST01"):
        next(objects)


def test_the_metadata_error_of_an_unknown_type_comes_through() -> None:
    lines = _flat(IDocRecords({**CONTROL, "IDOCTYP": "ZNONE01"}, valid_records()))
    with pytest.raises(IdocbridgeError, match="no metadata for 'ZNONE01'"):
        _fused(lines)


def test_orders05_converts_to_the_json_of_its_idoc_xml(tmp_path: Path) -> None:
    orders05 = read_parser_file(external(f"{SAPIDOC}/test/resources/ORDERS05.txt"))
    [document] = iter_idoc_xml(EXAMPLES / "idocs" / "orders05.xml")
    flat = tmp_path / "orders05.txt"
    with flat.open("w", encoding="utf-8", newline="") as out:
        for _ in range(3):
            write_flat_idoc(out, idoc_to_records(document, orders05, segnam="definition"))
    converted = io.BytesIO()
    assert write_converted(converted, flat, "flat", "json", lambda basic, extension: orders05) == 3
    assert json.loads(converted.getvalue()) == [idoc_to_json(document)] * 3
