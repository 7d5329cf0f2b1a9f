"""Read SOAP request envelopes safely and write response envelopes.

Parsing refuses DTDs and entities before the parser runs, resolves nothing and reads no network, and
holds every request within :class:`RequestLimits` (see :mod:`idocbridge.soap.xml_limits`). The
envelope itself is strict: an optional Header, then exactly one Body holding exactly one element, and
nothing else. Every refusal is a :class:`SoapFault` on the client's side.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from lxml import etree

from idocbridge.soap.faults import SoapFault
from idocbridge.soap.namespaces import SOAP11_ENV, SOAP12_ENV
from idocbridge.soap.xml_limits import RequestLimits, read_xml

__all__ = ["Request", "RequestLimits", "parse_request", "response_envelope"]

_DOCTYPE = re.compile(rb"<!DOCTYPE|<!ENTITY", re.IGNORECASE)
_VERSIONS: dict[str, Literal["1.1", "1.2"]] = {SOAP11_ENV: "1.1", SOAP12_ENV: "1.2"}


@dataclass(frozen=True)
class Request:
    version: Literal["1.1", "1.2"]
    payload: etree._Element  # the first child of the Body: the operation's wrapper element
    header: etree._Element | None = None


def _client(reason: str) -> SoapFault:
    return SoapFault(reason, "client", 400)


def _local(element: etree._Element) -> str:
    return str(element.tag).rpartition("}")[2]


def parse_request(body: bytes, limits: RequestLimits | None = None) -> Request:
    """The SOAP version, header and payload of a request body, read within ``limits``."""
    if _DOCTYPE.search(body):
        raise _client("DTDs and entities are not allowed in requests")
    root = read_xml(body, limits or RequestLimits())
    if root.getroottree().docinfo.doctype:  # a DOCTYPE the byte check missed (e.g. in UTF-16)
        raise _client("DTDs and entities are not allowed in requests")
    qname = etree.QName(root)
    version = _VERSIONS.get(qname.namespace or "")
    if qname.localname != "Envelope" or version is None:
        raise _client("the request is not a SOAP 1.1 or 1.2 Envelope")
    return _envelope(root, version)


def _envelope(root: etree._Element, version: Literal["1.1", "1.2"]) -> Request:
    """Header and Body of an Envelope: an optional Header first, then one Body, nothing else (no text either)."""
    env = etree.QName(root).namespace
    children = [child for child in root if isinstance(child.tag, str)]
    for child in children:
        if etree.QName(child).namespace != env or etree.QName(child).localname not in ("Header", "Body"):
            raise _client(f"the SOAP envelope holds {_local(child)[:80]}: an Envelope holds a Header and a Body of "
                          f"its own namespace {env}, nothing else")  # fmt: skip
    _no_text(root, "Envelope")
    names = [_local(child) for child in children]
    if names.count("Header") > 1:
        raise _client(f"the SOAP envelope has {names.count('Header')} Header elements; it may have one")
    if names.count("Body") > 1:
        raise _client(f"the SOAP envelope has {names.count('Body')} Body elements; it must have exactly one")
    if names and names[-1] == "Header" and "Body" in names:
        raise _client("the SOAP Header must come before the Body")
    if "Body" not in names:
        raise _client("the SOAP envelope has no Body")
    header = children[0] if names[0] == "Header" else None
    body_element = children[-1]
    _no_text(body_element, "Body")
    payload = [child for child in body_element if isinstance(child.tag, str)]
    if len(payload) != 1:
        raise _client(f"the SOAP Body holds {len(payload)} elements; it must hold exactly one operation element")
    return Request(version, payload[0], header)


def _no_text(element: etree._Element, name: str) -> None:
    """Refuse text directly in ``element`` (white space aside): SOAP's Envelope and Body hold elements only."""
    texts = [element.text, *(child.tail for child in element)]
    if any(text and text.strip() for text in texts):
        raise _client(f"the SOAP {name} holds text; it holds elements only")


def response_envelope(payload: etree._Element, version: Literal["1.1", "1.2"]) -> bytes:
    env = SOAP11_ENV if version == "1.1" else SOAP12_ENV
    envelope = etree.Element(f"{{{env}}}Envelope", nsmap={"soap": env})
    etree.SubElement(envelope, f"{{{env}}}Body").append(payload)
    return etree.tostring(envelope, xml_declaration=True, encoding="UTF-8")
