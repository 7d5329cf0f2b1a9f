"""SAP value padding: pad_value for each mode, numeric and character fields."""

from __future__ import annotations

import pytest

from idocbridge.padding import PADDING_MODES, pad_value


def test_the_modes_are_never_mixed_always() -> None:
    assert sorted(PADDING_MODES) == ["Always", "Mixed", "Never"]


@pytest.mark.parametrize(
    ("value", "length", "numeric", "padding", "expected"),
    [
        ("42", 6, True, "Never", "42"),
        ("42", 6, True, "Mixed", "000042"),
        ("42", 6, True, "Always", "000042"),
        ("AB", 4, False, "Never", "AB"),
        ("AB", 4, False, "Mixed", "AB"),
        ("AB", 4, False, "Always", "AB  "),
        (" A", 4, False, "Always", " A  "),  # leading blanks kept
        ("123456", 6, True, "Mixed", "123456"),  # full already
        ("1234567", 6, True, "Always", "1234567"),  # too long: left for validation to report
        ("ABCDE", 4, False, "Always", "ABCDE"),
        ("42", None, True, "Always", "42"),  # no length known
        ("AB", None, False, "Always", "AB"),
        ("", 3, True, "Mixed", ""),  # empty stays empty
        ("", 3, False, "Always", "   "),
    ],
)
def test_pad_value(value: str, length: int | None, numeric: bool, padding: str, expected: str) -> None:
    assert pad_value(value, length, numeric=numeric, padding=padding) == expected  # type: ignore[arg-type]


@pytest.mark.parametrize("value", ["4A", "-42", " 42", "4.2", "٤٢", "²"])
@pytest.mark.parametrize("padding", ["Mixed", "Always"])
def test_numeric_values_that_are_not_ascii_digits_are_left_alone(value: str, padding: str) -> None:
    assert pad_value(value, 6, numeric=True, padding=padding) == value  # type: ignore[arg-type]
