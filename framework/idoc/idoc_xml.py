"""IDoc-XML, read and written one IDoc at a time.

The shape (SAP-FACTS §4)::

    <ORDERS05>                      the basic type, or the extension
      <IDOC BEGIN="1">              one per IDoc
        <EDI_DC40 SEGMENT="1">      the control record's fields
          <TABNAM>EDI_DC40</TABNAM> ...
        </EDI_DC40>
        <E1EDK01 SEGMENT="1">       segments by segment type, nested by hierarchy
          <CURCY>EUR</CURCY>        fields; empty ones are left out
          <E1EDK14 SEGMENT="1">...</E1EDK14>
        </E1EDK01>
      </IDOC>
    </ORDERS05>

Values keep their leading blanks (they are significant) and lose trailing ones (SAP pads with blanks).
Namespaced names ``/NS/NAME`` are written ``_-NS_-NAME``. Reading needs no metadata: anything that is
not this shape (text between segments, an element that is neither a segment nor a field, an unknown
attribute, a namespace) is an error naming the line, never skipped. DTDs and entities are refused; the
document element may carry xsi:noNamespaceSchemaLocation only.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from operator import attrgetter
from pathlib import Path
from typing import IO, Any, cast

from lxml import etree

from idocbridge.errors import IdocbridgeError
from idocbridge.idoc.document import IDoc, Segment
from idocbridge.idoc.idoc_xml_text import idoc_text
from idocbridge.idoc.names import sap_name, xml_name
from idocbridge.idoc.records import CONTROL_RECORD, CONTROL_TABNAM

__all__ = [
    "IDocXmlError",
    "check_idoc_document",
    "idoc_from_element",
    "idoc_to_element",
    "iter_idoc_xml",
    "write_idoc_xml",
]

_CONTROL_FIELDS = frozenset(CONTROL_RECORD.names)
_XSI_LOCATION = "{http://www.w3.org/2001/XMLSchema-instance}noNamespaceSchemaLocation"
_TAIL = attrgetter("tail")


class IDocXmlError(IdocbridgeError):
    """IDoc-XML that is not well-formed or not shaped as IDoc-XML; names the source and line."""


def _where(source: str, element: etree._Element) -> str:
    return f"{source}, line {element.sourceline}" if element.sourceline else source


def _local(element: etree._Element) -> str:
    return etree.QName(element).localname


def iter_idoc_xml(source: Path | IO[bytes], name: str | None = None) -> Iterator[IDoc]:
    """The IDocs of an IDoc-XML document, parsed incrementally (each IDOC is freed once read).

    ``name`` names the source in errors (default: the path).
    """
    label = name or (str(source) if isinstance(source, Path) else "<IDoc-XML>")
    if isinstance(source, Path):
        try:
            handle = source.open("rb")
        except OSError as exc:
            raise IDocXmlError(f"{label}: cannot read the file: {exc.strerror or exc}") from exc
        with handle:  # closed also when the caller stops iterating early
            yield from _iterparse(handle, label)
    else:
        yield from _iterparse(source, label)


def _iterparse(handle: IO[bytes], label: str) -> Iterator[IDoc]:
    """The IDocs of the document, read as each ``<IDOC>`` ends: lxml hands Python only those ends (the rest of
    the document is parsed in C), and the shape around them is checked when they arrive and at the end."""
    source = _Head(handle)
    context = etree.iterparse(
        source,
        events=("end",),
        tag="IDOC",
        resolve_entities=False,
        load_dtd=False,
        no_network=True,
        remove_comments=True,
        remove_pis=True,
        huge_tree=True,
    )
    root: etree._Element | None = None
    root_name = ""
    count = 0
    try:
        for _, element in context:
            parent = element.getparent()
            if parent is None or parent.getparent() is not None:  # not a child of the document element
                continue  # an element named IDOC elsewhere: its segment or the document checks it
            if root is None:
                root, root_name = parent, _start_root(parent, label)
            _drop_read(root, label, until=element)  # the IDOCs read before, once the text after them is known
            _no_namespace(element, label)
            count += 1
            yield _idoc(element, root_name, label)
            element.clear(keep_tail=True)
        document = context.root
    except etree.XMLSyntaxError as exc:
        if source.has_doctype():  # what the parser tripped over may be the DOCTYPE's (an entity): say that
            raise IDocXmlError(f"{label}: a DOCTYPE is not allowed in IDoc-XML") from exc
        raise IDocXmlError(f"{label}: not well-formed XML: {exc}") from exc
    if document is None:  # not reached: a document without an element is not well-formed
        raise IDocXmlError(f"{label}: no document element")
    if root is None:
        root_name = _start_root(document, label)
    _drop_read(document, label)
    if count == 0:
        raise IDocXmlError(f"{_where(label, document)}: <{root_name}> holds no <IDOC> element")


class _Head:
    """A binary stream that keeps its first bytes read, to look for a DOCTYPE after a parse error."""

    _KEPT = 65_536
    _DOCTYPES = tuple("<!DOCTYPE".encode(codec) for codec in ("utf-8", "utf-16-le", "utf-16-be"))

    def __init__(self, handle: IO[bytes]) -> None:
        self._handle = handle
        self._head = b""

    def read(self, size: int = -1) -> bytes:
        data = self._handle.read(size)
        if len(self._head) < self._KEPT:
            self._head += data[: self._KEPT - len(self._head)]
        return data

    def has_doctype(self) -> bool:
        return any(doctype in self._head for doctype in self._DOCTYPES)


_NAMESPACED = etree.XPath("descendant-or-self::*[namespace-uri() != ''][1]")
"""The first element of a subtree that has a namespace (none may in IDoc-XML)."""


def _no_namespace(element: etree._Element, label: str) -> None:
    found = cast(list[etree._Element], _NAMESPACED(element))
    if found:
        raise IDocXmlError(f"{_where(label, found[0])}: IDoc-XML has no namespace, but <{_local(found[0])}> has one")


def _drop_read(root: etree._Element, label: str, until: etree._Element | None = None) -> None:
    """Check the document element's children before ``until`` (all without it: IDOCs only) and the text
    around them (none allowed), then free them. The parser reads ahead of the IDOC it hands over, so the
    children after ``until`` are left for later."""
    read: list[etree._Element] = []
    for child in root:
        if child is until:
            break
        if child.tag != "IDOC":
            _no_namespace(child, label)
            raise IDocXmlError(
                f'{_where(label, child)}: <{_local(child)}> inside <{_local(root)}>: expected <IDOC BEGIN="1">'
            )
        read.append(child)
    _no_text(root, label, read)
    for child in read:
        root.remove(child)


def _start_root(root: etree._Element, label: str) -> str:
    doctype = root.getroottree().docinfo.doctype
    if doctype:
        raise IDocXmlError(f"{label}: a DOCTYPE is not allowed in IDoc-XML (found {doctype!r})")
    if str(root.tag)[:1] == "{":
        raise IDocXmlError(f"{_where(label, root)}: IDoc-XML has no namespace, but <{_local(root)}> has one")
    _check_attributes(root, {_XSI_LOCATION}, label)
    return _local(root)


def check_idoc_document(document: etree._Element, label: str = "<IDoc-XML>") -> list[etree._Element]:
    """The ``<IDOC>`` elements of an IDoc-XML document element parsed whole, once it holds nothing else: no
    namespace anywhere, no attribute but xsi:noNamespaceSchemaLocation, no text, only IDOC children (the
    checks :func:`iter_idoc_xml` makes as it reads a file). Each IDOC is for :func:`idoc_from_element`."""
    _start_root(document, label)
    _no_namespace(document, label)
    idocs = [child for child in document if isinstance(child.tag, str)]
    for child in idocs:
        if child.tag != "IDOC":
            raise IDocXmlError(
                f'{_where(label, child)}: <{_local(child)}> inside <{_local(document)}>: expected <IDOC BEGIN="1">'
            )
    _no_text(document, label, idocs)
    return idocs


def idoc_from_element(element: etree._Element, root_name: str | None = None, source: str = "<IDoc-XML>") -> IDoc:
    """The IDoc of one ``<IDOC>`` element; ``root_name`` is the enclosing element's name, checked against
    the control record's CIMTYP or IDOCTYP where given."""
    if element.tag != "IDOC":
        raise IDocXmlError(f'{_where(source, element)}: <{_local(element)}> is no <IDOC BEGIN="1">')
    return _idoc(element, root_name, source)


