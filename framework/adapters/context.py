"""What the steps of one activity run share: the request, the TIDs created so far, the response."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from idocbridge.connectors.pool_set import PoolSet
from idocbridge.models.index import ModelIndex
from idocbridge.models.services import Operation
from idocbridge.tlog.context import RequestContext
from idocbridge.tlog.writer import TransactionLog

__all__ = ["ChainContext", "ParameterHook", "RetryPolicy"]


class ParameterHook(Protocol):
    def adjust_parameters(self, operation: str, step: str, parameters: dict[str, Any]) -> dict[str, Any]: ...


@dataclass(frozen=True)
class RetryPolicy:
    """How often a step retries a retryable failure within the request, and how long it waits."""

    attempts: int = 3
    delays: tuple[float, ...] = (0.2, 0.5, 1.0)

    def delay(self, attempt: int) -> float:
        return self.delays[min(attempt, len(self.delays) - 1)]


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
    tids: dict[str, str] = field(default_factory=dict)
    output: dict[str, Any] = field(default_factory=dict)
    states: dict[str, str] = field(default_factory=dict)
