"""Read SOAP request envelopes safely and write response envelopes.

Parsing refuses DTDs and entities before the parser runs, resolves nothing and reads no network. It
holds every request within :class:`RequestLimits`: a start tag's size, nesting depth, elements,
attributes per element and per request, and name length. Counting the body's ``<`` and ``=`` bytes
bounds its elements and attributes from above before it is parsed; a body within those bounds is
parsed at once and its tree checked by XPath (in C). Only a body beyond them, which may still be
within the limits, is fed to the parser in pieces and checked element by element, stopping at the
first limit passed: a hostile request costs at most one piece beyond the limits.
The envelope itself is strict: an optional Header, then exactly one Body holding exactly one element,
and nothing else. Every refusal is a :class:`SoapFault` on the client's side.
"""

from __future__ import annotations

import codecs
import functools
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

from lxml import etree

from idocbridge.soap.faults import SoapFault
from idocbridge.soap.namespaces import SOAP11_ENV, SOAP12_ENV

__all__ = ["Request", "RequestLimits", "parse_request", "response_envelope"]

_DOCTYPE = re.compile(rb"<!DOCTYPE|<!ENTITY", re.IGNORECASE)
_VERSIONS: dict[str, Literal["1.1", "1.2"]] = {SOAP11_ENV: "1.1", SOAP12_ENV: "1.2"}
_CHUNK = 64 * 1024
_WIDE_BOMS = ((codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"), (codecs.BOM_UTF16_LE, "utf-16"),
              (codecs.BOM_UTF16_BE, "utf-16"))  # fmt: skip


@dataclass(frozen=True)
class RequestLimits:
    """What one request may hold. The defaults fit the largest IDocs a 10 MB body carries with room to spare;
    the memory they allow is measured in docs/serving.md."""

    max_depth: int = 64
    max_elements: int = 1_000_000
    max_attributes: int = 200_000
    max_attributes_per_element: int = 64
    max_name_length: int = 1_000
    """Characters of an element's or attribute's local name (SAP's names have at most 30)."""
    max_start_tag_bytes: int = 64 * 1024
    """Bytes of one start tag with its attributes: checked before parsing, as the parser reads a tag whole."""


@dataclass(frozen=True)
class Request:
    version: Literal["1.1", "1.2"]
    payload: etree._Element  # the first child of the Body: the operation's wrapper element
    header: etree._Element | None = None


_ASCII_STARTS = (b"<", b"\xef\xbb\xbf<", b"\xff\xfe<\x00", b"\xfe\xff\x00<", b"<\x00", b"\x00<")
"""How a body whose every ``<`` and ``=`` holds that byte begins: an ASCII-compatible encoding, UTF-16 or UTF-32."""


def _parser() -> etree.XMLPullParser:
    return etree.XMLPullParser(events=("start", "end"), resolve_entities=False, no_network=True, load_dtd=False,
                               dtd_validation=False, huge_tree=False, remove_comments=True, remove_pis=True,
                               collect_ids=False)  # fmt: skip


_parsers = threading.local()


def _thread_parser() -> etree.XMLParser:
    """This thread's parser: lxml parsers may be shared by threads, but one each is faster."""
    parser: etree.XMLParser | None = getattr(_parsers, "parser", None)
    if parser is None:
        parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, dtd_validation=False,
                                 huge_tree=False, remove_comments=True, remove_pis=True, collect_ids=False)  # fmt: skip
        _parsers.parser = parser
    return parser


def _within_at_once(body: bytes, limits: RequestLimits) -> bool:
    """Whether counting bytes shows ``body`` within the element and attribute limits (an upper bound of both)."""
    if not body.lstrip().startswith(_ASCII_STARTS) or b"utf-7" in body[:200].lower():
        return False
    return body.count(b"<") <= limits.max_elements and body.count(b"=") <= limits.max_attributes


