"""Between an IDoc document (segment tree) and its records (EDI_DC40 + EDI_DD40, as flat files and
IDOC_INBOUND_ASYNCHRONOUS hold them).

To records: segments are numbered in document order (SEGNUM 000001, 000002, ...), PSGNUM names the
parent's SEGNUM (000000 at the top level), HLEVEL is the segment's LEVEL from the metadata, and the
field values are placed in SDATA at the offsets the metadata gives (padded as the composite's value
padding says). From records: the hierarchy is taken from the order of the records and the metadata (a
segment belongs below the latest preceding occurrence of its parent segment type); PSGNUM and HLEVEL are
ignored, so a file with wrong PSGNUMs reads as SAP would read it, and is written back with correct ones.

Nothing is dropped on the way: an unknown segment or field, a value longer than its field, data in
SDATA beyond the segment's last field all raise :class:`IDocConversionError` listing every problem.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from idocbridge.errors import IdocbridgeError
from idocbridge.idoc.document import IDoc, Segment
from idocbridge.idoc.metadata import IDocType, SegmentDefinition
from idocbridge.idoc.plans import trim_blanks
from idocbridge.idoc.problems import IDocProblem, Rule, make_problem
from idocbridge.idoc.records import CONTROL_RECORD, RecordError, format_record
from idocbridge.padding import ValuePadding, pad_value

__all__ = [
    "IDocConversionError",
    "IDocRecords",
    "SegnamStyle",
    "idoc_to_records",
    "records_to_idoc",
    "segments_to_idoc",
]

SegnamStyle = Literal["type", "definition"]
"""What SEGNAM holds: the segment type (E1EDK01, as in IDoc-XML and tRFC) or the definition name
(E2EDK01005, as SAP's file ports write flat files)."""

_MESSAGE_LIMIT = 20


@dataclass
class IDocRecords:
    """One IDoc as records: the control record and the data records, each a dict of right-trimmed values."""

    control: dict[str, str] = field(default_factory=dict)
    data: list[dict[str, str]] = field(default_factory=list)


class IDocConversionError(IdocbridgeError):
    """An IDoc that cannot be converted without losing or changing something; ``problems`` says what."""

    def __init__(self, what: str, problems: Sequence[IDocProblem]) -> None:
        self.problems = list(problems)
        lines = [problem.message for problem in self.problems[:_MESSAGE_LIMIT]]
        if len(self.problems) > _MESSAGE_LIMIT:
            lines.append(f"... and {len(self.problems) - _MESSAGE_LIMIT} more")
        super().__init__(f"{what}:\n  " + "\n  ".join(lines))


def idoc_to_records(
    idoc: IDoc, idoc_type: IDocType, *, segnam: SegnamStyle = "type", padding: ValuePadding = "Never"
) -> IDocRecords:
    """The records of ``idoc``: control record as given, data records numbered from the segment tree.

    Raises :class:`IDocConversionError` for unknown segments or fields and values longer than their field.
    """
    problems: list[IDocProblem] = []
    control = dict(idoc.control)
    try:
        if not CONTROL_RECORD.plan.fits(control):
            format_record(control, CONTROL_RECORD)  # raises the RecordError naming the field
    except RecordError as exc:
        problems.append(make_problem(0, "EDI_DC40", Rule.VALUE_TOO_LONG, str(exc), where="control record"))
    data: list[dict[str, str]] = []

    written: dict[str, tuple[str, str]] = {}  # SEGNAM and HLEVEL by segment type

    def add(segment: Segment, parent_number: int, parent: SegmentDefinition | None) -> None:
        number = len(data) + 1
        definition = idoc_type.resolve(segment.type)
        if definition is None:
            detail = f"{segment.type} is not a segment of {idoc_type.label}"
            problems.append(make_problem(number, segment.type, Rule.UNKNOWN_SEGMENT, detail))
            data.append({"SEGNAM": segment.type, "SEGNUM": f"{number:06d}", "PSGNUM": f"{parent_number:06d}"})
        else:
            if parent is not idoc_type.parent(definition.segment_type):
                _check_parent(number, definition, parent, idoc_type, problems)
            sdata = _sdata(number, definition, segment.fields, padding, problems)
            name, hlevel = written.get(definition.segment_type) or written.setdefault(
                definition.segment_type,
                (definition.definition_name if segnam == "definition" else definition.segment_type,
                 f"{definition.level:02d}"),
            )  # fmt: skip
            record = {"SEGNAM": name, "SEGNUM": f"{number:06d}", "PSGNUM": f"{parent_number:06d}", "HLEVEL": hlevel}
            if sdata:
                record["SDATA"] = sdata
            data.append(record)
        for child in segment.children:
            add(child, number, definition)

    for segment in idoc.segments:
        add(segment, 0, None)
    if problems:
        raise IDocConversionError(f"IDoc {idoc_type.label} cannot be written as records", problems)
    return IDocRecords(control, data)


def _check_parent(
    number: int, definition: SegmentDefinition, parent: SegmentDefinition | None, idoc_type: IDocType,
    problems: list[IDocProblem],
) -> None:  # fmt: skip
    """A segment must sit below the parent its metadata gives it: records keep no tree, so a segment
    elsewhere would move when the records are read back."""
    expected = idoc_type.parent(definition.segment_type)
    if parent is expected:  # the same segment of the metadata, or both at the top level
        return
    name = definition.segment_type
    belongs = f"below {expected.segment_type}" if expected is not None else "at the top level"
    found = f"below {parent.segment_type}" if parent is not None else "at the top level"
    detail = f"{name} belongs {belongs}, but it is {found}"
    problems.append(make_problem(number, name, Rule.PARENT, detail))


def _sdata(
    number: int, definition: SegmentDefinition, values: Mapping[str, str], padding: ValuePadding,
    problems: list[IDocProblem],
) -> str:  # fmt: skip
    index = definition.plan.index
    if padding == "Never":  # the common case first: known fields in field order, each fitting
        parts: list[str] = []
        position = 0
        for field_name, value in values.items():
            spec = index.get(field_name)
            if spec is None or spec[0] < position or len(value) > spec[1]:
                break
            parts.append(" " * (spec[0] - position))
            parts.append(value)
            position = spec[0] + len(value)
        else:
            return trim_blanks("".join(parts))
    return _placed_sdata(number, definition, values, padding, problems)


def _placed_sdata(
    number: int, definition: SegmentDefinition, values: Mapping[str, str], padding: ValuePadding,
    problems: list[IDocProblem],
) -> str:  # fmt: skip
    name = definition.segment_type
    index = definition.plan.index
    placed: list[tuple[int, str]] = []
    ordered = True
    end = 0
    for field_name, raw in values.items():
        spec = index.get(field_name)
        if spec is None:
            known = " ".join(f.name for f in definition.fields) or "none"
            detail = f"{name} has no field {field_name}; its fields are {known}"
            problems.append(make_problem(number, name, Rule.UNKNOWN_FIELD, detail, field=field_name))
            continue
        start, length, numeric = spec
        value = raw if padding == "Never" else pad_value(raw, length, numeric=numeric, padding=padding)
        if len(value) > length:
            detail = f"{value!r} has {len(value)} characters, at most {length} allowed"
            problems.append(make_problem(number, name, Rule.VALUE_TOO_LONG, detail, field=field_name))
            continue
        ordered = ordered and start >= end
        end = start + length
        placed.append((start, value))
    if not ordered:
        placed.sort(key=_first)
    parts: list[str] = []
    position = 0
    for start, value in placed:  # fields do not overlap and no value is longer than its field
        parts.append(" " * (start - position))
        parts.append(value)
        position = start + len(value)
    text = "".join(parts)
    return text.ljust(definition.sdata_length) if padding == "Always" else trim_blanks(text)


def _first(item: tuple[int, str]) -> int:
    return item[0]


def records_to_idoc(records: IDocRecords, idoc_type: IDocType) -> IDoc:
    """The segment tree of ``records``, field values split from SDATA by the metadata.

    The hierarchy comes from the order of the records and the metadata, as SAP's IDoc interface builds
    it: a segment belongs below the latest open occurrence of its parent segment type. PSGNUM and
    HLEVEL are not used for that (:func:`~idocbridge.idoc.validation.validate_idoc` reports where they
    disagree). Raises :class:`IDocConversionError` for an unknown segment, a segment whose parent is not
    open, or data in SDATA that no field of the segment covers.
    """
    segments = [(record.get("SEGNAM") or "", record.get("SDATA") or "") for record in records.data]
    return segments_to_idoc(records.control, segments, idoc_type)


def segments_to_idoc(control: Mapping[str, str], segments: Iterable[tuple[str, str]], idoc_type: IDocType) -> IDoc:
    """The segment tree of a control record and data records given as (SEGNAM, SDATA) pairs, built as
    :func:`records_to_idoc` builds it (the other fields of a data record play no part in it).

    SDATA may keep its trailing blanks. Raises :class:`IDocConversionError` as :func:`records_to_idoc` does.
    """
    problems: list[IDocProblem] = []
    top: list[Segment] = []
    open_path: list[Segment] = []
    known: dict[str, KnownSegment] = {}  # by SEGNAM as written
    for number, (written, sdata) in enumerate(segments, start=1):
        found = known.get(written) or known_segment(written, idoc_type, known, number, problems)
        if found is None:
            continue
        segment_type, values, length, above, definition = found
        fields = values(sdata) if len(sdata) <= length else long_sdata(number, definition, sdata, problems)
        segment = Segment(segment_type, fields)
        if above is None:
            open_path.clear()
            top.append(segment)
        else:
            while open_path and open_path[-1].type != above:
                open_path.pop()
            if not open_path:
                parent_not_open(number, segment_type, above, problems)
                continue
            open_path[-1].children.append(segment)
        open_path.append(segment)
    if problems:
        raise unreadable(idoc_type, problems)
    return IDoc(dict(control), top)


KnownSegment = tuple[str, Callable[[str], dict[str, str]], int, str | None, SegmentDefinition]
"""A segment as a reader of records needs it: its type, the cut of its values from SDATA (``plan.values``)
for an SDATA of at most the given length, its parent segment type and its definition."""


def known_segment(
    written: str, idoc_type: IDocType, known: dict[str, KnownSegment], number: int, problems: list[IDocProblem]
) -> KnownSegment | None:
    """The segment SEGNAM ``written`` names, not yet in ``known`` (callers look there first): resolved and
    remembered there; or None, with the problem of record ``number`` added to ``problems``."""
    segnam = written.strip()
    definition = idoc_type.resolve(segnam)
    if definition is None:
        detail = "SEGNAM is empty" if not segnam else f"{segnam} is not a segment of {idoc_type.label}"
        problems.append(make_problem(number, segnam, Rule.UNKNOWN_SEGMENT, detail))
        return None
    parent = idoc_type.parent(definition.segment_type)
    above = parent.segment_type if parent else None
    plan = definition.plan
    known[written] = found = (definition.segment_type, plan.values, plan.length, above, definition)
    return found


def parent_not_open(number: int, segment_type: str, above: str, problems: list[IDocProblem]) -> None:
    """Add the problem of record ``number``, a ``segment_type`` whose parent ``above`` is not open."""
    detail = f"{segment_type} belongs below {above}, and no {above} is open here"
    problems.append(make_problem(number, segment_type, Rule.PARENT, detail))


def unreadable(idoc_type: IDocType, problems: list[IDocProblem]) -> IDocConversionError:
    """The error of records that cannot be read as an IDoc of ``idoc_type``."""
    return IDocConversionError(f"the records of IDoc {idoc_type.label} cannot be read", problems)


def long_sdata(number: int, definition: SegmentDefinition, sdata: str, problems: list[IDocProblem]) -> dict[str, str]:
    """The field values of an SDATA longer than its segment's fields; data beyond them is a problem of record
    ``number``."""
    plan = definition.plan
    if len(sdata) > plan.length:  # else no data lies beyond the fields
        used = len(trim_blanks(sdata))
        if used > plan.length:  # trailing blanks carry nothing, however many (a segment ends by 1000)
            name = definition.segment_type
            detail = (
                f"SDATA has data up to character {used}, but the fields of {name} end at character "
                f"{definition.sdata_length}: that data would be lost"
            )
            problems.append(make_problem(number, name, Rule.SDATA_TOO_LONG, detail))
    return plan.values(sdata)
