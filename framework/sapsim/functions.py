"""Function modules of the simulated system, and how to add your own.

A function module is a Python callable registered under an SAP name::

    from idocbridge.sapsim.functions import AbapError, CallContext, Parameter, function_module

    @function_module("Z_GET_ORDER_STATUS", parameters=[Parameter("I", "ORDER", "CHAR(10)"),
                                                       Parameter("E", "STATUS", "CHAR(2)")])
    def get_order_status(context: CallContext, params: dict[str, object]) -> dict[str, object]:
        if not params.get("ORDER"):
            raise AbapError("ORDER_NOT_FOUND", "no order given")
        return {"STATUS": "OK"}

Put such modules in a Python module and name it under ``functionModules`` in the simulator's
configuration; the simulator imports it at start. A module runs inside the simulator's database
transaction: under tRFC, what it writes commits together with the TID, or not at all.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from idocbridge.idoc.registry import IDocTypeRegistry
    from idocbridge.sapsim.config import SimulatorConfig
    from idocbridge.sapsim.faults import FaultPlan
    from idocbridge.sapsim.store import SimulatorStore

__all__ = ["AbapError", "CallContext", "FunctionModule", "Parameter", "function_module", "registry"]

ParameterClass = Literal["I", "E", "C", "T"]


class AbapError(Exception):
    """Raised by a function module: an ABAP exception (``RAISE key``) the caller sees by key."""

    def __init__(self, key: str, message: str | None = None) -> None:
        super().__init__(message or key)
        self.key = key
        self.message = message or key


@dataclass(frozen=True)
class Parameter:
    """One parameter: class (I import, E export, C changing, T tables), name, type, optionality."""

    param_class: ParameterClass
    name: str
    type: str
    optional: bool = False
    text: str = ""

    def interface_row(self, position: int, exid: str, length: int, decimals: int, tabname: str) -> dict[str, Any]:
        """This parameter as a row of RFC_GET_FUNCTION_INTERFACE's PARAMS (RFC_FUNINT), in the given layout."""
        return {
            "PARAMCLASS": self.param_class,
            "PARAMETER": self.name,
            "TABNAME": tabname,
            "FIELDNAME": "",
            "EXID": exid,
            "POSITION": position,
            "OFFSET": 0,
            "INTLENGTH": length,
            "DECIMALS": decimals,
            "DEFAULT": "",
            "PARAMTEXT": self.text[:79],
            "OPTIONAL": "X" if self.optional else "",
        }


@dataclass
class CallContext:
    """What a function module may use: the system, who called, the TID, the queue and the state store."""

    config: SimulatorConfig
    store: SimulatorStore
    idoc_types: IDocTypeRegistry
    faults: FaultPlan
    client: str
    user: str
    language: str
    tid: str | None = None
    queue: str | None = None
    """The qRFC queue the call came in (None for a synchronous call or plain tRFC)."""
    now: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))


Handler = Callable[[CallContext, dict[str, Any]], dict[str, Any]]


@dataclass(frozen=True)
class FunctionModule:
    name: str
    handler: Handler
    parameters: tuple[Parameter, ...] = ()
    text: str = ""


registry: dict[str, FunctionModule] = {}
"""Every function module the simulator knows, by name."""


def function_module(
    name: str, *, parameters: list[Parameter] | None = None, text: str = ""
) -> Callable[[Handler], Handler]:
    """Register the decorated callable as function module ``name`` (a later registration replaces it)."""

    def register(handler: Handler) -> Handler:
        registry[name] = FunctionModule(name, handler, tuple(parameters or ()), text or (handler.__doc__ or "").strip())
        return handler

    return register
