"""Activities: steps reference known aliases and functions, tRFC chains keep SAP's rules (seed 004).

A client transaction holds exactly one function call; the tRFC call and the confirm use the TID of
their own create step, on the same alias; confirm comes after the call; tRFC steps need a trfc alias
and a synchronous RFC call an rfc alias.
"""

from __future__ import annotations

import re

from idocbridge.models.activities import (
    ConfirmTransactionStep,
    CreateTransactionStep,
    RFCCallStep,
    TRFCCallStep,
)
from idocbridge.models.datatypes import Structure
from idocbridge.models.functions import FunctionInterface
from idocbridge.models.rules.context import Checker
from idocbridge.models.rules.mappings import MappingScope, check_mappings
from idocbridge.models.services import Operation

__all__ = ["check"]

_QUEUE = re.compile(r"^[A-Za-z0-9_/*-]{1,24}$")
AnyStep = CreateTransactionStep | TRFCCallStep | ConfirmTransactionStep | RFCCallStep


def check(checker: Checker) -> None:
    for service in checker.index.model.services:
        for port in service.port_types:
            for operation in port.operations:
                _check_messages(checker, operation)
                _check_activity(checker, operation)


def _check_messages(checker: Checker, operation: Operation) -> None:
    index = checker.index
    if operation.output is not None and any(isinstance(step, TRFCCallStep) for step in operation.activity):
        checker.error(
            operation,
            "output",
            f"operation '{operation.name}' delivers over tRFC and declares an output",
            "remove output: a tRFC operation answers with a DeliveryReceipt (transaction ID, TID, state)",
        )
    for field in ("input", "output"):
        name = getattr(operation, field)
        if name is not None and name not in index.structures:
            suggestion = index.suggest(name, sorted(index.structures))
            checker.error(
                operation,
                field,
                f"operation '{operation.name}' has {field} type '{name}', which is not defined",
                f"did you mean '{suggestion}'?" if suggestion else f"define a structure named '{name}'",
            )


def _check_activity(checker: Checker, operation: Operation) -> None:
    steps: dict[str, AnyStep] = {}
    for position, step in enumerate(operation.activity):
        _check_alias(checker, step)
        if isinstance(step, TRFCCallStep | ConfirmTransactionStep):
            _check_transaction_reference(checker, operation, step, position, steps)
        if isinstance(step, TRFCCallStep | RFCCallStep):
            function = _function(checker, step)
            if function is not None:
                _check_call(checker, operation, step, function)
        steps.setdefault(step.name, step)
    _check_transactions_complete(checker, operation)


def _check_alias(checker: Checker, step: AnyStep) -> None:
    model = checker.index.model
    alias = model.alias(step.alias)
    if alias is None:
        checker.unknown(
            step,
            "alias",
            "SAP alias",
            step.alias,
            [a.name for a in model.aliases],
            f"define an SAP alias named '{step.alias}'",
        )
        return
    wanted = "rfc" if isinstance(step, RFCCallStep) else "trfc"
    if alias.protocol != wanted:
        kind = "a synchronous RFC call" if wanted == "rfc" else "a tRFC step"
        checker.error(
            step,
            "alias",
            f"{step.stereotype} step '{step.name}' uses SAP alias '{alias.name}' with protocol {alias.protocol}",
            f"{kind} needs an alias with protocol: {wanted}",
        )


def _function(checker: Checker, step: TRFCCallStep | RFCCallStep) -> FunctionInterface | None:
    function = checker.index.functions.get(step.function)
    if function is None:
        checker.unknown(
            step,
            "function",
            "function",
            step.function,
            sorted(checker.index.functions),
            f"declare function '{step.function}' under functions:",
        )
    return function


def _check_transaction_reference(
    checker: Checker,
    operation: Operation,
    step: TRFCCallStep | ConfirmTransactionStep,
    position: int,
    earlier: dict[str, AnyStep],
) -> None:
    creator = earlier.get(step.transaction)
    if creator is None:
        later = any(s.name == step.transaction for s in operation.activity[position + 1 :])
        hint = (
            f"move step '{step.transaction}' before '{step.name}'"
            if later
            else "name the SAPTRFCCreateTransaction step that gets the TID"
        )
        checker.error(
            step,
            "transaction",
            f"step '{step.name}' uses transaction '{step.transaction}', "
            f"which no earlier step of operation '{operation.name}' creates",
            hint,
        )
        return
    if not isinstance(creator, CreateTransactionStep):
        checker.error(
            step,
            "transaction",
            f"step '{step.transaction}' is a {creator.stereotype} step, not a SAPTRFCCreateTransaction step",
            "refer to the step that creates the transaction",
        )
        return
    if creator.alias != step.alias:
        checker.error(
            step,
            "alias",
            f"step '{step.name}' uses alias '{step.alias}' but its transaction "
            f"'{creator.name}' was created on '{creator.alias}'",
            "a TID belongs to one SAP system: use the same alias in all steps of a transaction",
        )
    calls = [s for s in operation.activity[:position] if isinstance(s, TRFCCallStep) and s.transaction == creator.name]
    if isinstance(step, TRFCCallStep) and calls:
        checker.error(
            step,
            "transaction",
            f"transaction '{creator.name}' already holds call '{calls[0].name}'",
            "a transaction from an RFC client holds exactly one function call: create a second transaction",
        )
    if isinstance(step, ConfirmTransactionStep) and not calls:
        checker.error(
            step,
            "transaction",
            f"step '{step.name}' confirms transaction '{creator.name}' before any tRFC call in it",
            "confirm only after the SAPTRFCAdapter step that uses the transaction",
        )


