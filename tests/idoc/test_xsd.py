"""idoc_xsd: the XML Schema of an IDoc type's IDoc-XML accepts valid documents and names what is wrong."""

from __future__ import annotations

import re
from xml.sax.saxutils import escape

import pytest
from hypothesis import given
from hypothesis import strategies as st
from lxml import etree

from idocbridge.idoc import (
    TXTRAW01,
    FieldDefinition,
    GroupDefinition,
    IDocType,
    Node,
    SegmentDefinition,
    idoc_xsd,
    read_parser_file,
)
from idocbridge.idoc.names import sap_name, xml_name
from idocbridge.idoc.records import CONTROL_RECORD
from tests.conftest import ROOT
from tests.idoc.conftest import SAPIDOC, external


def _field(name: str, length: int, offset: int) -> FieldDefinition:
    return FieldDefinition(name, name.title(), "CHARACTER", length, 1 + offset, offset)


def _zxsd(extension: str | None = None) -> IDocType:
    """ZXSD01: Z1HEAD 1..1 (DOCNO 10, /ABC/REF 5); group 1 (mandatory 1..3) of Z1ITEM (POSNR 6) with
    /ABC/Z1SEG (optional 2..4, /ABC/NOTE 4) and Z1SCHED (mandatory 1..2, QTY 5); Z1SUM (optional 1..1)."""
    note = SegmentDefinition("/ABC/Z2SEG", "/ABC/Z1SEG", 3, False, 2, 4, fields=(_field("/ABC/NOTE", 4, 0),))
    sched = SegmentDefinition("Z2SCHED", "Z1SCHED", 3, True, 1, 2, fields=(_field("QTY", 5, 0),))
    item = SegmentDefinition("Z2ITEM", "Z1ITEM", 2, True, 1, 1, fields=(_field("POSNR", 6, 0),), children=(note, sched))
    segments: tuple[Node, ...] = (
        SegmentDefinition(
            "Z2HEAD", "Z1HEAD", 1, True, 1, 1, fields=(_field("DOCNO", 10, 0), _field("/ABC/REF", 5, 10))
        ),
        GroupDefinition(1, 2, True, 1, 3, (item,)),
        SegmentDefinition("Z2SUM", "Z1SUM", 2, False, 1, 1, fields=(_field("TOTAL", 3, 0),)),
    )
    return IDocType("ZXSD01", extension, segments)


ZXSD = _zxsd()


def _schema(idoc_type: IDocType) -> etree.XMLSchema:
    return etree.XMLSchema(etree.fromstring(idoc_xsd(idoc_type).encode("utf-8")))


def _control(idoctyp: str, mestyp: str = "ZXSD", *, cimtyp: str = "", skip: str = "", direct: str = "2") -> str:
    values = {
        "TABNAM": "EDI_DC40",
        "DIRECT": direct,
        "IDOCTYP": idoctyp,
        "CIMTYP": cimtyp,
        "MESTYP": mestyp,
        "SNDPOR": "XMLPORT",
        "SNDPRT": "LS",
        "SNDPRN": "EXTERNAL",
        "RCVPOR": "SAPSIM",
        "RCVPRT": "LS",
        "RCVPRN": "SIMCLNT001",
    }
    fields = "".join(f"<{name}>{value}</{name}>" for name, value in values.items() if value and name != skip)
    return f'<EDI_DC40 SEGMENT="1">{fields}</EDI_DC40>'


def _doc(segments: str, root: str = "ZXSD01", control: str | None = None) -> str:
    return f'<{root}><IDOC BEGIN="1">{control or _control("ZXSD01")}{segments}</IDOC></{root}>'


def _errors(schema: etree.XMLSchema, document: str) -> list[str]:
    if schema.validate(etree.fromstring(document.encode("utf-8"))):
        return []
    return [entry.message for entry in schema.error_log]


