"""The chain engine: runs an operation's activity, step by step, with the adapter of each stereotype."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from idocbridge.adapters import confirm, create_transaction, rfc_call, trfc_call
from idocbridge.adapters.context import ChainContext, ParameterHook, RetryPolicy
from idocbridge.adapters.parameters import function_parameters
from idocbridge.connectors.pool_set import PoolSet
from idocbridge.errors import IdocbridgeError
from idocbridge.idoc.keys import idoc_keys, parse_key_paths
from idocbridge.idoc.metadata import IDocType
from idocbridge.models.activities import (
    ConfirmTransactionStep,
    CreateTransactionStep,
    RFCCallStep,
    TRFCCallStep,
    single_trfc_transaction,
)
from idocbridge.models.index import ModelIndex
from idocbridge.models.model import Model
from idocbridge.models.services import Operation
from idocbridge.tlog.context import RequestContext, current_transaction
from idocbridge.tlog.writer import TransactionLog
from idocbridge.transactions.outbox import Outbox, PendingDelivery, accept_batch, pending_deliveries
from idocbridge.transactions.receipts import delivery_receipt
from idocbridge.transactions.states import OutboxState
from idocbridge.transactions.tables import NewEntry

__all__ = ["ChainRunner", "DirectDeliveryError"]


class DirectDeliveryError(IdocbridgeError):
    """A request asks for what a ``delivery: direct`` operation cannot give (idempotency by MessageId)."""


_ADAPTERS: dict[type, Callable[[Any, ChainContext], None]] = {
    CreateTransactionStep: create_transaction.run,
    TRFCCallStep: trfc_call.run,
    ConfirmTransactionStep: confirm.run,
    RFCCallStep: rfc_call.run,
}


def trfc_chain(operation: Operation) -> tuple[CreateTransactionStep, TRFCCallStep, ConfirmTransactionStep] | None:
    """The steps of an activity that is exactly one tRFC transaction (create, call, confirm), else None:
    the one shape the outbox delivers (the model's delivery rule checks the same)."""
    return single_trfc_transaction(operation.activity)


class ChainRunner:
    """Runs activities of one service of ``model`` through ``pools``, logging into ``tlog``.

    With an ``outbox``, an activity that is one tRFC transaction goes through it: the request is
    committed before anything goes to SAP, and the outbox delivers it exactly once (see
    :mod:`idocbridge.transactions`). Other activities run step by step within the request.
    """

    def __init__(self, model: Model, service: str, pools: PoolSet, tlog: TransactionLog | None,
                 retry: RetryPolicy | None = None, outbox: Outbox | None = None,
                 idoc_metadata: AliasMetadataLookup | None = None) -> None:  # fmt: skip
        self.index = ModelIndex(model)
        self.idoc_metadata = idoc_metadata
        """IDoc metadata by basic type, extension and alias: for the business keys the model names."""
        self.pools = pools
        self.tlog = tlog
        self.retry = retry or RetryPolicy()
        self.outbox = outbox
        entry = next(s for s in model.services if s.name == service)
        self._operations: dict[str, Operation] = {op.name: op for port in entry.port_types for op in port.operations}
        self._key_paths = {name: parse_key_paths(op.business_keys) for name, op in self._operations.items()}

    def run(self, operation: str, request: dict[str, Any], service: ParameterHook) -> dict[str, Any]:
        """Run the activity of ``operation``; return the response (the delivery receipt for tRFC chains)."""
        definition = self._operations[operation]
        transaction = current_transaction.get() or RequestContext("-", 0, None, operation)
        context = ChainContext(definition, request, self.index, self.pools, self.tlog, service, transaction, self.retry)
        chain = trfc_chain(definition)
        if self.outbox is not None and chain is not None and definition.delivery != "direct":
            return self._through_outbox(context, chain[1])
        if transaction.message_id is not None:
            raise DirectDeliveryError(
                f"operation {operation} is not delivered through the outbox (delivery: direct), so it cannot "
                "honour a MessageId: send the request without it, or ask for delivery: guaranteed"
            )
        for step in definition.activity:
            _ADAPTERS[type(step)](step, context)
        if definition.output is None and context.units:
            creator = next(step for step in definition.activity if isinstance(step, CreateTransactionStep))
            unit = context.units[creator.name]
            state = "CONFIRMED" if unit.confirmed else "EXECUTED" if unit.executed else "TID_ASSIGNED"
            return delivery_receipt(transaction.transaction_id, unit.tid or "", state)
        return context.output

    def _through_outbox(self, context: ChainContext, call: TRFCCallStep) -> dict[str, Any]:
        """Commit the call to the outbox and answer its receipt as committed.

        The code serving the request (see :data:`pending_deliveries`) then awaits the entry, off this
        thread, and answers its final receipt, or a fault for FAILED and CANCELLED. For a request of many
        IDocs (see :data:`accept_batch`) the call is only collected: the request commits them together.
        """
        assert self.outbox is not None
        function = self.index.functions[call.function]
        parameters = function_parameters(context, call.name, function, call.inputs)
        request = context.transaction
        keys = self._keys(context.operation.name, call, parameters)
        entry = NewEntry(service=request.service or "", operation=context.operation.name, alias=call.alias,
                         function=call.function, queue=call.queue, parameters=parameters,
                         message_id=request.message_id, transaction_id=request.transaction_id,
                         keys=keys)  # fmt: skip
        synchronous = context.operation.delivery == "synchronous"
        batch = accept_batch.get()
        if batch is not None:  # one IDoc of many: the request commits them all at once
            batch.add(entry, self.outbox.wait_seconds(synchronous))
            return delivery_receipt(request.transaction_id, None, OutboxState.ACCEPTED)
        accepted = self.outbox.accept(entry).entry
        awaiting = pending_deliveries.get()
        if awaiting is not None:
            awaiting.append(PendingDelivery(accepted, self.outbox.wait_seconds(synchronous)))
        return Outbox.receipt(accepted)

    def _keys(self, operation: str, call: TRFCCallStep, parameters: dict[str, Any]) -> tuple[tuple[str, str], ...]:
        """The business keys of a call: the IDocs' control keys, and the fields the operation names."""
        metadata = self.idoc_metadata
        paths = self._key_paths[operation]
        lookup = None if metadata is None or not paths else partial(_for_alias, metadata, call.alias)
        return idoc_keys(call.function, parameters, paths, lookup)


AliasMetadataLookup = Callable[[str, str | None, str | None], IDocType]
"""IDoc metadata by basic type, extension and the alias to read it from when the model does not have it."""


def _for_alias(metadata: AliasMetadataLookup, alias: str, basic: str, extension: str | None) -> IDocType:
    return metadata(basic, extension, alias)
