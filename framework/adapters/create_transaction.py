"""<<SAPTRFCCreateTransaction>>: get a TID from SAP; it is the chain's correlation ID from here on."""

from __future__ import annotations

from idocbridge.adapters.context import ChainContext
from idocbridge.adapters.sap_call import call_sap
from idocbridge.models.activities import CreateTransactionStep

__all__ = ["run"]


def run(step: CreateTransactionStep, context: ChainContext) -> None:
    tid = call_sap(context, step.alias, f"{step.stereotype}:{step.name}", "", lambda sap: sap.get_transaction_id())
    context.tids[step.name] = tid
    context.states[step.name] = "TID_ASSIGNED"
