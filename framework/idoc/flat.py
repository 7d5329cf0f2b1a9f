"""Flat IDoc files: one record per line, a control record (EDI_DC40, 524 characters) opening each IDoc,
then its data records (EDI_DD40, 1063 characters).

Reading accepts right-trimmed records (as most systems write them), CRLF or LF line ends, and any code
page Python knows (UTF-8 by default; SAP systems often write their front end's, e.g. cp1252). Widths are
counted in characters after decoding, never in bytes. Files are read and written one IDoc at a time, so
memory grows with the largest IDoc, not with the file.
"""

from __future__ import annotations

import codecs
import io
import re
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import IO, Literal

from idocbridge.errors import IdocbridgeError
from idocbridge.idoc.plans import trim_blanks
from idocbridge.idoc.records import (
    CONTROL_RECORD,
    CONTROL_TABNAM,
    DATA_RECORD,
    RecordError,
    format_record,
    parse_record,
)
from idocbridge.idoc.tables import IDocRecords

__all__ = [
    "FlatFileError",
    "FlatSegments",
    "Newline",
    "flat_file_lines",
    "iter_flat_file",
    "iter_flat_segments",
    "read_flat_lines",
    "read_flat_segments",
    "write_flat_idoc",
]

Newline = Literal["\r\n", "\n"]


class FlatFileError(IdocbridgeError):
    """A flat IDoc file that cannot be read: ``source`` and the 1-based ``line``."""

    def __init__(self, source: str, line: int, detail: str) -> None:
        self.source, self.line, self.detail = source, line, detail
        super().__init__(f"{source}, line {line}: {detail}")


def read_flat_lines(lines: Iterable[str], source: str = "<flat IDoc>") -> Iterator[IDocRecords]:
    """The IDocs of a flat file's lines (line ends may be left on), one at a time.

    Blank lines are skipped. A line that is too long, or a data record before the first control record,
    raises :class:`FlatFileError` naming the line.
    """
    for control, data in _read(lines, source, _data_record):
        yield IDocRecords(control, data)


def read_flat_segments(lines: Iterable[str], source: str = "<flat IDoc>") -> Iterator[FlatSegments]:
    """As :func:`read_flat_lines`, but each data record as its (SEGNAM, SDATA) only: right-trimmed SEGNAM, and
    SDATA as it stands in the line (trailing blanks may remain). What a segment tree needs, cut quicker."""
    return _read(lines, source, _segment_record)


FlatSegments = tuple[dict[str, str], list[tuple[str, str]]]
"""One IDoc of a flat file: its control record's values and its data records' (SEGNAM, SDATA) pairs."""

SEGNAM_END = DATA_RECORD.plan.index["SEGNAM"][1]
"""Where SEGNAM ends in a data record (it starts the record)."""
SDATA_START = DATA_RECORD.plan.index["SDATA"][0]
"""Where SDATA starts in a data record (it runs to the end)."""


def _data_record(line: str) -> dict[str, str]:
    return parse_record(line, DATA_RECORD)


def _segment_record(line: str) -> tuple[str, str]:
    if len(line) > DATA_RECORD.plan.length:
        parse_record(line, DATA_RECORD)  # raises the RecordError that says so
    return line[:SEGNAM_END].rstrip(" "), line[SDATA_START:]


def _read[Record](
    lines: Iterable[str], source: str, data_record: Callable[[str], Record]
) -> Iterator[tuple[dict[str, str], list[Record]]]:
    """The control record and data records of each IDoc; data records as ``data_record`` makes them."""
    control: dict[str, str] | None = None
    data: list[Record] = []
    for number, raw in enumerate(lines, start=1):
        line = raw.rstrip("\r\n")
        if not line or (line[0] == " " and not trim_blanks(line)):  # a blank line
            continue
        try:
            if line.startswith(CONTROL_TABNAM):
                if control is not None:
                    yield control, data
                control, data = parse_record(line, CONTROL_RECORD), []
                continue
            if control is None:
                raise before_control(source, number, line)
            data.append(data_record(line))
        except RecordError as exc:
            raise not_a_record(source, number, exc) from exc
    if control is not None:
        yield control, data


def before_control(source: str, number: int, line: str = "") -> FlatFileError:
    """The error of a data record on line ``number`` (``line``) before any control record: or of a control
    record of the format before SAP release 4.0 (EDI_DC), which says so."""
    if line.startswith(_OLD_CONTROL) and not line.startswith(CONTROL_TABNAM):
        return FlatFileError(source, number, "this is an IDoc file in the record format before SAP release 4.0 "
                             "(control record EDI_DC, data records EDI_DD), which idocbridge does not read: have SAP "
                             "write it in the 4.0 format (EDI_DC40, EDI_DD40; WE21: the port's IDoc record types "
                             "version for 4.x)")  # fmt: skip
    return FlatFileError(source, number, f"a data record comes before the first control record ({CONTROL_TABNAM})")


