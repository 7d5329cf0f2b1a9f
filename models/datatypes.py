"""Data types: structures (with the <<SAPParameters>> and <<SAPTables>> stereotypes) and table types."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field as PydanticField
from pydantic import field_validator

from idocbridge.models.ddic import TypeSyntaxError, parse_scalar_type
from idocbridge.models.element import Element
from idocbridge.models.fields import Identifier, invalid

__all__ = ["Field", "Stereotype", "Structure", "TableType"]

Stereotype = Literal["SAPParameters", "SAPTables"]


def _type_expression(value: str) -> str:
    try:
        parse_scalar_type(value)
    except TypeSyntaxError as exc:
        raise invalid(exc.message, exc.hint) from None
    return value


class Field(Element):
    """A field of a structure: a scalar type, a structure or a table type; ``array`` makes it 0..n."""

    label: ClassVar[str] = "field"
    xml_tag: ClassVar[str] = "field"

    name: Identifier
    type: str
    """CHAR(n), NUMC(n), DATS, TIMS, INT1/2/4/8, DEC(p,s), FLTP, STRING, XSTRING, RAW(n); String,
    Integer, Float, Decimal, Boolean, Date, DateTime, Blob; or the name of a structure or table type."""
    array: bool = False
    """The field holds a list of values (0..n)."""
    optional: bool = False
    """The field may be left out of a message."""
    description: str | None = None

    @field_validator("type")
    @classmethod
    def _type(cls, value: str) -> str:
        return _type_expression(value)


class Structure(Element):
    """A structure (class); as <<SAPParameters>> it holds function parameters, as <<SAPTables>> tables."""

    label: ClassVar[str] = "structure"
    xml_tag: ClassVar[str] = "structure"

    name: Identifier
    stereotype: Stereotype | None = None
    """SAPParameters (import/export/changing parameters) or SAPTables (table parameters)."""
    description: str | None = None
    fields: list[Field] = PydanticField(default_factory=list)


class TableType(Element):
    """A DDIC table type: a list of rows of one type."""

    label: ClassVar[str] = "table type"
    xml_tag: ClassVar[str] = "tableType"

    name: Identifier
    row_type: str
    """The structure or scalar type of each row."""
    description: str | None = None

    @field_validator("row_type")
    @classmethod
    def _row_type(cls, value: str) -> str:
        return _type_expression(value)
