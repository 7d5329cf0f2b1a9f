"""Damaged parser files never crash the reader, and damage is never parsed past."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from idocbridge.idoc import ParserFileError, parse_parser_text
from tests.idoc.samples import ZTEST01

LINES = ZTEST01.split("\n")
OPTIONAL = ("", "QUALIFIED")  # lines the grammar lets go without changing the meaning (besides TEXT)
REQUIRED = [n for n, line in enumerate(LINES, start=1) if line.strip() not in OPTIONAL and "TEXT" not in line]


@pytest.mark.parametrize("number", REQUIRED)
def test_deleting_any_required_line_is_an_error_at_or_after_it(number: int) -> None:
    damaged = "\n".join(LINES[: number - 1] + LINES[number:])
    with pytest.raises(ParserFileError) as raised:
        parse_parser_text(damaged, "z.txt")
    assert raised.value.line is not None
    assert raised.value.line >= number - 1, str(raised.value)


@pytest.mark.parametrize("number", [n for n in REQUIRED if "_" in LINES[n - 1]])
def test_duplicating_any_structural_line_is_an_error(number: int) -> None:
    damaged = "\n".join([*LINES[:number], LINES[number - 1], *LINES[number:]])
    with pytest.raises(ParserFileError):
        parse_parser_text(damaged, "z.txt")


_EDITS = st.lists(
    st.tuples(
        st.sampled_from(["delete", "duplicate", "swap", "replace", "truncate", "insert"]),
        st.integers(min_value=0, max_value=len(LINES) - 1),
        st.text(max_size=30),
    ),
    min_size=1,
    max_size=4,
)


@given(_EDITS)
def test_random_damage_gives_a_parser_file_error_or_a_type(edits: list[tuple[str, int, str]]) -> None:
    lines = list(LINES)
    for operation, position, text in edits:
        if not lines:
            break
        index = position % len(lines)
        if operation == "delete":
            del lines[index]
        elif operation == "duplicate":
            lines.insert(index, lines[index])
        elif operation == "swap":
            lines[index], lines[-1 - index] = lines[-1 - index], lines[index]
        elif operation == "replace":
            lines[index] = text
        elif operation == "truncate":
            lines = [*lines[:index], lines[index][: len(text)]]
        else:
            lines.insert(index, f"{lines[index].split(' ')[0]} {text}")
    try:
        parse_parser_text("\n".join(lines), "z.txt")
    except ParserFileError as error:
        assert error.line is not None and 1 <= error.line <= max(len(lines), 1)
        assert str(error).startswith(f"z.txt, line {error.line}: ")


@given(st.text(max_size=300))
def test_arbitrary_text_gives_a_parser_file_error(text: str) -> None:
    with pytest.raises(ParserFileError):
        parse_parser_text(text, "random.txt")
