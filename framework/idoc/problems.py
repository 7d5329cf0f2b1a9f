"""What :func:`~idocbridge.idoc.validation.validate_idoc` reports: one :class:`IDocProblem` per finding."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

__all__ = ["IDocProblem", "Rule"]


class Rule(StrEnum):
    """The rule an IDoc problem breaks; its value is the machine-friendly id in ``IDocProblem.rule``."""

    UNKNOWN_SEGMENT = "unknown-segment"
    """SEGNAM names no segment type or definition of the IDoc type (or is empty)."""
    ORDER = "order"
    """The segment comes after segments that must follow it, or away from its parent's other children."""
    PARENT = "parent"
    """No parent segment precedes it, or PSGNUM does not name its parent's SEGNUM."""
    HLEVEL = "hlevel"
    """HLEVEL differs from the segment's LEVEL in the metadata."""
    SEGNUM = "segnum"
    """SEGNUM is not 1 more than the previous record's (the first record's is 000001)."""
    MAX_OCCURS = "max-occurs"
    """A segment or group repeats more often than LOOPMAX allows."""
    MIN_OCCURS = "min-occurs"
    """A mandatory segment or group is missing, or one occurs fewer times than LOOPMIN."""
    SDATA_TOO_LONG = "sdata-too-long"
    """SDATA is longer than 1000 characters, or has data beyond the end of the segment's last field."""
    CONTROL = "control"
    """The control record lacks what an inbound IDoc needs (DIRECT 2, types, partners)."""
    UNKNOWN_FIELD = "unknown-field"
    """An IDoc document names a field the segment does not have."""
    VALUE_TOO_LONG = "value-too-long"
    """A field value is longer than the field (LENGTH in the metadata, or the record layout)."""
    NOT_NUMERIC = "not-numeric"
    """A numeric field (TYPE NUMERIC or NUMC), or SEGNUM, PSGNUM or HLEVEL, holds something but digits."""


@dataclass(frozen=True)
class IDocProblem:
    """One finding in an IDoc's data records.

    ``segment_number`` is the 1-based position of the data record concerned; for a missing or too rare
    segment it is the record of the parent segment, 0 for the IDoc's top level. ``segment`` is the segment
    type concerned (as written in SEGNAM where the type is unknown), ``field`` the field if any, ``rule``
    the :class:`Rule` id. ``message`` says all of it for a human, e.g.
    ``segment 1 Z1HEAD, field COUNT: '00A02' is not numeric [not-numeric]`` (COUNT being TYPE NUMERIC).
    """

    segment_number: int
    segment: str
    field: str | None
    rule: str
    message: str

    def __str__(self) -> str:
        return self.message


def make_problem(
    number: int, segment: str, rule: Rule, detail: str, *, field: str | None = None, where: str | None = None
) -> IDocProblem:
    """A problem whose message is ``<where>[, field F]: <detail> [rule]``; ``where`` defaults to the record."""
    location = where if where is not None else " ".join(part for part in (f"segment {number}", segment) if part)
    if field is not None:
        location += f", field {field}"
    return IDocProblem(number, segment, field, rule.value, f"{location}: {detail} [{rule.value}]")
