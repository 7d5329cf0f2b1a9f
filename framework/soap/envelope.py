"""Read SOAP request envelopes safely and write response envelopes.

Parsing refuses DTDs and entities before the parser runs, resolves nothing, reads no network, and
refuses nesting deeper than a limit; every refusal is a :class:`SoapFault` on the client's side.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from lxml import etree

from idocbridge.soap.faults import SoapFault
from idocbridge.soap.namespaces import SOAP11_ENV, SOAP12_ENV

__all__ = ["Request", "parse_request", "response_envelope"]

_DOCTYPE = re.compile(rb"<!DOCTYPE|<!ENTITY", re.IGNORECASE)
_VERSIONS: dict[str, Literal["1.1", "1.2"]] = {SOAP11_ENV: "1.1", SOAP12_ENV: "1.2"}


@dataclass(frozen=True)
class Request:
    version: Literal["1.1", "1.2"]
    payload: etree._Element  # the first child of the Body: the operation's wrapper element
    header: etree._Element | None = None


def _parser() -> etree.XMLParser:
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, dtd_validation=False,
                           huge_tree=False, remove_comments=True, remove_pis=True, collect_ids=False)  # fmt: skip


def _depth(element: etree._Element, limit: int) -> bool:
    """True if ``element`` nests deeper than ``limit`` levels."""
    stack = [(element, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in node if isinstance(child.tag, str))
    return False


def parse_request(body: bytes, max_depth: int) -> Request:
    """The SOAP version and payload of a request body."""
    if _DOCTYPE.search(body):
        raise SoapFault("DTDs and entities are not allowed in requests", "client", 400)
    try:
        root = etree.fromstring(body, _parser())
    except etree.XMLSyntaxError as exc:
        raise SoapFault(f"the request is not well-formed XML: {exc.msg}", "client", 400) from None
    if root.getroottree().docinfo.doctype:  # a DOCTYPE the byte check missed (e.g. in UTF-16)
        raise SoapFault("DTDs and entities are not allowed in requests", "client", 400)
    if _depth(root, max_depth):
        raise SoapFault(f"the request nests deeper than {max_depth} elements", "client", 400)
    qname = etree.QName(root)
    version = _VERSIONS.get(qname.namespace or "")
    if qname.localname != "Envelope" or version is None:
        raise SoapFault("the request is not a SOAP 1.1 or 1.2 Envelope", "client", 400)
    env = qname.namespace
    body_element = root.find(f"{{{env}}}Body")
    if body_element is None:
        raise SoapFault("the SOAP envelope has no Body", "client", 400)
    payload = [child for child in body_element if isinstance(child.tag, str)]
    if len(payload) != 1:
        raise SoapFault("the SOAP Body holds exactly one operation element", "client", 400)
    headers = root.findall(f"{{{env}}}Header")
    if len(headers) > 1:
        raise SoapFault(f"the SOAP envelope has {len(headers)} Header elements; it may have one", "client", 400)
    return Request(version, payload[0], headers[0] if headers else None)


def response_envelope(payload: etree._Element, version: Literal["1.1", "1.2"]) -> bytes:
    env = SOAP11_ENV if version == "1.1" else SOAP12_ENV
    envelope = etree.Element(f"{{{env}}}Envelope", nsmap={"soap": env})
    etree.SubElement(envelope, f"{{{env}}}Body").append(payload)
    return etree.tostring(envelope, xml_declaration=True, encoding="UTF-8")
