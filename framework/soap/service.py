"""What generated service modules build on: message classes, the operation decorator, ServiceBase.

A generated ``service.py`` declares one :class:`Message` subclass per structure and a
``<Name>ServiceBase`` whose methods run the model's activities. ``hooks.py`` next to it (created once,
never overwritten) subclasses that base: override an operation to check or enrich a request, or
:meth:`ServiceBase.adjust_parameters` to change the parameters the model's mappings produced.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol, TypeVar

from pydantic import BaseModel, ConfigDict

__all__ = ["ActivityRunner", "Empty", "Message", "OperationInfo", "ServiceBase", "operation"]

F = TypeVar("F", bound=Callable[..., Any])


class Message(BaseModel):
    """A request, response or structure of a SOAP message."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True, validate_by_alias=True, validate_by_name=True)


class Empty(Message):
    """The message of an operation without input or output."""


@dataclass(frozen=True)
class OperationInfo:
    name: str
    request: type[Message]
    response: type[Message]
    method: str


def operation(name: str, *, request: type[Message], response: type[Message]) -> Callable[[F], F]:
    """Mark a method of a ServiceBase as the implementation of SOAP operation ``name``."""

    def mark(method: F) -> F:
        method.__soap_operation__ = OperationInfo(name, request, response, method.__name__)  # type: ignore[attr-defined]
        return method

    return mark


class ActivityRunner(Protocol):
    """Runs an operation's activity (the chain engine implements this)."""

    def run(self, operation: str, request: dict[str, Any], service: ServiceBase) -> dict[str, Any]: ...


class ServiceBase:
    """The base of generated services: runs activities through the chain engine."""

    service_name: ClassVar[str] = ""

    def __init__(self, runner: ActivityRunner) -> None:
        self._runner = runner

    @classmethod
    def operations(cls) -> dict[str, OperationInfo]:
        """The SOAP operations this class implements, by name (overrides in subclasses included)."""
        found: dict[str, OperationInfo] = {}
        for klass in reversed(cls.__mro__):
            for attribute in vars(klass).values():
                info = getattr(attribute, "__soap_operation__", None)
                if isinstance(info, OperationInfo):
                    found[info.name] = info
        return found

    def run_activity(self, operation: str, request: Message) -> dict[str, Any]:
        """Run the model's activity of ``operation`` for ``request``; return the response as a dict."""
        return self._runner.run(operation, request.model_dump(by_alias=True), self)

    def adjust_parameters(self, operation: str, step: str, parameters: dict[str, Any]) -> dict[str, Any]:
        """The mapping hook: change the function parameters of ``step`` before it runs. Default: none."""
        return parameters
