"""What the steps of one activity run share: the request, the TIDs created so far, the response."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from idocbridge.connectors.pool_set import PoolSet
from idocbridge.connectors.unit import TrfcUnit, UnitCall
from idocbridge.models.index import ModelIndex
from idocbridge.models.services import Operation
from idocbridge.tlog.context import RequestContext
from idocbridge.tlog.sap_calls import RetryPolicy
from idocbridge.tlog.writer import TransactionLog

__all__ = ["ChainContext", "ParameterHook", "RetryPolicy"]


class ParameterHook(Protocol):
    def adjust_parameters(self, operation: str, step: str, parameters: dict[str, Any]) -> dict[str, Any]: ...


@dataclass
class ChainContext:
    operation: Operation
    request: dict[str, Any]
    index: ModelIndex
    pools: PoolSet
    tlog: TransactionLog | None
    hook: ParameterHook
    transaction: RequestContext
    retry: RetryPolicy
    units: dict[str, TrfcUnit] = field(default_factory=dict)
    """The tRFC unit of each create-transaction step, by step name."""
    unit_calls: dict[str, UnitCall] = field(default_factory=dict)
    """The call submitted in each unit, by create-transaction step name."""
    output: dict[str, Any] = field(default_factory=dict)
