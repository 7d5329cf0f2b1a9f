"""XML to Python and back, following a service contract (the XSD already checked the shape)."""

from __future__ import annotations

from typing import Any

from lxml import etree

from idocbridge.soap.contract import ServiceContract, StructureContract
from idocbridge.soap.types import from_xml_text, to_xml_text

__all__ = ["from_xml", "to_xml"]


def from_xml(element: etree._Element, structure: StructureContract, contract: ServiceContract) -> dict[str, Any]:
    """The values of ``element`` (of the structure's type) as a dict of field names."""
    namespace = contract.namespace
    values: dict[str, Any] = {}
    for field in structure.fields:
        children = element.findall(f"{{{namespace}}}{field.name}")
        if field.structure is not None:
            inner = contract.structure(field.structure)
            items = [from_xml(child, inner, contract) for child in children]
        else:
            assert field.scalar is not None
            items = [from_xml_text(child.text or "", field.scalar) for child in children]
        if field.array:
            values[field.name] = items
        elif items:
            values[field.name] = items[0]
    return values


def to_xml(
    tag: str, values: dict[str, Any], structure: StructureContract | None, contract: ServiceContract
) -> etree._Element:
    """An element ``tag`` holding ``values`` in the structure's field order (None values are left out)."""
    namespace = contract.namespace
    element = etree.Element(f"{{{namespace}}}{tag}", nsmap={"tns": namespace})
    _fill(element, values, structure, contract)
    return element


def _fill(element: etree._Element, values: dict[str, Any], structure: StructureContract | None,
          contract: ServiceContract) -> None:  # fmt: skip
    if structure is None:
        return
    for field in structure.fields:
        value = values.get(field.name)
        if value is None:
            continue
        for item in value if field.array else [value]:
            child = etree.SubElement(element, f"{{{contract.namespace}}}{field.name}")
            if field.structure is not None:
                _fill(child, item, contract.structure(field.structure), contract)
            else:
                child.text = to_xml_text(item)
