"""``idocbridge idoc convert|validate|xsd`` on the external ORDERS.idoc, the ballerina files and our example."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from lxml import etree
from typer.testing import CliRunner

from idocbridge.cli import app
from idocbridge.idoc import IDocRecords, iter_flat_file, iter_idoc_xml, txtraw_records, write_flat_idoc
from tests.conftest import EXAMPLES, ROOT
from tests.idoc.conftest import SAPIDOC, external
from tests.idoc.samples import field, segment

ORDERS05_XML = EXAMPLES / "idocs" / "orders05.xml"
BALLERINA = "ballerina-platform__module-ballerinax-sap.jco/examples/idoc_automation/resources/generated_iDocs"
NO_METADATA = (
    "no metadata for IDoc type ORDERS01: give its parser file with --metadata, or read it from SAP with "
    "--alias NAME --model MODEL"
)

runner = CliRunner()


def _run(*args: str | Path) -> tuple[int, str, str]:
    result = runner.invoke(app, ["idoc", *map(str, args)])
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def orders_idoc() -> Path:
    return external(f"{SAPIDOC}/main/resources/ORDERS.idoc")


@pytest.fixture
def orders01() -> Path:
    return external(f"{SAPIDOC}/main/resources/ORDERS01-Parseridoc.txt")


@pytest.fixture
def orders05() -> Path:
    return external(f"{SAPIDOC}/test/resources/ORDERS05.txt")


def test_convert_flat_to_xml_to_flat(orders_idoc: Path, orders01: Path, tmp_path: Path) -> None:
    xml, flat = tmp_path / "orders.xml", tmp_path / "orders.idoc"
    code, _, stderr = _run("convert", orders_idoc, "--to", "xml", "--metadata", orders01, "-o", xml)
    assert code == 0, stderr
    assert "converted 1 IDoc(s) from flat to xml" in stderr
    [document] = iter_idoc_xml(xml)
    assert document.basic_type == "ORDERS01"
    assert document.segment_count == 20
    assert xml.read_bytes().startswith(b"<?xml version='1.0' encoding='UTF-8'?>\n<ORDERS01>\n  <IDOC BEGIN=\"1\">")
    code, _, stderr = _run("convert", xml, "--to", "flat", "-m", orders01, "-o", flat)
    assert code == 0, stderr
    assert "converted 1 IDoc(s) from xml to flat" in stderr
    [original], [again] = iter_flat_file(orders_idoc), iter_flat_file(flat)
    assert again.control == original.control
    changed = [n for n, (a, b) in enumerate(zip(original.data, again.data, strict=True), 1) if a != b]
    assert changed == [11, 12, 13, 14, 16, 17, 18, 19]  # PSGNUM only: see test_round_trips
    assert all({**a, "PSGNUM": ""} == {**b, "PSGNUM": ""} for a, b in zip(original.data, again.data, strict=True))
    assert flat.read_bytes().count(b"\r\n") == 21  # CRLF by default
    lines = flat.read_bytes().decode("utf-8").split("\r\n")
    assert lines[1].startswith("E2EDK01005")


def test_flat_to_flat_with_lf_full_width_and_segment_types(orders_idoc: Path, orders01: Path, tmp_path: Path) -> None:
    flat = tmp_path / "wide.idoc"
    options = ["--newline", "lf", "--full-width", "--segnam", "type", "-o", flat]
    code, _, stderr = _run("convert", orders_idoc, "--to", "flat", "-m", orders01, *options)
    assert code == 0, stderr
    lines = flat.read_bytes().decode("utf-8").split("\n")
    assert [len(line) for line in lines] == [524] + [1063] * 20 + [0]
    assert [line[:30].rstrip() for line in lines[1:4]] == ["E1EDK01", "E1EDK14", "E1EDK14"]
    [records] = iter_flat_file(flat)
    assert records.data[10]["PSGNUM"] == "000010"  # rebuilt from the hierarchy (the file has 000000)
    assert records.data[16]["PSGNUM"] == "000015"


def test_flat_to_flat_without_options_keeps_the_records_and_needs_no_metadata(
    orders_idoc: Path, tmp_path: Path
) -> None:
    flat = tmp_path / "same.idoc"
    code, _, stderr = _run("convert", orders_idoc, "--to", "flat", "-o", flat)
    assert code == 0, stderr
    assert list(iter_flat_file(flat)) == list(iter_flat_file(orders_idoc))


def test_flat_to_flat_with_padding_needs_metadata_and_zero_fills(
    orders_idoc: Path, orders01: Path, tmp_path: Path
) -> None:
    flat = tmp_path / "padded.idoc"
    code, _, stderr = _run("convert", orders_idoc, "--to", "flat", "--padding", "Mixed", "-o", flat)
    assert code == 1
    assert stderr.strip() == f"error: {NO_METADATA}"
    assert not flat.exists()
    code, _, stderr = _run("convert", orders_idoc, "--to", "flat", "--padding", "Always", "-m", orders01, "-o", flat)
    assert code == 0, stderr
    lines = flat.read_bytes().decode("utf-8").split("\r\n")
    assert [len(line) for line in lines] == [524] + [1063] * 20 + [0]  # Always writes full width


def test_convert_to_json(orders_idoc: Path, orders01: Path, tmp_path: Path) -> None:
    target = tmp_path / "orders.json"
    code, _, stderr = _run("convert", orders_idoc, "--to", "json", "-m", orders01, "-o", target)
    assert code == 0, stderr
    [item] = json.loads(target.read_text(encoding="utf-8"))
    assert item["control"]["IDOCTYP"] == "ORDERS01"
    assert [s["segment"] for s in item["segments"]][:2] == ["E1EDK01", "E1EDK14"]
    back = tmp_path / "back.xml"
    assert _run("convert", target, "--to", "xml", "-o", back)[0] == 0  # JSON -> XML needs no metadata
    [document] = iter_idoc_xml(back)
    assert document.segments[0].type == "E1EDK01"


def test_convert_without_metadata_fails_clearly_and_leaves_no_output(orders_idoc: Path, tmp_path: Path) -> None:
    target = tmp_path / "out.xml"
    code, stdout, stderr = _run("convert", orders_idoc, "--to", "xml", "-o", target)
    assert code == 1
    assert stderr.strip() == f"error: {NO_METADATA}"
    assert "Traceback" not in stderr + stdout
    assert not target.exists()


def test_convert_an_existing_output_is_removed_on_failure(orders_idoc: Path, tmp_path: Path) -> None:
    target = tmp_path / "out.xml"
    target.write_text("old")
    assert _run("convert", orders_idoc, "--to", "xml", "-o", target)[0] == 1
    assert not target.exists()


def test_convert_xml_to_stdout_through_the_installed_command(tmp_path: Path) -> None:
    command = Path(sys.executable).parent / "idocbridge"
    if not command.exists():
        pytest.skip(f"{command} is not installed")
    result = subprocess.run(
        [str(command), "idoc", "convert", str(ORDERS05_XML), "--to", "json"], capture_output=True, check=False, cwd=ROOT
    )
    assert result.returncode == 0, result.stderr
    [item] = json.loads(result.stdout)
    assert (
        item["segments"][7]["children"][1]["fields"]["TDLINE"] == "   Leading blanks are kept: this line is indented."
    )


def test_convert_a_cp1252_file_with_encoding(orders01: Path, orders_idoc: Path, tmp_path: Path) -> None:
    text = orders_idoc.read_text(encoding="utf-8").replace("WTBKUND", "WTBKÜND", 1)
    source = tmp_path / "cp.idoc"
    source.write_bytes(text.encode("cp1252"))
    target = tmp_path / "cp.xml"
    code, _, stderr = _run("convert", source, "--to", "xml", "-m", orders01, "-o", target)
    assert code == 1
    assert "line 1: byte 167 of the line is not valid utf-8: give the file's code page" in stderr
    code, _, stderr = _run("convert", source, "--to", "xml", "-m", orders01, "--encoding", "cp1252", "-o", target)
    assert code == 0, stderr
    assert next(iter_idoc_xml(target)).control["SNDPRN"] == "WTBKÜND"


def test_validate_orders05_example_is_valid(orders05: Path) -> None:
    code, stdout, _ = _run("validate", ORDERS05_XML, "--metadata", orders05)
    assert code == 0
    assert stdout.splitlines() == [f"{ORDERS05_XML}: IDoc 1 (ORDERS05): valid", "1 IDoc(s) checked, 0 with problems"]


def test_validate_without_metadata_says_how_to_give_it() -> None:
    path = external(f"{BALLERINA}/Avon.xml")
    code, stdout, stderr = _run("validate", path)
    assert code == 1
    assert "no metadata for IDoc type DELVRY03: give its parser file with --metadata" in stderr
    assert stdout.splitlines()[-1] == "0 IDoc(s) checked, 1 with problems"


DELVRY03 = (
    "BEGIN_SEGMENT_SECTION\n  BEGIN_IDOC          DELVRY03\n"
    + segment(
        "E2EDL20004",
        "E1EDL20",
        1,
        "MANDATORY",
        (1, 1),
        field("VBELN", "CHARACTER", 10, 1, 64)
        + field("NTGEW", "CHARACTER", 15, 2, 74)
        + field("GEWEI", "CHARACTER", 3, 3, 89)
        + field("INCO1", "CHARACTER", 3, 4, 92)
        + field("INCO2", "CHARACTER", 28, 5, 95),
    )
    + "  END_IDOC\nEND_SEGMENT_SECTION\n"
)
"""A small stand-in for DELVRY03's metadata: E1EDL20 with the fields the ballerina files use."""


