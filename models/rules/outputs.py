"""Responses: every required field of an operation's output is filled by a mapping.

The response class the generator writes requires each field that is neither ``optional`` nor a list
(a list defaults to no entries). Only the ``outputs`` of SAPRFCAdapter steps fill the response, so a
required field no output mapping reaches would make every request fail when the response is built.
A mapping of a whole field or list entry fills everything below it; an entry of a list created by a
mapping needs its own required fields filled. tRFC operations answer with a delivery receipt.
"""

from __future__ import annotations

from collections.abc import Sequence

from idocbridge.models.activities import RFCCallStep, TRFCCallStep
from idocbridge.models.datatypes import Structure
from idocbridge.models.index import ModelIndex
from idocbridge.models.paths import PathSyntaxError, Segment, parse_path, resolve_type
from idocbridge.models.rules.context import Checker
from idocbridge.models.services import Operation

__all__ = ["check", "unfilled_fields"]

Target = tuple[Segment, ...]


def check(checker: Checker) -> None:
    for service in checker.index.model.services:
        for port in service.port_types:
            for operation in port.operations:
                _check_operation(checker, operation)


def _check_operation(checker: Checker, operation: Operation) -> None:
    index = checker.index
    response = index.structures.get(operation.output) if operation.output else None
    if response is None or any(isinstance(step, TRFCCallStep) for step in operation.activity):
        return  # no output, an undefined one, or a tRFC operation with an output: reported elsewhere
    calls = [step for step in operation.activity if isinstance(step, RFCCallStep)]
    targets = _targets(index, response, calls)
    if targets is None:
        return  # a mapping target is wrong; the mapping rules report it
    missing = unfilled_fields(index, response, targets)
    if not missing:
        return
    fields = "field" if len(missing) == 1 else "fields"
    names = ", ".join(f"'{name}'" for name in missing)
    them = "it" if len(missing) == 1 else "them"
    where = (
        f"map {them} in the outputs of step '{calls[-1].name}' from the exports, changing or tables of "
        f"function '{calls[-1].function}'"
        if calls
        else f"add a SAPRFCAdapter step whose outputs map {them} from its function's exports, changing or tables"
    )
    each = "the field" if len(missing) == 1 else "each field"
    checker.error(
        operation,
        "output",
        f"operation '{operation.name}' answers with '{response.name}', but no mapping fills its required "
        f"{fields} {names}, so every request would fail",
        f"{where}, or write optional: true on {each}",
    )


def _targets(index: ModelIndex, response: Structure, calls: Sequence[RFCCallStep]) -> list[Target] | None:
    """The output paths the steps write (below ``output``), or None if one of them does not resolve."""
    targets: list[Target] = []
    for step in calls:
        for mapping in step.outputs:
            try:
                path = parse_path(mapping.to)
            except PathSyntaxError:
                return None
            if path.root != "output" or resolve_type(index, response, path) is None:
                return None
            targets.append(path.segments)
    return targets


def unfilled_fields(index: ModelIndex, structure: Structure, targets: Sequence[Target], prefix: str = "") -> list[str]:
    """The required fields of ``structure`` that no target path fills, as paths below it (``a.b``, ``rows[*].c``)."""
    missing: list[str] = []
    for field in structure.fields:
        resolved = index.field_type(field)
        if resolved is None:
            continue  # the type rules report it
        name = f"{prefix}{field.name}"
        into = [target for target in targets if target and target[0].name == field.name]
        if any(len(target) == 1 and target[0].index is None for target in into):
            continue  # the whole field is mapped
        if not resolved.array:
            if into and resolved.structure is not None:
                missing += unfilled_fields(index, resolved.structure, [t[1:] for t in into], f"{name}.")
            elif not into and not field.optional:
                missing.append(name)
            continue
        if resolved.structure is None:
            continue  # a list of scalars: each entry a mapping creates is its value
        rows: dict[int | str | None, list[Target]] = {}
        for target in into:
            rows.setdefault(target[0].index, []).append(target[1:])
        for position, tails in rows.items():
            filled = tails if position == "*" else tails + rows.get("*", [])
            if not any(len(tail) == 0 for tail in filled):
                missing += unfilled_fields(index, resolved.structure, filled, f"{name}[{position}].")
    return missing
