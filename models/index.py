"""Name lookup over a model and the built-ins, and resolution of type expressions."""

from __future__ import annotations

import difflib
from dataclasses import dataclass

from idocbridge.models.builtins import builtin_functions, builtin_structures
from idocbridge.models.datatypes import Field, Structure, TableType
from idocbridge.models.ddic import ScalarType, TypeSyntaxError, parse_scalar_type
from idocbridge.models.functions import FunctionInterface
from idocbridge.models.model import Model

__all__ = ["ModelIndex", "ResolvedType"]


@dataclass(frozen=True)
class ResolvedType:
    """What a field or mapping path holds: a scalar or a structure, one value or a list of them."""

    scalar: ScalarType | None = None
    structure: Structure | None = None
    array: bool = False

    def element(self) -> ResolvedType:
        """The type of one entry of a list."""
        return ResolvedType(self.scalar, self.structure, False)

    def describe(self) -> str:
        inner = str(self.scalar) if self.scalar is not None else self.structure.name if self.structure else "?"
        return f"list of {inner}" if self.array else inner


class ModelIndex:
    """Every structure, table type and function by name, the model's own and the built-in ones."""

    def __init__(self, model: Model) -> None:
        self.model = model
        self.builtin_structures = {s.name: s for s in builtin_structures()}
        self.builtin_functions = {f.name: f for f in builtin_functions()}
        self.structures: dict[str, Structure] = dict(self.builtin_structures)
        self.table_types: dict[str, TableType] = {}
        self.functions: dict[str, FunctionInterface] = dict(self.builtin_functions)
        for structure in model.structures:
            self.structures.setdefault(structure.name, structure)
        for table in model.table_types:
            self.table_types.setdefault(table.name, table)
        for function in model.functions:
            self.functions.setdefault(function.name, function)
        self._resolved: dict[tuple[str, bool], ResolvedType | None] = {}
        self.path_types: dict[tuple[str, object], ResolvedType | None] = {}
        """What mapping paths lead to from a structure of this index (``models.paths.resolve_type``'s memory)."""

    def type_names(self) -> list[str]:
        return sorted({*self.structures, *self.table_types})

    def suggest(self, name: str, candidates: list[str]) -> str | None:
        close = difflib.get_close_matches(name, candidates, n=1, cutoff=0.6)
        if close:
            return close[0]
        lowered = {c.lower(): c for c in candidates}
        return lowered.get(name.lower())

    def resolve(self, expression: str, array: bool = False, _seen: frozenset[str] = frozenset()) -> ResolvedType | None:
        """Resolve a type expression; None if it names nothing known (or table types loop)."""
        if _seen:
            return self._resolve(expression, array, _seen)
        key = (expression, array)
        if key not in self._resolved:  # the index does not change: each expression is resolved once
            self._resolved[key] = self._resolve(expression, array, _seen)
        return self._resolved[key]

    def _resolve(self, expression: str, array: bool, _seen: frozenset[str]) -> ResolvedType | None:
        try:
            scalar = parse_scalar_type(expression)
        except TypeSyntaxError:
            return None
        if scalar is not None:
            return ResolvedType(scalar=scalar, array=array)
        if expression in self.structures:
            return ResolvedType(structure=self.structures[expression], array=array)
        table = self.table_types.get(expression)
        if table is not None and not array and expression not in _seen:
            row = self.resolve(table.row_type, _seen=_seen | {expression})
            if row is not None and not row.array:
                return ResolvedType(row.scalar, row.structure, True)
        return None

    def field_type(self, field: Field) -> ResolvedType | None:
        return self.resolve(field.type, field.array)
