"""<<SAPTRFCAdapter>>: submit the call under its transaction's TID; a retry reuses the TID."""

from __future__ import annotations

from idocbridge.adapters.context import ChainContext
from idocbridge.adapters.parameters import function_parameters
from idocbridge.adapters.sap_call import call_sap
from idocbridge.models.activities import TRFCCallStep

__all__ = ["run"]


def run(step: TRFCCallStep, context: ChainContext) -> None:
    tid = context.tids[step.transaction]
    function = context.index.functions[step.function]
    parameters = function_parameters(context, step.name, function, step.inputs)
    what = f"{step.stereotype}:{step.name}"
    submit = lambda sap: sap.submit_transaction(tid, step.function, parameters, step.queue)  # noqa: E731
    call_sap(context, step.alias, what, step.function, submit, correlation=tid)
    context.states[step.transaction] = "EXECUTED"
