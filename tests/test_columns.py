"""Aligned text columns: widths, folding to fit, alignment, styles, and values that cannot reach the terminal."""

from __future__ import annotations

from idocbridge.cli.columns import Column, render_columns

COLUMNS = [Column("time"), Column("component", fold=True), Column("ms", justify="right"), Column("note", fold=True)]


def test_columns_are_as_wide_as_their_widest_value_and_lines_end_without_blanks() -> None:
    table = render_columns(
        COLUMNS, [["10:00:00", "urn:A", "7", ""], ["10:00:01", "createTransaction", "1234", "x"]], 80
    )
    assert table.plain.splitlines() == [
        "time      component            ms  note",
        "10:00:00  urn:A                 7",
        "10:00:01  createTransaction  1234  x",
    ]


def test_a_table_too_wide_narrows_its_widest_foldable_column_first_and_folds_it() -> None:
    rows = [["10:00:00", "urn:Service:Operation", "7", "a" * 40]]
    lines = render_columns(COLUMNS, rows, 50).plain.splitlines()
    assert all(len(line) <= 50 for line in lines), lines
    # note (40) gives way alone down to component's 21, then the two in turn: 17 cells each
    assert lines[1] == "10:00:00  urn:Service:Opera   7  " + "a" * 17
    assert lines[2] == "          tion                   " + "a" * 17
    assert lines[3] == " " * 33 + "a" * 6


def test_folding_stops_at_the_floor_and_the_line_then_runs_long() -> None:
    rows = [["10:00:00", "c" * 30, "7", "n" * 30]]
    lines = render_columns(COLUMNS, rows, 20).plain.splitlines()
    assert lines[1] == "10:00:00  cccccccccccc   7  nnnnnnnnnnnn"  # both at 12 cells: the floor
    assert "".join(line[10:22] for line in lines[1:]).replace(" ", "") == "c" * 30


def test_styles_cover_exactly_their_values() -> None:
    table = render_columns([Column("state"), Column("x")], [[("ERROR", "bold red"), "y"], ["OK", "z"]], 80)
    styled = {table.plain[span.start : span.end]: str(span.style) for span in table.spans}
    assert styled == {"state": "bold", "x": "bold", "ERROR": "bold red"}


def test_line_breaks_start_new_lines_and_control_characters_are_shown_escaped() -> None:
    table = render_columns([Column("a"), Column("b", fold=True)], [["1", "first\nsecond\x1b[31m\x07"]], 80)
    assert table.plain.splitlines() == ["a  b", "1  first", "   second\\x1b[31m\\x07"]
    assert "\x1b" not in table.plain and "\x07" not in table.plain
