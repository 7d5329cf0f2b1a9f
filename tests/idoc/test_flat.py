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


def _many(count: int) -> str:
    """``count`` IDocs of two data records each: more than a 1 MiB read block for count >= 400."""
    return "".join(f"{CONTROL}\r\n{DATA_1}\r\n{DATA_2}\r\n" for _ in range(count))


def test_a_file_larger_than_a_read_block_reads_as_its_lines(tmp_path: Path) -> None:
    text = _many(1000)  # about 2.6 MB: lines cross the block boundaries
    path = _write(tmp_path / "many.idoc", text, "utf-8")
    assert list(iter_flat_file(path)) == list(read_flat_lines(text.splitlines()))
    assert len(list(iter_flat_file(_write(tmp_path / "lf.idoc", text.replace("\r\n", "\n"), "utf-8")))) == 1000


def test_invalid_bytes_in_a_later_block_name_their_line_after_the_idocs_before(tmp_path: Path) -> None:
    path = tmp_path / "late.idoc"
    path.write_bytes(_many(1000).encode() + b"\xff" + DATA_1.encode() + b"\r\n")
    reader = iter_flat_file(path)
    assert sum(1 for _ in zip(range(999), reader, strict=False)) == 999  # the last one ends at the bad line
    with pytest.raises(FlatFileError, match=r"line 3001: byte 1 of the line is not valid utf-8") as raised:
        next(reader)
    assert raised.value.line == 3001


@pytest.mark.parametrize(("content", "ending", "fails"), [
    (8191, b"\n", False), (8192, b"\n", True), (8192, b"", False), (8193, b"", True), (20000, b"\n", True),
    (3 << 20, b"\n", True),
])  # fmt: skip
def test_a_line_longer_than_8192_bytes_with_its_end_names_the_line(
    content: int, ending: bytes, fails: bool, tmp_path: Path
) -> None:
    path = tmp_path / "long.idoc"
    path.write_bytes(_many(500).encode() + b" " * content + ending)  # blank: read as nothing when it fits
    if not fails:
        assert len(list(iter_flat_file(path))) == 500
        return
    with pytest.raises(FlatFileError, match=r"line 1501: the line is longer than 8192 bytes") as raised:
        list(iter_flat_file(path))
    assert raised.value.line == 1501


def test_a_stateful_code_page_is_decoded_line_by_line(tmp_path: Path) -> None:
    path = tmp_path / "sig.idoc"
    path.write_bytes(b"\xef\xbb\xbf" + f"{CONTROL}\r\n{DATA_2}\r\n".encode())
    [idoc] = iter_flat_file(path, encoding="utf-8-sig")
    assert idoc.control["TABNAM"] == "EDI_DC40" and idoc.data[0]["SDATA"] == "AG Müller"


@pytest.mark.parametrize(("characters", "fails"), [(2047, False), (2048, True)])
def test_wide_characters_count_in_bytes_against_the_line_limit(characters: int, fails: bool, tmp_path: Path) -> None:
    """2,048 four-byte characters and the line end are 8,193 bytes: the same message as for any long line."""
    path = tmp_path / "wide.idoc"
    path.write_bytes(_many(500).encode() + ("\U0001f600" * characters).encode() + b"\n")
    if not fails:  # a line, and too long for a record
        with pytest.raises(FlatFileError, match=r"line 1501: EDI_DD40 record has 2047 characters"):
            list(iter_flat_file(path))
        return
    with pytest.raises(FlatFileError, match=r"line 1501: the line is longer than 8192 bytes"):
        list(iter_flat_file(path))


def test_a_code_page_that_writes_a_line_end_without_the_byte_0x0a_keeps_its_lines(tmp_path: Path) -> None:
    """raw_unicode_escape decodes the six bytes \\u000a to a line end: that is a value, not a new line."""
    path = tmp_path / "escaped.idoc"
    path.write_bytes(
        f"{CONTROL}\r\n".encode() + b"E1EDK01".ljust(63) + b"a\\u000ab\r\n" + DATA_2.encode("latin-1") + b"\r\n"
    )
    [idoc] = iter_flat_file(path, encoding="raw_unicode_escape")
    assert [record["SDATA"] for record in idoc.data] == ["a\nb", "AG Müller"]


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-32"])
def test_a_file_in_a_code_page_of_wide_units_reads_its_lines(encoding: str, tmp_path: Path) -> None:
    path = _write(tmp_path / "wide.idoc", f"{CONTROL}\r\n{DATA_1}\r\n{DATA_2}\r\n" * 2, encoding)
    idocs = list(iter_flat_file(path, encoding=encoding))
    assert [[record["SEGNAM"] for record in idoc.data] for idoc in idocs] == [["E1EDK01", "E1EDKA1"]] * 2
    assert idocs[0].data[1]["SDATA"] == "AG Müller"


def test_a_line_too_long_in_a_code_page_of_wide_units_names_the_line(tmp_path: Path) -> None:
    path = _write(tmp_path / "wide.idoc", f"{CONTROL}\r\n{DATA_1}\r\n{'x' * 5000}\r\n", "utf-16")
    with pytest.raises(FlatFileError, match=r"line 3: the line is longer than 8192 bytes"):
        list(iter_flat_file(path, encoding="utf-16"))


def test_a_file_in_the_record_format_before_release_4_0_is_refused_saying_so() -> None:
    old = ["EDI_DC    1000000000000000001 30A 53\n", "E1TXTRW   1000000000000000001000001000000 01Hello\n"]
    with pytest.raises(FlatFileError) as raised:
        list(read_flat_lines(old, "old.idoc"))
    assert raised.value.line == 1
    assert "the record format before SAP release 4.0 (control record EDI_DC, data records EDI_DD)" in str(raised.value)
    assert "WE21" in str(raised.value) and "data record comes before" not in str(raised.value)
