"""Read SOAP request envelopes safely and write response envelopes.

Parsing refuses DTDs and entities before the parser runs, resolves nothing and reads no network, and
holds every request within :class:`RequestLimits` (see :mod:`idocbridge.soap.xml_limits`). The
envelope itself is strict: an optional Header, then exactly one Body holding exactly one element, and
nothing else. A refusal is a :class:`SoapFault` on the client's side.

The request's media type chooses the SOAP version the service answers in (text/xml for SOAP 1.1,
application/soap+xml for SOAP 1.2; SOAP 1.2 Part 2 §7.1.4), and the envelope must be of that version: any
other root element is a VersionMismatch fault (SOAP 1.1 §4.1.2; SOAP 1.2 Part 1 §2.8, §5.4.7), written as
SOAP 1.1 for a SOAP 1.1 envelope or a text/xml request (SOAP 1.2 Part 1, Appendix A).

Header blocks are processed as SOAP's processing model says (SOAP 1.1 §4.2.2-4.2.3; SOAP 1.2 Part 1 §2.2,
§2.6, §5.2): a block targeted at the service (SOAP 1.1: no actor, or actor ``next``; SOAP 1.2: no role, or
role ``next`` or ``ultimateReceiver``) and marked mustUnderstand that the service does not understand makes
the request a MustUnderstand fault naming every such block, before anything of the Body is looked at; a
block targeted elsewhere (role ``none`` included) is never processed.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass
from typing import Literal

from lxml import etree

from idocbridge.soap.faults import MAX_FAULT_ERRORS, SoapFault
from idocbridge.soap.namespaces import SOAP11_ENV, SOAP12_ENV
from idocbridge.soap.xml_limits import RequestLimits, read_xml

__all__ = ["Request", "RequestLimits", "parse_request", "response_envelope"]

Version = Literal["1.1", "1.2"]
_DOCTYPE = re.compile(rb"<!DOCTYPE|<!ENTITY", re.IGNORECASE)
_VERSIONS: dict[str, Version] = {SOAP11_ENV: "1.1", SOAP12_ENV: "1.2"}
_ENVELOPES: dict[Version, str] = {"1.1": SOAP11_ENV, "1.2": SOAP12_ENV}
_MEDIA_TYPES: dict[Version, str] = {"1.1": "text/xml", "1.2": "application/soap+xml"}
_ACTOR_NEXT = "http://schemas.xmlsoap.org/soap/actor/next"
_ROLES = "http://www.w3.org/2003/05/soap-envelope/role/"
_TARGETED: dict[Version, frozenset[str]] = {
    "1.1": frozenset({_ACTOR_NEXT}),
    "1.2": frozenset({f"{_ROLES}next", f"{_ROLES}ultimateReceiver"}),
}
"""The actors (SOAP 1.1) and roles (SOAP 1.2) the service plays, besides the one an absent attribute means."""
_MUST_UNDERSTAND: dict[Version, dict[str, bool]] = {
    "1.1": {"1": True, "0": False},  # SOAP 1.1 §4.2.3; WS-I Basic Profile 1.1 R1013
    "1.2": {"true": True, "1": True, "false": False, "0": False},  # xs:boolean, SOAP 1.2 Part 1 §5.2.3
}
_NO_ENCODING: dict[Version, str] = {"1.1": "", "1.2": "http://www.w3.org/2003/05/soap-envelope/encoding/none"}
"""The encodingStyle that claims no encoding (SOAP 1.1 §4.1.1; SOAP 1.2 Part 1 §5.1.1)."""
_ENCODED = {
    version: etree.XPath("descendant-or-self::*[@e:encodingStyle]", namespaces={"e": env})
    for version, env in _ENVELOPES.items()
}


@dataclass(frozen=True)
class Request:
    version: Version
    payload: etree._Element  # the first child of the Body: the operation's wrapper element
    header: etree._Element | None = None
    """The Header with the header blocks targeted at the service; blocks for other actors or roles are left out."""


def _client(reason: str) -> SoapFault:
    return SoapFault(reason)


def _local(element: etree._Element) -> str:
    return str(element.tag).rpartition("}")[2]


def _named(name: str) -> str:
    """``{namespace}local`` as a person reads it: ``local in namespace N`` (names cut short where very long)."""
    qname = etree.QName(name)
    where = f"namespace {qname.namespace[:200]}" if qname.namespace else "no namespace"
    return f"{qname.localname[:80]} in {where}"


def parse_request(body: bytes, limits: RequestLimits | None = None, media: Version = "1.1",
                  understood: Collection[str] = ()) -> Request:  # fmt: skip
    """The SOAP version, header and payload of a request body, read within ``limits``.

    ``media`` is the SOAP version the request's media type names; ``understood`` are the header blocks
    (``{namespace}name``) the service processes."""
    if _DOCTYPE.search(body):
        raise _client("DTDs and entities are not allowed in requests")
    root = read_xml(body, limits or RequestLimits())
    if root.getroottree().docinfo.doctype:  # a DOCTYPE the byte check missed (e.g. in UTF-16)
        raise _client("DTDs and entities are not allowed in requests")
    qname = etree.QName(root)
    version = _VERSIONS.get(qname.namespace or "") if qname.localname == "Envelope" else None
    if version != media:
        raise _version_mismatch(qname, version, media)
    request = _envelope(root, media)
    _check_header(request, understood)
    _check_encoding(request, understood)
    return request


def _version_mismatch(qname: etree.QName, version: Version | None, media: Version) -> SoapFault:
    """The VersionMismatch fault for a root element that is not ``media``'s Envelope.

    It lists both envelopes in its Upgrade block, the one of the request's media type first."""
    other: Version = "1.2" if media == "1.1" else "1.1"
    upgrade = (_ENVELOPES[media], _ENVELOPES[other])
    send = (f"send SOAP 1.1 envelopes (namespace {SOAP11_ENV}) as text/xml and SOAP 1.2 envelopes (namespace "
            f"{SOAP12_ENV}) as application/soap+xml")  # fmt: skip
    if version is not None:
        reason = (f"the request is a SOAP {version} envelope sent as {_MEDIA_TYPES[media]}, the media type of SOAP "
                  f"{media}: {send}")  # fmt: skip
    else:
        name = _named(qname.text)
        reason = f"the request's root element is {name}, not a SOAP 1.1 or 1.2 Envelope: {send}"
    # SOAP 1.2 Part 1 Appendix A: a sender of SOAP 1.1 (its envelope or its media type) gets a SOAP 1.1 fault
    answer: Version = "1.2" if media == "1.2" and version is None else "1.1"
    return SoapFault(reason, code="VersionMismatch", upgrade=upgrade, version=answer)


