"""Schemas for editors: a JSON Schema (YAML syntax) and an XSD (XML syntax), both from the metamodel."""

from __future__ import annotations

import json
from typing import Any

from lxml import etree

from idocbridge.models.element import Element
from idocbridge.models.shapes import FieldShape, Shape, fields_of, scalar_base
from idocbridge.models.xml_io import MODEL_NAMESPACE

__all__ = ["json_schema", "xml_schema"]

XS = "http://www.w3.org/2001/XMLSchema"
_SCHEMA_BASE = "urn:idocbridge:schema:1"


def json_schema(root: type[Element]) -> str:
    """The JSON Schema (draft 2020-12) of files whose root is ``root``, as stable, indented JSON."""
    schema: dict[str, Any] = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"{_SCHEMA_BASE}:{root.xml_tag}",
    }
    schema |= root.model_json_schema(by_alias=True, mode="validation")
    return json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def _xs(tag: str) -> str:
    return f"{{{XS}}}{tag}"


class _XsdBuilder:
    def __init__(self) -> None:
        self.schema = etree.Element(
            _xs("schema"),
            nsmap={"xs": XS, "m": MODEL_NAMESPACE},
            targetNamespace=MODEL_NAMESPACE,
            elementFormDefault="qualified",
            attributeFormDefault="unqualified",
        )
        self.types: dict[str, etree._Element] = {}
        self.skip: dict[type[Element], str] = {}  # union members: their discriminator is the element name

    def complex_type(self, cls: type[Element]) -> str:
        name = cls.__name__
        if name in self.types:
            return f"m:{name}"
        node = etree.Element(_xs("complexType"), name=name)
        self.types[name] = node
        _document(node, cls.__doc__)
        children = [shape for shape in fields_of(cls) if shape.shape in (Shape.ELEMENT, Shape.LIST)]
        if children:
            group = etree.SubElement(node, _xs("all"))
            for shape in children:
                self._child(group, shape)
        for shape in fields_of(cls):
            if shape.shape is Shape.TEXT_LIST:
                attribute = etree.SubElement(node, _xs("attribute"), name=shape.key)
                _document(attribute, shape.info.description)
                etree.SubElement(etree.SubElement(attribute, _xs("simpleType")), _xs("list"), itemType="xs:string")
            elif shape.shape is Shape.SCALAR and self.skip.get(cls) != shape.key:
                self._attribute(node, shape)
        return f"m:{name}"

    def _child(self, group: etree._Element, shape: FieldShape) -> None:
        element = etree.SubElement(group, _xs("element"), name=shape.key, minOccurs="1" if shape.required else "0")
        _document(element, shape.info.description)
        if shape.shape is Shape.ELEMENT:
            element.set("type", self.complex_type(shape.classes[0]))
            return
        inner = etree.SubElement(
            etree.SubElement(element, _xs("complexType")), _xs("choice"), minOccurs="0", maxOccurs="unbounded"
        )
        for tag, cls in shape.item_tags().items():
            if shape.discriminator is not None:
                self.skip[cls] = shape.discriminator
            etree.SubElement(inner, _xs("element"), name=tag, type=self.complex_type(cls))

    def _attribute(self, node: etree._Element, shape: FieldShape) -> None:
        attribute = etree.SubElement(node, _xs("attribute"), name=shape.key)
        if shape.required:
            attribute.set("use", "required")
        _document(attribute, shape.info.description)
        base = scalar_base(shape)
        if isinstance(base, tuple):
            restriction = etree.SubElement(
                etree.SubElement(attribute, _xs("simpleType")), _xs("restriction"), base="xs:string"
            )
            for value in base:
                etree.SubElement(restriction, _xs("enumeration"), value=value)
        elif base is int:
            bounds = _bounds(shape)
            if bounds:
                restriction = etree.SubElement(
                    etree.SubElement(attribute, _xs("simpleType")), _xs("restriction"), base="xs:int"
                )
                for facet, bound in bounds:
                    etree.SubElement(restriction, _xs(facet), value=str(bound))
            else:
                attribute.set("type", "xs:int")
        else:
            attribute.set("type", "xs:boolean" if base is bool else "xs:string")

    def finish(self, root: type[Element]) -> str:
        etree.SubElement(self.schema, _xs("element"), name=root.xml_tag, type=self.complex_type(root))
        for name in sorted(self.types):
            self.schema.append(self.types[name])
        return etree.tostring(self.schema, pretty_print=True, xml_declaration=True, encoding="UTF-8").decode()


def _bounds(shape: FieldShape) -> list[tuple[str, int]]:
    bounds = []
    for meta in shape.info.metadata:
        if getattr(meta, "ge", None) is not None:
            bounds.append(("minInclusive", meta.ge))
        if getattr(meta, "le", None) is not None:
            bounds.append(("maxInclusive", meta.le))
    return bounds


def _document(node: etree._Element, text: str | None) -> None:
    if text:
        annotation = etree.SubElement(node, _xs("annotation"))
        etree.SubElement(annotation, _xs("documentation")).text = " ".join(text.split())


def xml_schema(root: type[Element]) -> str:
    """The XSD of XML files whose root element is ``root.xml_tag``."""
    return _XsdBuilder().finish(root)
