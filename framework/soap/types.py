"""How each scalar type of the metamodel appears on the wire: XSD simple types and Python types.

One table decides, for the generated XSD, the generated pydantic classes and the runtime's XML
binding alike, so the three cannot drift apart.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import math
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from idocbridge.models.ddic import INTEGER_RANGES, ScalarType

__all__ = ["SimpleType", "from_xml_text", "simple_type", "to_xml_text"]


@dataclass(frozen=True, order=True)
class SimpleType:
    """An XSD simple type: a name in the service's namespace, its XSD base and facets, its Python type."""

    name: str
    base: str
    facets: tuple[tuple[str, str], ...]
    python: str
    constraints: tuple[tuple[str, str], ...] = ()  # pydantic Field arguments

    @property
    def is_builtin(self) -> bool:
        """True when the XSD base is used directly (no restriction needed)."""
        return not self.facets


_PLAIN: dict[str, tuple[str, str]] = {
    "STRING": ("xs:string", "str"), "XSTRING": ("xs:base64Binary", "bytes"), "FLTP": ("xs:double", "float"),
    "INT1": ("xs:unsignedByte", "int"), "INT2": ("xs:short", "int"), "INT4": ("xs:int", "int"),
    "INT8": ("xs:long", "int"), "String": ("xs:string", "str"), "Integer": ("xs:long", "int"),
    "Float": ("xs:double", "float"), "Decimal": ("xs:decimal", "Decimal"), "Boolean": ("xs:boolean", "bool"),
    "Date": ("xs:date", "dt.date"), "DateTime": ("xs:dateTime", "dt.datetime"), "Blob": ("xs:base64Binary", "bytes"),
}  # fmt: skip


def simple_type(scalar: ScalarType) -> SimpleType:
    """The simple type of a scalar type (named ``ddic.CHAR.10`` etc. when it restricts its base)."""
    name = scalar.name
    if name in _PLAIN:
        base, python = _PLAIN[name]
        constraints: tuple[tuple[str, str], ...] = ()
        if name in INTEGER_RANGES:
            low, high = INTEGER_RANGES[name]
            constraints = (("ge", str(low)), ("le", str(high)))
        return SimpleType(base, base, (), python, constraints)
    length = scalar.length or 0
    if name == "CHAR":
        return SimpleType(f"ddic.CHAR.{length}", "xs:string", (("maxLength", str(length)),), "str",
                          (("max_length", str(length)),))  # fmt: skip
    if name == "NUMC":
        return SimpleType(f"ddic.NUMC.{length}", "xs:string", (("maxLength", str(length)), ("pattern", "[0-9]*")),
                          "str", (("max_length", str(length)), ("pattern", json.dumps("^[0-9]*$"))))  # fmt: skip
    if name == "DATS":
        return SimpleType(
            "ddic.DATS", "xs:string", (("pattern", "[0-9]{8}"),), "str", (("pattern", json.dumps("^[0-9]{8}$")),)
        )
    if name == "TIMS":
        return SimpleType(
            "ddic.TIMS", "xs:string", (("pattern", "[0-9]{6}"),), "str", (("pattern", json.dumps("^[0-9]{6}$")),)
        )
    if name == "DEC":
        scale = scalar.decimals or 0
        return SimpleType(f"ddic.DEC.{length}.{scale}", "xs:decimal",
                          (("totalDigits", str(length)), ("fractionDigits", str(scale))), "Decimal",
                          (("max_digits", str(length)), ("decimal_places", str(scale))))  # fmt: skip
    if name == "RAW":
        return SimpleType(f"ddic.RAW.{length}", "xs:base64Binary", (("maxLength", str(length)),), "bytes",
                          (("max_length", str(length)),))  # fmt: skip
    raise ValueError(f"no wire type for {scalar}")  # pragma: no cover - every scalar type is covered above


def from_xml_text(text: str, scalar: ScalarType) -> Any:
    """The Python value of an element's text (already valid against its simple type)."""
    python = simple_type(scalar).python
    if python == "str":
        return text
    if python == "int":
        return int(text.strip())
    if python == "float":
        return float(text.strip())
    if python == "Decimal":
        return Decimal(text.strip())
    if python == "bool":
        return text.strip() in ("true", "1")
    if python == "bytes":
        return base64.b64decode(text.strip())
    if python == "dt.date":
        return dt.date.fromisoformat(text.strip())
    return dt.datetime.fromisoformat(text.strip())


def to_xml_text(value: Any) -> str:
    """The text of an element holding ``value``."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"{value} is not a decimal number")
        return format(value, "f")  # never 0E-8: xs:decimal has no exponent
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"{value} is not a finite number")
    return str(value)