_OLD_CONTROL = "EDI_DC"
"""How a control record of the format before release 4.0 starts (its TABNAM, EDI_DC, blank-padded)."""


def not_a_record(source: str, number: int, error: RecordError) -> FlatFileError:
    """The error of line ``number``, which holds no record (``error`` says why)."""
    return FlatFileError(source, number, f"{error} (a line holds one record; is this a flat IDoc file?)")


def iter_flat_file(path: Path, encoding: str = "utf-8") -> Iterator[IDocRecords]:
    """The IDocs of a flat file, read line by line in ``encoding`` (an ASCII-compatible code page).

    A UTF-8 byte order mark is skipped. Bytes that are not valid in ``encoding`` raise
    :class:`FlatFileError` naming the line.
    """
    yield from read_flat_lines(flat_file_lines(path, encoding), str(path))


def flat_file_lines(path: Path, encoding: str) -> Iterator[str]:
    """The decoded lines of the file at ``path`` (line ends may be left on); FlatFileError if it cannot be
    opened."""
    codec = codecs.lookup(encoding).name
    try:
        handle = path.open("rb")
    except OSError as exc:
        raise FlatFileError(str(path), 0, f"cannot read the file: {exc.strerror or exc}") from exc
    with handle:
        for lines in _decoded(handle, codec, str(path)):
            yield from lines


def iter_flat_segments(path: Path, encoding: str = "utf-8") -> Iterator[FlatSegments]:
    """As :func:`iter_flat_file`, each IDoc as :func:`read_flat_segments` gives it."""
    yield from read_flat_segments(flat_file_lines(path, encoding), str(path))


_MAX_LINE_BYTES = 8192
"""A data record is 1063 characters, at most 4 bytes each: a longer line is no record (and is not read on)."""

_BLOCK_BYTES = 1 << 20
"""Lines are read and decoded in blocks of about this size: one decode and one split per block, not per line."""

_PER_LINE_CODECS = ("utf-8-sig", "utf-7", "iso2022", "hz")
"""Codecs (name prefixes) whose decoder keeps state (a byte order mark, shifts) but whose line end is the byte
0x0A: decoded line by line, each line on its own."""

_WIDE_CODECS = ("utf-16", "utf-32")
"""Codecs (name prefixes) whose units are wider than a byte (a line end is 0A 00, 00 0A, ...): decoded as a
stream, and cut into lines after decoding."""


_PLAIN_CODECS = re.compile(
    r"utf-8|ascii|iso8859-\d+|cp125\d|cp(437|737|775|85[0-8]|86[0-69])|koi8-[ru]|mac-roman|"
    r"shift_jis|cp932|euc_jp|euc_kr|cp949|gb2312|gbk|gb18030|big5|cp950"
)
"""Codecs (their ``codecs.lookup`` names) whose line end is the byte 0x0A and whose characters take at most 4
bytes, none of them 0x0A but the line end (ASCII-based code pages, single- or multi-byte): a block of such a
file is split at 0x0A and decoded whole. Other code pages are decoded line by line (as before blocks) if
their decoder keeps state, else per block with the lines counted and measured in bytes."""


def _decoded(handle: IO[bytes], codec: str, source: str) -> Iterator[Iterable[str]]:
    """The lines of ``handle`` decoded (line ends may be left on), a block of them at a time; a block with a
    line that is too long or not valid in ``codec`` is read again line by line, so the error names the line."""
    if codec.startswith(_PER_LINE_CODECS):
        yield _decoded_lines(iter(lambda: handle.readline(_MAX_LINE_BYTES + 1), b""), codec, source, 1)
        return
    if codec.startswith(_WIDE_CODECS):
        yield _decoded_wide(handle, codec, source)
        return
    plain = _PLAIN_CODECS.fullmatch(codec) is not None
    number = 1  # of the first line of the block
    rest = b""
    while True:
        block = handle.read(_BLOCK_BYTES)
        data = rest + block if rest else block
        cut = data.rfind(b"\n") + 1 if block else len(data)  # at the end of the file, the last line needs no end
        whole, rest = data[:cut], data[cut:]
        if whole:
            decode = _decoded_plain_block if plain else _decoded_block
            lines, count = decode(whole, codec, source, number, ended=bool(block))
            yield lines
            number += count
        if len(rest) > _MAX_LINE_BYTES:  # no line end in sight
            yield _decoded_lines(iter([rest[: _MAX_LINE_BYTES + 1]]), codec, source, number)
        if not block:
            return


_SURELY_SHORT = (_MAX_LINE_BYTES - 1) // 4
"""A line of at most this many characters of a plain codec has, with its line end, at most _MAX_LINE_BYTES
bytes."""


