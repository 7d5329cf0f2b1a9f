"""SOAP services, their port types and operations."""

from __future__ import annotations

import re
from typing import ClassVar, Literal

from pydantic import Field, field_validator

from idocbridge.models.activities import Step
from idocbridge.models.builtins import IDOC_RECORDS
from idocbridge.models.element import Element
from idocbridge.models.fields import Identifier, invalid

__all__ = ["DeliveryPolicy", "IDocFormat", "IDocInput", "Operation", "PortType", "SoapService"]

DeliveryPolicy = Literal["guaranteed", "synchronous", "direct"]


IDocFormat = Literal["xml", "flat"]

_KEY_PATH = re.compile(r"[A-Za-z0-9_/]{1,30}-[A-Za-z0-9_/]{1,30}")
"""A business key's name: SEGMENT-FIELD (see :mod:`idocbridge.idoc.keys`)."""


class IDocInput(Element):
    """The request of an operation that takes one IDoc document instead of a structure."""

    label: ClassVar[str] = "IDoc input"
    xml_tag: ClassVar[str] = "idoc"

    format: IDocFormat
    """xml: an IDoc-XML document inside the request element; flat: a flat IDoc file as text."""
    type: str | None = None
    """The basic type or extension accepted (one of the model's idocTypes); none: any IDoc type. With
    format xml, the WSDL then carries the type's own schema."""


class Operation(Element):
    """A SOAP operation: typed request and response, and the activity that implements it."""

    label: ClassVar[str] = "operation"
    xml_tag: ClassVar[str] = "operation"

    name: Identifier
    input: str | None = None
    """Structure of the request message."""
    idoc: IDocInput | None = None
    """Instead of ``input``: the request is one IDoc (IDoc-XML or flat); the activity sees it as the
    built-in structure IDocRecords (controlRecord, dataRecords)."""
    output: str | None = None
    """Structure of the response message (tRFC operations answer with a delivery receipt)."""
    delivery: DeliveryPolicy = "guaranteed"
    """For tRFC chains: guaranteed (reply once accepted; the outbox finishes), synchronous (reply
    after the confirm; a fault on failure) or direct (no outbox: the chain runs inside the request)."""
    description: str | None = None
    business_keys: str | None = None
    """IDoc fields whose values identify a request to people, recorded with it and searchable: comma-separated
    SEGMENT-FIELD names, e.g. ``E1EDK01-BELNR, E1EDKA1-PARTN`` (the first segment of that type). The message
    type, partners and the sender's DOCNUM are recorded for every IDoc without naming them."""
    activity: list[Step] = Field(default_factory=list)

    @field_validator("business_keys")
    @classmethod
    def _business_keys(cls, value: str | None) -> str | None:
        for item in (value or "").split(","):
            if item.strip() and not _KEY_PATH.fullmatch(item.strip()):
                raise invalid(f"business key {item.strip()!r} is no SEGMENT-FIELD name",
                              "name an IDoc segment type and one of its fields joined by '-', e.g. E1EDK01-BELNR; "
                              "separate several with commas")  # fmt: skip
        return value

    @property
    def request_structure(self) -> str | None:
        """The structure the activity sees as ``input``: ``input``, or IDocRecords for an IDoc input."""
        return IDOC_RECORDS if self.idoc is not None else self.input


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
