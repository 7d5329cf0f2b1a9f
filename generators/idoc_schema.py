"""The schema of a service's IDoc-XML requests: their request elements and the IDoc types, in the service's
IDoc namespace (:attr:`ServiceContract.idoc_namespace`), with unqualified local elements.

An operation that takes IDoc-XML of one type declares its request element holding the IDoc's root as a local
element of the named type (``<xs:element name="TXTRAW01" type="idoc:TXTRAW01"/>``): clients build the IDoc
from the WSDL like any other structure, and it travels without a namespace, as SAP defines IDoc-XML. One that
takes any IDoc type holds ``xs:any`` of no namespace: the client passes the IDoc-XML document as an element.
"""

from __future__ import annotations

from lxml import etree

from idocbridge.idoc.metadata import IDocType
from idocbridge.idoc.names import xml_name
from idocbridge.idoc.xsd import idoc_types_schema
from idocbridge.soap.contract import OperationContract, ServiceContract
from idocbridge.soap.idoc_request import MAX_IDOCS_PER_REQUEST

__all__ = ["IDOC_PREFIX", "idoc_request_schema"]

IDOC_PREFIX = "idoc"
_XS = "{http://www.w3.org/2001/XMLSchema}"


def idoc_request_schema(contract: ServiceContract, idoc_types: dict[str, IDocType]) -> str | None:
    """The ``xs:schema`` (text, no XML declaration) of ``contract``'s IDoc-XML requests; None if it has none."""
    if not contract.takes_idoc_xml:
        return None
    schema = idoc_types_schema([idoc_types[name] for name in contract.idoc_types], contract.idoc_namespace,
                               IDOC_PREFIX)  # fmt: skip
    requests = [op for op in contract.operations if op.idoc_format == "xml"]
    for position, operation in enumerate(requests):
        schema.insert(position, _request_element(operation))
    etree.indent(schema, space="  ")
    return etree.tostring(schema, encoding="unicode")


def _request_element(operation: OperationContract) -> etree._Element:
    element = etree.Element(f"{_XS}element", name=operation.name)
    annotation = etree.SubElement(element, f"{_XS}annotation")
    etree.SubElement(annotation, f"{_XS}documentation").text = _documentation(operation)
    sequence = etree.SubElement(etree.SubElement(element, f"{_XS}complexType"), f"{_XS}sequence")
    if operation.idoc_type:
        root = xml_name(operation.idoc_type)
        etree.SubElement(sequence, f"{_XS}element", name=root, type=f"{IDOC_PREFIX}:{root}")
    else:
        etree.SubElement(sequence, f"{_XS}any", namespace="##local", processContents="skip")
    return element


def _documentation(operation: OperationContract) -> str:
    kind = f"of type {operation.idoc_type}" if operation.idoc_type else "of any IDoc type"
    if operation.honours_message_id:
        count = (f"holding one IDOC or up to {MAX_IDOCS_PER_REQUEST} (accepted all or none, each answered in the "
                 "receipt's idocs).")  # fmt: skip
    else:
        count = "holding one IDOC."
    return f"One IDoc-XML document (no namespace) {kind}, {count}"
