"""The parameters of a function call, built by a step's input mappings and the mapping hook."""

from __future__ import annotations

from typing import Any

from idocbridge.adapters.context import ChainContext
from idocbridge.adapters.mapping import MappingRoot, apply_mappings, root
from idocbridge.models.activities import Mapping
from idocbridge.models.functions import FunctionInterface

__all__ = ["function_parameters", "group_structures"]


def group_structures(context: ChainContext, function: FunctionInterface) -> dict[str, Any]:
    """The function's parameter groups that exist, by mapping root name."""
    groups = {"import": function.import_, "export": function.export, "changing": function.changing,
              "tables": function.tables}  # fmt: skip
    return {name: context.index.structures[structure] for name, structure in groups.items() if structure}


def function_parameters(context: ChainContext, step_name: str, function: FunctionInterface,
                        mappings: list[Mapping]) -> dict[str, Any]:  # fmt: skip
    """Import, changing and table parameters, flat as RFC libraries take them."""
    structures = group_structures(context, function)
    request_type = (
        context.index.structures[context.operation.request_structure] if context.operation.request_structure else None
    )
    sources = {"input": root(context.request, request_type)} if request_type is not None else {}
    targets: dict[str, MappingRoot] = {
        name: root({}, structures[name]) for name in ("import", "changing", "tables") if name in structures
    }
    mapped = apply_mappings(context.index, mappings, sources, targets, context.index.model.composite.sap_value_padding)
    parameters: dict[str, Any] = {}
    for values in mapped.values():
        parameters.update(values)
    return context.hook.adjust_parameters(context.operation.name, step_name, parameters)
