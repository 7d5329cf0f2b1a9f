"""The chain engine: runs an operation's activity, step by step, with the adapter of each stereotype."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from idocbridge.adapters import confirm, create_transaction, rfc_call, trfc_call
from idocbridge.adapters.context import ChainContext, ParameterHook, RetryPolicy
from idocbridge.connectors.pool_set import PoolSet
from idocbridge.models.activities import ConfirmTransactionStep, CreateTransactionStep, RFCCallStep, TRFCCallStep
from idocbridge.models.index import ModelIndex
from idocbridge.models.model import Model
from idocbridge.models.services import Operation
from idocbridge.tlog.context import RequestContext, current_transaction
from idocbridge.tlog.writer import TransactionLog

__all__ = ["ChainRunner"]

_ADAPTERS: dict[type, Callable[[Any, ChainContext], None]] = {
    CreateTransactionStep: create_transaction.run,
    TRFCCallStep: trfc_call.run,
    ConfirmTransactionStep: confirm.run,
    RFCCallStep: rfc_call.run,
}


class ChainRunner:
    """Runs activities of one service of ``model`` through ``pools``, logging into ``tlog``."""

    def __init__(self, model: Model, service: str, pools: PoolSet, tlog: TransactionLog | None,
                 retry: RetryPolicy | None = None) -> None:  # fmt: skip
        self.index = ModelIndex(model)
        self.pools = pools
        self.tlog = tlog
        self.retry = retry or RetryPolicy()
        entry = next(s for s in model.services if s.name == service)
        self._operations: dict[str, Operation] = {op.name: op for port in entry.port_types for op in port.operations}

    def run(self, operation: str, request: dict[str, Any], service: ParameterHook) -> dict[str, Any]:
        """Run the activity of ``operation``; return the response (the delivery receipt for tRFC chains)."""
        definition = self._operations[operation]
        transaction = current_transaction.get() or RequestContext("-", 0, None, operation)
        context = ChainContext(definition, request, self.index, self.pools, self.tlog, service, transaction, self.retry)
        for step in definition.activity:
            _ADAPTERS[type(step)](step, context)
        if definition.output is None and context.tids:
            creator = next(step for step in definition.activity if isinstance(step, CreateTransactionStep))
            return {"transactionId": transaction.transaction_id, "tid": context.tids[creator.name],
                    "state": context.states.get(creator.name, "TID_ASSIGNED")}  # fmt: skip
        return context.output