def _envelope(root: etree._Element, version: Version) -> Request:
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
    if version == "1.2":  # SOAP 1.2 Part 1 §5.1.1: encodingStyle belongs on header blocks and Body children
        for element in (root, body_element) if header is None else (root, header, body_element):
            if element.get(f"{{{env}}}encodingStyle") is not None:
                raise _client(f"the SOAP {_local(element)} has an encodingStyle attribute; SOAP 1.2 allows it only "
                              "on header blocks and the element in the Body")  # fmt: skip
    payload = [child for child in body_element if isinstance(child.tag, str)]
    if len(payload) != 1:
        raise _client(f"the SOAP Body holds {len(payload)} elements; it must hold exactly one operation element")
    return Request(version, payload[0], header)


def _no_text(element: etree._Element, name: str) -> None:
    """Refuse text directly in ``element`` (white space aside): SOAP's Envelope and Body hold elements only."""
    texts = [element.text, *(child.tail for child in element)]
    if any(text and text.strip() for text in texts):
        raise _client(f"the SOAP {name} holds text; it holds elements only")


def _check_header(request: Request, understood: Collection[str]) -> None:
    """Leave out of the Header the blocks targeted elsewhere; a MustUnderstand fault for targeted blocks marked
    mustUnderstand that the service does not understand."""
    header = request.header
    if header is None:
        return
    not_understood: list[str] = []
    elsewhere: list[etree._Element] = []
    for block in header:
        if not isinstance(block.tag, str):
            continue
        if not _targeted(block, request.version):
            elsewhere.append(block)
            continue
        if _must_understand(block, request.version) and block.tag not in understood:
            not_understood.append(str(block.tag))
    for block in elsewhere:
        header.remove(block)
    if not not_understood:
        return
    names = list(dict.fromkeys(not_understood))
    shown = "; ".join(_named(name) for name in names[:5]) + (f"; and {len(names) - 5} more" if len(names) > 5 else "")
    blocks, them = ("header blocks", "them") if len(names) > 1 else ("header block", "it")
    processed = " and ".join(_named(name) for name in understood) or "none"
    raise SoapFault(f"the request's {blocks} {shown} must be understood (mustUnderstand), and this service does not "
                    f"process {them}: it processes the header blocks {processed}; send the request without {them}, "
                    f"or without mustUnderstand on {them}", code="MustUnderstand",
                    not_understood=tuple(names[:MAX_FAULT_ERRORS]))  # fmt: skip


def _targeted(block: etree._Element, version: Version) -> bool:
    """Whether ``block`` is for the service: for the ultimate receiver or the next node on the message's path."""
    env = _ENVELOPES[version]
    target = block.get(f"{{{env}}}actor" if version == "1.1" else f"{{{env}}}role")
    return target is None or target.strip() in _TARGETED[version]


def _must_understand(block: etree._Element, version: Version) -> bool:
    """Whether ``block`` is marked mustUnderstand; a client fault for a value the SOAP version does not define."""
    value = block.get(f"{{{_ENVELOPES[version]}}}mustUnderstand")
    if value is None:
        return False
    meaning = _MUST_UNDERSTAND[version].get(value.strip())
    if meaning is None:
        allowed = " or ".join(f'"{value}"' for value in _MUST_UNDERSTAND[version])
        raise _client(f"the header block {_named(str(block.tag))} has mustUnderstand=\"{value[:20]}\"; SOAP "
                      f"{version} takes {allowed}")  # fmt: skip
    return meaning


def _check_encoding(request: Request, understood: Collection[str]) -> None:
    """Refuse an encodingStyle claiming an encoding for what the service processes (the element in the Body and
    the header blocks it understands): the service reads literal XML, as its schema describes."""
    version = request.version
    blocks = [block for block in request.header if block.tag in understood] if request.header is not None else []
    for part in (*blocks, request.payload):
        for element in _ENCODED[version](part):
            style = element.get(f"{{{_ENVELOPES[version]}}}encodingStyle", "").strip()
            if style != _NO_ENCODING[version]:
                raise SoapFault(f"the request's {_local(element)[:80]} element is encoded as {style[:200]} "
                                "(encodingStyle); this service takes literal XML as its schema describes: send it "
                                "without encodingStyle", code="DataEncodingUnknown")  # fmt: skip


def response_envelope(payload: etree._Element, version: Version) -> bytes:
    env = SOAP11_ENV if version == "1.1" else SOAP12_ENV
    envelope = etree.Element(f"{{{env}}}Envelope", nsmap={"soap": env})
    etree.SubElement(envelope, f"{{{env}}}Body").append(payload)
    return etree.tostring(envelope, xml_declaration=True, encoding="UTF-8")
