"""Names the generated Python must be able to carry: no keywords, no clashes with what it imports.

The generator turns structures into classes, fields into attributes and operations into methods of a
service base class; some names would shadow Python, pydantic or the runtime. They are reported here,
with the model, rather than as a broken import when the service starts.
"""

from __future__ import annotations

import keyword

from pydantic import BaseModel

from idocbridge.models.datatypes import Structure, TableType
from idocbridge.models.rules.context import Checker

__all__ = ["check"]

_MODULE_NAMES = frozenset(
    {"Annotated", "Decimal", "Empty", "Field", "Message", "ServiceBase", "annotations", "dt", "operation"}
)
"""What a generated service module imports or defines besides the model's classes."""
_ANNOTATION_TYPES = frozenset({"bool", "bytes", "dict", "float", "int", "list", "str"})
"""Built-in types the generated annotations name: a class or field of that name would shadow them."""
_PYDANTIC = frozenset(name for name in dir(BaseModel) if not name.startswith("_"))
"""Attributes of pydantic models (json, copy, dict, model_dump...): fields cannot take these names."""
_METHODS = frozenset({"adjust_parameters", "operations", "run_activity", "service_name"})
"""Attributes of the generated service base (ServiceBase) that operations must not replace."""


def _python_problem(name: str, *, field: bool = False) -> str | None:
    if keyword.iskeyword(name) or keyword.issoftkeyword(name) or name in ("None", "True", "False"):
        return "is a Python keyword"
    if name.startswith("_"):
        return "starts with _, which Python and pydantic keep for private names"
    if field and (name in _PYDANTIC or name.startswith("model_")):
        return "is an attribute of pydantic models"
    if name in _ANNOTATION_TYPES:
        return "is a built-in type the generated annotations use"
    if name in _MODULE_NAMES:
        return "is a name the generated module uses"
    return None


def check(checker: Checker) -> None:
    model = checker.index.model
    named: list[Structure | TableType] = [*model.structures, *model.table_types]
    for structure in named:
        problem = _python_problem(structure.name)
        if problem:
            checker.error(
                structure,
                "name",
                f"type name '{structure.name}' {problem}",
                f"choose another name, e.g. {structure.name.strip('_')}Type",
            )
    for structure in model.structures:
        for field in structure.fields:
            problem = _python_problem(field.name, field=True)
            if problem and not keyword.iskeyword(field.name):  # keywords get an alias (from_ = Field(alias="from"))
                checker.error(
                    field,
                    "name",
                    f"field name '{field.name}' {problem}",
                    f"choose another name, e.g. {field.name.strip('_')}Value",
                )
    for service in model.services:
        names = {op.name for port in service.port_types for op in port.operations}
        for port in service.port_types:
            for operation in port.operations:
                problem = _python_problem(operation.name)
                if problem is None and operation.name in _METHODS:
                    problem = "is a method of the generated service base"
                if problem is None and operation.name.endswith("Response") and operation.name[:-8] in names:
                    problem = f"clashes with the response element of operation '{operation.name[:-8]}'"
                if problem:
                    checker.error(
                        operation,
                        "name",
                        f"operation name '{operation.name}' {problem}",
                        f"choose another name, e.g. {operation.name.strip('_')}Request",
                    )