def test_validate_the_ballerina_files_lists_the_control_record_problems(tmp_path: Path) -> None:
    paths = [external(f"{BALLERINA}/{name}") for name in ("Avon.xml", "back.xml", "boatyard.xml", "but.xml")]
    metadata = tmp_path / "DELVRY03.txt"
    metadata.write_text(DELVRY03)
    code, stdout, stderr = _run("validate", *paths, "--metadata", metadata)
    assert code == 1
    avon = [line for line in stderr.splitlines() if line.startswith(f"{paths[0]}: ")]
    assert avon == [
        f"{paths[0]}: IDoc 1 (DELVRY03, DOCNUM Avon): control record EDI_DC40, field DIRECT: DIRECT is '1', "
        "inbound IDocs need 2 [control]",
        f"{paths[0]}: IDoc 1 (DELVRY03, DOCNUM Avon): control record EDI_DC40, field DOCNUM: 'Avon' is not "
        "numeric: DOCNUM holds an IDoc number [not-numeric]",
        f"{paths[0]}: IDoc 1 (DELVRY03, DOCNUM Avon): control record: EDI_DC40-RCVPRN: 'RECIPIENT_SAP' has 13 "
        "characters, at most 10 allowed [value-too-long]",
        f"{paths[0]}: IDoc 1 (DELVRY03, DOCNUM Avon): segment 1 E1EDL20, field INCO1: 'Route' has 5 characters, "
        "at most 3 allowed [value-too-long]",
    ]
    assert sum("[control]" in line for line in stderr.splitlines()) == 4
    assert sum("DOCNUM holds an IDoc number [not-numeric]" in line for line in stderr.splitlines()) == 4
    assert stdout.splitlines()[-1] == "4 IDoc(s) checked, 4 with problems"


