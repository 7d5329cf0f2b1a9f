"""Activities: the adapter chain an operation runs, and the mappings that feed its steps.

A tRFC chain is SAPTRFCCreateTransaction -> SAPTRFCAdapter -> SAPTRFCConfirmTransaction; a synchronous
call is one SAPRFCAdapter. Mapping paths start at a root: ``input`` (the operation's request),
``import``/``tables``/``changing`` (function parameters), ``export`` and ``output`` (the response).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, ClassVar, Literal

from pydantic import Field, model_validator

from idocbridge.models.element import Element
from idocbridge.models.fields import Identifier, invalid

__all__ = [
    "STEP_STEREOTYPES",
    "ConfirmTransactionStep",
    "CreateTransactionStep",
    "Mapping",
    "RFCCallStep",
    "Step",
    "TRFCCallStep",
    "single_trfc_transaction",
]


class Mapping(Element):
    """Sets the target path from a source path, or to a literal value."""

    label: ClassVar[str] = "mapping"
    xml_tag: ClassVar[str] = "map"

    to: str
    """Target path, e.g. tables.IDOC_CONTROL_REC_40[0].MESTYP or output.echoText."""
    from_: str | None = Field(default=None, alias="from")
    """Source path, e.g. input.controlRecord or export.ECHOTEXT."""
    value: str | None = None
    """A literal value instead of a source path."""

    @model_validator(mode="after")
    def _one_source(self) -> Mapping:
        if (self.from_ is None) == (self.value is None):
            raise invalid(
                f"mapping to '{self.to}' needs exactly one of 'from' and 'value'",
                "write from: <source path> to copy a value, or value: <text> to set a constant",
            )
        return self


class _Step(Element):
    label: ClassVar[str] = "step"

    name: Identifier
    """Unique within the activity; other steps refer to it."""
    alias: str
    """The SAP alias the step talks to."""


class CreateTransactionStep(_Step):
    """<<SAPTRFCCreateTransaction>>: get a TID from SAP (the correlation ID of the chain)."""

    label: ClassVar[str] = "SAPTRFCCreateTransaction step"
    stereotype: Literal["SAPTRFCCreateTransaction"]


class TRFCCallStep(_Step):
    """<<SAPTRFCAdapter>>: call a function in the transaction; inputs only, no outputs."""

    label: ClassVar[str] = "SAPTRFCAdapter step"
    stereotype: Literal["SAPTRFCAdapter"]
    function: str
    transaction: str
    """Name of the SAPTRFCCreateTransaction step whose TID this call uses."""
    queue: str | None = None
    """qRFC queue name: calls in one queue execute in order."""
    inputs: list[Mapping] = Field(default_factory=list)


class ConfirmTransactionStep(_Step):
    """<<SAPTRFCConfirmTransaction>>: confirm the TID after the tRFC call succeeded."""

    label: ClassVar[str] = "SAPTRFCConfirmTransaction step"
    stereotype: Literal["SAPTRFCConfirmTransaction"]
    transaction: str
    """Name of the SAPTRFCCreateTransaction step whose TID is confirmed."""


class RFCCallStep(_Step):
    """<<SAPRFCAdapter>>: a synchronous RFC call with inputs and outputs."""

    label: ClassVar[str] = "SAPRFCAdapter step"
    stereotype: Literal["SAPRFCAdapter"]
    function: str
    inputs: list[Mapping] = Field(default_factory=list)
    outputs: list[Mapping] = Field(default_factory=list)


Step = Annotated[
    CreateTransactionStep | TRFCCallStep | ConfirmTransactionStep | RFCCallStep,
    Field(discriminator="stereotype"),
]

STEP_STEREOTYPES: dict[str, type[_Step]] = {
    "SAPTRFCCreateTransaction": CreateTransactionStep,
    "SAPTRFCAdapter": TRFCCallStep,
    "SAPTRFCConfirmTransaction": ConfirmTransactionStep,
    "SAPRFCAdapter": RFCCallStep,
}


def single_trfc_transaction(
    steps: Sequence[Step],
) -> tuple[CreateTransactionStep, TRFCCallStep, ConfirmTransactionStep] | None:
    """The steps of an activity that is exactly one tRFC transaction (create, call, confirm), else None.

    Only such an activity can go through the outbox: one outbox entry holds one TID and one call.
    """
    if len(steps) != 3:
        return None
    create, call, confirm = steps
    if (
        isinstance(create, CreateTransactionStep)
        and isinstance(call, TRFCCallStep)
        and isinstance(confirm, ConfirmTransactionStep)
    ):
        return create, call, confirm
    return None
