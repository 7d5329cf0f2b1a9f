"""SOAP faults a person can act on: what went wrong, whose side it is on, and the transaction ID.

The fault code and the HTTP status follow the SOAP version the fault is written in:

* SOAP 1.1 (W3C Note, §4.4.1): ``VersionMismatch``, ``MustUnderstand``, ``Client``, ``Server``; every
  fault with HTTP 500 (§6.2; WS-I Basic Profile 1.1 R1126).
* SOAP 1.2 (Part 1 §5.4.6): ``VersionMismatch``, ``MustUnderstand``, ``DataEncodingUnknown``, ``Sender``,
  ``Receiver``; HTTP 400 for ``Sender``, 500 for every other code (Part 2 §7.5.2.2, Table 20).

A refusal at the HTTP level (:data:`HTTP_REFUSALS`: authentication, a body too large or too slow, a media
type that is not SOAP's, a busy service) keeps its own HTTP status and carries a fault for the person
reading it. A ``VersionMismatch`` fault names the envelopes the service takes in an ``Upgrade`` header
block (Part 1 §5.4.7), a ``MustUnderstand`` fault each header block it did not understand in a
``NotUnderstood`` header block (Part 1 §5.4.8), in either version. SOAP 1.1 keeps the ``detail`` of a
fault for the Body (§4.4): those two faults carry the service's fault element as a header entry instead.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

from lxml import etree

from idocbridge.soap.namespaces import FAULT_NS, SOAP11_ENV, SOAP12_ENV

__all__ = [
    "HTTP_REFUSALS",
    "MAX_FAULT_ERRORS",
    "FaultCode",
    "SoapFault",
    "fault_code",
    "fault_envelope",
    "http_status",
]

MAX_FAULT_ERRORS = 1000
"""Error lines a fault's detail carries at most: room for one line per IDoc of the largest request.
A MustUnderstand fault names at most as many header blocks."""

HTTP_REFUSALS = frozenset({401, 408, 413, 415, 503})
"""HTTP statuses of refusals at the HTTP level, before the body became a SOAP message the service processed
(authentication, a body too slow or too large, a media type that is not SOAP's, a busy service): such a
fault keeps its status. Any other status a fault names is not used: a SOAP fault's status follows from its
version and code (:func:`http_status`)."""

Side = Literal["client", "server"]
FaultCode = Literal["VersionMismatch", "MustUnderstand", "DataEncodingUnknown"]
Version = Literal["1.1", "1.2"]
_ENVELOPES: dict[Version, str] = {"1.1": SOAP11_ENV, "1.2": SOAP12_ENV}
_HEADER_FAULTS = frozenset({"VersionMismatch", "MustUnderstand"})
"""Codes of faults about the envelope or its header, never about the Body."""
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
"""A character XML 1.0 cannot carry (NUL, most control characters, lone surrogates, U+FFFE, U+FFFF)."""


def _text(value: str) -> str:
    """``value`` as XML text: a character XML cannot carry is written escaped (``\\x00``), so that a fault
    quoting a bad request or an SAP message can always be sent."""
    return _NOT_XML.sub(lambda match: match.group().encode("unicode_escape").decode("ascii"), value)


@dataclass
class SoapFault(Exception):
    """An error answered as a SOAP fault. ``side`` is client (fix the request) or server (try later / ask ops)."""

    reason: str
    side: Side = "client"
    status: int | None = None
    """The HTTP status of a refusal at the HTTP level (one of :data:`HTTP_REFUSALS`); None for a SOAP fault,
    whose status follows from its version and code."""
    key: str | None = None
    tid: str | None = None
    errors: list[str] = field(default_factory=list)
    code: FaultCode | None = None
    """A specific SOAP fault code instead of the side's (Client/Server, Sender/Receiver). SOAP 1.1 has no
    DataEncodingUnknown: there it is a Client fault."""
    state: str | None = None
    """The outbox state of the request's entry, once the request is committed to the outbox."""
    outbox_transaction: str | None = None
    """The transaction ID of the request that created the outbox entry (a first request's, for a repeat)."""
    upgrade: tuple[str, ...] = ()
    """The envelope namespaces the service takes, most preferred first: a VersionMismatch fault lists them in
    an Upgrade header block."""
    not_understood: tuple[str, ...] = ()
    """The header blocks (``{namespace}name``) a MustUnderstand fault names, one NotUnderstood header block each."""
    version: Version | None = None
    """The SOAP version to answer in whatever the request's media type said: a VersionMismatch fault is written
    as SOAP 1.1 for a sender of SOAP 1.1 (SOAP 1.2 Part 1, Appendix A)."""

    def __str__(self) -> str:
        return self.reason


def fault_code(fault: SoapFault, version: Version) -> str:
    """The local name of the fault's code in ``version``'s envelope namespace."""
    if fault.code == "DataEncodingUnknown" and version == "1.1":
        return "Client"
    if fault.code is not None:
        return fault.code
    if version == "1.1":
        return "Client" if fault.side == "client" else "Server"
    return "Sender" if fault.side == "client" else "Receiver"


def http_status(fault: SoapFault, version: Version) -> int:
    """The HTTP status answering ``fault`` in ``version``: a refusal at the HTTP level keeps its own; otherwise
    500, except 400 for a SOAP 1.2 Sender fault."""
    if fault.status in HTTP_REFUSALS:
        return fault.status
    return 400 if fault_code(fault, version) == "Sender" else 500


def fault_envelope(fault: SoapFault, version: Version, transaction_id: str) -> bytes:
    """The fault as a SOAP 1.1 or 1.2 envelope; the service's fault element names the transaction (and key,
    TID, outbox state)."""
    env = _ENVELOPES[version]
    code = fault_code(fault, version)
    envelope = etree.Element(f"{{{env}}}Envelope", nsmap={"soap": env})
    # Upgrade and NotUnderstood are SOAP 1.2's elements, in a SOAP 1.1 fault too
    header = etree.SubElement(envelope, f"{{{env}}}Header", nsmap={"soap12": SOAP12_ENV} if version == "1.1" else {})
    if fault.code == "VersionMismatch":
        _upgrade(header, fault.upgrade)
    if fault.code == "MustUnderstand":
        for name in dict.fromkeys(fault.not_understood[:MAX_FAULT_ERRORS]):
            _with_qname(header, f"{{{SOAP12_ENV}}}NotUnderstood", name)
    body = etree.SubElement(envelope, f"{{{env}}}Body")
    node = etree.SubElement(body, f"{{{env}}}Fault")
    reason = _text(f"{fault.reason} (transaction {transaction_id})")
    if version == "1.1":
        etree.SubElement(node, "faultcode").text = f"soap:{code}"
        etree.SubElement(node, "faultstring").text = reason
        # SOAP 1.1 §4.4: a detail says the Body was processed; information about the envelope or a header
        # block goes into header entries.
        detail = header if code in _HEADER_FAULTS else etree.SubElement(node, "detail")
    else:
        code_node = etree.SubElement(node, f"{{{env}}}Code")
        etree.SubElement(code_node, f"{{{env}}}Value").text = f"soap:{code}"
        text = etree.SubElement(etree.SubElement(node, f"{{{env}}}Reason"), f"{{{env}}}Text")
        text.text = reason
        text.set("{http://www.w3.org/XML/1998/namespace}lang", "en")
        detail = etree.SubElement(node, f"{{{env}}}Detail")
    info = etree.SubElement(detail, f"{{{FAULT_NS}}}fault", nsmap={"idb": FAULT_NS})
    etree.SubElement(info, f"{{{FAULT_NS}}}transactionId").text = transaction_id
    if fault.key:
        etree.SubElement(info, f"{{{FAULT_NS}}}key").text = _text(fault.key)
    if fault.tid:
        etree.SubElement(info, f"{{{FAULT_NS}}}tid").text = _text(fault.tid)
    if fault.state:
        etree.SubElement(info, f"{{{FAULT_NS}}}state").text = _text(fault.state)
    if fault.outbox_transaction:
        etree.SubElement(info, f"{{{FAULT_NS}}}outboxTransactionId").text = _text(fault.outbox_transaction)
    for error in fault.errors[:MAX_FAULT_ERRORS]:
        etree.SubElement(info, f"{{{FAULT_NS}}}error").text = _text(error)
    if len(header) == 0:
        envelope.remove(header)
    return etree.tostring(envelope, xml_declaration=True, encoding="UTF-8")


def _upgrade(header: etree._Element, envelopes: tuple[str, ...]) -> None:
    """The Upgrade header block (SOAP 1.2 Part 1 §5.4.7; in a SOAP 1.1 fault too, as its Appendix A shows)."""
    upgrade = etree.SubElement(header, f"{{{SOAP12_ENV}}}Upgrade")
    for namespace in envelopes:
        _with_qname(upgrade, f"{{{SOAP12_ENV}}}SupportedEnvelope", f"{{{namespace}}}Envelope")


def _with_qname(parent: etree._Element, tag: str, name: str) -> None:
    """A ``tag`` child of ``parent`` whose ``qname`` attribute names ``name`` (``{namespace}local``), declaring
    a prefix for its namespace where none is in scope. A name without a namespace is written without a prefix:
    no default namespace is declared in a fault envelope."""
    qname = etree.QName(name)
    if not qname.namespace:
        etree.SubElement(parent, tag).set("qname", qname.localname)
        return
    prefix = next((key for key, uri in parent.nsmap.items() if key and uri == qname.namespace), None)
    nsmap = {} if prefix else {"ns": qname.namespace}
    etree.SubElement(parent, tag, nsmap=nsmap).set("qname", f"{prefix or 'ns'}:{qname.localname}")
