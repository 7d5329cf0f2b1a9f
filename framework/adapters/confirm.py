"""<<SAPTRFCConfirmTransaction>>: let SAP forget the TID once its call has run."""

from __future__ import annotations

from idocbridge.adapters.context import ChainContext
from idocbridge.adapters.sap_call import call_sap
from idocbridge.models.activities import ConfirmTransactionStep

__all__ = ["run"]


def run(step: ConfirmTransactionStep, context: ChainContext) -> None:
    tid = context.tids[step.transaction]
    call_sap(context, step.alias, f"{step.stereotype}:{step.name}", "", lambda sap: sap.confirm_transaction(tid),
             correlation=tid)  # fmt: skip
    context.states[step.transaction] = "CONFIRMED"
