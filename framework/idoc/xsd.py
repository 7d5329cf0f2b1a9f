"""The XML Schema (XSD) of the IDoc-XML of one IDoc type, like SAP's WE60 "XML schema" of a basic type.

IDoc-XML has no namespace. The root element is named after the basic type (or the extension of an
extended type) and holds one or more ``<IDOC BEGIN="1">``; each starts with the control record
``<EDI_DC40 SEGMENT="1">`` (its fields as child elements) followed by the segments, named by segment
type, each with ``SEGMENT="1"``, its fields as child elements in field order (every one optional: empty
fields are left out) and then its child segments. A group's repetitions are repetitions of its head
segment, so the head's element carries the group's occurrences.

Type names: a segment's complexType is ``<root>.<segment type>``, the IDOC element's type
``<root>.IDOC``, the control record's ``<root>.EDI_DC40`` and the field types ``string.<length>``.
SAP names never contain a dot, so these cannot clash with a segment type, and the types of several
IDoc types can share one document (:func:`idoc_types_schema`: a segment type such as E1EDK01 may differ
between IDoc types). Namespaced names (``/ABC/Z1SEG``)
are written with :func:`idocbridge.idoc.names.xml_name` (``_-ABC_-Z1SEG``).

A WSDL cannot carry a schema without a target namespace that every client binds, so services declare the
same types in a namespace of their own (:func:`idoc_types_schema`): the root becomes a named complexType
(``TXTRAW01``), the schema's ``elementFormDefault="unqualified"`` keeps every element of the IDoc without a
namespace on the wire, exactly as SAP defines IDoc-XML, and the service's request element (in that
namespace) holds the root as a local element.

``maxOccurs`` above :data:`MAX_OCCURS` (5,000) is written ``unbounded``: the JDK's XML processors refuse
larger numbers under their default secure processing (its ``maxOccurLimit``), and SAP's LOOPMAX is often
99999 or 9999999999. The service checks the real limits against the metadata when it reads an IDoc.
"""

from __future__ import annotations

import re

from lxml import etree

from idocbridge.idoc.metadata import GroupDefinition, IDocType, Node, SegmentDefinition
from idocbridge.idoc.names import xml_name
from idocbridge.idoc.records import CONTROL_RECORD

__all__ = ["MAX_OCCURS", "REQUIRED_CONTROL_FIELDS", "idoc_types_schema", "idoc_xsd"]

_XSD_NS = "http://www.w3.org/2001/XMLSchema"

REQUIRED_CONTROL_FIELDS = frozenset(
    {"TABNAM", "DIRECT", "IDOCTYP", "MESTYP", "SNDPOR", "SNDPRT", "SNDPRN", "RCVPOR", "RCVPRT", "RCVPRN"}
)
"""Control record fields the schema requires (as SAP's schema does); CIMTYP too for an extended type."""

MAX_OCCURS = 5000
"""The highest maxOccurs written as a number; a higher LOOPMAX is ``unbounded``.

The JDK's schema loader refuses maxOccurs above 5,000 under its default secure processing, and libxml2
any above 2**31 - 1 (SAP's 9999999999 means no limit)."""

_XML_NAME = re.compile(r"[^\W\d][\w.-]*")


def _element_name(name: str) -> str:
    """``xml_name(name)``, checked: ValueError for a name that is no XML name even so (empty, 1ABC, A B)."""
    escaped = xml_name(name)
    if not _XML_NAME.fullmatch(escaped):
        raise ValueError(f"{name!r} cannot be written as an XML element name")
    return escaped


def _xs(tag: str) -> str:
    return f"{{{_XSD_NS}}}{tag}"


def _occurs(element: etree._Element, low: int, high: int) -> None:
    """Set minOccurs/maxOccurs where they differ from the default 1; beyond MAX_OCCURS is ``unbounded``."""
    if low != 1:
        element.set("minOccurs", str(low))
    if high != 1:
        element.set("maxOccurs", str(high) if high <= MAX_OCCURS else "unbounded")


