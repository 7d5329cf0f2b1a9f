"""Delivery policies: an operation under ``guaranteed`` or ``synchronous`` is one the outbox can deliver.

The outbox delivers an activity that is exactly one tRFC transaction (create, call, confirm): one
entry holds one TID and one call. Any other activity holding tRFC steps would run step by step inside
the request, without the outbox's guarantees, so asking for them is an error rather than a silent
downgrade. An activity without tRFC steps (synchronous RFC calls) is not about tRFC delivery, and
the policy does not concern it.
"""

from __future__ import annotations

from idocbridge.models.activities import (
    ConfirmTransactionStep,
    CreateTransactionStep,
    RFCCallStep,
    TRFCCallStep,
    single_trfc_transaction,
)
from idocbridge.models.rules.context import Checker
from idocbridge.models.services import Operation

__all__ = ["check"]


def check(checker: Checker) -> None:
    for service in checker.index.model.services:
        for port in service.port_types:
            for operation in port.operations:
                _check_operation(checker, operation)


def _check_operation(checker: Checker, operation: Operation) -> None:
    if operation.delivery == "direct" or not _holds_trfc(operation):
        return
    if single_trfc_transaction(operation.activity) is not None or not _transactions_well_formed(operation):
        return  # the activity rules report a transaction that is incomplete or out of order
    policy = f"delivery: {operation.delivery}"
    if "delivery" not in operation.model_fields_set:
        policy += " (the default)"
    shape, fix = _shape(operation)
    checker.error(
        operation,
        "delivery",
        f"operation '{operation.name}' asks for {policy}, but the outbox delivers only an activity that is "
        f"one tRFC transaction (create, call, confirm), and this one {shape}",
        f"{fix}, or write delivery: direct to run the activity step by step inside the request, without the outbox",
    )


def _holds_trfc(operation: Operation) -> bool:
    return any(
        isinstance(step, CreateTransactionStep | TRFCCallStep | ConfirmTransactionStep) for step in operation.activity
    )


def _transactions_well_formed(operation: Operation) -> bool:
    """Every transaction is created, then called exactly once, then confirmed (the activity rules' terms)."""
    created: dict[str, int] = {}
    for position, step in enumerate(operation.activity):
        if isinstance(step, CreateTransactionStep):
            created.setdefault(step.name, position)
        elif isinstance(step, TRFCCallStep | ConfirmTransactionStep) and step.transaction not in created:
            return False
    for name in created:
        calls = _positions(operation, TRFCCallStep, name)
        confirms = _positions(operation, ConfirmTransactionStep, name)
        if len(calls) != 1 or not confirms or min(confirms) < calls[0]:
            return False
    return True


def _positions(operation: Operation, kind: type[TRFCCallStep | ConfirmTransactionStep], transaction: str) -> list[int]:
    return [
        position
        for position, step in enumerate(operation.activity)
        if isinstance(step, kind) and step.transaction == transaction
    ]


def _shape(operation: Operation) -> tuple[str, str]:
    """What the activity holds beyond one transaction, in words, and how to make it one."""
    creates = [step.name for step in operation.activity if isinstance(step, CreateTransactionStep)]
    calls = [step for step in operation.activity if isinstance(step, RFCCallStep)]
    if len(creates) > 1:
        listed = ", ".join(f"'{name}'" for name in creates)
        return (
            f"holds {len(creates)} transactions ({listed})",
            "give each tRFC transaction an operation of its own (each is then its own outbox entry)",
        )
    if calls:
        return (
            f"also calls function '{calls[0].function}' over synchronous RFC (step '{calls[0].name}')",
            f"move step '{calls[0].name}' to an operation of its own",
        )
    confirms = [step.name for step in operation.activity if isinstance(step, ConfirmTransactionStep)]
    listed = ", ".join(f"'{name}'" for name in confirms)
    return (
        f"confirms transaction '{creates[0]}' {len(confirms)} times ({listed})",
        f"keep one SAPTRFCConfirmTransaction step for transaction '{creates[0]}'",
    )