def _idoc(element: etree._Element, root_name: str | None, label: str) -> IDoc:
    _check_attributes(element, {"BEGIN"}, label)
    if element.get("BEGIN", "1") != "1":
        raise IDocXmlError(f'{_where(label, element)}: <IDOC> has BEGIN="{element.get("BEGIN", "")[:20]}"; it is "1"')
    _no_text(element, label)
    children = list(element)
    if not children or _local(children[0]) != CONTROL_TABNAM:
        raise IDocXmlError(f'{_where(label, element)}: <IDOC> must start with <{CONTROL_TABNAM} SEGMENT="1">')
    if children[0].get("SEGMENT") != "1":
        raise IDocXmlError(f'{_where(label, children[0])}: <{CONTROL_TABNAM}> needs SEGMENT="1"')
    control = _fields(children[0], label, allowed=_CONTROL_FIELDS)
    idoc = IDoc(control, [_segment(child, label) for child in children[1:]])
    if root_name is not None and idoc.type_label and sap_name(root_name) != idoc.type_label:
        raise IDocXmlError(
            f"{_where(label, element)}: the document element <{root_name}> must be named after the "
            f"{'extension (CIMTYP)' if idoc.extension else 'basic type (IDOCTYP)'} {idoc.type_label}"
        )
    return idoc


