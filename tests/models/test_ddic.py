"""DDIC and base type expressions."""

from __future__ import annotations

import pytest

from idocbridge.models.ddic import Category, ScalarType, TypeSyntaxError, parse_scalar_type


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("CHAR(10)", ScalarType("CHAR", 10)),
        ("NUMC(16)", ScalarType("NUMC", 16)),
        ("DEC(15,2)", ScalarType("DEC", 15, 2)),
        ("DEC(15)", ScalarType("DEC", 15, 0)),
        ("RAW(16)", ScalarType("RAW", 16)),
        ("DATS", ScalarType("DATS")),
        ("TIMS", ScalarType("TIMS")),
        ("INT8", ScalarType("INT8")),
        ("XSTRING", ScalarType("XSTRING")),
        ("String", ScalarType("String")),
        ("DateTime", ScalarType("DateTime")),
    ],
)
def test_scalar_types_parse(expression: str, expected: ScalarType) -> None:
    assert parse_scalar_type(expression) == expected


@pytest.mark.parametrize("name", ["EDI_DC40", "Request", "MY_TABLE", "Order2"])
def test_other_names_are_type_references(name: str) -> None:
    assert parse_scalar_type(name) is None


@pytest.mark.parametrize(
    ("expression", "message", "hint"),
    [
        ("CHAR", "type CHAR needs a length", "write it in parentheses, e.g. CHAR(10)"),
        ("DEC", "type DEC needs a length", "write it in parentheses, e.g. DEC(15,2)"),
        ("CHAR10", "'CHAR10' is not a valid type", "write the length in parentheses: CHAR(10)"),
        ("numc(6)", "'numc(6)' is not a valid type", "DDIC types are upper case: NUMC"),
        ("DATS(8)", "type DATS takes no length", "write just DATS"),
        ("CHAR(30001)", "length 30001 is out of range for CHAR", "CHAR takes a length from 1 to 30000"),
        ("CHAR(a)", "'CHAR(a)' is not a valid type", "write CHAR(length) with whole numbers"),
        ("DEC(3,4)", "scale 4 is out of range for DEC(3,4)", None),
        ("FOO(3)", "'FOO' is not a DDIC type", None),
    ],
)
def test_near_misses_explain_the_fix(expression: str, message: str, hint: str | None) -> None:
    with pytest.raises(TypeSyntaxError) as raised:
        parse_scalar_type(expression)
    assert raised.value.message == message
    if hint is not None:
        assert raised.value.hint == hint


def test_lengths_and_categories() -> None:
    assert ScalarType("DATS").max_length == 8
    assert ScalarType("TIMS").max_length == 6
    assert ScalarType("STRING").max_length is None
    assert ScalarType("CHAR", 72).max_length == 72
    assert ScalarType("NUMC", 6).category is Category.TEXT
    assert ScalarType("FLTP").category is Category.DECIMAL
    assert str(ScalarType("DEC", 15, 2)) == "DEC(15,2)"
