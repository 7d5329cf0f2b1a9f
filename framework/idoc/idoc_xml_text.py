"""IDoc-XML written as text: how :func:`~idocbridge.idoc.idoc_xml.write_idoc_xml` serialises an IDoc without
building its element tree, byte for byte what lxml writes for
:func:`~idocbridge.idoc.idoc_xml.idoc_to_element` (indented as ``etree.indent`` indents it).

It writes only what it can vouch for: names that are plainly valid XML names (letters, digits, ``_``,
``-`` and ``.``, not starting with a digit, ``-`` or ``.``), and text of characters XML 1.0 holds, with
``&``, ``<``, ``>`` and carriage returns escaped as libxml2 escapes them. For anything else (a character
XML cannot hold, another name) :func:`idoc_text` returns None and the writer builds the element with lxml,
which refuses it with the same error as ever.
"""

from __future__ import annotations

import re

from idocbridge.idoc.document import IDoc, Segment
from idocbridge.idoc.records import CONTROL_RECORD, CONTROL_TABNAM

__all__ = ["idoc_text"]

_PLAIN_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*\Z")
_REFUSED = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
"""The characters lxml refuses in text (XML 1.0 cannot hold them)."""
_ESCAPED = re.compile("[&<>\r]")
_TAGS: dict[str, str | None] = {}
"""XML element names by SAP name (None: not plainly valid); a few hundred at most, capped at _TAGS_LIMIT."""
_TAGS_LIMIT = 4096


def _tag(name: str) -> str | None:
    tag = _TAGS.get(name, "")
    if tag == "":
        xml = name.replace("/", "_-")
        tag = xml if _PLAIN_NAME.match(xml) else None
        if len(_TAGS) < _TAGS_LIMIT:
            _TAGS[name] = tag
    return tag


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\r", "&#13;")


class _NotPlain(Exception):
    """A name this module does not vouch for: lxml decides."""


def idoc_text(idoc: IDoc, *, pretty: bool) -> str | None:
    """The ``<IDOC>`` element of ``idoc`` as lxml serialises it (indented for level 1 if ``pretty``), or None
    where lxml has to decide (a name that is not plainly valid, a character XML cannot hold)."""
    try:
        text, values = _text(idoc, pretty, escape=False)
        if _REFUSED.search(values):
            return None
        if _ESCAPED.search(values):
            text, _ = _text(idoc, pretty, escape=True)
    except (_NotPlain, TypeError):  # TypeError: a value that is not text
        return None
    return text


def _text(idoc: IDoc, pretty: bool, *, escape: bool) -> tuple[str, str]:
    """The element's text and all its values (to check them once)."""
    step = "  " if pretty else ""
    outer = "\n  " if pretty else ""
    inner = outer + step
    parts = ['<IDOC BEGIN="1">', inner, '<EDI_DC40 SEGMENT="1">']
    values: list[str] = []
    field_pad = inner + step
    control = {"TABNAM": CONTROL_TABNAM, **idoc.control}
    for name in CONTROL_RECORD.names:
        value = control.get(name)
        if value:
            values.append(value)
            parts.append(f"{field_pad}<{name}>{_escape(value) if escape else value}</{name}>")
    parts.append(f"{inner}</EDI_DC40>")
    for segment in idoc.segments:
        parts.append(inner)
        _segment(segment, inner, step, parts, values, escape)
    parts.append(f"{outer}</IDOC>")
    return "".join(parts), "".join(values)


def _segment(segment: Segment, pad: str, step: str, parts: list[str], values: list[str], escape: bool) -> None:
    tag = _tag(segment.type)
    if tag is None:
        raise _NotPlain(segment.type)
    inner = pad + step
    start = len(parts)
    parts.append(f'<{tag} SEGMENT="1">')
    for name, value in segment.fields.items():
        if value:
            field = _tag(name)
            if field is None:
                raise _NotPlain(name)
            values.append(value)
            parts.append(f"{inner}<{field}>{_escape(value) if escape else value}</{field}>")
    for child in segment.children:
        parts.append(inner)
        _segment(child, inner, step, parts, values, escape)
    if len(parts) == start + 1:
        parts[start] = f'<{tag} SEGMENT="1"/>'
    else:
        parts.append(f"{pad}</{tag}>")
