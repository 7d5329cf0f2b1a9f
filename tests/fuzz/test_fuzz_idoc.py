"""Fuzz the IDoc readers (flat files, IDoc-XML, JSON) and SAP's parser files (the IDoc types' metadata).

Seeds are the project's own samples (ZTEST01, TXTRAW01, the ORDERS05 example and IDocs the strategies
build) and, where ../shared/testdata/external holds them, SAP's and other projects' files (read in
place, never copied). Each input is mutated at the byte level. The property: a parsed result (and, with
metadata, a conversion or a list of validation problems), or the reader's documented error naming
where; nothing else is raised; no input hangs.
"""

from __future__ import annotations

import io
import json
import tempfile
from collections.abc import Iterator
from contextlib import suppress
from pathlib import Path
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from idocbridge.idoc import (
    TXTRAW01,
    FlatFileError,
    IDoc,
    IDocConversionError,
    IDocJsonError,
    IDocRecords,
    IDocType,
    IDocTypeRegistry,
    IDocXmlError,
    ParserFileError,
    UnknownIDocTypeError,
    idoc_to_json,
    idoc_to_records,
    iter_idoc_xml,
    parse_parser_text,
    read_flat_lines,
    records_to_idoc,
    txtraw_records,
    validate_control_record,
    validate_idoc,
    write_flat_idoc,
    write_idoc_json,
    write_idoc_xml,
)
from idocbridge.idoc.files import iter_json_file
from idocbridge.idoc.flat import read_flat_segments
from idocbridge.idoc.flat_json import read_flat_json
from idocbridge.idoc.tables import segments_to_idoc
from tests.conftest import EXAMPLES
from tests.fuzz.budget import count, fuzz_settings
from tests.fuzz.test_fuzz_models import HOSTILE, mutated
from tests.idoc.conftest import EXTERNAL, SAPIDOC
from tests.idoc.samples import ZTEST01, valid_records

ZTEST = parse_parser_text(ZTEST01, "ZTEST01.txt")
CONTROL = {"TABNAM": "EDI_DC40", "DOCNUM": "0000000000004711", "DIRECT": "2", "MESTYP": "ZMSG"}

IDOC_SNIPPETS = (
    *HOSTILE,
    b"EDI_DC40",
    b"EDI_DC40" + b" " * 600,
    b"E2EDK01005" + b"9" * 1100,
    b"BEGIN_SEGMENT_SECTION",
    b"BEGIN_GROUP 1",
    b"END_SEGMENT",
    b"LOOPMAX 99999999999999999999",
    b"CHARACTER_FIRST 000000",
    b"CHARACTER_LAST 999999",
    b"LENGTH -1",
    b"LEVEL 99",
    b'<IDOC BEGIN="1">',
    b'<EDI_DC40 SEGMENT="1">',
    b"<_-NS_-X>",
    b'{"control": {}, "segments": []}',
    b'"children": [' * 50,
    b"\xe2\x80\xa8",
)
"""The hostile snippets of the model fuzzer, and pieces of IDoc grammar in the wrong place."""


def _flat(records: IDocRecords) -> bytes:
    out = io.StringIO()
    write_flat_idoc(out, records)
    return out.getvalue().encode("utf-8")


def _xml(idocs: list[IDoc]) -> bytes:
    out = io.BytesIO()
    write_idoc_xml(out, idocs)
    return out.getvalue()


def _json(idocs: list[IDoc]) -> bytes:
    out = io.StringIO()
    write_idoc_json(out, idocs)
    return out.getvalue().encode("utf-8")


def _project_seeds() -> dict[str, list[bytes]]:
    ztest = IDocRecords({**CONTROL, "IDOCTYP": "ZTEST01"}, valid_records())
    text = IDocRecords({**CONTROL, "IDOCTYP": "TXTRAW01", "MESTYP": "TXTRAW"}, txtraw_records(["a line", "ü 東"]))
    documents = [records_to_idoc(ztest, ZTEST), records_to_idoc(text, TXTRAW01)]
    return {
        "parser": [ZTEST01.encode("utf-8")],
        "flat": [_flat(ztest), _flat(text), _flat(ztest) + _flat(text)],
        "xml": [_xml(documents[:1]), _xml(documents[1:]), (EXAMPLES / "idocs" / "orders05.xml").read_bytes()],
        "json": [_json(documents)],
    }


