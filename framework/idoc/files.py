"""IDoc files of any format: recognise the format, read IDocs one at a time, convert between formats.

Formats: ``flat`` (records, one per line), ``xml`` (IDoc-XML) and ``json`` (:mod:`idocbridge.idoc.idoc_json`).
Flat files are records and XML/JSON are documents; converting between the two needs the IDoc type's
metadata (field offsets), which a :data:`MetadataResolver` supplies.
"""

from __future__ import annotations

import codecs
import io
import json
import stat
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Literal

from idocbridge.errors import IdocbridgeError
from idocbridge.idoc.document import IDoc
from idocbridge.idoc.flat import Newline, flat_file_lines, iter_flat_file, iter_flat_segments, write_flat_idoc
from idocbridge.idoc.flat_json import read_flat_json
from idocbridge.idoc.idoc_json import IDocJsonError, idoc_from_json, write_idoc_json, write_json_objects
from idocbridge.idoc.idoc_xml import iter_idoc_xml, write_idoc_xml
from idocbridge.idoc.metadata import IDocType
from idocbridge.idoc.tables import IDocRecords, SegnamStyle, idoc_to_records, segments_to_idoc
from idocbridge.padding import ValuePadding

__all__ = [
    "IDocFileFormat",
    "MetadataResolver",
    "detect_format",
    "iter_documents",
    "iter_records",
    "write_converted",
    "write_documents",
    "write_records",
]

IDocFileFormat = Literal["flat", "xml", "json"]

MetadataResolver = Callable[[str, str | None], IDocType]
"""The IDoc type of (basic type, extension); raises an IdocbridgeError naming what is missing."""


def detect_format(path: Path) -> IDocFileFormat:
    """``xml`` if the file starts with ``<``, ``json`` with ``[`` or ``{``, else ``flat`` (blanks and a BOM skipped)."""
    with path.open("rb") as handle:
        head = handle.read(4096)
    for bom in (codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE):
        if head.startswith(bom):
            head = head[len(bom) :]
            break
    first = head.lstrip()[:1]
    if first == b"<":
        return "xml"
    if first in (b"[", b"{"):
        return "json"
    return "flat"


def _metadata(resolve: MetadataResolver | None, control: dict[str, str], what: str) -> IDocType:
    if resolve is None:
        raise IdocbridgeError(f"{what} needs the IDoc type's metadata: give --metadata PARSERFILE or --alias NAME")
    basic = control.get("IDOCTYP", "")
    if not basic:
        raise IdocbridgeError(f"{what}: the control record has no basic type (IDOCTYP)")
    return resolve(basic, control.get("CIMTYP") or None)


MAX_JSON_BYTES = 512 * 1024 * 1024
"""JSON files are read whole: a larger one (or a device that never ends) is refused."""


def iter_json_file(path: Path) -> Iterator[IDoc]:
    """The IDocs of a JSON file (an array of IDoc objects, or one object); read whole, not streamed."""
    try:
        mode = path.stat().st_mode
        if not (stat.S_ISREG(mode) or stat.S_ISFIFO(mode)):  # a device might never end; a pipe is read up to the cap
            raise IDocJsonError(f"{path}: not a regular file or a pipe")
        with path.open("rb") as handle:
            raw = handle.read(MAX_JSON_BYTES + 1)
        if len(raw) > MAX_JSON_BYTES:
            raise IDocJsonError(f"{path}: larger than {MAX_JSON_BYTES // (1024 * 1024)} MiB; JSON files of IDocs are "
                                "read whole: convert it in parts")  # fmt: skip
        data = json.loads(raw.decode("utf-8-sig"))
    except (OSError, ValueError) as exc:
        raise IDocJsonError(f"{path}: not a JSON file: {exc}") from exc
    except RecursionError:
        raise IDocJsonError(f"{path}: the JSON nests too deep for an IDoc") from None
    items = data if isinstance(data, list) else [data]
    for index, item in enumerate(items):
        where = f"{path}: $[{index}]"
        try:
            idoc = idoc_from_json(item, where)
        except RecursionError:
            raise IDocJsonError(f"{where}: the segments nest too deep for an IDoc") from None
        yield idoc