def _check_transactions_complete(checker: Checker, operation: Operation) -> None:
    for create in operation.activity:
        if not isinstance(create, CreateTransactionStep):
            continue
        users = [
            s
            for s in operation.activity
            if isinstance(s, TRFCCallStep | ConfirmTransactionStep) and s.transaction == create.name
        ]
        if not any(isinstance(s, TRFCCallStep) for s in users):
            checker.error(
                create,
                "name",
                f"transaction '{create.name}' holds no tRFC call",
                "add a SAPTRFCAdapter step with transaction: " + create.name,
            )
        elif not any(isinstance(s, ConfirmTransactionStep) for s in users):
            checker.error(
                create,
                "name",
                f"transaction '{create.name}' is never confirmed",
                "add a SAPTRFCConfirmTransaction step after the call, or SAP keeps the TID forever",
            )


def _check_call(
    checker: Checker, operation: Operation, step: TRFCCallStep | RFCCallStep, function: FunctionInterface
) -> None:
    index = checker.index

    def group(name: str | None) -> Structure | None:
        return index.structures.get(name) if name else None

    imports, exports = group(function.import_), group(function.export)
    changing, tables = group(function.changing), group(function.tables)
    request = index.structures.get(operation.request_structure) if operation.request_structure else None
    response = index.structures.get(operation.output) if operation.output else None
    describe = {
        "input": f"the request of operation '{operation.name}'",
        "output": f"the response of operation '{operation.name}'",
        "import": f"the import parameters of function '{function.name}'",
        "export": f"the export parameters of function '{function.name}'",
        "changing": f"the changing parameters of function '{function.name}'",
        "tables": f"the tables of function '{function.name}'",
    }
    unresolved = frozenset(
        root
        for root, declared in (
            ("input", operation.request_structure),
            ("output", operation.output),
            ("import", function.import_),
            ("export", function.export),
            ("changing", function.changing),
            ("tables", function.tables),
        )
        if declared is not None and declared not in index.structures
    )
    if isinstance(step, TRFCCallStep):
        for name in ("export", "changing"):
            if getattr(function, name) is not None:
                checker.error(
                    step,
                    "function",
                    f"function '{function.name}' has {name} parameters, but a tRFC call has no output parameters",
                    "call it with an SAPRFCAdapter step, or use a function with only import and tables parameters",
                )
        if step.queue is not None and not _QUEUE.match(step.queue):
            checker.error(
                step,
                "queue",
                f"'{step.queue}' is not a qRFC queue name",
                "queue names have up to 24 letters, digits, _, -, / or *",
            )
        if function.name == QUEUED_IDOC_FUNCTION:
            _check_idoc_queue(checker, step)
        scope = MappingScope(
            {"input": request},
            {"import": imports, "tables": tables},
            f"operation '{operation.name}' or function '{function.name}'",
            describe,
            unresolved,
        )
        check_mappings(checker, step.inputs, scope)
        return
    inputs = MappingScope(
        {"input": request},
        {"import": imports, "tables": tables, "changing": changing},
        f"operation '{operation.name}' or function '{function.name}'",
        describe,
        unresolved,
    )
    check_mappings(checker, step.inputs, inputs)
    outputs = MappingScope(
        {"export": exports, "changing": changing, "tables": tables, "input": request},
        {"output": response},
        f"operation '{operation.name}' or function '{function.name}'",
        describe,
        unresolved,
    )
    check_mappings(checker, step.outputs, outputs)


QUEUED_IDOC_FUNCTION = "IDOC_INBOUND_IN_QUEUE"
"""SAP's qRFC entry for IDocs: it runs only in a queue, which its QNAME parameter names."""


def _check_idoc_queue(checker: Checker, step: TRFCCallStep) -> None:
    """IDOC_INBOUND_IN_QUEUE needs the step's ``queue``, and a literal QNAME must name that queue."""
    if step.queue is None:
        checker.error(
            step,
            "function",
            f"step '{step.name}' calls {QUEUED_IDOC_FUNCTION}, which runs only in a qRFC queue, but names no queue",
            "add queue: <name> to the step and map the same name to import.QNAME, or call "
            "IDOC_INBOUND_ASYNCHRONOUS for plain tRFC",
        )
        return
    for mapping in step.inputs:
        if mapping.to == "import.QNAME" and mapping.value is not None and mapping.value != step.queue:
            checker.error(
                mapping,
                "value",
                f"QNAME '{mapping.value}' is not the queue '{step.queue}' step '{step.name}' sends in",
                f"map value: {step.queue} to import.QNAME (SAP refuses a QNAME other than the call's queue)",
            )