_EXTERNAL_FILES = {
    "parser": [
        f"{SAPIDOC}/main/resources/ORDERS01-Parseridoc.txt",
        f"{SAPIDOC}/main/resources/ORDERS05.txt",
        f"{SAPIDOC}/test/resources/ORDERS05.txt",
    ],
    "flat": [f"{SAPIDOC}/main/resources/ORDERS.idoc"],
    "xml": [
        f"ballerina-platform__module-ballerinax-sap.jco/examples/idoc_automation/resources/generated_iDocs/{name}"
        for name in ("Avon.xml", "back.xml", "boatyard.xml", "but.xml")
    ],
}


def _external_seeds() -> dict[str, list[bytes]]:
    """The external files that are present, read in place (each kind empty when none is)."""
    seeds: dict[str, list[bytes]] = {kind: [] for kind in ("parser", "flat", "xml", "json")}
    for kind, names in _EXTERNAL_FILES.items():
        seeds[kind] = [(EXTERNAL / name).read_bytes() for name in names if (EXTERNAL / name).is_file()]
    return seeds


PROJECT = _project_seeds()
EXTERNAL_SEEDS = _external_seeds()
REGISTRY = IDocTypeRegistry()
REGISTRY.register(ZTEST)
for _seed in EXTERNAL_SEEDS["parser"]:
    with suppress(ParserFileError):  # one of them is damaged (tests/idoc/test_parser_external.py)
        REGISTRY.register(parse_parser_text(_seed.decode("utf-8", "replace"), "external"), replace=True)


def _seeds(kind: str, seed_set: str) -> list[bytes]:
    if seed_set == "project":
        return PROJECT[kind]
    if not EXTERNAL.is_dir():
        pytest.skip(f"shared test data not available: {EXTERNAL} (see shared/testdata/external/SOURCES.md)")
    if not EXTERNAL_SEEDS[kind]:
        pytest.skip(f"no external {kind} files under {EXTERNAL}")
    return EXTERNAL_SEEDS[kind]


def _metadata(control: dict[str, str]) -> IDocType | None:
    try:
        return REGISTRY.get(control.get("IDOCTYP", ""), control.get("CIMTYP") or None)
    except UnknownIDocTypeError:
        return None


def _use(records: IDocRecords | None, idoc: IDoc | None) -> None:
    """With metadata, convert and validate: each ends in a result, problems, or IDocConversionError."""
    control = records.control if records is not None else idoc.control if idoc is not None else {}
    assert all(problem.message for problem in validate_control_record(control))
    idoc_type = _metadata(control)
    if idoc_type is None:
        return
    try:
        if records is not None:
            assert all(problem.message for problem in validate_idoc(idoc_type, records.data))
            records_to_idoc(records, idoc_type)
        if idoc is not None:
            converted = idoc_to_records(idoc, idoc_type)
            assert all(problem.message for problem in validate_idoc(idoc_type, converted.data))
    except IDocConversionError as error:
        assert error.problems and all(problem.message for problem in error.problems)


SEED_SETS = pytest.mark.parametrize("seed_set", ["project", "external"])


@SEED_SETS
@fuzz_settings(100, share=1 / 8)
@given(data=st.data())
def test_mutated_parser_files_parse_or_name_the_line(seed_set: str, data: st.DataObject) -> None:
    raw = data.draw(mutated(_seeds("parser", seed_set), IDOC_SNIPPETS), label="parser file")
    count("idoc.parser_file")
    text = raw.decode("utf-8", "replace")  # as read_parser_file reads: UTF-8, else Latin-1
    try:
        idoc_type = parse_parser_text(text, "fuzz.txt")
    except ParserFileError as error:
        assert error.line is not None and error.line >= 1, str(error)
        assert error.source == "fuzz.txt" and error.detail, str(error)
    else:
        assert idoc_type.name


def _flat_lines(raw: bytes) -> Iterator[str]:
    return iter(raw.decode("utf-8", "replace").splitlines(keepends=True))


@SEED_SETS
@fuzz_settings(100, share=1 / 8)
@given(data=st.data())
@example(data=b"EDI_DC40" + b"x" * 600 + b"\n")
def test_mutated_flat_files_read_or_name_the_line(seed_set: str, data: st.DataObject | bytes) -> None:
    raw = data if isinstance(data, bytes) else data.draw(mutated(_seeds("flat", seed_set), IDOC_SNIPPETS))
    count("idoc.flat")
    try:
        idocs = list(read_flat_lines(_flat_lines(raw), "fuzz.idoc"))
    except FlatFileError as error:
        assert error.line >= 1 and error.source == "fuzz.idoc" and error.detail, str(error)
        return
    for records in idocs:
        _use(records, None)