def _check_tree(root: etree._Element, limits: RequestLimits, roomy_tags: bool) -> None:
    """The limits a parsed tree within the byte bounds may still pass: depth, and (where a start tag is long
    enough) attributes per element and names."""
    if _deeper(root, limits.max_depth):
        raise _client(f"the request nests deeper than {limits.max_depth} elements")
    if not roomy_tags:
        return
    crowded = _elements(_crowded(root, limit=limits.max_attributes_per_element))
    if crowded:
        element = crowded[0]
        raise _client(f"element {_local(element)[:80]} has {len(element.attrib)} attributes; "
                      f"at most {limits.max_attributes_per_element} are allowed")  # fmt: skip
    long_names = _elements(_long_names(root, limit=limits.max_name_length))
    if long_names:
        element = long_names[0]
        longest = max([len(_local(element)), *(len(_local_name(name)) for name in element.attrib)])
        raise _client(f"the request has a name of {longest} characters; "
                      f"at most {limits.max_name_length} are allowed")  # fmt: skip


def _deeper(root: etree._Element, depth: int) -> bool:
    return bool(_depth_probe(depth)(root))


@functools.cache
def _depth_probe(depth: int) -> etree.XPath:
    """An XPath that is true where elements nest deeper than ``depth``."""
    return etree.XPath("boolean(" + "/*" * (depth + 1) + ")")


def _elements(found: object) -> list[etree._Element]:
    """The elements an XPath of elements found."""
    return [item for item in found if isinstance(item, etree._Element)] if isinstance(found, list) else []


_crowded = etree.XPath("//*[count(@*) > $limit]")
_long_names = etree.XPath("//*[string-length(local-name()) > $limit or @*[string-length(local-name()) > $limit]]")


def _client(reason: str) -> SoapFault:
    return SoapFault(reason, "client", 400)


def _scan_text(body: bytes) -> bytes | str:
    """``body`` as the start-tag scan reads it: UTF-16 and UTF-32 decoded, ASCII-compatible encodings as they are."""
    for bom, encoding in _WIDE_BOMS:
        if body.startswith(bom):
            return body.decode(encoding, errors="replace")
    if b"\x00" in body[:4]:  # UTF-16 or UTF-32 without a byte order mark
        wide = "utf-32" if body[:4].count(b"\x00") == 3 else "utf-16"
        order = "be" if body[0] == 0 else "le"
        return body.decode(f"{wide}-{order}", errors="replace")
    return body


_ROOMY_TAG = 320
"""Bytes a start tag needs to hold more than 64 attributes (`` a=''`` is five) or a name of more than 320."""


def _has_roomy_tags(body: bytes, limits: RequestLimits) -> bool:
    """Whether ``body`` has a start tag long enough to pass the attribute or name limits; refuses one over
    ``max_start_tag_bytes`` at once, before the parser takes it whole."""
    text = _scan_text(body)
    roomy = min(_ROOMY_TAG, limits.max_attributes_per_element * 5, limits.max_name_length)
    found = _tag_longer_than(roomy, isinstance(text, str)).search(text)  # type: ignore[arg-type]
    if found is None:
        return False
    limit = limits.max_start_tag_bytes
    if _tag_longer_than(limit, isinstance(text, str)).search(text, found.start()):  # type: ignore[arg-type]
        raise _client(f"the request has a start tag of more than {limit} bytes (too many or too long attributes)")
    return True


@functools.cache
def _tag_longer_than(length: int, text: bool) -> re.Pattern[str] | re.Pattern[bytes]:
    pattern = f"<[^!?/<>][^<>]{{{length}}}"
    return re.compile(pattern) if text else re.compile(pattern.encode())


