"""Types: every field type resolves, structures do not contain themselves, stereotypes hold their shape."""

from __future__ import annotations

from idocbridge.models.datatypes import Structure
from idocbridge.models.ddic import BASE_TYPES, DDIC_TYPES, TypeSyntaxError, parse_scalar_type
from idocbridge.models.rules.context import Checker

__all__ = ["check"]

_TYPE_FALLBACK = "use a DDIC type such as CHAR(10), a base type such as String, or define a structure of that name"


def check(checker: Checker) -> None:
    index = checker.index
    model = index.model
    for structure in model.structures:
        for field in structure.fields:
            resolved = index.field_type(field)
            if resolved is not None:
                continue
            if field.type in index.table_types and field.array:
                checker.error(
                    field,
                    "array",
                    f"field '{field.name}' is a table type and also marked array",
                    "remove array: true (a table type is already a list)",
                )
            elif not _is_scalar(field.type):
                checker.unknown(field, "type", "type", field.type, _type_candidates(checker), _TYPE_FALLBACK)
        _check_stereotype(checker, structure)
    for table in model.table_types:
        row = index.resolve(table.row_type)
        if row is None and _table_loop(checker, table.name):
            checker.error(table, "row_type", f"table type '{table.name}' contains itself",
                          "a row type is a structure or a scalar type; break the loop")  # fmt: skip
        elif row is None:
            checker.unknown(table, "row_type", "row type", table.row_type, _type_candidates(checker), _TYPE_FALLBACK)
        elif row.array:
            checker.error(
                table,
                "row_type",
                f"table type '{table.name}' has a table as its row type",
                "a row type is a structure or a scalar type; nested tables are not supported",
            )
    _check_cycles(checker)


def _table_loop(checker: Checker, name: str) -> bool:
    tables = checker.index.table_types
    seen: set[str] = set()
    while name in tables and name not in seen:
        seen.add(name)
        name = tables[name].row_type
    return name in seen


def _type_candidates(checker: Checker) -> list[str]:
    return [*checker.index.type_names(), *BASE_TYPES, *DDIC_TYPES]


def _is_scalar(expression: str) -> bool:
    try:
        return parse_scalar_type(expression) is not None
    except TypeSyntaxError:
        return False


def _check_stereotype(checker: Checker, structure: Structure) -> None:
    if structure.stereotype != "SAPTables":
        return
    for field in structure.fields:
        resolved = checker.index.field_type(field)
        if resolved is not None and not (resolved.array and resolved.structure is not None):
            checker.error(
                field,
                "type",
                f"field '{field.name}' of <<SAPTables>> structure '{structure.name}' is not a table",
                "a table parameter is a list of rows: set array: true and a structure type, e.g. type: EDI_DD40",
            )


def _check_cycles(checker: Checker) -> None:
    index = checker.index
    state: dict[str, int] = {}  # 1 visiting, 2 done

    def visit(structure: Structure, trail: list[str]) -> None:
        state[structure.name] = 1
        for field in structure.fields:
            resolved = index.field_type(field)
            inner = resolved.structure if resolved else None
            if inner is None:
                continue
            if state.get(inner.name) == 1:
                cycle = " -> ".join([*trail[trail.index(inner.name) :], inner.name])
                checker.error(
                    field,
                    "type",
                    f"structure '{inner.name}' contains itself ({cycle})",
                    "SAP structures cannot be recursive: break the cycle",
                )
            elif inner.name not in state:
                visit(inner, [*trail, inner.name])
        state[structure.name] = 2

    for structure in index.model.structures:
        if structure.name not in state:
            visit(structure, [structure.name])
