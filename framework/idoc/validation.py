"""Check an IDoc's data records against its IDoc type: segments, order, hierarchy, occurrences, SDATA.

The hierarchy comes from the order of the records and the metadata, as in a flat IDoc file: a segment
belongs below the nearest preceding occurrence of its parent segment (children follow their parent
directly), and a group repeats each time its first segment occurs. Where a record fills PSGNUM, HLEVEL
or SEGNUM, they must agree with that hierarchy (PSGNUM names the parent's SEGNUM, 000000 at the top;
HLEVEL is the segment's LEVEL; SEGNUM counts 1, 2, 3, ...); where they are blank they are not checked. A record that
cannot be placed is reported once and left out, so its children are reported as well.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from idocbridge.idoc.metadata import SDATA_LENGTH, GroupDefinition, IDocType, Node, SegmentDefinition
from idocbridge.idoc.problems import IDocProblem, Rule, make_problem

__all__ = ["validate_control_record", "validate_idoc"]


def validate_idoc(idoc_type: IDocType, data_records: Sequence[Mapping[str, str]]) -> list[IDocProblem]:
    """Every problem in the data records (keys SEGNAM, SEGNUM, PSGNUM, HLEVEL, SDATA), by record number.

    Values may be right-trimmed or empty; SEGNAM may hold a segment type (E1EDK01) or a definition name
    (E2EDK01005). Other keys (MANDT, DOCNUM) are ignored. An empty list means the IDoc is valid.
    """
    checker = _Checker(idoc_type)
    for number, record in enumerate(data_records, start=1):
        checker.record(number, record)
    return checker.finish()


_CONTROL_DIGITS = {"MANDT": "a client", "DOCNUM": "an IDoc number", "CREDAT": "a date (YYYYMMDD)",
                   "CRETIM": "a time (HHMMSS)"}  # fmt: skip


def validate_control_record(control: Mapping[str, str]) -> list[IDocProblem]:
    """The problems of an inbound control record (EDI_DC40), reported as segment 0 EDI_DC40.

    DIRECT must be 2 (inbound); IDOCTYP, MESTYP and the partner numbers SNDPRN and RCVPRN must be filled
    (SAP finds the partner profile by them); MANDT, DOCNUM, CREDAT and CRETIM hold digits where filled.
    """
    problems: list[IDocProblem] = []

    def report(rule: Rule, field: str, detail: str) -> None:
        problems.append(make_problem(0, "EDI_DC40", rule, detail, field=field, where="control record EDI_DC40"))

    direct = _text(control, "DIRECT").strip()
    if direct != "2":
        report(Rule.CONTROL, "DIRECT", f"DIRECT is {direct or 'empty'!r}, inbound IDocs need 2")
    for field, what in (("IDOCTYP", "basic type"), ("MESTYP", "message type"), ("SNDPRN", "sender partner"),
                        ("RCVPRN", "receiver partner")):  # fmt: skip
        if not _text(control, field).strip():
            report(Rule.CONTROL, field, f"the {what} ({field}) is missing")
    for field, what in _CONTROL_DIGITS.items():
        value = _text(control, field).strip()
        if value and not _is_number(value):
            report(Rule.NOT_NUMERIC, field, f"{value!r} is not numeric: {field} holds {what}")
    return problems


def _text(record: Mapping[str, str], key: str) -> str:
    value = record.get(key)
    return "" if value is None else str(value)


def _name(node: Node) -> str:
    return node.head.segment_type if isinstance(node, GroupDefinition) else node.segment_type


def _is_number(text: str) -> bool:
    return text.isascii() and text.isdigit()


@dataclass
class _Frame:
    """An open segment occurrence (or group repetition, or the top level) and where its children stand."""

    node: Node | None  # None for the IDoc's top level
    number: int  # record number of the segment (of the group's first segment); 0 at the top level
    segnum: int  # the SEGNUM children name in PSGNUM
    items: tuple[Node, ...]
    pos: int = 0  # index of the item that occurred last
    count: int = 0  # its occurrences so far
    last: int = 0  # record number of its latest occurrence


class _Checker:
    def __init__(self, idoc_type: IDocType) -> None:
        self.idoc_type = idoc_type
        self.problems: list[IDocProblem] = []
        self.stack = [_Frame(None, 0, 0, idoc_type.segments)]
        self.latest: dict[str, int] = {}  # segment type -> record number of its latest occurrence
        self.segnum = 0  # SEGNUM of the previous record

    def finish(self) -> list[IDocProblem]:
        while self.stack:
            self._close(self.stack.pop())
        return sorted(self.problems, key=lambda problem: problem.segment_number)

    def record(self, number: int, record: Mapping[str, str]) -> None:
        segnam = _text(record, "SEGNAM").strip()
        segment = self.idoc_type.resolve(segnam)
        if segment is None:
            detail = "SEGNAM is empty" if not segnam else f"{segnam} is not a segment of {self.idoc_type.label}"
            self._report(number, segnam, Rule.UNKNOWN_SEGMENT, detail)
            self._segnum(number, segnam, _text(record, "SEGNUM").strip())
            return
        segnum = self._segnum(number, segment.segment_type, _text(record, "SEGNUM").strip())
        parent = self._place(number, segment, segnum)
        self.latest[segment.segment_type] = number
        self._check_hlevel(number, segment, _text(record, "HLEVEL").strip())
        if parent is not None:
            self._check_psgnum(number, segment, parent, _text(record, "PSGNUM").strip())
        self._check_sdata(number, segment, _text(record, "SDATA"))

    def _report(
        self, number: int, segment: str, rule: Rule, detail: str, field: str | None = None, where: str | None = None
    ) -> None:
        self.problems.append(make_problem(number, segment, rule, detail, field=field, where=where))

    # -- hierarchy --------------------------------------------------------------------------------

    def _place(self, number: int, segment: SegmentDefinition, segnum: int) -> _Frame | None:
        """Open the record's frame where the hierarchy allows; its parent's frame, None if it has no place."""
        path = self.idoc_type.path(segment.segment_type)
        new_repetition = len(path) > 1 and isinstance(path[-2], GroupDefinition)
        containers = path[:-2] if new_repetition else path[:-1]
        depth = len(self.stack) - 1  # the innermost open frame the record can go into
        while depth > 0 and not any(self.stack[depth].node is node for node in containers):
            depth -= 1
        steps = path[next((i + 1 for i, node in enumerate(path) if node is self.stack[depth].node), 0) :]
        if any(isinstance(node, SegmentDefinition) for node in steps[:-1]):
            self._misplaced(number, segment)  # its parent segment is not open
            return None
        while len(self.stack) > depth + 1:
            self._close(self.stack.pop())
        top = self.stack[-1]
        self._count(top, steps[0], number, segment)
        if isinstance(steps[0], GroupDefinition):
            self.stack.append(_Frame(steps[0], number, segnum, steps[0].children, count=1, last=number))
        parent = next(frame for frame in reversed(self.stack) if not isinstance(frame.node, GroupDefinition))
        self.stack.append(_Frame(segment, number, segnum, segment.children))
        return parent

    def _misplaced(self, number: int, segment: SegmentDefinition) -> None:
        parent = self.idoc_type.parent(segment.segment_type)
        assert parent is not None  # only a segment below another one can lack its parent
        name, above = segment.segment_type, parent.segment_type
        if above in self.latest:
            detail = (
                f"out of place: {name} belongs below {above} and must directly follow it or its other "
                f"children (the last {above} is segment {self.latest[above]})"
            )
            self._report(number, name, Rule.ORDER, detail)
        else:
            self._report(number, name, Rule.PARENT, f"no {above} precedes it, but {name} belongs below {above}")

    def _count(self, frame: _Frame, item: Node, number: int, segment: SegmentDefinition) -> None:
        index = next(i for i, node in enumerate(frame.items) if node is item)
        name = segment.segment_type
        if index < frame.pos:
            before = _name(frame.items[frame.pos])
            self._report(
                number, name, Rule.ORDER, f"out of order: {name} must come before {before} (segment {frame.last})"
            )
            return
        if index > frame.pos:
            self._finish_items(frame, index)
            frame.pos, frame.count = index, 0
        frame.count += 1
        frame.last = number
        if frame.count == item.max_occurs + 1:
            what = f"group {item.number} ({name}) repeats" if isinstance(item, GroupDefinition) else f"{name} occurs"
            parent = frame.node
            below = (
                f" below {parent.segment_type} (segment {frame.number})"
                if isinstance(parent, SegmentDefinition)
                else ""
            )
            self._report(number, name, Rule.MAX_OCCURS, f"{what} more than {item.max_occurs} times{below}")

    def _close(self, frame: _Frame) -> None:
        if not isinstance(frame.node, GroupDefinition):  # a group repetition is its first segment, once
            self._finish_items(frame, len(frame.items))

    def _finish_items(self, frame: _Frame, end: int) -> None:
        """Check the occurrences of the frame's items from the current one up to (not including) ``end``."""
        for index in range(frame.pos, end):
            item = frame.items[index]
            count = frame.count if index == frame.pos else 0
            required = max(item.min_occurs, 1) if item.mandatory else item.min_occurs
            if count >= required or (count == 0 and not item.mandatory):
                continue
            name = _name(item)
            what = f"group {item.number} ({name})" if isinstance(item, GroupDefinition) else f"segment {name}"
            if isinstance(frame.node, SegmentDefinition):
                where, what = f"segment {frame.number} {frame.node.segment_type}", f"child {what}"
            else:
                where = f"IDoc {self.idoc_type.label}"
            if count == 0:
                detail = f"mandatory {what} is missing"
            else:
                verb = "repeats" if isinstance(item, GroupDefinition) else "occurs"
                detail = f"{what} {verb} {count} time(s), at least {required} required"
            self._report(frame.number, name, Rule.MIN_OCCURS, detail, where=where)

    # -- header fields and SDATA ---------------------------------------------------------------------

    def _segnum(self, number: int, segment: str, value: str) -> int:
        """The record's SEGNUM, which must be 1 more than the previous one's; blank or unusable: that number."""
        expected = self.segnum + 1
        self.segnum = expected
        if not value:
            return expected
        if not _is_number(value):
            self._report(number, segment, Rule.NOT_NUMERIC, f"{value!r} is not numeric", field="SEGNUM")
            return expected
        if int(value) != expected:
            before = "it is the first record" if number == 1 else f"segment {number - 1} has {expected - 1:06d}"
            detail = f"SEGNUM {value} is out of sequence ({before}): expected {expected:06d}"
            self._report(number, segment, Rule.SEGNUM, detail)
        self.segnum = int(value)
        return self.segnum

    def _check_hlevel(self, number: int, segment: SegmentDefinition, value: str) -> None:
        name = segment.segment_type
        if value and not _is_number(value):
            self._report(number, name, Rule.NOT_NUMERIC, f"{value!r} is not numeric", field="HLEVEL")
        elif value and int(value) != segment.level:
            self._report(
                number, name, Rule.HLEVEL, f"HLEVEL {value} differs from the level {segment.level:02d} of {name}"
            )

    def _check_psgnum(self, number: int, segment: SegmentDefinition, parent: _Frame, value: str) -> None:
        name = segment.segment_type
        if value and not _is_number(value):
            self._report(number, name, Rule.NOT_NUMERIC, f"{value!r} is not numeric", field="PSGNUM")
        elif value and int(value) != parent.segnum:
            if isinstance(parent.node, SegmentDefinition):
                detail = (
                    f"PSGNUM {value} does not name its parent {parent.node.segment_type} "
                    f"(segment {parent.number}): expected {parent.segnum:06d}"
                )
            else:
                detail = f"PSGNUM {value} names a parent, but {name} is a top-level segment: expected 000000"
            self._report(number, name, Rule.PARENT, detail)

    def _check_sdata(self, number: int, segment: SegmentDefinition, sdata: str) -> None:
        name = segment.segment_type
        used = len(sdata.rstrip(" "))
        if len(sdata) > SDATA_LENGTH:
            self._report(
                number, name, Rule.SDATA_TOO_LONG, f"SDATA has {len(sdata)} characters, at most {SDATA_LENGTH} allowed"
            )
        elif segment.fields and used > segment.sdata_length:
            self._report(
                number,
                name,
                Rule.SDATA_TOO_LONG,
                f"SDATA has data up to character {used}, but the "
                f"fields of {name} end at character {segment.sdata_length}",
            )
        for field in segment.fields:
            value = field.value_in(sdata)
            if field.is_numeric and value.strip(" ") and not _is_number(value):
                self._report(number, name, Rule.NOT_NUMERIC, f"{value!r} is not numeric", field=field.name)
