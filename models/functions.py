"""Function interfaces: the parameters of an SAP function module, grouped as SAP passes them."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from idocbridge.models.element import Element

__all__ = ["PARAMETER_GROUPS", "FunctionInterface"]

PARAMETER_GROUPS = ("import_", "export", "changing", "tables")
"""Python names of the four groups; ``import_`` is written ``import`` in files."""


class FunctionInterface(Element):
    """An RFC-enabled function module. Each group names a structure: <<SAPParameters>> for import,
    export and changing, <<SAPTables>> for tables."""

    label: ClassVar[str] = "function"
    xml_tag: ClassVar[str] = "function"

    name: str
    """The function module's name, e.g. IDOC_INBOUND_ASYNCHRONOUS or /NS/MY_FUNCTION."""
    import_: str | None = Field(default=None, alias="import")
    """<<SAPParameters>> structure of the importing parameters."""
    export: str | None = None
    """<<SAPParameters>> structure of the exporting parameters."""
    changing: str | None = None
    """<<SAPParameters>> structure of the changing parameters."""
    tables: str | None = None
    """<<SAPTables>> structure of the table parameters."""
    description: str | None = None
