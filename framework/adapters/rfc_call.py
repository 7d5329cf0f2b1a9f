"""<<SAPRFCAdapter>>: a synchronous call; its outputs map into the operation's response."""

from __future__ import annotations

from idocbridge.adapters.context import ChainContext
from idocbridge.adapters.mapping import MappingError, apply_mappings, root
from idocbridge.adapters.parameters import function_parameters, group_structures
from idocbridge.adapters.sap_call import call_sap
from idocbridge.models.activities import RFCCallStep

__all__ = ["run"]


def run(step: RFCCallStep, context: ChainContext) -> None:
    function = context.index.functions[step.function]
    parameters = function_parameters(context, step.name, function, step.inputs)
    result = call_sap(context, step.alias, f"{step.stereotype}:{step.name}", step.function,
                      lambda sap: sap.call(step.function, parameters))  # fmt: skip
    if not step.outputs or context.operation.output is None:
        return
    structures = group_structures(context, function)
    sources = {name: root(result, structure) for name, structure in structures.items()}
    if context.operation.request_structure:
        sources["input"] = root(context.request, context.index.structures[context.operation.request_structure])
    target = {"output": root(context.output, context.index.structures[context.operation.output])}
    try:
        apply_mappings(context.index, step.outputs, sources, target)
    except MappingError as exc:
        raise MappingError(str(exc), side="server") from exc
