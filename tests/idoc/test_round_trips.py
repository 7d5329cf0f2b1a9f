"""Round trips between flat files, IDoc-XML, records (tables) and JSON: the external ORDERS.idoc, our
ORDERS05 example, and random valid IDocs generated from metadata."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings

from idocbridge.idoc import (
    IDoc,
    IDocRecords,
    IDocType,
    idoc_from_json,
    idoc_to_json,
    idoc_to_records,
    iter_flat_file,
    iter_idoc_xml,
    parse_parser_text,
    read_flat_lines,
    read_parser_file,
    records_to_idoc,
    validate_idoc,
    write_flat_idoc,
    write_idoc_xml,
)
from tests.conftest import EXAMPLES
from tests.idoc.conftest import SAPIDOC, external
from tests.idoc.samples import ZTEST01
from tests.idoc.strategies import idocs

ZTEST = parse_parser_text(ZTEST01, "ztest01.txt")
ORDERS05_XML = EXAMPLES / "idocs" / "orders05.xml"


def _xml(documents: list[IDoc]) -> list[IDoc]:
    out = io.BytesIO()
    write_idoc_xml(out, documents)
    return list(iter_idoc_xml(io.BytesIO(out.getvalue())))


def _flat(records: list[IDocRecords], *, full_width: bool = False) -> list[IDocRecords]:
    out = io.StringIO()
    for one in records:
        write_flat_idoc(out, one, full_width=full_width)
    data = out.getvalue().encode("utf-8")
    return list(read_flat_lines(io.TextIOWrapper(io.BytesIO(data), encoding="utf-8", newline="")))


def _json(document: IDoc) -> IDoc:
    return idoc_from_json(json.loads(json.dumps(idoc_to_json(document), ensure_ascii=False)))


# (a) ORDERS.idoc with the ORDERS01 parser file


@pytest.fixture(scope="module")
def orders01() -> IDocType:
    return read_parser_file(external(f"{SAPIDOC}/main/resources/ORDERS01-Parseridoc.txt"))


@pytest.fixture(scope="module")
def orders_idoc() -> IDocRecords:
    [records] = iter_flat_file(external(f"{SAPIDOC}/main/resources/ORDERS.idoc"))
    return records


WRONG_PSGNUM = {
    11: ("000000", "000010"),
    12: ("000014", "000010"),
    13: ("000014", "000010"),
    14: ("000014", "000010"),
    16: ("000000", "000015"),
    17: ("000023", "000015"),
    18: ("000023", "000015"),
    19: ("000023", "000015"),
}
"""Segment number: (PSGNUM in the file, PSGNUM from the hierarchy). E1EDP05/E1EDP20/E1EDP19 sit below the
E1EDP01 at 10 and 15; the file names 000000, 000014 and 000023 instead."""


def _compare(original: IDocRecords, converted: IDocRecords) -> None:
    assert converted.control == original.control
    assert len(converted.data) == len(original.data) == 20
    differences: dict[int, tuple[str, str]] = {}
    for number, (before, after) in enumerate(zip(original.data, converted.data, strict=True), start=1):
        assert {k: v for k, v in after.items() if k != "PSGNUM"} == {k: v for k, v in before.items() if k != "PSGNUM"}
        if after["PSGNUM"] != before["PSGNUM"]:
            differences[number] = (before["PSGNUM"], after["PSGNUM"])
    assert differences == WRONG_PSGNUM


def test_orders_idoc_flat_xml_flat_changes_only_the_wrong_psgnums(
    orders01: IDocType, orders_idoc: IDocRecords, tmp_path: Path
) -> None:
    assert "MANDT" not in orders_idoc.data[0] and "DOCNUM" not in orders_idoc.data[0]  # blank in the file
    [document] = _xml([records_to_idoc(orders_idoc, orders01)])
    back = idoc_to_records(document, orders01, segnam="definition")
    _compare(orders_idoc, back)
    # written as a file again and read, right-trimmed
    path = tmp_path / "again.idoc"
    with path.open("w", encoding="utf-8", newline="") as handle:
        write_flat_idoc(handle, back)
    [again] = iter_flat_file(path)
    _compare(orders_idoc, again)
    assert validate_idoc(orders01, again.data) == []


def test_orders_idoc_flat_tables_xml_flat(orders01: IDocType, orders_idoc: IDocRecords) -> None:
    document = records_to_idoc(orders_idoc, orders01)
    tables = idoc_to_records(document, orders01)  # SEGNAM as segment types, as tRFC sends them
    assert [r["SEGNAM"] for r in tables.data][:3] == ["E1EDK01", "E1EDK14", "E1EDK14"]
    [from_tables] = _xml([records_to_idoc(tables, orders01)])
    assert from_tables == document
    _compare(orders_idoc, _flat([idoc_to_records(from_tables, orders01, segnam="definition")])[0])


def test_orders_idoc_full_width_reads_the_same(orders01: IDocType, orders_idoc: IDocRecords) -> None:
    assert _flat([orders_idoc], full_width=True) == [orders_idoc]


def test_orders_idoc_validation_reports_exactly_the_wrong_psgnums(orders01: IDocType, orders_idoc: IDocRecords) -> None:
    problems = validate_idoc(orders01, orders_idoc.data)
    assert {(p.segment_number, p.rule) for p in problems} == {(n, "parent") for n in WRONG_PSGNUM}


# (b) our ORDERS05 example


@pytest.fixture(scope="module")
def orders05() -> IDocType:
    return read_parser_file(external(f"{SAPIDOC}/test/resources/ORDERS05.txt"))


@pytest.fixture(scope="module")
def orders05_document() -> IDoc:
    [document] = iter_idoc_xml(ORDERS05_XML)
    return document


def test_orders05_xml_tables_xml(orders05: IDocType, orders05_document: IDoc) -> None:
    tables = idoc_to_records(orders05_document, orders05)
    assert len(tables.data) == 16
    assert validate_idoc(orders05, tables.data) == []
    assert _xml([records_to_idoc(tables, orders05)]) == [orders05_document]


def test_orders05_xml_flat_xml(orders05: IDocType, orders05_document: IDoc) -> None:
    flat = _flat([idoc_to_records(orders05_document, orders05, segnam="definition")])
    assert flat[0].data[0]["SEGNAM"] == "E2EDK01005"
    assert _xml([records_to_idoc(flat[0], orders05)]) == [orders05_document]


def test_orders05_xml_json_xml(orders05_document: IDoc) -> None:
    assert _xml([_json(orders05_document)]) == [orders05_document]


# (c) random valid IDocs


def _check_round_trips(idoc_type: IDocType, document: IDoc) -> None:
    for segnam in ("type", "definition"):
        records = idoc_to_records(document, idoc_type, segnam=segnam)  # type: ignore[arg-type]
        assert validate_idoc(idoc_type, records.data) == []
        assert records_to_idoc(records, idoc_type) == document  # tables
        [flat] = _flat([records])
        assert flat == records
        assert records_to_idoc(flat, idoc_type) == document
    padded = idoc_to_records(document, idoc_type, padding="Always")
    [flat_full] = _flat([padded], full_width=True)
    assert records_to_idoc(flat_full, idoc_type) == document
    assert _xml([document]) == [document]
    assert _json(document) == document


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(idocs(ZTEST))
def test_random_ztest01_idocs_round_trip(document: IDoc) -> None:
    _check_round_trips(ZTEST, document)


def test_random_orders05_idocs_round_trip() -> None:
    orders05 = read_parser_file(external(f"{SAPIDOC}/test/resources/ORDERS05.txt"))

    @settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(idocs(orders05))
    def check(document: IDoc) -> None:
        _check_round_trips(orders05, document)

    check()
