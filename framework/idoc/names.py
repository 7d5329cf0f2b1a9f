"""SAP names in IDoc-XML: a namespaced name ``/NS/NAME`` is written ``_-NS_-NAME`` (``/`` becomes ``_-``)."""

from __future__ import annotations

__all__ = ["sap_name", "xml_name"]


def xml_name(name: str) -> str:
    """The XML element name of a segment type or field name: ``/ABC/Z1SEG`` -> ``_-ABC_-Z1SEG``."""
    return name.replace("/", "_-")


def sap_name(element_name: str) -> str:
    """The SAP name of an IDoc-XML element name: ``_-ABC_-Z1SEG`` -> ``/ABC/Z1SEG``."""
    return element_name.replace("_-", "/")
