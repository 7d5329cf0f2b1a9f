"""The root of a model file."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from idocbridge.models.alias import SAPAlias
from idocbridge.models.composite import Composite
from idocbridge.models.datatypes import Structure, TableType
from idocbridge.models.element import Element
from idocbridge.models.fields import Identifier
from idocbridge.models.functions import FunctionInterface
from idocbridge.models.idoc_types import IDocTypeSource
from idocbridge.models.services import SoapService

__all__ = ["Model"]


class Model(Element):
    """A model: header, composite settings, SAP aliases, types, functions and SOAP services."""

    label: ClassVar[str] = "model"
    xml_tag: ClassVar[str] = "model"

    name: Identifier
    """Name of the model and its composite (the deployment unit)."""
    version: str = "1.0"
    description: str | None = None
    composite: Composite = Field(default_factory=Composite)
    aliases: list[SAPAlias] = Field(default_factory=list)
    structures: list[Structure] = Field(default_factory=list)
    table_types: list[TableType] = Field(default_factory=list)
    functions: list[FunctionInterface] = Field(default_factory=list)
    idoc_types: list[IDocTypeSource] = Field(default_factory=list)
    """IDoc types whose metadata the services use (IDoc inputs, their schemas and validation)."""
    services: list[SoapService] = Field(default_factory=list)

    def alias(self, name: str) -> SAPAlias | None:
        return next((alias for alias in self.aliases if alias.name == name), None)
