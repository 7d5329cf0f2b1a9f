"""What the Python template prints: classes in dependency order, annotations, and the imports they need."""

from __future__ import annotations

import textwrap
from dataclasses import dataclass

from idocbridge.soap.contract import FieldContract, ServiceContract, StructureContract

__all__ = ["ClassView", "FieldView", "PythonModuleView", "docstring", "python_view", "wrapped"]


@dataclass(frozen=True)
class FieldView:
    name: str
    annotation: str
    default: str  # "" for a required field


@dataclass(frozen=True)
class ClassView:
    name: str
    doc: str
    fields: tuple[FieldView, ...]


@dataclass(frozen=True)
class PythonModuleView:
    imports: tuple[str, ...]
    classes: tuple[ClassView, ...]
    base_class: str
    exports: tuple[str, ...]


def docstring(text: str) -> str:
    """Text that is safe inside a triple-quoted docstring, on one line."""
    return " ".join(text.replace("\\", "\\\\").replace('"""', '\\"\\"\\"').split()) or "(no description)"


def _scalar_annotation(field: FieldContract) -> str:
    assert field.simple is not None
    python = field.simple.python
    if not field.simple.constraints:
        return python
    arguments = ", ".join(f"{name}={value}" for name, value in field.simple.constraints)
    return f"Annotated[{python}, Field({arguments})]"


def _field(field: FieldContract) -> FieldView:
    inner = field.structure if field.structure is not None else _scalar_annotation(field)
    alias = f'alias="{field.name}"' if field.python_name != field.name else ""
    if field.array:
        arguments = ", ".join(part for part in ("default_factory=list", alias) if part)
        return FieldView(field.python_name, f"list[{inner}]", f"Field({arguments})")
    if field.optional:
        default = f"Field(default=None, {alias})" if alias else "None"
        return FieldView(field.python_name, f"{inner} | None", default)
    return FieldView(field.python_name, inner, f"Field({alias})" if alias else "")


def _ordered(contract: ServiceContract) -> list[StructureContract]:
    """Structures with those they use first, otherwise by name (stable for equal input)."""
    done: dict[str, StructureContract] = {}
    by_name = {s.name: s for s in contract.structures}

    def visit(structure: StructureContract) -> None:
        if structure.name in done:
            return
        for field in structure.fields:
            if field.structure is not None and field.structure != structure.name:
                visit(by_name[field.structure])
        done[structure.name] = structure

    for structure in contract.structures:
        visit(structure)
    return list(done.values())


def _isort_order(name: str) -> tuple[int, str]:
    """The order ruff keeps ``__all__`` in: CONSTANTS, then Classes, then the rest."""
    return (0 if name.isupper() else 1 if name[:1].isupper() else 2, name)


def wrapped(text: str, indent: int, width: int = 110) -> str:
    """Text filled to ``width`` columns, continuation lines indented by ``indent`` spaces."""
    return textwrap.fill(" ".join(text.split()), width=width - indent, subsequent_indent=" " * indent)


def python_view(contract: ServiceContract) -> PythonModuleView:
    classes = tuple(
        ClassView(s.python_name, docstring(s.description or f"Structure {s.name}."), tuple(_field(f) for f in s.fields))
        for s in _ordered(contract)
    )
    used = " ".join(f.annotation + f.default for c in classes for f in c.fields)
    imports = ["from __future__ import annotations", ""]
    if "dt." in used:
        imports.append("import datetime as dt")
    if "Decimal" in used:
        imports.append("from decimal import Decimal")
    if "Annotated[" in used:
        imports.append("from typing import Annotated")
    if imports[-1] != "":
        imports.append("")
    if "Field(" in used:
        imports += ["from pydantic import Field", ""]
    needs_empty = any(op.input is None or op.output is None for op in contract.operations)
    runtime = ["Message", "ServiceBase", "operation"] + (["Empty"] if needs_empty else [])
    imports.append(f"from idocbridge.soap.service import {', '.join(sorted(runtime))}")
    capitalised = f"{contract.name[:1].upper()}{contract.name[1:]}"
    base = f"{capitalised}Base" if capitalised.endswith("Service") else f"{capitalised}ServiceBase"
    exports = tuple(sorted([base, *(c.name for c in classes)], key=_isort_order))
    return PythonModuleView(tuple(imports), classes, base, exports)
