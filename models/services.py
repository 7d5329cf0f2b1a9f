"""SOAP services, their port types and operations."""

from __future__ import annotations

import re
from typing import ClassVar, Literal

from pydantic import Field, field_validator

from idocbridge.models.activities import Step
from idocbridge.models.element import Element
from idocbridge.models.fields import Identifier, invalid

__all__ = ["DeliveryPolicy", "Operation", "PortType", "SoapService"]

DeliveryPolicy = Literal["guaranteed", "synchronous", "direct"]


class Operation(Element):
    """A SOAP operation: typed request and response, and the activity that implements it."""

    label: ClassVar[str] = "operation"
    xml_tag: ClassVar[str] = "operation"

    name: Identifier
    input: str | None = None
    """Structure of the request message."""
    output: str | None = None
    """Structure of the response message (tRFC operations answer with a delivery receipt)."""
    delivery: DeliveryPolicy = "guaranteed"
    """For tRFC chains: guaranteed (reply once accepted; the outbox finishes), synchronous (reply
    after the confirm; a fault on failure) or direct (no outbox: the chain runs inside the request)."""
    description: str | None = None
    activity: list[Step] = Field(default_factory=list)


class PortType(Element):
    """A WSDL port type: a named group of operations."""

    label: ClassVar[str] = "port type"
    xml_tag: ClassVar[str] = "portType"

    name: Identifier
    description: str | None = None
    operations: list[Operation] = Field(default_factory=list)


class SoapService(Element):
    """A SOAP service served at ``path``."""

    label: ClassVar[str] = "SOAP service"
    xml_tag: ClassVar[str] = "service"

    name: Identifier
    path: str | None = None
    """URL path the service is served at; default /<name>."""
    namespace: str | None = None
    """Target namespace of the WSDL; default urn:<model name>:<service name>."""
    description: str | None = None
    port_types: list[PortType] = Field(default_factory=list)

    @field_validator("path")
    @classmethod
    def _path(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"(/[A-Za-z0-9._~-]+)+", value):
            raise invalid(
                f"'{value}' is not a valid service path",
                "write an absolute URL path of letters, digits, '.', '_', '~' and '-', e.g. /saptRFCClientService",
            )
        return value

    @property
    def url_path(self) -> str:
        return self.path or f"/{self.name}"
