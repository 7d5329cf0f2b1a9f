"""IDoc-XML written as text is byte for byte what lxml writes for the element tree, and anything it cannot
vouch for goes to lxml, which refuses it with the error it always gave."""

from __future__ import annotations

import io
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from idocbridge.idoc import IDoc, IDocXmlError, Segment, idoc_to_element, write_idoc_xml
from idocbridge.idoc.idoc_xml_text import idoc_text
from idocbridge.idoc.names import xml_name


def _lxml_document(idocs: list[IDoc], name: str, pretty: bool) -> bytes:
    """The document as write_idoc_xml wrote it before idoc_xml_text: every IDoc through the element tree."""
    out = io.BytesIO()
    with etree.xmlfile(out, encoding="UTF-8") as document:
        document.write_declaration()
        with document.element(xml_name(name)):
            for idoc in idocs:
                element = idoc_to_element(idoc)
                if pretty:
                    etree.indent(element, space="  ", level=1)
                    document.write("\n  ")
                document.write(element)
            if pretty:
                document.write("\n")
    if pretty:
        out.write(b"\n")
    return out.getvalue()


def _outcome(write: Any) -> tuple[str, str] | bytes:
    try:
        return bytes(write())
    except (IDocXmlError, ValueError, TypeError) as exc:
        return type(exc).__name__, str(exc)


def _ours(idocs: list[IDoc], name: str, pretty: bool) -> bytes:
    out = io.BytesIO()
    write_idoc_xml(out, idocs, root_name=name, pretty=pretty)
    return out.getvalue()


_NAMES = st.one_of(
    st.sampled_from(["E1EDK01", "CURCY", "/ABC/Z1SEG", "_X", "A.B-C", "Z1", "1BAD", "-X", "Ä1", "A B", "a:b", ""]),
    st.text(st.characters(codec="ascii"), min_size=1, max_size=6),
)
_VALUES = st.one_of(st.text(max_size=12), st.sampled_from(["EUR", "a & b < c > d", "x\r\ny", "\x00", "\ud800", " x"]))


@st.composite
def _segments(draw: st.DrawFn, depth: int = 0) -> Segment:
    fields = draw(st.dictionaries(_NAMES, _VALUES, max_size=3))
    children = draw(st.lists(_segments(depth + 1), max_size=2)) if depth < 2 else []
    return Segment(draw(_NAMES), fields, children)


@st.composite
def _idocs(draw: st.DrawFn) -> IDoc:
    control = draw(st.dictionaries(st.sampled_from(["IDOCTYP", "MESTYP", "SNDPRN", "ARCKEY", "NOSUCH"]), _VALUES))
    control["IDOCTYP"] = "ZTEST01"
    return IDoc(control, draw(st.lists(_segments(), max_size=3)))


@settings(max_examples=200, deadline=None)
@given(st.lists(_idocs(), min_size=1, max_size=3), st.booleans())
def test_the_text_is_what_lxml_writes_or_lxml_refuses_it_as_before(idocs: list[IDoc], pretty: bool) -> None:
    ours = _outcome(lambda: _ours(idocs, "ZTEST01", pretty))
    assert ours == _outcome(lambda: _lxml_document(idocs, "ZTEST01", pretty))


@pytest.mark.parametrize("pretty", [True, False])
def test_an_empty_segment_closes_itself_and_special_characters_are_escaped(pretty: bool) -> None:
    idoc = IDoc({"IDOCTYP": "ZTEST01"}, [Segment("/ABC/Z1", {"T": "a & <b>\r"}, [Segment("Z2")])])
    text = idoc_text(idoc, pretty=pretty)
    assert text is not None
    assert '<_-ABC_-Z1 SEGMENT="1">' in text and '<Z2 SEGMENT="1"/>' in text
    assert "<T>a &amp; &lt;b&gt;&#13;</T>" in text
    assert _ours([idoc], "ZTEST01", pretty) == _lxml_document([idoc], "ZTEST01", pretty)


def test_what_it_cannot_vouch_for_is_left_to_lxml() -> None:
    assert idoc_text(IDoc({}, [Segment("Z1", {"T": "\x01"})]), pretty=True) is None
    assert idoc_text(IDoc({}, [Segment("1Z")]), pretty=True) is None
    assert idoc_text(IDoc({}, [Segment("Z1", {"Ä": "x"})]), pretty=True) is None
    with pytest.raises(IDocXmlError, match=r"segment Z1, field T: '\\x01' cannot be written as XML"):
        _ours([IDoc({"IDOCTYP": "ZTEST01"}, [Segment("Z1", {"T": "\x01"})])], "ZTEST01", True)
