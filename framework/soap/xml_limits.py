"""Read a request's XML within limits: nesting, elements, attributes per element and in all, name length.

The checks that would otherwise need the whole tree run on the body before it is parsed, with regular
expressions (in C) that follow XML's grammar for start tags (an attribute value may hold ``>`` but
never ``<``):

- a start tag with more attributes than allowed (namespace declarations count), or a name longer than
  allowed, refuses the request before the parser builds any of it: the parser reads a start tag whole;
- counting ``<`` and ``=`` bounds the elements and attributes from above. A body within
  both bounds (every normal request) is parsed at once and its depth checked by XPath. Any other body
  is fed to the parser in 64 KiB pieces and counted element by element, stopping at the first limit
  passed, so it costs at most a piece more than the limits allow.

The byte checks read UTF-16 and UTF-32 bodies decoded, and others as they are, which is sound for
encodings where ``<``, ``=``, quotes and white space are single ASCII bytes never found inside another
character: UTF-8 and the ASCII-compatible single- and multi-byte encodings in ``_ASCII_SAFE``. A body
declaring any other encoding (UTF-7, EBCDIC ...) is refused: SOAP asks for UTF-8 or UTF-16.
"""

from __future__ import annotations

import codecs
import functools
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass

from lxml import etree

from idocbridge.soap.faults import SoapFault

__all__ = ["RequestLimits", "read_xml"]

_CHUNK = 64 * 1024
_WIDE_BOMS = ((codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"), (codecs.BOM_UTF16_LE, "utf-16"),
              (codecs.BOM_UTF16_BE, "utf-16"))  # fmt: skip
_DECLARATION = re.compile(rb"\s*<\?xml[^?]*")
"""The XML declaration up to its closing ``?>``: it holds no ``?`` before, however long it is padded."""
_ENCODING = re.compile(rb"""encoding\s*=\s*["']([^"']*)["']""")
_ASCII_SAFE = re.compile(
    r"(utf-?8|us-ascii|ascii|iso-?8859-\d+|latin-?\d|(windows|cp)-?125\d|shift[_-]jis|sjis|euc-(jp|kr|cn)|"
    r"gb2312|gbk|gb18030|big5)",
    re.IGNORECASE,
)
_NAME_START = r"[^\s!?/<>=\"']"
_NAME = r"[^\s/<>=\"']"
_ATTRIBUTE = rf"\s+{_NAME}+\s*=\s*(?:\"[^\"<]*\"|'[^'<]*')"
_TAG_START = rf"<{_NAME_START}{_NAME}*"


@dataclass(frozen=True)
class RequestLimits:
    """What one request may hold. The defaults fit the largest IDocs a 10 MB body carries with room to spare;
    the memory they allow is measured in docs/serving.md."""

    max_depth: int = 64
    max_elements: int = 1_000_000
    max_attributes: int = 200_000
    max_attributes_per_element: int = 64
    """Attributes of one start tag, namespace declarations included."""
    max_name_length: int = 1_000
    """Characters of an element's or attribute's name (SAP's names have at most 30)."""


def read_xml(body: bytes, limits: RequestLimits) -> etree._Element:
    """The root element of ``body``, parsed within ``limits``; a client SoapFault where it passes one."""
    text = _scan_text(body)
    _check_start_tags(text, limits)
    if _within_counts(text, limits):
        try:
            root = etree.fromstring(body, _thread_parser())
        except etree.XMLSyntaxError as exc:
            raise _client(f"the request is not well-formed XML: {exc.msg}") from None
        if _depth_probe(limits.max_depth)(root):
            raise _client(f"the request nests deeper than {limits.max_depth} elements")
        return root
    return _PieceReader(limits).read(body)


def _client(reason: str) -> SoapFault:
    return SoapFault(reason, "client")


def _scan_text(body: bytes) -> bytes | str:
    """``body`` as the checks read it: UTF-16 and UTF-32 decoded, ASCII-safe encodings as they are."""
    for bom, encoding in _WIDE_BOMS:
        if body.startswith(bom):
            return body.decode(encoding, errors="replace")
    if b"\x00" in body[:4]:  # UTF-16 or UTF-32 without a byte order mark
        wide = "utf-32" if body[:4].count(b"\x00") == 3 else "utf-16"
        order = "be" if body[0] == 0 else "le"
        return body.decode(f"{wide}-{order}", errors="replace")
    declaration = _DECLARATION.match(body.removeprefix(codecs.BOM_UTF8))
    declared = _ENCODING.search(declaration.group(0)) if declaration is not None else None
    if declared is not None and not _ASCII_SAFE.fullmatch(encoding := declared.group(1).decode("latin-1")):
        raise _client(f"the request is encoded in {encoding[:40]}; this service takes UTF-8 or UTF-16 (and the "
                      "encodings that keep XML's markup in ASCII)")  # fmt: skip
    if not body.removeprefix(codecs.BOM_UTF8).lstrip().startswith(b"<"):
        raise _client("the request does not begin with '<' in UTF-8, UTF-16 or UTF-32: it is not XML, or it is "
                      "in an encoding this service does not take")  # fmt: skip
    return body


def _check_start_tags(text: bytes | str, limits: RequestLimits) -> None:
    """Refuse a start tag with too many attributes or too long a name, before the parser reads it whole."""
    wide = isinstance(text, str)
    # A start tag lies within one stretch between two "<". One that passes a limit needs five characters an
    # attribute (' a=""') or a long name: where no stretch is that long, no search is needed.
    needed = min(5 * (limits.max_attributes_per_element + 1), limits.max_name_length + 1)
    if _pattern(f"<[^<]{{{needed}}}", wide).search(text) is None:  # type: ignore[arg-type]
        return
    crowded = _pattern(f"{_TAG_START}(?:{_ATTRIBUTE}){{{limits.max_attributes_per_element + 1}}}", wide)
    found = crowded.search(text)  # type: ignore[arg-type]
    if found is not None:
        name = _shown(found.group(0)[1:].split(maxsplit=1)[0])
        raise _client(f"element {name} has more than {limits.max_attributes_per_element} attributes (namespace "
                      "declarations included); that is the most allowed")  # fmt: skip
    longest = limits.max_name_length
    long_element = _pattern(f"<{_NAME_START}{_NAME}{{{longest}}}", wide)
    long_attribute = _pattern(f"{_TAG_START}(?:{_ATTRIBUTE})*\\s+{_NAME}{{{longest + 1}}}", wide)
    if long_element.search(text) or long_attribute.search(text):  # type: ignore[arg-type]
        raise _client(f"the request has a name of more than {longest} characters; that is the most allowed")


def _shown(name: bytes | str) -> str:
    text = name.decode("utf-8", errors="replace") if isinstance(name, bytes) else name
    return text[:80]


@functools.cache
def _pattern(pattern: str, wide: bool) -> re.Pattern[str] | re.Pattern[bytes]:
    return re.compile(pattern) if wide else re.compile(pattern.encode())


def _within_counts(text: bytes | str, limits: RequestLimits) -> bool:
    """Whether counting markup shows the body within the element and attribute limits (upper bounds of both)."""
    if isinstance(text, str):
        elements, attributes = text.count("<"), text.count("=")
    else:
        elements, attributes = text.count(b"<"), text.count(b"=")
    return elements <= limits.max_elements and attributes <= limits.max_attributes


@functools.cache
def _depth_probe(depth: int) -> etree.XPath:
    """An XPath that is true where elements nest deeper than ``depth``."""
    return etree.XPath("boolean(" + "/*" * (depth + 1) + ")")


_parsers = threading.local()


def _thread_parser() -> etree.XMLParser:
    """This thread's parser: lxml parsers may be shared by threads, but one each is faster."""
    parser: etree.XMLParser | None = getattr(_parsers, "parser", None)
    if parser is None:
        parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, dtd_validation=False,
                                 huge_tree=False, remove_comments=True, remove_pis=True, collect_ids=False)  # fmt: skip
        _parsers.parser = parser
    return parser