def _segment(element: etree._Element, label: str) -> Segment:
    if element.get("SEGMENT") is None:
        raise IDocXmlError(
            f"{_where(label, element)}: <{_local(element)}> is not a segment (no SEGMENT attribute); "
            "fields belong inside a segment"
        )
    if element.get("SEGMENT") != "1":
        given = element.get("SEGMENT", "")[:20]
        raise IDocXmlError(f'{_where(label, element)}: <{_local(element)}> has SEGMENT="{given}"; a segment has '
                           'SEGMENT="1"')  # fmt: skip
    segment = Segment(_name(element))
    segment.fields = _fields(element, label, segment=segment)
    return segment


def _name(element: etree._Element) -> str:
    """The SAP name of an element: its tag, unless that has a namespace (not from :func:`iter_idoc_xml`)."""
    tag = element.tag
    if not isinstance(tag, str) or tag[:1] == "{":
        tag = _local(element)
    return tag.replace("_-", "/")


def _fields(
    element: etree._Element, label: str, *, allowed: frozenset[str] | None = None, segment: Segment | None = None
) -> dict[str, str]:
    if element.keys() != ["SEGMENT"]:
        _check_attributes(element, {"SEGMENT"}, label)
    children = list(element)
    text = element.text
    tails = "".join(filter(None, map(_TAIL, children)))
    if (text and not text.isspace()) or (tails and not tails.isspace()):
        _no_text(element, label)
    values: dict[str, str] = {}
    for child in children:
        tag = child.tag
        if not isinstance(tag, str) or tag[:1] == "{":  # _name, inlined
            tag = _local(child)
        name = tag.replace("_-", "/")
        keys = child.keys()
        if keys and "SEGMENT" in keys:
            if segment is None:
                raise IDocXmlError(f"{_where(label, child)}: the control record holds no segments")
            segment.children.append(_segment(child, label))
            continue
        if keys or len(child):
            raise IDocXmlError(
                f"{_where(label, child)}: <{_local(child)}> has child elements or attributes but no SEGMENT "
                'attribute: a segment needs SEGMENT="1", a field holds text only'
            )
        if allowed is not None and name not in allowed:
            raise IDocXmlError(f"{_where(label, child)}: {name} is not a field of the control record {CONTROL_TABNAM}")
        if segment is not None and segment.children:
            raise IDocXmlError(
                f"{_where(label, child)}: field {name} comes after child segments of {segment.type}; fields come first"
            )
        if name in values:
            raise IDocXmlError(f"{_where(label, child)}: field {name} occurs twice")
        value = child.text
        if value:
            value = value.rstrip(" ")
            if value:
                values[name] = value
    return values