def _type_of(control: dict[str, str]) -> IDocType:
    return REGISTRY.get(control.get("IDOCTYP", ""), control.get("CIMTYP") or None)


Outcome = list[dict[str, Any]] | tuple[str, str]
"""The JSON objects of a file, or the error (its class and message) it raised."""


def _json_both_ways(lines: list[str]) -> tuple[Outcome, Outcome]:
    """The outcome of the general path (records, segment tree, idoc_to_json) and of read_flat_json; either
    may end in one of the readers' documented errors."""
    outcomes: list[Outcome] = []
    for read in (
        lambda: [idoc_to_json(segments_to_idoc(c, s, _type_of(c))) for c, s in read_flat_segments(lines, "f")],
        lambda: list(read_flat_json(lines, "f", _type_of)),
    ):
        try:
            outcomes.append(read())
        except (FlatFileError, IDocConversionError, UnknownIDocTypeError) as error:
            assert str(error)
            outcomes.append((type(error).__name__, str(error)))
    return outcomes[0], outcomes[1]


@SEED_SETS
@fuzz_settings(100, share=1 / 8)
@given(data=st.data())
def test_mutated_flat_files_read_as_json_as_the_general_path_reads_them(seed_set: str, data: st.DataObject) -> None:
    """read_flat_json (idoc convert --to json) gives the general path's objects, or its error with the same
    message (but where the metadata of an IDoc's type is missing: the fused path looks it up at the control
    record, the general path after the IDoc's last record, so another error in the IDoc may come first)."""
    raw = data.draw(mutated(_seeds("flat", seed_set), IDOC_SNIPPETS))
    count("idoc.flat_json")
    general, fused = _json_both_ways(list(_flat_lines(raw)))
    if _unknown_type(general) or _unknown_type(fused):  # may come first on one path, after another on the other
        assert isinstance(general, tuple) and isinstance(fused, tuple)
    else:
        assert fused == general


def _unknown_type(outcome: Outcome) -> bool:
    return isinstance(outcome, tuple) and outcome[0] == UnknownIDocTypeError.__name__


@SEED_SETS
@fuzz_settings(100, share=1 / 8)
@given(data=st.data())
@example(data=b'<X><IDOC BEGIN="1"><EDI_DC40 SEGMENT="1"/></IDOC></X>')
def test_mutated_idoc_xml_reads_or_names_the_line(seed_set: str, data: st.DataObject | bytes) -> None:
    raw = data if isinstance(data, bytes) else data.draw(mutated(_seeds("xml", seed_set), IDOC_SNIPPETS))
    count("idoc.xml")
    try:
        idocs = list(iter_idoc_xml(io.BytesIO(raw), "fuzz.xml"))
    except IDocXmlError as error:
        assert str(error).startswith("fuzz.xml"), str(error)
        return
    for idoc in idocs:
        _use(None, idoc)


_SCRATCH = Path(tempfile.mkdtemp(prefix="idocbridge-fuzz-"))


@fuzz_settings(100, share=1 / 8)
@given(data=st.data())
@example(data=b"[" * 100_000)
@example(data=b'{"control": {"IDOCTYP": "ZTEST01"}, "segments": [' + b'{"segment": "Z1HEAD", "children": [' * 400)
def test_mutated_idoc_json_reads_or_names_the_place(data: st.DataObject | bytes) -> None:
    raw = data if isinstance(data, bytes) else data.draw(mutated(PROJECT["json"], IDOC_SNIPPETS))
    count("idoc.json")
    _read_json(_SCRATCH / "fuzz.json", raw)


@fuzz_settings(100, share=1 / 8)
@given(st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=4)
    | st.dictionaries(st.sampled_from(["control", "segments", "segment", "fields", "children", "IDOCTYP", "X"]),
                      inner, max_size=4),
    max_leaves=30,
))  # fmt: skip
def test_generated_json_structures_read_or_name_the_place(value: object) -> None:
    count("idoc.json.structure")
    _read_json(_SCRATCH / "structure.json", json.dumps(value).encode("utf-8"))


def _read_json(path: Path, raw: bytes) -> None:
    """Read ``raw`` as an IDoc JSON file: its IDocs, or an error that names the file and the place."""
    path.write_bytes(raw)
    try:
        idocs = list(iter_json_file(path))
    except IDocJsonError as error:
        assert str(error).startswith(f"{path}:"), str(error)
        return
    for idoc in idocs:
        _use(None, idoc)