def test_validate_a_flat_file_reports_segment_number_segment_and_rule(orders_idoc: Path, orders01: Path) -> None:
    code, stdout, stderr = _run("validate", orders_idoc, "-m", orders01)
    assert code == 1
    lines = stderr.splitlines()
    assert len(lines) == 8
    assert lines[0].startswith(f"{orders_idoc}: IDoc 1 (ORDERS01): segment 11 E1EDP05: PSGNUM 000000 ")
    assert all(line.endswith("[parent]") for line in lines)
    assert stdout.splitlines()[-1] == "1 IDoc(s) checked, 1 with problems"


def test_validate_names_the_field_of_a_document_problem(orders05: Path, tmp_path: Path) -> None:
    path = tmp_path / "bad.xml"
    path.write_text(ORDERS05_XML.read_text(encoding="utf-8").replace("<CURCY>EUR</CURCY>", "<COLOUR>red</COLOUR>"))
    code, _, stderr = _run("validate", path, "-m", orders05)
    assert code == 1
    assert f"{path}: IDoc 1 (ORDERS05): segment 1 E1EDK01, field COLOUR: E1EDK01 has no field COLOUR;" in stderr
    assert stderr.rstrip().endswith("[unknown-field]")


def test_xsd_prints_a_schema_lxml_accepts(orders05: Path, tmp_path: Path) -> None:
    code, stdout, _ = _run("xsd", "ORDERS05", "--metadata", orders05)
    assert code == 0
    schema = etree.XMLSchema(etree.fromstring(stdout.encode("utf-8")))
    assert schema.validate(etree.parse(str(ORDERS05_XML)))
    target = tmp_path / "orders05.xsd"
    assert _run("xsd", "ORDERS05", "-m", orders05, "-o", target)[0] == 0
    assert target.read_text(encoding="utf-8") == stdout


