"""IDocs as JSON: round trips, and errors that name the JSON path of the wrong value."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest

from idocbridge.idoc import IDoc, IDocJsonError, Segment, idoc_from_json, idoc_to_json, iter_idoc_xml, write_idoc_json
from idocbridge.idoc.files import iter_json_file
from tests.conftest import EXAMPLES

IDOC = IDoc(
    {"TABNAM": "EDI_DC40", "IDOCTYP": "ZTEST01", "DOCNUM": "0000000000000001"},
    [
        Segment("Z1HEAD", {"DOCNO": "  A", "COUNT": "00002"}, [Segment("Z1NOTE", {"NOTE": "東京 Müller"})]),
        Segment("Z1SUM", {"TOTAL": "1"}),
    ],
)


def test_the_json_shape() -> None:
    assert idoc_to_json(IDOC) == {
        "control": {"TABNAM": "EDI_DC40", "IDOCTYP": "ZTEST01", "DOCNUM": "0000000000000001"},
        "segments": [
            {
                "segment": "Z1HEAD",
                "fields": {"DOCNO": "  A", "COUNT": "00002"},
                "children": [{"segment": "Z1NOTE", "fields": {"NOTE": "東京 Müller"}}],
            },
            {"segment": "Z1SUM", "fields": {"TOTAL": "1"}},
        ],
    }


def test_round_trip_through_text() -> None:
    out = io.StringIO()
    assert write_idoc_json(out, [IDOC, IDOC]) == 2
    text = out.getvalue()
    assert "東京" in text  # not \\u escaped
    assert [idoc_from_json(item) for item in json.loads(text)] == [IDOC, IDOC]


def test_an_empty_array() -> None:
    out = io.StringIO()
    assert write_idoc_json(out, []) == 0
    assert json.loads(out.getvalue()) == []


def test_the_orders05_example_round_trips() -> None:
    [idoc] = iter_idoc_xml(EXAMPLES / "idocs" / "orders05.xml")
    assert idoc_from_json(json.loads(json.dumps(idoc_to_json(idoc)))) == idoc


def test_trailing_blanks_are_dropped_and_blank_values_left_out() -> None:
    idoc = idoc_from_json(
        {
            "control": {"IDOCTYP": "ZTEST01 ", "MANDT": "  "},
            "segments": [{"segment": "Z1HEAD", "fields": {"DOCNO": " A  ", "COUNT": ""}}],
        }
    )
    assert idoc == IDoc({"IDOCTYP": "ZTEST01"}, [Segment("Z1HEAD", {"DOCNO": " A"})])


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ([], "$: expected an object"),
        ({"control": {}}, "$: segments is missing"),
        ({"control": {}, "segments": [], "extra": 1}, "$: unknown key(s) extra; allowed: control, segments"),
        ({"control": [], "segments": []}, "$.control: expected an object of field names to text values"),
        ({"control": {"MANDT": 100}, "segments": []}, "$.control: expected an object of field names to text values"),
        (
            {"control": {"COLOUR": "red"}, "segments": []},
            "$.control: COLOUR is not a field of the control record EDI_DC40",
        ),
        ({"control": {}, "segments": {}}, "$.segments: expected a list of segments"),
        ({"control": {}, "segments": ["E1"]}, "$.segments[0]: expected an object"),
        ({"control": {}, "segments": [{"fields": {}}]}, "$.segments[0]: segment is missing"),
        (
            {"control": {}, "segments": [{"segment": ""}]},
            '$.segments[0].segment: expected the segment type, e.g. "E1EDK01"',
        ),
        ({"control": {}, "segments": [{"segment": 7}]}, "$.segments[0].segment: expected the segment type"),
        (
            {"control": {}, "segments": [{"segment": "A", "field": {}}]},
            "$.segments[0]: unknown key(s) field; allowed: children, fields, segment",
        ),
        (
            {"control": {}, "segments": [{"segment": "A", "fields": {"F": None}}]},
            "$.segments[0].fields: expected an object of field names to text values",
        ),
        (
            {"control": {}, "segments": [{"segment": "A", "children": [{"segment": "B", "children": {}}]}]},
            "$.segments[0].children[0].children: expected a list of segments",
        ),
        (
            {"control": {}, "segments": [{"segment": "A"}, {"segment": "B", "children": [{"segment": "C", "x": 1}]}]},
            "$.segments[1].children[0]: unknown key(s) x",
        ),
    ],
)
def test_wrong_shapes_name_the_json_path(value: Any, message: str) -> None:
    with pytest.raises(IDocJsonError) as raised:
        idoc_from_json(value)
    assert str(raised.value).startswith(message)


def test_a_json_file_names_the_file_and_the_index(tmp_path: Path) -> None:
    path = tmp_path / "idocs.json"
    path.write_text(json.dumps([idoc_to_json(IDOC), {"control": {}, "segments": [{"segment": "A", "oops": 1}]}]))
    reader = iter_json_file(path)
    assert next(reader) == IDOC
    with pytest.raises(IDocJsonError, match=r"idocs\.json: \$\[1\]\.segments\[0\]: unknown key\(s\) oops"):
        next(reader)


def test_one_object_and_a_bom_are_accepted_and_bad_json_is_named(tmp_path: Path) -> None:
    path = tmp_path / "one.json"
    path.write_bytes(b"\xef\xbb\xbf" + json.dumps(idoc_to_json(IDOC)).encode())
    assert list(iter_json_file(path)) == [IDOC]
    path.write_text("[{")
    with pytest.raises(IDocJsonError, match=r"one\.json: not a JSON file"):
        list(iter_json_file(path))
