"""The MessageId of a request: the service's own ``MessageId`` header or WS-Addressing ``wsa:MessageID``.

Nothing that looks like a message ID is ignored: a MessageId in another namespace or spelled otherwise
(``MessageID``, ``messageId`` in the service's namespace), a header given twice, or two different IDs
are client faults, because a client that believes it sent an ID must never be treated as one that did
not. A nil header (``xsi:nil="true"``) is absent; an empty one is a client fault.

Every WS-Addressing client sends ``wsa:MessageID`` with each request-reply message, so on an operation
that cannot honour a MessageId it identifies the message only (:attr:`MessageId.wsa_only`); the
service's own ``MessageId`` header there is refused by the app.
"""

from __future__ import annotations

from dataclasses import dataclass

from lxml import etree

from idocbridge.soap.faults import SoapFault
from idocbridge.soap.namespaces import WSA, XSI

__all__ = ["MAX_MESSAGE_ID", "MessageId", "message_id"]

MAX_MESSAGE_ID = 120
"""The longest MessageId, in characters (the outbox keeps it with the entry)."""


@dataclass(frozen=True)
class MessageId:
    """The request's message ID, and whether only WS-Addressing carried it."""

    value: str
    wsa_only: bool


def message_id(header: etree._Element | None, namespace: str) -> MessageId | None:
    """The request's message ID from its SOAP ``header`` (None without one); SoapFault for what is unclear.

    Header blocks other than the two message IDs are not this function's: the envelope's reading has refused
    those marked mustUnderstand for the service (:func:`idocbridge.soap.envelope.parse_request`).
    """
    if header is None:
        return None
    accepted = {f"{{{namespace}}}MessageId": "MessageId", f"{{{WSA}}}MessageID": "wsa:MessageID"}
    found: dict[str, list[etree._Element]] = {tag: [] for tag in accepted}
    for block in header:
        if not isinstance(block.tag, str):
            continue
        if block.tag in found:
            found[block.tag].append(block)
            continue
        qname = etree.QName(block)
        where = f"namespace {qname.namespace}" if qname.namespace else "no namespace"
        if _looks_like_message_id(qname.localname):
            raise SoapFault(f"header {qname.localname} in {where} is not understood here: send the message ID as "
                            f"MessageId in namespace {namespace} or as MessageID in namespace {WSA}")  # fmt: skip
    values: dict[str, str] = {}
    for tag, blocks in found.items():
        if len(blocks) > 1:
            raise SoapFault(f"the request has {len(blocks)} {accepted[tag]} headers; send one")
        value = _value(blocks[0], accepted[tag]) if blocks else None
        if value is not None:
            values[accepted[tag]] = value
    if len(set(values.values())) > 1:
        shown = " and ".join(f"{name} {value!r}" for name, value in values.items())
        raise SoapFault(f"the request has two different message IDs ({shown}): send one, or the same in both")
    if not values:
        return None
    return MessageId(next(iter(values.values())), "MessageId" not in values)


def _looks_like_message_id(name: str) -> bool:
    return name.lower().replace("-", "").replace("_", "") == "messageid"


def _value(block: etree._Element, name: str) -> str | None:
    """The ID a header block holds; None when it is nil."""
    text = (block.text or "").strip()
    if any(isinstance(child.tag, str) for child in block):
        raise SoapFault(f"the {name} header holds elements; it holds the message ID as text")
    if block.get(f"{{{XSI}}}nil") in ("true", "1"):
        if text:
            raise SoapFault(f"the {name} header is nil and holds {text!r}: send one of the two")
        return None
    if not text:
        raise SoapFault(f"the {name} header is empty: send the message ID in it, or leave the header out "
                        "(or mark it xsi:nil=\"true\") for a request without one")  # fmt: skip
    if len(text) > MAX_MESSAGE_ID:
        raise SoapFault(f"the {name} header holds 1 to {MAX_MESSAGE_ID} characters, not {len(text)}")
    return text