HEAD = '<Z1HEAD SEGMENT="1"><DOCNO>4711</DOCNO><_-ABC_-REF>R1</_-ABC_-REF></Z1HEAD>'
SCHED = '<Z1SCHED SEGMENT="1"><QTY>5</QTY></Z1SCHED>'
NOTE = '<_-ABC_-Z1SEG SEGMENT="1"><_-ABC_-NOTE>n</_-ABC_-NOTE></_-ABC_-Z1SEG>'


def _item(inner: str = SCHED, posnr: str = "000010") -> str:
    return f'<Z1ITEM SEGMENT="1"><POSNR>{posnr}</POSNR>{inner}</Z1ITEM>'


@pytest.fixture(scope="module")
def zxsd() -> etree.XMLSchema:
    return _schema(ZXSD)


@pytest.mark.parametrize(
    "segments",
    [
        HEAD + _item(),
        '<Z1HEAD SEGMENT="1"/>' + '<Z1ITEM SEGMENT="1"><Z1SCHED SEGMENT="1"/></Z1ITEM>',
        HEAD + _item(NOTE * 2 + SCHED * 2) + _item(NOTE * 4 + SCHED) + _item() + '<Z1SUM SEGMENT="1"/>',
        '<Z1HEAD SEGMENT="1"><_-ABC_-REF>  R</_-ABC_-REF></Z1HEAD>' + _item(),
    ],
    ids=["minimal", "no-fields", "everything", "only-a-later-field"],
)
def test_valid_documents_pass(zxsd: etree.XMLSchema, segments: str) -> None:
    assert _errors(zxsd, _doc(segments)) == []


def test_several_idocs_in_one_document(zxsd: etree.XMLSchema) -> None:
    idoc = f'<IDOC BEGIN="1">{_control("ZXSD01")}{HEAD}{_item()}</IDOC>'
    assert _errors(zxsd, f"<ZXSD01>{idoc}{idoc}</ZXSD01>") == []
    assert _errors(zxsd, "<ZXSD01/>") == ["Element 'ZXSD01': Missing child element(s). Expected is ( IDOC )."]


def _assert_invalid(schema: etree.XMLSchema, document: str, element: str, reason: str) -> None:
    errors = _errors(schema, document)
    assert errors, "the document passed"
    assert any(f"Element '{element}'" in error and reason in error for error in errors), errors


def test_unknown_segment_fails(zxsd: etree.XMLSchema) -> None:
    document = _doc(HEAD + '<Z2BOGUS SEGMENT="1"/>' + _item())
    _assert_invalid(zxsd, document, "Z2BOGUS", "This element is not expected")


def test_unknown_field_fails(zxsd: etree.XMLSchema) -> None:
    document = _doc('<Z1HEAD SEGMENT="1"><BOGUS>x</BOGUS></Z1HEAD>' + _item())
    _assert_invalid(zxsd, document, "BOGUS", "This element is not expected")


@pytest.mark.parametrize(
    ("segments", "element"),
    [
        (HEAD + SCHED + _item(), "Z1SCHED"),  # a child segment at the top level
        (HEAD + '<Z1SUM SEGMENT="1"/>' + _item(), "Z1SUM"),  # before the group it must follow
        (HEAD + _item(SCHED + NOTE * 2), "_-ABC_-Z1SEG"),  # after a sibling that must follow it
        (HEAD + _item() + '<Z1SUM SEGMENT="1"/>' + _item(), "Z1ITEM"),  # a group repetition after Z1SUM
        ('<Z1HEAD SEGMENT="1"><_-ABC_-REF>R</_-ABC_-REF><DOCNO>1</DOCNO></Z1HEAD>' + _item(), "DOCNO"),
        ('<Z1HEAD SEGMENT="1"><DOCNO>1</DOCNO>' + _item() + "</Z1HEAD>", "Z1ITEM"),  # inside a segment
    ],
    ids=["child-at-top", "before-group", "after-sibling", "after-later-segment", "field-order", "in-wrong-parent"],
)
def test_a_segment_or_field_in_the_wrong_place_fails(zxsd: etree.XMLSchema, segments: str, element: str) -> None:
    _assert_invalid(zxsd, _doc(segments), element, "This element is not expected")