def test_xsd_of_an_unknown_type_fails_clearly() -> None:
    code, _, stderr = _run("xsd", "ORDERS99")
    assert code == 1
    assert stderr.startswith("error: no metadata for IDoc type ORDERS99: give its parser file with --metadata")


def test_xsd_of_txtraw01_needs_no_metadata() -> None:
    code, stdout, _ = _run("xsd", "TXTRAW01")
    assert code == 0
    assert '<xsd:element name="TXTRAW01">' in stdout


def _installed(*args: str | Path) -> subprocess.CompletedProcess[str]:
    command = Path(sys.executable).parent / "idocbridge"
    if not command.exists():
        pytest.skip(f"{command} is not installed")
    return subprocess.run(
        [str(command), "idoc", *map(str, args)], capture_output=True, text=True, check=False, cwd=ROOT, timeout=60
    )


def _txtraw_flat(path: Path) -> Path:
    records = IDocRecords({"TABNAM": "EDI_DC40", "IDOCTYP": "TXTRAW01", "MESTYP": "TXTRAW"}, txtraw_records(["x"]))
    with path.open("w", encoding="utf-8", newline="") as handle:
        write_flat_idoc(handle, records)
    return path


_BAD_METADATA: dict[str, tuple[bytes | None, str]] = {
    "missing": (None, "cannot read the file: No such file or directory"),
    "directory": (b"", "cannot read the file: Is a directory"),
    "damaged": (
        b"BEGIN_SEGMENT_SECTION\nBEGIN_IDOC X\n",
        "line 2: expected BEGIN_SEGMENT or BEGIN_GROUP, found the end of the file",
    ),
    "binary": (bytes(range(256)) * 4, "line 1: expected BEGIN_RECORD_SECTION or BEGIN_SEGMENT_SECTION"),
    "empty": (b"", "found the end of the file"),
    "an IDoc, not a parser file": (ORDERS05_XML.read_bytes(), "line 1: expected BEGIN_RECORD_SECTION"),
}


