"""Flat IDoc files straight to JSON: what ``idoc convert --to json`` does with a flat file.

The result is that of reading the file with :func:`~idocbridge.idoc.flat.iter_flat_segments` and building
each IDoc's tree with :func:`~idocbridge.idoc.tables.segments_to_idoc`, then taking
:func:`~idocbridge.idoc.idoc_json.idoc_to_json` of it: the same checks and the same errors (only which
error comes first may differ in an IDoc that has several: the metadata is looked up at its control record,
not after its last record). The difference is speed. Each line becomes its JSON object as it is read, in
one loop, with no list of records and no :class:`~idocbridge.idoc.document.Segment` in between. That
matters for IDocs of many small segments (a long text), where the per-record steps of the general path
cost more than the slicing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

from idocbridge.idoc.flat import SDATA_START, SEGNAM_END, FlatFileError, before_control, not_a_record
from idocbridge.idoc.metadata import IDocType
from idocbridge.idoc.plans import trim_blanks
from idocbridge.idoc.problems import IDocProblem
from idocbridge.idoc.records import CONTROL_RECORD, CONTROL_TABNAM, DATA_RECORD, RecordError, parse_record
from idocbridge.idoc.tables import KnownSegment, known_segment, long_sdata, parent_not_open, unreadable

__all__ = ["read_flat_json"]

Node = dict[str, Any]


def read_flat_json(  # noqa: PLR0915 - one loop, each step in line: it runs for every line of the file
    lines: Iterable[str], source: str, idoc_type_of: Callable[[dict[str, str]], IDocType]
) -> Iterator[Node]:
    """The JSON object of each IDoc in a flat file's ``lines`` (line ends may be left on), one at a time.

    ``idoc_type_of`` gives the metadata for an IDoc's control record. Raises
    :class:`~idocbridge.idoc.flat.FlatFileError` for a line that holds no record and
    :class:`~idocbridge.idoc.tables.IDocConversionError` for records that do not make an IDoc of their type.
    """
    control: dict[str, str] | None = None
    idoc_type: IDocType | None = None
    known: dict[str, KnownSegment] = {}  # by SEGNAM as written; kept while the IDoc type stays the same
    segments: list[Node] = []
    problems: list[IDocProblem] = []
    open_path: list[tuple[str, Node]] = []  # the open segments: their types and nodes
    count = 0  # data records of the IDoc, numbered as segments_to_idoc numbers them
    longest = DATA_RECORD.plan.length
    for number, raw in enumerate(lines, start=1):
        line = raw.rstrip("\r\n")
        if not line or (line[0] == " " and not trim_blanks(line)):  # a blank line
            continue
        if line.startswith(CONTROL_TABNAM):
            if control is not None:
                yield _finished(control, segments, idoc_type, problems)
            try:
                control = parse_record(line, CONTROL_RECORD)
            except RecordError as exc:
                raise not_a_record(source, number, exc) from exc
            next_type = idoc_type_of(control)
            if next_type is not idoc_type:
                idoc_type, known = next_type, {}
            segments, problems, count = [], [], 0
            open_path.clear()
            continue
        if idoc_type is None:
            raise before_control(source, number, line)
        count += 1
        written = line[:SEGNAM_END]  # as written: known_segment strips it, once per name
        found = known.get(written) or known_segment(written, idoc_type, known, count, problems)
        if found is None:
            if len(line) > longest:
                raise _too_long(source, number, line)
            continue
        segment_type, values, length, above, definition = found
        if len(line) <= length + SDATA_START:  # within the segment's fields (so within a data record)
            fields = values(line[SDATA_START:])
        elif len(line) > longest:
            raise _too_long(source, number, line)
        else:
            fields = long_sdata(count, definition, line[SDATA_START:], problems)
        node = {"segment": segment_type, "fields": fields}
        if above is None:
            open_path.clear()
            segments.append(node)
        else:
            while open_path and open_path[-1][0] != above:
                open_path.pop()
            if not open_path:
                parent_not_open(count, segment_type, above, problems)
                continue
            parent = open_path[-1][1]
            children = parent.get("children")
            if children is None:
                parent["children"] = [node]
            else:
                children.append(node)
        open_path.append((segment_type, node))
    if control is not None:
        yield _finished(control, segments, idoc_type, problems)


def _too_long(source: str, number: int, line: str) -> FlatFileError:
    try:
        parse_record(line, DATA_RECORD)
    except RecordError as exc:  # always: the line is longer than a data record
        return not_a_record(source, number, exc)
    raise AssertionError(f"line {number} fits a data record")  # pragma: no cover - only called for longer lines


def _finished(
    control: dict[str, str], segments: list[Node], idoc_type: IDocType | None, problems: list[IDocProblem]
) -> Node:
    """The IDoc's JSON object; IDocConversionError listing every problem found in its records."""
    if problems:
        assert idoc_type is not None  # problems come from records, which come after a control record
        raise unreadable(idoc_type, problems)
    return {"control": control, "segments": segments}
