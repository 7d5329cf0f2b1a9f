"""Flat IDoc files: line ends, trimmed records, several IDocs, code pages, errors naming the line."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from idocbridge.idoc import FlatFileError, IDocRecords, RecordError, iter_flat_file, read_flat_lines, write_flat_idoc

CONTROL = "EDI_DC40  1000000000000004711" + " " * 6 + "2" + " " * 3 + "ORDERS05"
assert CONTROL.index("2   O") == 35 and CONTROL.index("ORDERS05") == 39
DATA_1 = "E1EDK01".ljust(30) + "100" + "0000000000004711" + "000001" + "000000" + "01" + "  EUR"
DATA_2 = "E1EDKA1".ljust(30) + "100" + "0000000000004711" + "000002" + "000000" + "02" + "AG Müller"


def _records(*lines: str, newline: str = "\r\n") -> list[IDocRecords]:
    return list(read_flat_lines([line + newline for line in lines]))


def test_a_control_record_and_its_data_records() -> None:
    [idoc] = _records(CONTROL, DATA_1, DATA_2)
    assert idoc.control == {
        "TABNAM": "EDI_DC40",
        "MANDT": "100",
        "DOCNUM": "0000000000004711",
        "DIRECT": "2",
        "IDOCTYP": "ORDERS05",
    }
    assert [record["SEGNAM"] for record in idoc.data] == ["E1EDK01", "E1EDKA1"]
    assert idoc.data[0]["SDATA"] == "  EUR"  # leading blanks kept
    assert idoc.data[1]["SDATA"] == "AG Müller"


@pytest.mark.parametrize("newline", ["\r\n", "\n", ""])
def test_crlf_lf_and_no_line_end_read_alike(newline: str) -> None:
    assert _records(CONTROL, DATA_1, newline=newline) == _records(CONTROL, DATA_1, newline="\r\n")


def test_full_width_and_trimmed_records_read_alike() -> None:
    assert _records(CONTROL.ljust(524), DATA_1.ljust(1063)) == _records(CONTROL, DATA_1)


def test_blank_lines_are_skipped_and_several_idocs_follow_each_other() -> None:
    second = CONTROL.replace("4711", "4712")
    idocs = _records("", CONTROL, DATA_1, "   ", "", second, DATA_2, DATA_1, "")
    assert [idoc.control["DOCNUM"] for idoc in idocs] == ["0000000000004711", "0000000000004712"]
    assert [len(idoc.data) for idoc in idocs] == [1, 2]


def test_a_control_record_without_data_records_is_an_idoc() -> None:
    assert [len(idoc.data) for idoc in _records(CONTROL, CONTROL)] == [0, 0]


def test_a_data_record_before_any_control_record_names_the_line() -> None:
    with pytest.raises(
        FlatFileError, match=r"^f\.idoc, line 2: a data record comes before the first control"
    ) as raised:
        list(read_flat_lines(["\n", DATA_1 + "\n", CONTROL + "\n"], "f.idoc"))
    assert raised.value.line == 2
    assert raised.value.source == "f.idoc"


def test_a_too_long_line_names_the_line() -> None:
    with pytest.raises(FlatFileError, match=r"^f\.idoc, line 3: EDI_DD40 record has 1064 characters") as raised:
        list(read_flat_lines([CONTROL, DATA_1, DATA_1.ljust(1064, "x")], "f.idoc"))
    assert raised.value.line == 3
    with pytest.raises(FlatFileError, match=r"^f\.idoc, line 1: EDI_DC40 record has 525 characters"):
        list(read_flat_lines([CONTROL.ljust(525, "x")], "f.idoc"))


def test_reading_is_lazy_one_idoc_at_a_time() -> None:
    lines = iter([CONTROL, DATA_1, CONTROL, DATA_1.ljust(2000, "x")])
    reader = read_flat_lines(lines)
    assert next(reader).data[0]["SEGNAM"] == "E1EDK01"  # the damaged second IDoc is not read yet
    with pytest.raises(FlatFileError, match="line 4"):
        next(reader)


def _write(path: Path, text: str, encoding: str) -> Path:
    path.write_bytes(text.encode(encoding))
    return path


def test_a_utf8_file_counts_characters_not_bytes(tmp_path: Path) -> None:
    full = DATA_2.ljust(1063)  # 1063 characters, 1064 bytes
    path = _write(tmp_path / "u.idoc", f"{CONTROL}\r\n{full}\r\n", "utf-8")
    [idoc] = iter_flat_file(path)
    assert idoc.data[0]["SDATA"] == "AG Müller"


def test_a_cp1252_file_reads_with_its_encoding(tmp_path: Path) -> None:
    path = _write(tmp_path / "w.idoc", f"{CONTROL}\r\n{DATA_2} \u2013 5 €\r\n", "cp1252")
    [idoc] = iter_flat_file(path, encoding="cp1252")
    assert idoc.data[0]["SDATA"] == "AG Müller \u2013 5 €"


def test_invalid_utf8_names_the_line_and_asks_for_the_code_page(tmp_path: Path) -> None:
    path = _write(tmp_path / "w.idoc", f"{CONTROL}\r\n{DATA_1}\r\n{DATA_2}\r\n", "cp1252")
    with pytest.raises(
        FlatFileError, match=r"w\.idoc, line 3: byte 68 of the line is not valid utf-8: give the file's code page"
    ) as raised:
        list(iter_flat_file(path))
    assert raised.value.line == 3


def test_a_utf8_byte_order_mark_is_skipped(tmp_path: Path) -> None:
    path = tmp_path / "bom.idoc"
    path.write_bytes(b"\xef\xbb\xbf" + f"{CONTROL}\r\n{DATA_2}\r\n".encode())
    [idoc] = iter_flat_file(path)
    assert idoc.control["TABNAM"] == "EDI_DC40"
    [again] = iter_flat_file(path, encoding="UTF8")  # any spelling of the codec
    assert again == idoc


def test_a_missing_file_is_a_flat_file_error(tmp_path: Path) -> None:
    with pytest.raises(FlatFileError, match="cannot read the file"):
        list(iter_flat_file(tmp_path / "absent.idoc"))


def test_write_trimmed_and_full_width() -> None:
    records = IDocRecords(
        {"IDOCTYP": "ORDERS05", "DOCNUM": "0000000000004711"},
        [{"SEGNAM": "E1EDKA1", "SEGNUM": "000001", "SDATA": " Müller"}],
    )
    trimmed, full = io.StringIO(), io.StringIO()
    write_flat_idoc(trimmed, records)
    write_flat_idoc(full, records, newline="\n", full_width=True)
    lines = trimmed.getvalue().split("\r\n")
    assert lines == [
        "EDI_DC40     0000000000004711          ORDERS05",
        "E1EDKA1" + " " * 42 + "000001" + " " * 8 + " Müller",
        "",
    ]
    full_lines = full.getvalue().split("\n")
    assert [len(line) for line in full_lines] == [524, 1063, 0]
    assert [line.rstrip(" ") for line in full_lines] == lines
    assert (
        list(read_flat_lines(full_lines))
        == list(read_flat_lines(lines))
        == [IDocRecords({"TABNAM": "EDI_DC40", **records.control}, records.data)]
    )


def test_write_refuses_a_value_that_does_not_fit_naming_the_field() -> None:
    with pytest.raises(RecordError, match="EDI_DD40-SEGNUM"):
        write_flat_idoc(io.StringIO(), IDocRecords({"IDOCTYP": "X"}, [{"SEGNAM": "E1", "SEGNUM": "1234567"}]))