def iter_documents(
    path: Path, file_format: IDocFileFormat, resolve: MetadataResolver | None = None, encoding: str = "utf-8"
) -> Iterator[IDoc]:
    """The IDocs of a file as documents (flat files need ``resolve``)."""
    if file_format == "xml":
        yield from iter_idoc_xml(path)
    elif file_format == "json":
        yield from iter_json_file(path)
    else:
        for control, segments in iter_flat_segments(path, encoding):
            yield segments_to_idoc(control, segments, _metadata(resolve, control, f"{path}: reading a flat IDoc"))


def iter_records(
    path: Path,
    file_format: IDocFileFormat,
    resolve: MetadataResolver | None = None,
    encoding: str = "utf-8",
    *,
    segnam: SegnamStyle | None = None,
    padding: ValuePadding = "Never",
) -> Iterator[IDocRecords]:
    """The IDocs of a file as records (XML and JSON need ``resolve``).

    SEGNAM holds ``segnam``: definition names if None, except that a flat file's records are then kept as
    they are. A flat file with ``segnam`` or a ``padding`` other than Never is rebuilt through its document
    (so it needs ``resolve`` too, and gets PSGNUM and HLEVEL from the hierarchy).
    """
    if file_format == "flat" and segnam is None and padding == "Never":
        yield from iter_flat_file(path, encoding)
        return
    for idoc in iter_documents(path, file_format, resolve, encoding):
        idoc_type = _metadata(resolve, idoc.control, f"{path}: writing records")
        yield idoc_to_records(idoc, idoc_type, segnam=segnam or "definition", padding=padding)


def write_documents(out: IO[bytes], idocs: Iterator[IDoc], file_format: Literal["xml", "json"]) -> int:
    """Write documents as IDoc-XML or JSON (UTF-8); returns how many."""
    if file_format == "xml":
        return write_idoc_xml(out, idocs)
    with _text_over(out, "utf-8") as text:
        return write_idoc_json(text, idocs)


def write_converted(
    out: IO[bytes],
    path: Path,
    file_format: IDocFileFormat,
    to: Literal["xml", "json"],
    resolve: MetadataResolver | None = None,
    encoding: str = "utf-8",
) -> int:
    """Write the IDocs of a file as IDoc-XML or JSON (UTF-8); returns how many.

    A flat file goes to JSON without documents in between (:mod:`idocbridge.idoc.flat_json`: the same checks,
    quicker); everything else is read as documents and written by :func:`write_documents`.
    """
    if not (file_format == "flat" and to == "json"):
        return write_documents(out, iter_documents(path, file_format, resolve, encoding), to)
    what = f"{path}: reading a flat IDoc"
    objects = read_flat_json(
        flat_file_lines(path, encoding), str(path), lambda control: _metadata(resolve, control, what)
    )
    with _text_over(out, "utf-8") as text:
        return write_json_objects(text, objects)


def write_records(
    out: IO[bytes],
    idocs: Iterator[IDocRecords],
    *,
    encoding: str = "utf-8",
    newline: Newline = "\r\n",
    full_width: bool = False,
) -> int:
    """Write records as a flat file in ``encoding``; returns how many IDocs."""
    count = 0
    with _text_over(out, encoding) as text:
        for records in idocs:
            write_flat_idoc(text, records, newline=newline, full_width=full_width)
            count += 1
    return count


@contextmanager
def _text_over(out: IO[bytes], encoding: str) -> Iterator[IO[str]]:
    """Text written to ``out`` in ``encoding`` (strict, line ends as written); flushed and left open after:
    the caller owns ``out``."""
    text = io.TextIOWrapper(out, encoding=encoding, errors="strict", newline="")
    try:
        yield text
    finally:
        text.flush()
        text.detach()
