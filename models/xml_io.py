"""XML syntax: read a file into a :class:`SourceNode` tree, and write elements back as XML.

The mapping follows :mod:`idocbridge.models.shapes`: scalars are attributes, nested elements are child
elements, a list is a wrapper element with one item element per entry (an adapter step's item element
is named after its stereotype). Parsing is hardened: no DTDs, no entities, no network access.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from lxml import etree

from idocbridge.models.diagnostics import Diagnostic, Location, ModelError, Severity
from idocbridge.models.element import Element
from idocbridge.models.shapes import Shape, field_by_key, fields_of, scalar_base
from idocbridge.models.source import KeyKind, Scalar, SourceNode

__all__ = ["MODEL_NAMESPACE", "XSI_NAMESPACE", "read_xml", "write_xml"]

MODEL_NAMESPACE = "urn:idocbridge:model:1"
XSI_NAMESPACE = "http://www.w3.org/2001/XMLSchema-instance"
_XSI_ALLOWED = {"schemaLocation", "noNamespaceSchemaLocation"}


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


@dataclass
class _Locator:
    """Finds the column of each start tag and attribute; lxml reports only lines."""

    text: str
    line_starts: list[int] = field(default_factory=list)
    cursor: int = 0

    def __post_init__(self) -> None:
        self.line_starts = [0] + [m.end() for m in re.finditer(r"\n", self.text)]

    def _position(self, offset: int, file: str) -> Location:
        line = max(i for i, start in enumerate(self.line_starts) if start <= offset)
        return Location(file, line + 1, offset - self.line_starts[line] + 1)

    def element(self, element: etree._Element, file: str) -> tuple[Location, int]:
        line = (element.sourceline or 1) - 1
        start = max(self.cursor, self.line_starts[min(line, len(self.line_starts) - 1)])
        qname = element.prefix + ":" if element.prefix else ""
        qname += etree.QName(element).localname
        match = re.compile(r"<" + re.escape(qname) + r"(?=[\s/>])").search(self.text, start)
        if match is None:
            return Location(file, line + 1, 1), start
        self.cursor = match.end()
        return self._position(match.start(), file), match.start()

    def attribute(self, tag_offset: int, name: str, file: str) -> Location:
        match = re.compile(r"\s(" + re.escape(name) + r")\s*=").search(self.text, tag_offset)
        if match is None:
            return self._position(tag_offset, file)
        return self._position(match.start(1), file)


@dataclass
class _Reader:
    file: str
    locator: _Locator
    problems: list[Diagnostic] = field(default_factory=list)

    def problem(self, location: Location, message: str, hint: str | None = None) -> None:
        self.problems.append(Diagnostic(Severity.ERROR, location, message, hint))

    def read(
        self, element: etree._Element, cls: type[Element] | None, extra: dict[str, str] | None = None
    ) -> SourceNode:
        location, offset = self.locator.element(element, self.file)
        children: dict[str, SourceNode] = {}
        key_locations: dict[str, Location] = {}
        key_kinds: dict[str, KeyKind] = {}

        def put(key: str, node: SourceNode, where: Location, kind: KeyKind) -> None:
            children[key] = node
            key_locations[key] = where
            key_kinds[key] = kind

        for key, value in (extra or {}).items():
            put(key, SourceNode(value, location, "xml"), location, "element")
        for raw_name, raw_value in element.attrib.items():
            qname = etree.QName(raw_name)
            where = self.locator.attribute(offset, _attribute_text(element, raw_name), self.file)
            if qname.namespace == XSI_NAMESPACE and qname.localname in _XSI_ALLOWED:
                continue
            if qname.namespace is not None:
                self.problem(where, f"unknown attribute '{qname.localname}' from namespace {qname.namespace}")
                continue
            name = qname.localname
            if name in children:
                self.problem(
                    where,
                    f"attribute '{name}' repeats what the element name <{etree.QName(element).localname}> says",
                    f"remove the '{name}' attribute",
                )
                continue
            scalar = self._scalar(cls, name, raw_value)
            put(name, SourceNode(scalar, where, "xml", text_offset=len(name) + 2), where, "attribute")
        text = (element.text or "").strip()
        if text:
            self.problem(
                location,
                f"unexpected text '{text[:30]}' in <{etree.QName(element).localname}>",
                'values are written as attributes, e.g. <alias name="X" host="sap.example.com"/>',
            )
        for child in element:
            entry = self._child(child, cls, children)
            if entry is not None:
                put(entry[0], entry[1], entry[1].location, "element")
            tail = (child.tail or "").strip()
            if tail:
                self.problem(location, f"unexpected text '{tail[:30]}' in <{etree.QName(element).localname}>")
        return SourceNode(children, location, "xml", key_locations, key_kinds)

    def _child(
        self, child: etree._Element, cls: type[Element] | None, children: dict[str, SourceNode]
    ) -> tuple[str, SourceNode] | None:
        """Read a child element; return its key and node, or None after reporting a problem."""
        qname = etree.QName(child)
        if qname.namespace != MODEL_NAMESPACE:
            location, _ = self.locator.element(child, self.file)
            self.problem(
                location,
                f"element <{qname.localname}> is not in the model namespace",
                f'model elements belong to xmlns="{MODEL_NAMESPACE}"',
            )
            return None
        name = qname.localname
        shape = field_by_key(cls, name) if cls is not None else None
        if name in children:
            location, _ = self.locator.element(child, self.file)
            self.problem(location, f"<{name}> is given twice", f"merge the two <{name}> elements into one")
            return None
        if shape is None:
            return name, self.read(child, None)
        if shape.shape is Shape.SCALAR:
            location, _ = self.locator.element(child, self.file)
            self.problem(location, f"'{name}' is written as an element", f'write it as an attribute: {name}="..."')
            return None
        if shape.shape is Shape.ELEMENT:
            return name, self.read(child, shape.classes[0])
        location, _ = self.locator.element(child, self.file)
        tags = shape.item_tags()
        items = []
        for item in child:
            item_name = etree.QName(item).localname
            item_cls = tags.get(item_name)
            if item_cls is None and shape.discriminator is None:
                where, _ = self.locator.element(item, self.file)
                expected = " or ".join(f"<{tag}>" for tag in tags)
                self.problem(
                    where,
                    f"unexpected element <{item_name}> in <{name}>",
                    f"<{name}> holds {expected} elements",
                )
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
        if base is int:
            try:
                return int(raw.strip())
            except ValueError:
                return raw
        return raw


def _attribute_text(element: etree._Element, raw_name: str) -> str:
    qname = etree.QName(raw_name)
    if qname.namespace is None:
        return qname.localname
    prefix = next((p for p, uri in element.nsmap.items() if uri == qname.namespace and p), None)
    return f"{prefix}:{qname.localname}" if prefix else qname.localname


_DOCTYPE = re.compile(rb"<!DOCTYPE|<!ENTITY")


def _refuse_doctype(data: bytes, file: str) -> None:
    match = _DOCTYPE.search(data)
    if match is None:
        return
    line = data.count(b"\n", 0, match.start()) + 1
    column = match.start() - (data.rfind(b"\n", 0, match.start()) + 1) + 1
    raise ModelError(
        [
            Diagnostic(
                Severity.ERROR,
                Location(file, line, column),
                "a DOCTYPE is not allowed in a model",
                "remove the <!DOCTYPE ...> declaration: models use no DTDs or entities",
            )
        ]
    )


def read_xml(data: bytes, file: str, root: type[Element]) -> SourceNode:
    """Parse an XML model or settings file whose root element is ``root.xml_tag``.

    DTDs and entities are refused before parsing; the parser itself resolves nothing and reads no
    network.
    """
    _refuse_doctype(data, file)
    try:
        tree = etree.fromstring(data, _parser()).getroottree()
    except etree.XMLSyntaxError as exc:
        line, column = exc.position if exc.position else (1, 1)
        message = str(exc.msg).split(", line ")[0]
        raise ModelError(
            [
                Diagnostic(
                    Severity.ERROR,
                    Location(file, line or 1, (column or 0) + 1),
                    f"invalid XML: {message}",
                    "check that every tag is closed and quoted",
                )
            ]
        ) from None
    element = tree.getroot()
    reader = _Reader(file, _Locator(data.decode("utf-8", errors="replace")))
    qname = etree.QName(element)
    if qname.localname != root.xml_tag or qname.namespace != MODEL_NAMESPACE:
        location, _ = reader.locator.element(element, file)
        found = f"<{qname.localname}>" + (
            f" in namespace {qname.namespace}" if qname.namespace else " without namespace"
        )
        raise ModelError(
            [
                Diagnostic(
                    Severity.ERROR,
                    location,
                    f"the root element is {found}, not <{root.xml_tag}> in namespace {MODEL_NAMESPACE}",
                    f'start the file with <{root.xml_tag} xmlns="{MODEL_NAMESPACE}">',
                )
            ]
        )
    node = reader.read(element, root)
    if reader.problems:
        raise ModelError(reader.problems)
    return node


def write_xml(element: Element) -> str:
    """Write an element (a whole model or settings) as pretty-printed XML."""
    root = _build(element.dump(), type(element), element.xml_tag, None)
    body = etree.tostring(root, pretty_print=True, xml_declaration=True, encoding="UTF-8")
    return body.decode("utf-8")


def _build(
    data: dict[str, object],
    cls: type[Element],
    tag: str,
    parent: etree._Element | None,
    skip: str | None = None,
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
        elif shape.shape is Shape.ELEMENT:
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
