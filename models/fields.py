"""Reusable field constraints: names, identifiers and errors that carry a hint."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator
from pydantic_core import PydanticCustomError

__all__ = ["Identifier", "invalid"]

ERROR_TYPE = "idocbridge"


def invalid(message: str, hint: str | None = None, *, key: str | None = None) -> PydanticCustomError:
    """A validation error whose message and hint are shown as written; at ``key`` of the element if given."""
    return PydanticCustomError(ERROR_TYPE, "{message}", {"message": message, "hint": hint or "", "key": key or ""})


_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _identifier(value: str) -> str:
    if not _IDENTIFIER.match(value):
        suggestion = re.sub(r"[^A-Za-z0-9_]", "_", value) or "Name"
        if suggestion[0].isdigit():
            suggestion = "_" + suggestion
        raise invalid(
            f"'{value}' is not a valid name",
            f"names start with a letter or _ and hold only letters, digits and _, e.g. {suggestion}",
        )
    return value


Identifier = Annotated[str, AfterValidator(_identifier)]
"""A name usable in code, WSDL and SAP: letters, digits and underscores, not starting with a digit."""
