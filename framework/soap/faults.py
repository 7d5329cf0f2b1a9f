"""SOAP faults a person can act on: what went wrong, whose side it is on, and the transaction ID."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

from lxml import etree

from idocbridge.soap.namespaces import FAULT_NS, SOAP11_ENV, SOAP12_ENV

__all__ = ["MAX_FAULT_ERRORS", "SoapFault", "fault_envelope"]

MAX_FAULT_ERRORS = 1000
"""Error lines a fault's detail carries at most: room for one line per IDoc of the largest request."""

Side = Literal["client", "server"]
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
    status: int = 500
    key: str | None = None
    tid: str | None = None
    errors: list[str] = field(default_factory=list)
    code: str | None = None
    """A specific SOAP fault code instead of Client/Server (e.g. MustUnderstand)."""
    state: str | None = None
    """The outbox state of the request's entry, once the request is committed to the outbox."""
    outbox_transaction: str | None = None
    """The transaction ID of the request that created the outbox entry (a first request's, for a repeat)."""

    def __str__(self) -> str:
        return self.reason


def fault_envelope(fault: SoapFault, version: Literal["1.1", "1.2"], transaction_id: str) -> bytes:
    """The fault as a SOAP 1.1 or 1.2 envelope; the detail names the transaction (and key, TID, outbox state)."""
    env = SOAP11_ENV if version == "1.1" else SOAP12_ENV
    envelope = etree.Element(f"{{{env}}}Envelope", nsmap={"soap": env})
    body = etree.SubElement(envelope, f"{{{env}}}Body")
    node = etree.SubElement(body, f"{{{env}}}Fault")
    reason = _text(f"{fault.reason} (transaction {transaction_id})")
    if version == "1.1":
        code = fault.code or ("Client" if fault.side == "client" else "Server")
        etree.SubElement(node, "faultcode").text = f"soap:{code}"
        etree.SubElement(node, "faultstring").text = reason
        detail = etree.SubElement(node, "detail")
    else:
        code_node = etree.SubElement(node, f"{{{env}}}Code")
        value = fault.code or ("Sender" if fault.side == "client" else "Receiver")
        etree.SubElement(code_node, f"{{{env}}}Value").text = f"soap:{value}"
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
    return etree.tostring(envelope, xml_declaration=True, encoding="UTF-8")