class _Reader:
    """Feeds the parser in chunks and checks every element it reports against the limits."""

    def __init__(self, limits: RequestLimits) -> None:
        self.limits = limits
        self.depth = self.elements = self.attributes = 0

    def read(self, body: bytes) -> etree._Element:
        parser = _parser()
        try:
            for offset in range(0, len(body), _CHUNK):
                parser.feed(body[offset : offset + _CHUNK])
                self._check(parser.read_events())
            root = parser.close()
            self._check(parser.read_events())
        except etree.XMLSyntaxError as exc:
            raise _client(f"the request is not well-formed XML: {exc.msg}") from None
        return root

    def _check(self, events: Iterator[tuple[str, etree._Element]]) -> None:
        limits = self.limits
        for event, element in events:
            if event == "end":
                self.depth -= 1
                continue
            self.depth += 1
            self.elements += 1
            attributes = len(element.attrib)
            self.attributes += attributes
            if self.depth > limits.max_depth:
                raise _client(f"the request nests deeper than {limits.max_depth} elements")
            if self.elements > limits.max_elements:
                raise _client(f"the request has more than {limits.max_elements} elements")
            if attributes > limits.max_attributes_per_element:
                raise _client(f"element {_local(element)[:80]} has {attributes} attributes; "
                              f"at most {limits.max_attributes_per_element} are allowed")  # fmt: skip
            if self.attributes > limits.max_attributes:
                raise _client(f"the request has more than {limits.max_attributes} attributes")
            longest = max([len(_local(element)), *(len(_local_name(name)) for name in element.attrib)])
            if longest > limits.max_name_length:
                raise _client(f"the request has a name of {longest} characters; "
                              f"at most {limits.max_name_length} are allowed")  # fmt: skip


def _local(element: etree._Element) -> str:
    return _local_name(element.tag)


def _local_name(name: object) -> str:
    """The local part of a ``{namespace}local`` name."""
    return str(name).rpartition("}")[2]


def parse_request(body: bytes, limits: RequestLimits | None = None) -> Request:
    """The SOAP version, header and payload of a request body, read within ``limits``."""
    limits = limits or RequestLimits()
    if _DOCTYPE.search(body):
        raise _client("DTDs and entities are not allowed in requests")
    roomy_tags = _has_roomy_tags(body, limits)
    if _within_at_once(body, limits):
        try:
            root = etree.fromstring(body, _thread_parser())
        except etree.XMLSyntaxError as exc:
            raise _client(f"the request is not well-formed XML: {exc.msg}") from None
        _check_tree(root, limits, roomy_tags)
    else:
        root = _Reader(limits).read(body)
    if root.getroottree().docinfo.doctype:  # a DOCTYPE the byte check missed (e.g. in UTF-16)
        raise _client("DTDs and entities are not allowed in requests")
    qname = etree.QName(root)
    version = _VERSIONS.get(qname.namespace or "")
    if qname.localname != "Envelope" or version is None:
        raise _client("the request is not a SOAP 1.1 or 1.2 Envelope")
    return _envelope(root, version)


def _envelope(root: etree._Element, version: Literal["1.1", "1.2"]) -> Request:
    """Header and Body of an Envelope: an optional Header first, then one Body, nothing else."""
    env = etree.QName(root).namespace
    children = [child for child in root if isinstance(child.tag, str)]
    names = [_local(child) if etree.QName(child).namespace == env else str(child.tag) for child in children]
    header = children[0] if names[:1] == ["Header"] else None
    rest = names[1:] if header is not None else names
    if names.count("Header") > 1:
        raise _client(f"the SOAP envelope has {names.count('Header')} Header elements; it may have one")
    if names.count("Body") > 1:
        raise _client(f"the SOAP envelope has {names.count('Body')} Body elements; it must have exactly one")
    if "Header" in rest:
        raise _client("the SOAP Header must come before the Body")
    if rest[:1] != ["Body"]:
        raise _client("the SOAP envelope has no Body")
    if len(rest) > 1:
        raise _client(f"the SOAP envelope holds {rest[1]} after its Body; nothing may follow the Body")
    body_element = children[-1]
    payload = [child for child in body_element if isinstance(child.tag, str)]
    if len(payload) != 1:
        raise _client(f"the SOAP Body holds {len(payload)} elements; it must hold exactly one operation element")
    return Request(version, payload[0], header)


def response_envelope(payload: etree._Element, version: Literal["1.1", "1.2"]) -> bytes:
    env = SOAP11_ENV if version == "1.1" else SOAP12_ENV
    envelope = etree.Element(f"{{{env}}}Envelope", nsmap={"soap": env})
    etree.SubElement(envelope, f"{{{env}}}Body").append(payload)
    return etree.tostring(envelope, xml_declaration=True, encoding="UTF-8")