@pytest.mark.parametrize("kind", list(_BAD_METADATA))
@pytest.mark.parametrize("command", ["validate", "convert", "xsd"])
def test_a_bad_metadata_file_is_one_error_line(kind: str, command: str, tmp_path: Path) -> None:
    content, detail = _BAD_METADATA[kind]
    metadata = tmp_path / "meta.txt"
    if kind == "directory":
        metadata.mkdir()
    elif content is not None:
        metadata.write_bytes(content)
    argument = {"validate": [ORDERS05_XML], "convert": [ORDERS05_XML, "--to", "flat"], "xsd": ["ORDERS05"]}[command]
    result = _installed(command, *argument, "--metadata", metadata)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    [line] = result.stderr.splitlines()
    assert line.startswith(f"error: {metadata}") and detail in line, line


_UNUSABLE = [
    (["--encoding", "no-such-codec"], "error: unknown encoding 'no-such-codec' (--encoding)"),
    (["--encoding", "utf-16"], "error: --encoding utf-16 cannot read flat IDoc files"),
]


@pytest.mark.parametrize(
    ("command", "options", "message"),
    [
        *(("validate", *case) for case in _UNUSABLE),
        *(("convert", *case) for case in _UNUSABLE),
        (
            "convert",
            ["--output-encoding", "no-such-codec"],
            "error: unknown encoding 'no-such-codec' (--output-encoding)",
        ),
    ],
)
def test_an_unusable_encoding_is_one_error_line(command: str, options: list[str], message: str, tmp_path: Path) -> None:
    flat = _txtraw_flat(tmp_path / "text.idoc")
    extra = ["--to", "flat", "--padding", "Always"] if command == "convert" else []
    result = _installed(command, flat, *extra, *options)
    assert result.returncode == 1, result.stdout
    assert "Traceback" not in result.stderr
    [line] = result.stderr.splitlines()
    assert line.startswith(message), line


def test_a_value_the_output_encoding_cannot_hold_is_one_error_line(tmp_path: Path) -> None:
    records = IDocRecords({"TABNAM": "EDI_DC40", "IDOCTYP": "TXTRAW01"}, txtraw_records(["日本語"]))
    flat = tmp_path / "text.idoc"
    with flat.open("w", encoding="utf-8", newline="") as handle:
        write_flat_idoc(handle, records)
    result = _installed("convert", flat, "--to", "flat", "--output-encoding", "latin-1", "-o", tmp_path / "out.idoc")
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    [line] = result.stderr.splitlines()
    assert line.startswith("error: ") and "latin-1" in line and "--output-encoding" in line, line
    assert not (tmp_path / "out.idoc").exists()


def test_hostile_idoc_files_are_one_error_line(tmp_path: Path) -> None:
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 100_000)
    empty = tmp_path / "empty.idoc"
    empty.write_bytes(b"")
    folder = tmp_path / "folder.json"
    folder.mkdir()
    cases = [
        (["convert", deep, "--to", "xml"], f"error: {deep}: the JSON nests too deep for an IDoc"),
        (["convert", empty, "--to", "xml"], "error: the input holds no IDoc"),
        (["convert", ORDERS05_XML, "--to", "json", "-o", folder], f"error: {folder}: Is a directory"),
    ]
    for args, message in cases:
        result = _installed(*args)
        assert result.returncode == 1
        assert "Traceback" not in result.stderr
        [line] = result.stderr.splitlines()
        assert line.startswith(message), line
    assert folder.is_dir()


def test_files_that_never_end_are_refused(tmp_path: Path) -> None:
    zero = Path("/dev/zero")
    if not zero.exists():
        pytest.skip("no /dev/zero here")
    for args, message in [
        (["validate", ORDERS05_XML, "--metadata", zero], "error: /dev/zero: cannot read the file: not a regular file"),
        (["convert", zero, "--from", "flat", "--to", "xml"], "error: /dev/zero, line 1: "),
        (["convert", zero, "--from", "json", "--to", "xml"], "error: /dev/zero: not a regular file or a pipe"),
    ]:
        result = _installed(*args)
        assert result.returncode == 1
        assert "Traceback" not in result.stderr
        [line] = result.stderr.splitlines()
        assert line.startswith(message), line