def test_a_value_longer_than_its_field_fails(zxsd: etree.XMLSchema) -> None:
    document = _doc('<Z1HEAD SEGMENT="1"><DOCNO>12345678901</DOCNO></Z1HEAD>' + _item())
    _assert_invalid(zxsd, document, "DOCNO", "exceeds the allowed maximum length of '10'")
    document = _doc(HEAD + _item('<_-ABC_-Z1SEG SEGMENT="1"><_-ABC_-NOTE>12345</_-ABC_-NOTE></_-ABC_-Z1SEG>' * 2))
    _assert_invalid(zxsd, document, "_-ABC_-NOTE", "exceeds the allowed maximum length of '4'")


def test_leading_blanks_count_and_are_kept() -> None:
    schema = _schema(TXTRAW01)

    def txtraw(*lines: str) -> str:
        segments = "".join(f'<E1TXTRW SEGMENT="1"><TLINE>{escape(line)}</TLINE></E1TXTRW>' for line in lines)
        return _doc(segments, "TXTRAW01", _control("TXTRAW01", "TXTRAW"))

    assert _errors(schema, txtraw("Hello SAP", "   indented <text> & more", " " * 71 + "x")) == []
    _assert_invalid(schema, txtraw(" " * 72 + "x"), "TLINE", "has a length of '73'")
    _assert_invalid(schema, txtraw("x" * 72 + " "), "TLINE", "has a length of '73'")


def test_a_missing_mandatory_segment_fails(zxsd: etree.XMLSchema) -> None:
    _assert_invalid(zxsd, _doc(_item()), "Z1ITEM", "Expected is ( Z1HEAD )")
    _assert_invalid(zxsd, _doc(HEAD), "IDOC", "Missing child element(s). Expected is ( Z1ITEM )")
    _assert_invalid(zxsd, _doc(HEAD + _item("")), "Z1ITEM", "Expected is one of ( _-ABC_-Z1SEG, Z1SCHED )")


def test_too_many_occurrences_fail(zxsd: etree.XMLSchema) -> None:
    _assert_invalid(zxsd, _doc(HEAD + _item() * 4), "Z1ITEM", "This element is not expected")
    _assert_invalid(zxsd, _doc(HEAD + HEAD + _item()), "Z1HEAD", "This element is not expected")
    _assert_invalid(zxsd, _doc(HEAD + _item(SCHED * 3)), "Z1SCHED", "This element is not expected")
    _assert_invalid(zxsd, _doc(HEAD + _item(NOTE * 5 + SCHED)), "_-ABC_-Z1SEG", "This element is not expected")


def test_an_optional_segment_present_occurs_at_least_loopmin_times(zxsd: etree.XMLSchema) -> None:
    assert _errors(zxsd, _doc(HEAD + _item(SCHED))) == []
    _assert_invalid(zxsd, _doc(HEAD + _item(NOTE + SCHED)), "Z1SCHED", "Expected is ( _-ABC_-Z1SEG )")
    assert _errors(zxsd, _doc(HEAD + _item(NOTE * 2 + SCHED))) == []


def test_a_missing_segment_attribute_fails(zxsd: etree.XMLSchema) -> None:
    reason = "The attribute 'SEGMENT' is required but missing"
    _assert_invalid(zxsd, _doc("<Z1HEAD/>" + _item()), "Z1HEAD", reason)
    _assert_invalid(zxsd, _doc(HEAD + "<Z1ITEM><Z1SCHED/></Z1ITEM>"), "Z1SCHED", reason)
    control = _control("ZXSD01").replace(' SEGMENT="1"', "")
    _assert_invalid(zxsd, _doc(HEAD + _item(), control=control), "EDI_DC40", reason)
    _assert_invalid(zxsd, _doc('<Z1HEAD SEGMENT="2"/>' + _item()), "Z1HEAD", "The value '2' does not match the fixed")
    document = _doc(HEAD + _item()).replace(' BEGIN="1"', "")
    _assert_invalid(zxsd, document, "IDOC", "The attribute 'BEGIN' is required but missing")


