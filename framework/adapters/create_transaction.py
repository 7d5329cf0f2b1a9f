"""<<SAPTRFCCreateTransaction>>: start a tRFC unit and get its TID; the TID is the chain's correlation ID."""

from __future__ import annotations

from idocbridge.adapters.context import ChainContext
from idocbridge.adapters.sap_call import call_sap
from idocbridge.connectors.unit import TrfcUnit
from idocbridge.models.activities import CreateTransactionStep

__all__ = ["run"]


def run(step: CreateTransactionStep, context: ChainContext) -> None:
    unit = context.units[step.name] = TrfcUnit()
    call_sap(context, step.alias, f"{step.stereotype}:{step.name}", "", unit.assign_tid)
