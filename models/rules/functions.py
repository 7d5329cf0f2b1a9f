"""Function interfaces: names SAP accepts, and parameter groups typed by the right stereotype."""

from __future__ import annotations

import re

from idocbridge.models.functions import FunctionInterface
from idocbridge.models.rules.context import Checker

__all__ = ["check"]

_FUNCTION_NAME = re.compile(r"^(/[A-Z0-9_]{1,10}/)?[A-Z0-9_]+$")
_EXPECTED = {
    "import_": "SAPParameters",
    "export": "SAPParameters",
    "changing": "SAPParameters",
    "tables": "SAPTables",
}


def check(checker: Checker) -> None:
    for function in checker.index.model.functions:
        if not _FUNCTION_NAME.match(function.name) or len(function.name) > 30:
            checker.error(
                function,
                "name",
                f"'{function.name}' is not an SAP function module name",
                "function names are upper case letters, digits and _, up to 30 characters, "
                "optionally with a /NAMESPACE/ prefix",
            )
        _check_groups(checker, function)


def _check_groups(checker: Checker, function: FunctionInterface) -> None:
    index = checker.index
    for group, stereotype in _EXPECTED.items():
        name = getattr(function, group)
        if name is None:
            continue
        shown = function.alias_of(group)
        structure = index.structures.get(name)
        if structure is None:
            checker.unknown(
                function,
                group,
                f"{shown} structure of function '{function.name}'",
                name,
                sorted(s.name for s in index.structures.values() if s.stereotype == stereotype),
                f"define a structure '{name}' with stereotype: {stereotype}",
            )
        elif structure.stereotype != stereotype:
            checker.error(
                function,
                group,
                f"the {shown} parameters of function '{function.name}' use structure '{name}', "
                f"which is not <<{stereotype}>>",
                f"add stereotype: {stereotype} to structure '{name}'",
            )
