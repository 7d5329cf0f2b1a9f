"""The BEGIN_FIELDS ... END_FIELDS block of a parser file: field attributes, positions and code lists.

Positions are CHARACTER_FIRST/CHARACTER_LAST (current format) or BYTE_FIRST/BYTE_LAST (older format),
1-based and inclusive, counted from the start of the record. Fields must be numbered 1, 2, 3, ... by
FIELD_POS, follow each other without gap or overlap, and LAST must equal FIRST + LENGTH - 1.
"""

from __future__ import annotations

from idocbridge.idoc.metadata import SDATA_START, FieldDefinition
from idocbridge.idoc.parser_lines import Cursor, Line

__all__ = ["read_fields"]

_GENERATIONS = (("CHARACTER_FIRST", "CHARACTER_LAST"), ("BYTE_FIRST", "BYTE_LAST"))
_SINGLE = ("TEXT", "TYPE", "LENGTH", "FIELD_POS", "CHARACTER_FIRST", "CHARACTER_LAST", "BYTE_FIRST", "BYTE_LAST")


def read_fields(cursor: Cursor, first: int, last: int | None, context: str) -> tuple[FieldDefinition, ...]:
    """Read BEGIN_FIELDS, the fields and END_FIELDS; offsets count from character ``first`` (64 for SDATA).

    ``last`` is the last character a field may occupy (1063, the end of SDATA), None for no limit.
    """
    cursor.expect("BEGIN_FIELDS", context=context)
    fields: list[FieldDefinition] = []
    while True:
        if fields and cursor.at("END_FIELDS"):
            cursor.take()
            return tuple(fields)
        name_line = cursor.expect("NAME", *(["END_FIELDS"] if fields else []), context=context)
        name = cursor.name(name_line)
        if any(f.name == name for f in fields):
            raise cursor.error(name_line, f"field {name} is defined a second time {context}")
        fields.append(_field(cursor, name_line, fields, first, last))


def _field(cursor: Cursor, start: Line, before: list[FieldDefinition], first: int, last: int | None) -> FieldDefinition:
    context = f"(in field {start.value} at line {start.number})"
    attributes: dict[str, Line] = {}
    values: list[tuple[str, str]] = []
    while cursor.at(*_SINGLE, "VALUE"):
        line = cursor.take()
        if line.keyword == "VALUE":
            code = _quoted(cursor, line)
            value_text = cursor.expect("VALUE_TEXT", context=f"(after VALUE at line {line.number})")
            values.append((code, value_text.value))
        elif line.keyword in attributes:
            raise cursor.error(
                line,
                f"{line.keyword} is given a second time {context}; "
                f"the first is at line {attributes[line.keyword].number}",
            )
        else:
            attributes[line.keyword] = line
    used = [pair for pair in _GENERATIONS if any(keyword in attributes for keyword in pair)]
    if len(used) > 1:
        later = max((attributes[k] for k in used[1] if k in attributes), key=lambda line: line.number)
        raise cursor.error(later, f"{later.keyword} mixes the BYTE_ and CHARACTER_ formats {context}")
    first_key, last_key = used[0] if used else _GENERATIONS[0]
    missing = [k for k in ("TYPE", "LENGTH", "FIELD_POS", first_key, last_key) if k not in attributes]
    if missing:
        raise cursor.unexpected(missing[:1], f"{context[:-1]}, which has no {missing[0]})")
    if not cursor.at("NAME", "END_FIELDS"):
        unused = [k for k in ("TEXT", "TYPE", "LENGTH", "FIELD_POS", first_key, last_key) if k not in attributes]
        raise cursor.unexpected([*unused, "VALUE", "NAME", "END_FIELDS"], context)
    length = cursor.number(attributes["LENGTH"], 1)
    position = _expect_number(cursor, attributes["FIELD_POS"], len(before) + 1, "out of sequence")
    expected_first = before[-1].end + first if before else first
    where = f"right after field {before[-1].name}" if before else f"at character {first}, where {_area(first)} starts"
    start_at = _expect_number(cursor, attributes[first_key], expected_first, f"should be {where}")
    end_at = cursor.number(attributes[last_key])
    if end_at != start_at + length - 1:
        line = attributes[last_key]
        raise cursor.error(
            line,
            f"{last_key} {line.value} does not fit {first_key} {attributes[first_key].value} "
            f"and LENGTH {attributes['LENGTH'].value}: expected {start_at + length - 1:0{len(line.value)}d}",
        )
    if last is not None and end_at > last:
        raise cursor.error(
            attributes[last_key],
            f"field {start.value} ends at character {end_at}, beyond the end of SDATA at character {last}",
        )
    kind = cursor.name(attributes["TYPE"])
    text = attributes["TEXT"].value if "TEXT" in attributes else ""
    return FieldDefinition(start.value, text, kind, length, position, start_at - first, tuple(values))


def _area(first: int) -> str:
    return "SDATA" if first == SDATA_START else "the record"


def _expect_number(cursor: Cursor, line: Line, expected: int, problem: str) -> int:
    value = cursor.number(line, 1)
    if value != expected:
        raise cursor.error(line, f"{line.keyword} {line.value} {problem}: expected {expected:0{len(line.value)}d}")
    return value


def _quoted(cursor: Cursor, line: Line) -> str:
    if len(line.value) < 2 or line.value[0] != "'" or line.value[-1] != "'":
        raise cursor.error(line, f"VALUE needs a code in single quotes such as 'X', found {line.value[:60]!r}")
    return line.value[1:-1]