def test_the_control_record(zxsd: etree.XMLSchema) -> None:
    all_fields = "".join(
        f"<{name}>{'x' * length}</{name}>" for name, length in ((f.name, f.length) for f in CONTROL_RECORD.fields)
    )
    full = all_fields.replace("<TABNAM>xxxxxxxxxx", "<TABNAM>EDI_DC40").replace("<DIRECT>x", "<DIRECT>1")
    full = full.replace("<IDOCTYP>" + "x" * 30, "<IDOCTYP>ZXSD01")
    assert _errors(zxsd, _doc(HEAD + _item(), control=f'<EDI_DC40 SEGMENT="1">{full}</EDI_DC40>')) == []
    for required in ("TABNAM", "DIRECT", "IDOCTYP", "MESTYP", "SNDPOR", "SNDPRT", "SNDPRN", "RCVPOR", "RCVPRN"):
        errors = _errors(zxsd, _doc(HEAD + _item(), control=_control("ZXSD01", skip=required)))
        assert [error for error in errors if required in error.partition("Expected is")[2]], (required, errors)
    _assert_invalid(zxsd, _doc(HEAD + _item(), control=_control("ORDERS05")), "IDOCTYP", "fixed value constraint")
    _assert_invalid(zxsd, _doc(HEAD + _item(), control=_control("ZXSD01", direct="3")), "DIRECT", "enumeration")
    _assert_invalid(zxsd, _doc(HEAD + _item(), control=_control("ZXSD01", "M" * 31)), "MESTYP", "length of '31'")
    _assert_invalid(zxsd, _doc(HEAD + _item()).replace("ZXSD01>", "ORDERS05>"), "ORDERS05", "No matching global")


def test_an_extended_type_is_rooted_at_the_extension_with_a_fixed_cimtyp() -> None:
    extended = _zxsd("/ABC/ZXSDEXT")
    schema = _schema(extended)
    control = _control("ZXSD01", cimtyp="/ABC/ZXSDEXT")
    assert _errors(schema, _doc(HEAD + _item(), "_-ABC_-ZXSDEXT", control)) == []
    _assert_invalid(schema, _doc(HEAD + _item(), "_-ABC_-ZXSDEXT"), "MESTYP", "Expected is ( CIMTYP )")
    _assert_invalid(schema, _doc(HEAD + _item(), control=control), "ZXSD01", "No matching global")
    wrong = _control("ZXSD01", cimtyp="ZOTHER")
    _assert_invalid(schema, _doc(HEAD + _item(), "_-ABC_-ZXSDEXT", wrong), "CIMTYP", "fixed value constraint")
    assert "IDoc-XML of basic type ZXSD01 with extension /ABC/ZXSDEXT" in idoc_xsd(extended)


def test_the_schema_of_txtraw01() -> None:
    text = idoc_xsd(TXTRAW01)
    assert '<xsd:element name="TXTRAW01">' in text
    # LOOPMAX 99999: unbounded, as every maxOccurs above 5,000 (the JDK refuses more under secure processing)
    assert '<xsd:element name="E1TXTRW" type="TXTRAW01.E1TXTRW" maxOccurs="unbounded"/>' in text
    assert '<xsd:element name="TLINE" type="string.72" minOccurs="0"/>' in text
    assert "targetNamespace" not in text
    assert "IDoc-XML of basic type TXTRAW01" in text
    schema = _schema(TXTRAW01)
    lines = "".join('<E1TXTRW SEGMENT="1"><TLINE>line</TLINE></E1TXTRW>' for _ in range(3))
    assert _errors(schema, _doc(lines, "TXTRAW01", _control("TXTRAW01", "TXTRAW"))) == []
    _assert_invalid(schema, _doc("", "TXTRAW01", _control("TXTRAW01", "TXTRAW")), "IDOC", "Expected is ( E1TXTRW )")


