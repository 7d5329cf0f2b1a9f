"""XML syntax: read a file into a :class:`SourceNode` tree, and write elements back as XML.

The mapping follows :mod:`idocbridge.models.shapes`: scalars are attributes, nested elements are child
elements, a list is a wrapper element with one item element per entry (an adapter step's item element
is named after its stereotype). Parsing is hardened: UTF-8 only, no DTDs, no entities, no network.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from xml.parsers.expat import ErrorString, ExpatError

from lxml import etree

from idocbridge.models.diagnostics import Diagnostic, Location, ModelError, Severity
from idocbridge.models.element import Element
from idocbridge.models.shapes import Shape, field_by_key, fields_of, scalar_base
from idocbridge.models.source import KeyKind, Scalar, SourceNode
from idocbridge.models.xml_positions import StartTag, start_tags

__all__ = ["MODEL_NAMESPACE", "XSI_NAMESPACE", "read_xml", "write_xml"]

MODEL_NAMESPACE = "urn:idocbridge:model:1"
XSI_NAMESPACE = "http://www.w3.org/2001/XMLSchema-instance"
_XSI_ALLOWED = {"schemaLocation", "noNamespaceSchemaLocation"}
_DOCTYPE = re.compile(r"<!DOCTYPE|<!ENTITY")
_DECLARED_ENCODING = re.compile(r"""^\s*<\?xml[^>]*\bencoding\s*=\s*["']([^"']+)["']""")


def _parser() -> etree.XMLParser:
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
        collect_ids=False,
    )


def _error(location: Location, message: str, hint: str | None = None) -> ModelError:
    return ModelError([Diagnostic(Severity.ERROR, location, message, hint)])


def _decode(data: bytes, file: str) -> str:
    """The document as text; models are UTF-8 (what every other tool expects of them)."""
    start = Location(file, 1, 1)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise _error(start, "XML models must be encoded in UTF-8", "save the file as UTF-8") from None
    declared = _DECLARED_ENCODING.match(text.lstrip("\ufeff"))
    if declared and declared.group(1).lower().replace("_", "-") not in ("utf-8", "utf8", "us-ascii", "ascii"):
        raise _error(start, f"XML models must be encoded in UTF-8, not {declared.group(1)}",
                     'save the file as UTF-8 and declare encoding="UTF-8"')  # fmt: skip
    match = _DOCTYPE.search(text)
    if match is not None:
        line = text.count("\n", 0, match.start()) + 1
        column = match.start() - (text.rfind("\n", 0, match.start()) + 1) + 1
        raise _error(Location(file, line, column), "a DOCTYPE is not allowed in a model",
                     "remove the <!DOCTYPE ...> declaration: models use no DTDs or entities")  # fmt: skip
    return text


@dataclass
class _Reader:
    file: str
    tags: dict[str, StartTag]  # by lxml element path
    tree: etree._ElementTree
    problems: list[Diagnostic] = field(default_factory=list)

    def problem(self, location: Location, message: str, hint: str | None = None) -> None:
        self.problems.append(Diagnostic(Severity.ERROR, location, message, hint))

    def tag(self, element: etree._Element) -> StartTag:
        return self.tags[self.tree.getpath(element)]

    def read(
        self, element: etree._Element, cls: type[Element] | None, extra: dict[str, str] | None = None
    ) -> SourceNode:
        tag = self.tag(element)
        name = etree.QName(element).localname
        children: dict[str, SourceNode] = {}
        key_locations: dict[str, Location] = {}
        key_kinds: dict[str, KeyKind] = {}

        def put(key: str, node: SourceNode, where: Location, kind: KeyKind) -> None:
            children[key] = node
            key_locations[key] = where
            key_kinds[key] = kind

        for key, value in (extra or {}).items():
            put(key, SourceNode(value, tag.location, "xml"), tag.location, "element")
        for raw_name, raw_value in element.attrib.items():
            qname = etree.QName(raw_name)
            where = tag.names.get(_attribute_text(element, raw_name), tag.location)
            if qname.namespace == XSI_NAMESPACE and qname.localname in _XSI_ALLOWED:
                continue
            if qname.namespace is not None:
                self.problem(where, f"unknown attribute '{qname.localname}' from namespace {qname.namespace}",
                             "remove it: model elements take only the attributes of the model")  # fmt: skip
                continue
            key = qname.localname
            shape = field_by_key(cls, key) if cls is not None else None
            raw = tag.values.get(key)
            if shape is not None and shape.shape is Shape.TEXT_LIST:
                items = [SourceNode(word, where, "xml") for word in raw_value.split()]
                put(key, SourceNode(items, where, "xml"), where, "attribute")
                continue
            if shape is not None and shape.shape is not Shape.SCALAR:
                self.problem(where, f"'{key}' is written as an attribute", f"write it as a child element <{key}>")
                continue
            if key in children:
                self.problem(where, f"attribute '{key}' repeats what the element name <{name}> says",
                             f"remove the '{key}' attribute")  # fmt: skip
                continue
            node = SourceNode(self._scalar(cls, key, raw_value), where, "xml", raw=raw)
            put(key, node, where, "attribute")
        self._no_text(element, tag.location)
        for child in element:
            entry = self._child(child, cls, children)
            if entry is not None:
                put(entry[0], entry[1], entry[1].location, "element")
        return SourceNode(children, tag.location, "xml", key_locations, key_kinds)

    def _no_text(self, element: etree._Element, location: Location) -> None:
        """Text between elements carries nothing in a model; say so without repeating it."""
        name = etree.QName(element).localname
        texts = [element.text or ""] + [child.tail or "" for child in element]
        if any(text.strip() for text in texts):
            self.problem(location, f"<{name}> holds text, which models do not use",
                         'write values as attributes, e.g. <alias name="X" host="sap.example.com"/>')  # fmt: skip

    def _in_namespace(self, element: etree._Element) -> bool:
        qname = etree.QName(element)
        if qname.namespace != MODEL_NAMESPACE:
            self.problem(self.tag(element).location, f"element <{qname.localname}> is not in the model namespace",
                         f'model elements belong to xmlns="{MODEL_NAMESPACE}"')  # fmt: skip
            return False
        return True

    def _child(
        self, child: etree._Element, cls: type[Element] | None, children: dict[str, SourceNode]
    ) -> tuple[str, SourceNode] | None:
        """Read a child element; return its key and node, or None after reporting a problem."""
        if not self._in_namespace(child):
            return None
        name = etree.QName(child).localname
        location = self.tag(child).location
        shape = field_by_key(cls, name) if cls is not None else None
        if name in children:
            self.problem(location, f"<{name}> is given twice", f"merge the two <{name}> elements into one")
            return None
        if shape is None:
            return name, self.read(child, None)
        if shape.shape in (Shape.SCALAR, Shape.TEXT_LIST):
            self.problem(location, f"'{name}' is written as an element", f'write it as an attribute: {name}="..."')
            return None
        if shape.shape is Shape.ELEMENT:
            return name, self.read(child, shape.classes[0])
        if child.attrib:
            self.problem(location, f"<{name}> takes no attributes", f"<{name}> only holds its entries")
        self._no_text(child, location)
        tags = shape.item_tags()
        items = []
        for item in child:
            if not self._in_namespace(item):
                continue
            item_name = etree.QName(item).localname
            item_cls = tags.get(item_name)
            if item_cls is None and shape.discriminator is None:
                expected = " or ".join(f"<{tag}>" for tag in tags)
                self.problem(self.tag(item).location, f"unexpected element <{item_name}> in <{name}>",
                             f"<{name}> holds {expected} elements")  # fmt: skip
                continue
            extra = {shape.discriminator: item_name} if shape.discriminator else None
            items.append(self.read(item, item_cls, extra))
        return name, SourceNode(items, location, "xml")

    @staticmethod
    def _scalar(owner: type[Element] | None, name: str, raw: str) -> Scalar:
        shape = field_by_key(owner, name) if owner is not None else None
        if shape is None or shape.shape is not Shape.SCALAR:
            return raw
        base = scalar_base(shape)
        if base is bool:
            return {"true": True, "1": True, "false": False, "0": False}.get(raw.strip(), raw)
        if base is int and re.fullmatch(r"\s*-?[0-9]{1,18}\s*", raw):
            return int(raw)
        return raw


def _attribute_text(element: etree._Element, raw_name: str) -> str:
    qname = etree.QName(raw_name)
    if qname.namespace is None:
        return qname.localname
    prefix = next((p for p, uri in element.nsmap.items() if uri == qname.namespace and p), None)
    return f"{prefix}:{qname.localname}" if prefix else qname.localname


def read_xml(data: bytes, file: str, root: type[Element]) -> SourceNode:
    """Parse an XML model or settings file whose root element is ``root.xml_tag``.

    DTDs and entities are refused before parsing; the parser itself resolves nothing and reads no
    network.
    """
    text = _decode(data, file)
    try:
        tree = etree.fromstring(data, _parser()).getroottree()
    except etree.XMLSyntaxError as exc:
        line, column = exc.position if exc.position else (1, 1)
        message = str(exc.msg).split(", line ")[0]
        raise _error(Location(file, line or 1, (column or 0) + 1), f"invalid XML: {message}",
                     "check that every tag is closed and every attribute value quoted") from None  # fmt: skip
    element = tree.getroot()
    elements = [e for e in element.iter() if isinstance(e.tag, str)]
    try:
        tags = start_tags(data, text, file)
    except ExpatError as exc:
        raise _strict_error(exc, text, file) from None
    if len(tags) != len(elements):  # pragma: no cover - both parsers accepted the document
        raise _error(Location(file, 1, 1), "invalid XML: the start tags cannot be told apart",
                     "check that every tag is closed and every attribute value quoted")  # fmt: skip
    reader = _Reader(file, {tree.getpath(e): tag for e, tag in zip(elements, tags, strict=True)}, tree)
    qname = etree.QName(element)
    if qname.localname != root.xml_tag or qname.namespace != MODEL_NAMESPACE:
        found = f"<{qname.localname}>" + (
            f" in namespace {qname.namespace}" if qname.namespace else " without namespace"
        )
        raise _error(reader.tag(element).location,
                     f"the root element is {found}, not <{root.xml_tag}> in namespace {MODEL_NAMESPACE}",
                     f'start the file with <{root.xml_tag} xmlns="{MODEL_NAMESPACE}">')  # fmt: skip
    node = reader.read(element, root)
    if reader.problems:
        raise ModelError(reader.problems)
    return node


def _strict_error(exc: ExpatError, text: str, file: str) -> ModelError:
    """expat (which finds the positions) refuses what lxml took: mostly a name of XML 1.0 5th edition."""
    where = Location(file, exc.lineno, exc.offset + 1)
    lines = text.splitlines()
    line = lines[exc.lineno - 1] if 0 < exc.lineno <= len(lines) else ""
    character = line[exc.offset : exc.offset + 1]
    if character and not character.isascii():
        return _error(
            where,
            f"invalid XML: {ErrorString(exc.code)} (the character U+{ord(character):04X})",
            "rename or remove this name: names in a model are ASCII letters, digits, '_', '-' and '.'",
        )
    return _error(where, f"invalid XML: {ErrorString(exc.code)}",
                  "check that every tag is closed and every attribute value quoted")  # fmt: skip


def write_xml(element: Element) -> str:
    """Write an element (a whole model or settings) as pretty-printed XML."""
    root = _build(element.dump(), type(element), element.xml_tag, None)
    body = etree.tostring(root, pretty_print=True, xml_declaration=True, encoding="UTF-8")
    return body.decode("utf-8")


def _build(
    data: dict[str, object], cls: type[Element], tag: str, parent: etree._Element | None, skip: str | None = None
) -> etree._Element:
    qtag = f"{{{MODEL_NAMESPACE}}}{tag}"
    node = etree.Element(qtag, nsmap={None: MODEL_NAMESPACE}) if parent is None else etree.SubElement(parent, qtag)
    for shape in fields_of(cls):
        if shape.key not in data or shape.key == skip:
            continue
        value = data[shape.key]
        if shape.shape is Shape.SCALAR:
            if value is not None:
                node.set(shape.key, _text(value))
        elif shape.shape is Shape.TEXT_LIST:
            assert isinstance(value, list)
            node.set(shape.key, " ".join(str(item) for item in value))
        elif shape.shape is Shape.ELEMENT:
            if value is None:  # an optional element set to None: as if absent
                continue
            assert isinstance(value, dict)
            _build(value, shape.classes[0], shape.key, node)
        else:
            assert isinstance(value, list)
            wrapper = etree.SubElement(node, f"{{{MODEL_NAMESPACE}}}{shape.key}")
            tags = {cls_: tag_ for tag_, cls_ in shape.item_tags().items()}
            for item in value:
                assert isinstance(item, dict)
                if shape.discriminator is not None:
                    item_tag = str(item[shape.discriminator])
                    item_cls = shape.item_tags()[item_tag]
                else:
                    item_cls = shape.classes[0]
                    item_tag = tags[item_cls]
                _build(item, item_cls, item_tag, wrapper, skip=shape.discriminator)
    return node


def _text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
