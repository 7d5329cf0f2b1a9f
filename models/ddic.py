"""Field types: SAP DDIC types (CHAR(10), DEC(15,2), ...) and the base types of SOAP messages.

A type expression in a model is either one of these scalar types or the name of a structure or table
type. :func:`parse_scalar_type` recognises the scalar ones and explains what is wrong with a near miss.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

__all__ = [
    "BASE_TYPES",
    "DDIC_TYPES",
    "Category",
    "ScalarType",
    "TypeSyntaxError",
    "parse_scalar_type",
]


class Category(StrEnum):
    """What a value is, for deciding whether one type may be mapped onto another."""

    TEXT = "text"
    INTEGER = "integer"
    DECIMAL = "decimal"
    BOOLEAN = "boolean"
    DATETIME = "datetime"
    BINARY = "binary"


@dataclass(frozen=True)
class _Kind:
    category: Category
    length: tuple[int, int] | None = None  # allowed range of the length argument
    decimals: bool = False  # takes a second argument (scale)
    fixed_length: int | None = None  # implied length (DATS is 8 characters)


DDIC_TYPES: dict[str, _Kind] = {
    "CHAR": _Kind(Category.TEXT, (1, 30000)),
    "NUMC": _Kind(Category.TEXT, (1, 255)),
    "DATS": _Kind(Category.TEXT, fixed_length=8),
    "TIMS": _Kind(Category.TEXT, fixed_length=6),
    "STRING": _Kind(Category.TEXT),
    "INT1": _Kind(Category.INTEGER),
    "INT2": _Kind(Category.INTEGER),
    "INT4": _Kind(Category.INTEGER),
    "INT8": _Kind(Category.INTEGER),
    "DEC": _Kind(Category.DECIMAL, (1, 31), decimals=True),
    "FLTP": _Kind(Category.DECIMAL),
    "RAW": _Kind(Category.BINARY, (1, 32000)),
    "XSTRING": _Kind(Category.BINARY),
}

BASE_TYPES: dict[str, _Kind] = {
    "String": _Kind(Category.TEXT),
    "Integer": _Kind(Category.INTEGER),
    "Float": _Kind(Category.DECIMAL),
    "Decimal": _Kind(Category.DECIMAL),
    "Boolean": _Kind(Category.BOOLEAN),
    "Date": _Kind(Category.DATETIME),
    "DateTime": _Kind(Category.DATETIME),
    "Blob": _Kind(Category.BINARY),
}

INTEGER_RANGES: dict[str, tuple[int, int]] = {
    "INT1": (0, 255),
    "INT2": (-32768, 32767),
    "INT4": (-(2**31), 2**31 - 1),
    "INT8": (-(2**63), 2**63 - 1),
}

_EXPRESSION = re.compile(r"^(?P<name>[A-Za-z][A-Za-z0-9]*)\s*(?:\((?P<args>[^)]*)\))?$")
_GLUED_LENGTH = re.compile(r"^(?P<name>[A-Za-z]+?)(?P<length>[0-9]+)$")


class TypeSyntaxError(ValueError):
    """A type expression that looks like a scalar type but is written wrongly."""

    def __init__(self, message: str, hint: str) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


@dataclass(frozen=True)
class ScalarType:
    """A resolved scalar type: its name, length and scale where it has them."""

    name: str
    length: int | None = None
    decimals: int | None = None

    @property
    def kind(self) -> _Kind:
        return DDIC_TYPES.get(self.name) or BASE_TYPES[self.name]

    @property
    def category(self) -> Category:
        return self.kind.category

    @property
    def is_ddic(self) -> bool:
        return self.name in DDIC_TYPES

    @property
    def max_length(self) -> int | None:
        """Characters (text) or bytes (RAW) this type holds at most; None if unbounded or not text."""
        if self.kind.fixed_length is not None:
            return self.kind.fixed_length
        return self.length

    def __str__(self) -> str:
        if self.length is None:
            return self.name
        if self.decimals is None:
            return f"{self.name}({self.length})"
        return f"{self.name}({self.length},{self.decimals})"


def parse_scalar_type(expression: str) -> ScalarType | None:
    """Parse a scalar type expression; None if it is not one (then it names a structure or table).

    Raises :class:`TypeSyntaxError` for a scalar type written wrongly, e.g. ``CHAR`` without a length.
    """
    match = _EXPRESSION.match(expression.strip())
    if match is None:
        if "(" in expression:
            raise TypeSyntaxError(
                f"'{expression}' is not a valid type", "write a DDIC type as NAME(length), e.g. CHAR(10)"
            )
        return None
    name, args = match.group("name"), match.group("args")
    upper = name.upper()
    if name not in DDIC_TYPES and name not in BASE_TYPES:
        if upper in DDIC_TYPES:
            raise TypeSyntaxError(f"'{expression}' is not a valid type", f"DDIC types are upper case: {upper}")
        glued = _GLUED_LENGTH.match(name)
        if glued and glued.group("name").upper() in DDIC_TYPES and DDIC_TYPES[glued.group("name").upper()].length:
            fixed = f"{glued.group('name').upper()}({glued.group('length')})"
            raise TypeSyntaxError(f"'{expression}' is not a valid type", f"write the length in parentheses: {fixed}")
        if args is not None:
            raise TypeSyntaxError(f"'{name}' is not a DDIC type", "use one of: " + ", ".join(DDIC_TYPES))
        return None
    kind = DDIC_TYPES.get(name) or BASE_TYPES[name]
    if kind.length is None:
        if args is not None:
            raise TypeSyntaxError(f"type {name} takes no length", f"write just {name}")
        return ScalarType(name)
    if args is None:
        example = f"{name}(15,2)" if kind.decimals else f"{name}(10)"
        raise TypeSyntaxError(f"type {name} needs a length", f"write it in parentheses, e.g. {example}")
    return _with_arguments(name, kind, args)


def _with_arguments(name: str, kind: _Kind, args: str) -> ScalarType:
    parts = [part.strip() for part in args.split(",")]
    expected = 2 if kind.decimals else 1
    if len(parts) > expected or not all(re.fullmatch("[0-9]+", part) for part in parts):
        form = f"{name}(precision,scale)" if kind.decimals else f"{name}(length)"
        raise TypeSyntaxError(f"'{name}({args})' is not a valid type", f"write {form} with whole numbers")
    assert kind.length is not None
    low, high = kind.length
    length = int(parts[0])
    if not low <= length <= high:
        raise TypeSyntaxError(
            f"length {length} is out of range for {name}", f"{name} takes a length from {low} to {high}"
        )
    if not kind.decimals:
        return ScalarType(name, length)
    scale = int(parts[1]) if len(parts) == 2 else 0
    if scale > min(length, 14):
        raise TypeSyntaxError(
            f"scale {scale} is out of range for {name}({length},{scale})",
            f"the scale is at most the precision and at most 14, e.g. {name}({length},{min(length, 14)})",
        )
    return ScalarType(name, length, scale)