def _check_attributes(element: etree._Element, allowed: set[str], label: str) -> None:
    unknown = sorted(set(element.attrib) - allowed)
    if unknown:
        raise IDocXmlError(
            f"{_where(label, element)}: <{_local(element)}> has unknown attribute(s) {', '.join(unknown)}"
        )


def _no_text(element: etree._Element, label: str, children: list[etree._Element] | None = None) -> None:
    """Refuse text in ``element`` but in its fields: its own, and the tails of its children (or of ``children``)."""
    texts = [element.text, *(child.tail for child in (element if children is None else children))]
    if any(text and text.strip() for text in texts):
        raise IDocXmlError(f"{_where(label, element)}: <{_local(element)}> holds text outside its fields")


def idoc_to_element(idoc: IDoc) -> etree._Element:
    """The ``<IDOC BEGIN="1">`` element of an IDoc."""
    element = etree.Element("IDOC", BEGIN="1")
    control = etree.SubElement(element, CONTROL_TABNAM, SEGMENT="1")
    values = {"TABNAM": CONTROL_TABNAM, **idoc.control}
    for name in CONTROL_RECORD.names:
        if values.get(name):
            try:
                etree.SubElement(control, name).text = values[name]
            except ValueError as exc:
                raise IDocXmlError(
                    f"{CONTROL_TABNAM}-{name}: {values[name]!r} cannot be written as XML: {exc}"
                ) from exc
    for segment in idoc.segments:
        _write_segment(element, segment)
    return element


def _write_segment(parent: etree._Element, segment: Segment) -> None:
    element = etree.SubElement(parent, segment.type.replace("/", "_-"), SEGMENT="1")  # xml_name, inlined
    for name, value in segment.fields.items():
        if value:
            try:
                etree.SubElement(element, name.replace("/", "_-")).text = value
            except ValueError as exc:  # a control character, which XML 1.0 cannot hold
                raise IDocXmlError(
                    f"segment {segment.type}, field {name}: {value!r} cannot be written as XML: {exc}"
                ) from exc
    for child in segment.children:
        _write_segment(element, child)


def write_idoc_xml(out: IO[bytes], idocs: Iterable[IDoc], *, root_name: str | None = None, pretty: bool = True) -> int:
    """Write IDocs as one IDoc-XML document, one ``<IDOC>`` at a time; returns how many were written.

    The document element is ``root_name``, else the first IDoc's extension or basic type. All IDocs of one
    document must be of that type.
    """
    iterator = iter(idocs)
    first = next(iterator, None)
    name = root_name or (first.type_label if first is not None else "")
    if first is None and not name:
        raise IDocXmlError("the input holds no IDoc: an IDoc-XML document needs one to be named after its type")
    if not name:
        raise IDocXmlError(
            "the IDoc-XML document element is named after the IDoc type, but the control record has no IDOCTYP"
        )
    count = 0
    with etree.xmlfile(out, encoding="UTF-8") as document:
        document.write_declaration()
        with document.element(xml_name(name)):
            for idoc in [first] if first is not None else []:
                count += _write_one(document, out, idoc, name, pretty)
            for idoc in iterator:
                count += _write_one(document, out, idoc, name, pretty)
            if pretty:
                document.write("\n")
    if pretty:
        out.write(b"\n")
    return count


def _write_one(document: Any, out: IO[bytes], idoc: IDoc, name: str, pretty: bool) -> int:  # lxml's incremental writer
    if idoc.type_label and idoc.type_label != name:
        raise IDocXmlError(f"an IDoc of type {idoc.type_label} cannot join an IDoc-XML document of type {name}")
    text = idoc_text(idoc, pretty=pretty)
    if text is not None:  # the same bytes as below, without the element tree
        document.flush()
        out.write((f"\n  {text}" if pretty else text).encode("utf-8"))
        return 1
    element = idoc_to_element(idoc)
    if pretty:
        etree.indent(element, space="  ", level=1)
        document.write("\n  ")
    document.write(element)
    return 1