def _decoded_plain_block(
    whole: bytes, codec: str, source: str, number: int, *, ended: bool
) -> tuple[Iterable[str], int]:
    """The decoded lines of ``whole`` in a :data:`_PLAIN_CODECS` codec (each with a line end, but the last one
    where not ``ended``), from line ``number``, and how many; as :func:`_decoded_block` if one is too long
    or invalid (so that the lines before it are read and the error names its line)."""
    try:
        texts = _without_bom(whole, codec, number).decode(codec).split("\n")
    except UnicodeDecodeError:
        pass
    else:
        if max(map(len, texts)) <= _SURELY_SHORT:
            if not texts[-1]:  # what follows the last line end
                texts.pop()
            return texts, len(texts)
    return _decoded_block(whole, codec, source, number, ended=ended)


def _decoded_block(whole: bytes, codec: str, source: str, number: int, *, ended: bool) -> tuple[Iterable[str], int]:
    """The decoded lines of ``whole`` (each with a line end, but the last one where not ``ended``), from line
    ``number``, and how many; line by line if one is too long or invalid, or the code page is not ASCII-based
    after all (0x0A is not its line end)."""
    lines = whole.split(b"\n")
    if ended or not lines[-1]:
        lines.pop()  # what follows the last line end
    limit = _MAX_LINE_BYTES if ended else _MAX_LINE_BYTES + 1  # the line end counts, where there is one
    if lines and max(map(len, lines)) < limit:
        text = (
            whole[len(codecs.BOM_UTF8) :]
            if number == 1 and codec == "utf-8" and whole.startswith(codecs.BOM_UTF8)
            else whole
        )
        try:
            texts = text.decode(codec).split("\n")
        except UnicodeDecodeError:
            pass
        else:
            if len(texts) == len(lines) + ended:
                return texts[: len(lines)], len(lines)
    return _decoded_lines((line + b"\n" for line in lines) if ended else iter(lines), codec, source, number), len(lines)


def _decoded_wide(handle: IO[bytes], codec: str, source: str) -> Iterator[str]:
    """The lines of ``handle`` in a :data:`_WIDE_CODECS` codec, decoded as a stream (it decodes ahead, so an
    invalid byte is reported at the line being read or one shortly before it)."""
    text = io.TextIOWrapper(handle, encoding=codec, errors="strict", newline="")
    number = 0
    try:
        for number, line in enumerate(iter(lambda: text.readline(_MAX_LINE_BYTES // 2 + 1), ""), start=1):
            if len(line.rstrip("\r\n").encode(codec)) > _MAX_LINE_BYTES:
                raise FlatFileError(source, number, f"the line is longer than {_MAX_LINE_BYTES} bytes, which no "
                                    "record is (is this a flat IDoc file?)")  # fmt: skip
            yield line
    except UnicodeDecodeError as exc:
        raise FlatFileError(
            source, number + 1, f"the bytes at or after this line are not valid {codec}: give the file's code page"
        ) from exc
    finally:
        text.detach()  # the caller closes the file


def _without_bom(whole: bytes, codec: str, number: int) -> bytes:
    """``whole`` without the UTF-8 byte order mark that may open a UTF-8 file (at line 1)."""
    if number == 1 and codec == "utf-8" and whole.startswith(codecs.BOM_UTF8):
        return whole[len(codecs.BOM_UTF8) :]
    return whole


def _decoded_lines(lines: Iterator[bytes], codec: str, source: str, first: int) -> Iterator[str]:
    """Decode line by line, from line number ``first``."""
    for number, line in enumerate(lines, start=first):
        if len(line) > _MAX_LINE_BYTES:
            raise FlatFileError(source, number, f"the line is longer than {_MAX_LINE_BYTES} bytes, which no record is "
                                "(is this a flat IDoc file?)")  # fmt: skip
        data = (
            line[len(codecs.BOM_UTF8) :]
            if number == 1 and codec == "utf-8" and line.startswith(codecs.BOM_UTF8)
            else line
        )
        try:
            yield data.decode(codec)
        except UnicodeDecodeError as exc:
            raise FlatFileError(
                source, number, f"byte {exc.start + 1} of the line is not valid {codec}: give the file's code page"
            ) from exc


def write_flat_idoc(out: IO[str], records: IDocRecords, *, newline: Newline = "\r\n", full_width: bool = False) -> None:
    """Write one IDoc: its control record, then its data records, each right-trimmed unless ``full_width``.

    Raises :class:`~idocbridge.idoc.records.RecordError` naming the field for a value that does not fit.
    """
    control = dict(records.control)
    control.setdefault("TABNAM", CONTROL_TABNAM)
    out.write(format_record(control, CONTROL_RECORD, trim=not full_width) + newline)
    for record in records.data:
        out.write(format_record(record, DATA_RECORD, trim=not full_width) + newline)
