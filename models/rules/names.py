"""Every name is defined once where it must be unique, and never shadows a built-in."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from idocbridge.models.datatypes import Structure, TableType
from idocbridge.models.ddic import BASE_TYPES, DDIC_TYPES, TypeSyntaxError, parse_scalar_type
from idocbridge.models.element import Element
from idocbridge.models.rules.context import Checker
from idocbridge.models.services import SoapService

__all__ = ["check"]


def _duplicates(
    checker: Checker,
    elements: Iterable[Element],
    what: str,
    scope: str,
    builtin: frozenset[str] = frozenset(),
    key: str = "name",
) -> None:
    seen: dict[str, Element] = {}
    for element in elements:
        name = str(getattr(element, key))
        if name in builtin:
            checker.error(
                element,
                key,
                f"{what} '{name}' is built in",
                f"remove this definition and use the built-in {name}, or choose another name",
            )
            continue
        first = seen.get(name)
        if first is None:
            seen[name] = element
            continue
        where = first.location(key)
        line = f" (first defined at line {where.line})" if where else ""
        checker.error(
            element,
            key,
            f"{what} '{name}' is defined twice in {scope}{line}",
            f"rename or remove one of the two definitions of '{name}'",
        )


def _check_paths(checker: Checker) -> None:
    seen: dict[str, SoapService] = {}
    for service in checker.index.model.services:
        first = seen.setdefault(service.url_path, service)
        if first is not service:
            checker.error(service, "path" if service.path else "name",
                          f"service '{service.name}' is served at {service.url_path}, like service '{first.name}'",
                          "give one of them another path")  # fmt: skip


def _check_reserved(checker: Checker, types: Sequence[Structure | TableType]) -> None:
    for element in types:
        name = element.name
        try:
            scalar = parse_scalar_type(name) is not None
        except TypeSyntaxError:
            scalar = True
        if scalar or name.upper() in DDIC_TYPES or name in BASE_TYPES:
            checker.error(element, "name", f"'{name}' is the name of a scalar type",
                          f"choose another name for this type, e.g. {name}_TYPE")  # fmt: skip


def check(checker: Checker) -> None:
    model = checker.index.model
    index = checker.index
    _duplicates(checker, model.aliases, "SAP alias", "the model")
    builtin_types = frozenset(index.builtin_structures)
    types: Sequence[Structure | TableType] = [*model.structures, *model.table_types]
    _duplicates(checker, types, "type", "the model", builtin_types)
    _duplicates(checker, model.functions, "function", "the model", frozenset(index.builtin_functions))
    _duplicates(checker, model.idoc_types, "IDoc type", "the model")
    _duplicates(checker, model.services, "SOAP service", "the model")
    _check_paths(checker)
    _check_reserved(checker, types)
    for structure in model.structures:
        _duplicates(checker, structure.fields, "field", f"structure '{structure.name}'")
    for service in model.services:
        _duplicates(checker, service.port_types, "port type", f"service '{service.name}'")
        operations = [op for port in service.port_types for op in port.operations]
        _duplicates(checker, operations, "operation", f"service '{service.name}'")
        for operation in operations:
            _duplicates(checker, operation.activity, "step", f"operation '{operation.name}'")