class _Builder:
    """Writes the declarations of one IDoc type into ``schema``: with ``prefix`` "" the WE60 form (no target
    namespace, the root a global element), else named types only, referred to as ``<prefix>:<name>``."""

    def __init__(self, idoc_type: IDocType, schema: etree._Element, prefix: str = "") -> None:
        self.idoc_type = idoc_type
        self.root = _element_name(idoc_type.extension or idoc_type.name)
        self.schema = schema
        self.xs = schema.prefix or "xsd"
        self.ref = f"{prefix}:" if prefix else ""
        self.lengths: set[int] = set()

    def string_type(self, length: int) -> str:
        self.lengths.add(length)
        return f"{self.ref}string.{length}"

    def build(self) -> None:
        if self.ref:
            sequence = etree.SubElement(self.complex_type(self.root), _xs("sequence"))
        else:
            annotation = etree.SubElement(self.schema, _xs("annotation"))
            documentation = etree.SubElement(annotation, _xs("documentation"))
            documentation.text = self.description()
            root = etree.SubElement(self.schema, _xs("element"), name=self.root)
            sequence = etree.SubElement(etree.SubElement(root, _xs("complexType")), _xs("sequence"))
        idoc = etree.SubElement(sequence, _xs("element"), name="IDOC", type=f"{self.ref}{self.root}.IDOC")
        idoc.set("maxOccurs", "unbounded")

        idoc_type = self.complex_type(f"{self.root}.IDOC")
        sequence = etree.SubElement(idoc_type, _xs("sequence"))
        etree.SubElement(sequence, _xs("element"), name="EDI_DC40", type=f"{self.ref}{self.root}.EDI_DC40")
        self.nodes(sequence, self.idoc_type.segments)
        self.fixed_attribute(idoc_type, "BEGIN")

        self.control_record()
        for segment in self.idoc_type.iter_segments():
            self.segment(segment)
        for length in sorted(self.lengths):
            simple = etree.SubElement(self.schema, _xs("simpleType"), name=f"string.{length}")
            restriction = etree.SubElement(simple, _xs("restriction"), base=f"{self.xs}:string")
            etree.SubElement(restriction, _xs("maxLength"), value=str(length))

    def description(self) -> str:
        kind = f"basic type {self.idoc_type.name}"
        if self.idoc_type.extension is not None:
            kind += f" with extension {self.idoc_type.extension}"
        if self.idoc_type.release is not None:
            kind += f" (release {self.idoc_type.release})"
        return f"IDoc-XML of {kind}: root element {self.root}, one or more IDOC, no target namespace."

    def complex_type(self, name: str) -> etree._Element:
        return etree.SubElement(self.schema, _xs("complexType"), name=name)

    def fixed_attribute(self, complex_type: etree._Element, name: str) -> None:
        etree.SubElement(complex_type, _xs("attribute"), name=name, type=f"{self.xs}:string", use="required",
                         fixed="1")  # fmt: skip

    def control_record(self) -> None:
        control = self.complex_type(f"{self.root}.EDI_DC40")
        sequence = etree.SubElement(control, _xs("sequence"))
        fixed = {"TABNAM": "EDI_DC40", "IDOCTYP": self.idoc_type.name}
        if self.idoc_type.extension is not None:
            fixed["CIMTYP"] = self.idoc_type.extension
        for record_field in CONTROL_RECORD.fields:
            name = record_field.name
            element = etree.SubElement(sequence, _xs("element"), name=name)
            if name != "DIRECT":
                element.set("type", self.string_type(record_field.length))
            if name not in REQUIRED_CONTROL_FIELDS and name not in fixed:
                element.set("minOccurs", "0")
            if name in fixed:
                element.set("fixed", fixed[name])
            if name == "DIRECT":
                simple = etree.SubElement(element, _xs("simpleType"))
                restriction = etree.SubElement(simple, _xs("restriction"), base=f"{self.xs}:string")
                for value in ("1", "2"):  # 1 outbound, 2 inbound
                    etree.SubElement(restriction, _xs("enumeration"), value=value)
        self.fixed_attribute(control, "SEGMENT")

    def nodes(self, sequence: etree._Element, nodes: tuple[Node, ...]) -> None:
        for node in nodes:
            if isinstance(node, GroupDefinition):
                self.element(sequence, node.head, node.mandatory, node.min_occurs, node.max_occurs)
            else:
                self.element(sequence, node, node.mandatory, node.min_occurs, node.max_occurs)

    def element(
        self, sequence: etree._Element, segment: SegmentDefinition, mandatory: bool, low: int, high: int
    ) -> None:
        """A segment's element: absent unless mandatory; when present, ``low`` to ``high`` times."""
        name = _element_name(segment.segment_type)
        if not mandatory and low > 1:
            # Exactly "absent, or low..high times": an optional sequence around the element.
            sequence = etree.SubElement(sequence, _xs("sequence"), minOccurs="0")
        element = etree.SubElement(sequence, _xs("element"), name=name, type=f"{self.ref}{self.root}.{name}")
        _occurs(element, low if mandatory or low > 1 else 0, high)

    def segment(self, segment: SegmentDefinition) -> None:
        complex_type = self.complex_type(f"{self.root}.{_element_name(segment.segment_type)}")
        sequence = etree.SubElement(complex_type, _xs("sequence"))
        for field in segment.fields:
            etree.SubElement(
                sequence,
                _xs("element"),
                name=_element_name(field.name),
                type=self.string_type(field.length),
                minOccurs="0",
            )
        self.nodes(sequence, segment.children)
        self.fixed_attribute(complex_type, "SEGMENT")


