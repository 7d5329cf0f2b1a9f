"""<<SAPTRFCConfirmTransaction>>: let SAP forget the TID once its unit's call has run."""

from __future__ import annotations

from idocbridge.adapters.context import ChainContext
from idocbridge.adapters.sap_call import call_sap
from idocbridge.models.activities import ConfirmTransactionStep

__all__ = ["run"]


def run(step: ConfirmTransactionStep, context: ChainContext) -> None:
    unit = context.units[step.transaction]
    call = context.unit_calls.get(step.transaction)
    call_sap(context, step.alias, f"{step.stereotype}:{step.name}", "", lambda sap: unit.confirm(sap, call),
             correlation=unit.tid)  # fmt: skip
