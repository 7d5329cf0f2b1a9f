"""Aligned text columns for the terminal: what rich's ``Table`` does for a plain table, at a fraction of its cost.

``idocbridge log`` prints a table per transaction; with rich's ``Table`` 1,000 entries took about 1.5 s
to lay out (every cell is measured, padded and wrapped as a renderable). Here a table is one ``Text``
built from plain strings: each column as wide as its widest value; when the table is wider than the
console, the foldable column with the most room above its floor gives way first (then those level with
it, together), down to a floor, and its values fold onto more lines. A value's line breaks start new
lines in its cell; any other character that is not printable is shown escaped (``\\x1b``), so that a
value can neither break the layout nor send control sequences to the terminal.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from rich.cells import cell_len, chop_cells
from rich.text import Span, Text

__all__ = ["Cell", "Column", "printable", "render_columns"]

_GAP = "  "
_NARROWEST = 12
"""A foldable column is never made narrower than this (or its header, or its widest value if less)."""


@dataclass(frozen=True, slots=True)
class Column:
    """A column: its header, how its values align, and whether they may fold onto more lines to fit."""

    header: str
    justify: Literal["left", "right"] = "left"
    fold: bool = False


Cell = str | tuple[str, str]
"""A value, or (value, rich style)."""


def render_columns(columns: Sequence[Column], rows: Sequence[Sequence[Cell]], width: int) -> Text:
    """The table as one ``Text``: a bold header line, then the rows; lines fit in ``width`` cells where the
    foldable columns can give way enough."""
    header = [[column.header] for column in columns]
    body = [[_lines(cell if isinstance(cell, str) else cell[0]) for cell in row] for row in rows]
    styles = [[None if isinstance(cell, str) else cell[1] for cell in row] for row in rows]
    widths = _fit(columns, [header, *body], width)
    text: list[str] = []
    spans: list[Span] = []
    offset = _row(text, spans, 0, header, ["bold"] * len(columns), columns, widths)
    for lines, row_styles in zip(body, styles, strict=True):
        offset = _row(text, spans, offset, lines, row_styles, columns, widths)
    return Text("".join(text).removesuffix("\n"), spans=spans, no_wrap=True)


def printable(value: str) -> str:
    """``value`` safe to print on a terminal: line breaks kept, every other non-printable character escaped."""
    return "\n".join(_lines(value))


def _lines(value: str) -> list[str]:
    """The value's lines, each with its non-printable characters escaped."""
    return [line if line.isprintable() else "".join(map(_visible, line)) for line in value.splitlines() or [""]]


def _visible(char: str) -> str:
    return char if char.isprintable() else char.encode("unicode_escape").decode("ascii")


def _fold(line: str, width: int) -> list[str]:
    return chop_cells(line, width) if cell_len(line) > width else [line]


def _fit(columns: Sequence[Column], rows: list[list[list[str]]], width: int) -> list[int]:
    natural = [max(cell_len(line) for row in rows for line in row[index]) for index in range(len(columns))]
    floors = [
        min(natural[index], max(_NARROWEST, cell_len(column.header))) if column.fold else natural[index]
        for index, column in enumerate(columns)
    ]
    widths = list(natural)
    excess = sum(widths) + len(_GAP) * (len(widths) - 1) - width
    while excess > 0:  # the columns with the most room above their floor give way together
        rooms = sorted({widths[index] - floors[index] for index in range(len(widths))} - {0}, reverse=True)
        if not rooms:
            break
        leaders = [index for index in range(len(widths)) if widths[index] - floors[index] == rooms[0]]
        step = min(rooms[0] - (rooms[1] if len(rooms) > 1 else 0), excess // len(leaders))
        if step == 0:  # less excess than leaders: the rightmost ones give way by one
            for index in leaders[len(leaders) - excess :]:
                widths[index] -= 1
            break
        for index in leaders:
            widths[index] -= step
        excess -= step * len(leaders)
    return widths


def _row(
    text: list[str],
    spans: list[Span],
    offset: int,
    cells: Sequence[list[str]],
    styles: Sequence[str | None],
    columns: Sequence[Column],
    widths: list[int],
) -> int:
    """Append one row at ``offset`` (characters so far), folded onto as many lines as its tallest cell
    needs, no line ending in blanks; the offset after it."""
    pieces = [
        [part for line in lines for part in _fold(line, widths[index])] if column.fold else lines
        for index, (column, lines) in enumerate(zip(columns, cells, strict=True))
    ]
    for number in range(max(map(len, pieces))):
        values = [piece[number] if number < len(piece) else "" for piece in pieces]
        last = max((index for index, value in enumerate(values) if value), default=-1)
        for index in range(last + 1):
            value = values[index]
            padding = " " * (widths[index] - cell_len(value))
            right = columns[index].justify == "right"
            lead = (_GAP if index else "") + (padding if right else "")
            offset += len(lead)
            style = styles[index]
            if style:
                spans.append(Span(offset, offset + len(value), style))
            trail = padding if not right and index < last else ""
            text.append(lead + value + trail)
            offset += len(value) + len(trail)
        text.append("\n")
        offset += 1
    return offset
