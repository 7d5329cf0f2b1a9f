"""<<SAPTRFCAdapter>>: submit the call in its transaction's unit; a retry reuses the TID."""

from __future__ import annotations

from idocbridge.adapters.context import ChainContext
from idocbridge.adapters.parameters import function_parameters
from idocbridge.adapters.sap_call import call_sap
from idocbridge.connectors.unit import UnitCall
from idocbridge.models.activities import TRFCCallStep

__all__ = ["run"]


def run(step: TRFCCallStep, context: ChainContext) -> None:
    unit = context.units[step.transaction]
    function = context.index.functions[step.function]
    call = UnitCall(step.function, function_parameters(context, step.name, function, step.inputs), step.queue)
    context.unit_calls[step.transaction] = call
    what = f"{step.stereotype}:{step.name}"
    call_sap(context, step.alias, what, step.function, lambda sap: unit.submit(sap, call), correlation=unit.tid)