def test_the_schema_is_deterministic() -> None:
    assert idoc_xsd(ZXSD) == idoc_xsd(_zxsd())
    assert idoc_xsd(TXTRAW01) == idoc_xsd(TXTRAW01)
    assert idoc_xsd(ZXSD).startswith("<?xml version='1.0' encoding='UTF-8'?>\n<xsd:schema")


def _full_document(idoc_type: IDocType) -> str:
    """An IDoc-XML with every segment of the type, each as often as it must occur (at least once), fields full."""

    def nodes(children: tuple[Node, ...]) -> str:
        parts = []
        for node in children:
            head = node.head if isinstance(node, GroupDefinition) else node
            fields = "".join(f"<{xml_name(f.name)}>{'9' * f.length}</{xml_name(f.name)}>" for f in head.fields)
            name = xml_name(head.segment_type)
            parts.append(f'<{name} SEGMENT="1">{fields}{nodes(head.children)}</{name}>' * max(node.min_occurs, 1))
        return "".join(parts)

    root = xml_name(idoc_type.extension or idoc_type.name)
    control = _control(idoc_type.name, cimtyp=idoc_type.extension or "")
    return _doc(nodes(idoc_type.segments), root, control)


def test_orders05() -> None:
    orders05 = read_parser_file(external(f"{SAPIDOC}/test/resources/ORDERS05.txt"))
    text = idoc_xsd(orders05)
    assert text == idoc_xsd(read_parser_file(external(f"{SAPIDOC}/test/resources/ORDERS05.txt")))
    assert '<xsd:element name="E1EDP01" type="ORDERS05.E1EDP01" minOccurs="0" maxOccurs="unbounded"/>' in text
    assert 'maxOccurs="unbounded"' in text.split('<xsd:complexType name="ORDERS05.IDOC">')[1]  # LOOPMAX 9999999999
    schema = _schema(orders05)
    assert _errors(schema, _full_document(orders05)) == []
    minimal = _doc('<E1EDK01 SEGMENT="1"><ACTION>000</ACTION></E1EDK01>', "ORDERS05", _control("ORDERS05", "ORDERS"))
    assert _errors(schema, minimal) == []
    _assert_invalid(schema, minimal.replace("ACTION>000<", "ACTION>0000<"), "ACTION", "length of '4'")
    _assert_invalid(schema, minimal.replace("E1EDK01", "E1EDP01"), "E1EDP01", "Expected is ( E1EDK01 )")


def test_every_segment_of_zxsd_in_a_full_document_passes(zxsd: etree.XMLSchema) -> None:
    assert _errors(zxsd, _full_document(ZXSD)) == []


def test_the_control_record_has_the_fields_of_edi_dc40() -> None:
    text = idoc_xsd(TXTRAW01).split('<xsd:complexType name="TXTRAW01.EDI_DC40">')[1].split("</xsd:complexType>")[0]
    names = [line.split('"')[1] for line in text.splitlines() if "<xsd:element name=" in line]
    assert " ".join(names) == (
        "TABNAM MANDT DOCNUM DOCREL STATUS DIRECT OUTMOD EXPRSS TEST IDOCTYP CIMTYP MESTYP MESCOD MESFCT STD STDVRS"
        " STDMES SNDPOR SNDPRT SNDPFC SNDPRN SNDSAD SNDLAD RCVPOR RCVPRT RCVPFC RCVPRN RCVSAD RCVLAD CREDAT CRETIM"
        " REFINT REFGRP REFMES ARCKEY SERIAL"
    )
    assert '<xsd:element name="SNDLAD" type="string.70" minOccurs="0"/>' in text
    assert '<xsd:element name="SERIAL" type="string.20" minOccurs="0"/>' in text