def idoc_xsd(idoc_type: IDocType) -> str:
    """The XML Schema of the IDoc-XML of ``idoc_type`` as text (UTF-8 XML declaration, 2-space indentation).

    The text is deterministic: type definitions follow document order (IDOC, EDI_DC40, the segments
    depth first), the field types come last by length. Encode it as UTF-8 before parsing it with lxml
    (``etree.XMLSchema(etree.fromstring(text.encode()))``). Raises ValueError for a segment type or
    field name that cannot be an XML name.
    """
    schema = etree.Element(_xs("schema"), nsmap={"xsd": _XSD_NS})
    _Builder(idoc_type, schema).build()
    text: bytes = etree.tostring(schema, pretty_print=True, xml_declaration=True, encoding="UTF-8")
    return text.decode("utf-8")


def idoc_types_schema(idoc_types: list[IDocType], namespace: str, prefix: str = "idoc") -> etree._Element:
    """An ``xs:schema`` element with target namespace ``namespace`` and unqualified local elements declaring
    the IDoc-XML of ``idoc_types`` as named types: ``<root>`` (one or more IDOC), ``<root>.IDOC``,
    ``<root>.EDI_DC40``, ``<root>.<segment>``, and the ``string.<length>`` types they share once.

    Add the elements that use them (a request element holding ``<xs:element name="TXTRAW01"
    type="idoc:TXTRAW01"/>``) before serialising; in document order, deterministic."""
    schema = etree.Element(_xs("schema"), nsmap={"xs": _XSD_NS, prefix: namespace})
    schema.set("targetNamespace", namespace)
    schema.set("elementFormDefault", "unqualified")
    staging = etree.Element(_xs("schema"), nsmap={"xs": _XSD_NS, prefix: namespace})
    declared: set[tuple[str, str | None]] = set()
    for idoc_type in idoc_types:
        _Builder(idoc_type, staging, prefix).build()
        for child in list(staging):
            key = (str(child.tag), child.get("name"))
            if key not in declared:
                declared.add(key)
                schema.append(child)
            else:
                staging.remove(child)
    return schema