class _PieceReader:
    """Feeds the parser in pieces and counts the elements and attributes it reports against the limits."""

    def __init__(self, limits: RequestLimits) -> None:
        self.limits = limits
        self.depth = self.elements = self.attributes = 0

    def read(self, body: bytes) -> etree._Element:
        parser = etree.XMLPullParser(events=("start", "end"), resolve_entities=False, no_network=True,
                                     load_dtd=False, dtd_validation=False, huge_tree=False, remove_comments=True,
                                     remove_pis=True, collect_ids=False)  # fmt: skip
        try:
            for offset in range(0, len(body), _CHUNK):
                parser.feed(body[offset : offset + _CHUNK])
                self._count(parser.read_events())
            root = parser.close()
            self._count(parser.read_events())
        except etree.XMLSyntaxError as exc:
            raise _client(f"the request is not well-formed XML: {exc.msg}") from None
        return root

    def _count(self, events: Iterator[tuple[str, etree._Element]]) -> None:
        limits = self.limits
        for event, element in events:
            if event == "end":
                self.depth -= 1
                continue
            self.depth += 1
            self.elements += 1
            self.attributes += len(element.attrib)
            if self.depth > limits.max_depth:
                raise _client(f"the request nests deeper than {limits.max_depth} elements")
            if self.elements > limits.max_elements:
                raise _client(f"the request has more than {limits.max_elements} elements")
            if self.attributes > limits.max_attributes:
                raise _client(f"the request has more than {limits.max_attributes} attributes")