@pytest.mark.parametrize("name", ["1ABC", "A B", "A<B", "\u00c4B/?"])
def test_names_that_are_no_xml_names_are_rejected(name: str) -> None:
    with_field = SegmentDefinition("Z2SEG", "Z1SEG", 1, True, 1, 1, fields=(_field(name, 1, 0),))
    for segment in (with_field, SegmentDefinition("Z2SEG", name, 1, True, 1, 1)):
        with pytest.raises(ValueError, match="cannot be written as an XML element name"):
            idoc_xsd(IDocType("ZBAD01", None, (segment,)))


SAP_NAME = st.from_regex(r"(/[A-Z0-9]{1,8}/)?[A-Z][A-Z0-9_]{0,20}", fullmatch=True)


@given(SAP_NAME)
def test_namespaced_names_round_trip(name: str) -> None:
    escaped = xml_name(name)
    assert "/" not in escaped
    assert sap_name(escaped) == name


# Characters XML 1.0 can carry (no surrogates, no controls but tab and newline: "\r" would become "\n").
VALUE = st.text(
    st.characters(exclude_categories=["Cs", "Cc"], include_characters="\t\n", exclude_characters="\ufffe\uffff"),
    max_size=80,
)


_TXTRAW_SCHEMA = _schema(TXTRAW01)


@given(VALUE)
def test_any_value_up_to_the_field_length_passes_and_longer_fails(value: str) -> None:
    schema = _TXTRAW_SCHEMA
    segment = f'<E1TXTRW SEGMENT="1"><TLINE>{escape(value)}</TLINE></E1TXTRW>'
    errors = _errors(schema, _doc(segment, "TXTRAW01", _control("TXTRAW01", "TXTRAW")))
    if len(value) <= 72:
        assert errors == []
    else:
        assert any("Element 'TLINE'" in error and f"length of '{len(value)}'" in error for error in errors), errors


PAGE = (ROOT / "docs" / "idoc-xml-schema.md").read_text(encoding="utf-8")


def test_the_page_shows_what_the_code_does() -> None:
    python, excerpt, document = re.findall(r"```(?:python|xml)\n(.*?)```", PAGE, re.DOTALL)
    namespace: dict[str, object] = {}
    exec(python, namespace)
    assert isinstance(namespace["schema"], etree.XMLSchema)
    text = idoc_xsd(TXTRAW01)
    for chunk in excerpt.split("...\n"):
        assert chunk in text, chunk
    assert text.startswith(excerpt.split("...\n")[0])
    assert text.endswith(excerpt.split("...\n")[-1])
    assert _errors(_TXTRAW_SCHEMA, document) == []
    shown = next(line.strip("`") for line in PAGE.splitlines() if line.startswith("`Element 'TLINE'"))
    too_long = document.replace("Hello SAP", "x" * 73)
    assert _errors(_TXTRAW_SCHEMA, too_long) == [shown]


@pytest.mark.parametrize(("loopmax", "written"), [(3, "3"), (5000, "5000"), (5001, "unbounded"), (99999, "unbounded")])
def test_max_occurs_is_written_as_a_number_up_to_5000(loopmax: int, written: str) -> None:
    segment = SegmentDefinition("Z2LINE", "Z1LINE", 1, True, 1, loopmax, fields=(_field("TEXT", 10, 0),))
    text = idoc_xsd(IDocType("ZLOOP01", None, (segment,)))
    assert f'<xsd:element name="Z1LINE" type="ZLOOP01.Z1LINE" maxOccurs="{written}"/>' in text
    etree.XMLSchema(etree.fromstring(text.encode("utf-8")))
