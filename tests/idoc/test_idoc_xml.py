"""IDoc-XML: reading the examples, the shape rules (errors naming the line), writing, streaming."""

from __future__ import annotations

import gc
import io
import warnings
from pathlib import Path

import pytest
from lxml import etree

from idocbridge.idoc import (
    IDoc,
    IDocXmlError,
    Segment,
    idoc_from_element,
    idoc_to_element,
    iter_idoc_xml,
    write_idoc_xml,
)
from tests.conftest import EXAMPLES
from tests.idoc.conftest import EXTERNAL, external

ORDERS05_XML = EXAMPLES / "idocs" / "orders05.xml"
BALLERINA = "ballerina-platform__module-ballerinax-sap.jco/examples/idoc_automation/resources/generated_iDocs"
CONTROL = '<EDI_DC40 SEGMENT="1"><TABNAM>EDI_DC40</TABNAM><IDOCTYP>ZTEST01</IDOCTYP></EDI_DC40>'


def _read(text: str, name: str = "t.xml") -> list[IDoc]:
    return list(iter_idoc_xml(io.BytesIO(text.encode("utf-8")), name))


def _doc(body: str, control: str = CONTROL, root: str = "ZTEST01") -> str:
    return f'<{root}>\n<IDOC BEGIN="1">\n{control}\n{body}\n</IDOC>\n</{root}>\n'


def _tree(segments: list[Segment]) -> list[tuple[str, int]]:
    result: list[tuple[str, int]] = []

    def walk(segment: Segment, depth: int) -> None:
        result.append((segment.type, depth))
        for child in segment.children:
            walk(child, depth + 1)

    for segment in segments:
        walk(segment, 1)
    return result


def test_the_orders05_example_reads_as_a_segment_tree() -> None:
    [idoc] = iter_idoc_xml(ORDERS05_XML)
    assert idoc.control == {
        "TABNAM": "EDI_DC40",
        "DIRECT": "2",
        "IDOCTYP": "ORDERS05",
        "MESTYP": "ORDERS",
        "SNDPOR": "SHOPPORT",
        "SNDPRT": "LS",
        "SNDPRN": "SHOPSYS",
        "RCVPOR": "SAPERP",
        "RCVPRT": "LS",
        "RCVPRN": "ERPCLNT100",
        "CREDAT": "20261121",
        "CRETIM": "093000",
    }
    assert _tree(idoc.segments) == [
        ("E1EDK01", 1),
        ("E1EDK14", 1),
        ("E1EDK14", 1),
        ("E1EDK03", 1),
        ("E1EDKA1", 1),
        ("E1EDKA1", 1),
        ("E1EDK02", 1),
        ("E1EDKT1", 1),
        ("E1EDKT2", 2),
        ("E1EDKT2", 2),
        ("E1EDP01", 1),
        ("E1EDP20", 2),
        ("E1EDP19", 2),
        ("E1EDP01", 1),
        ("E1EDP19", 2),
        ("E1EDS01", 1),
    ]
    assert idoc.segment_count == 16
    assert idoc.segments[0].fields == {"CURCY": "EUR", "BSART": "NB", "BELNR": "PO-2026-000417"}
    assert list(idoc.segments[0].fields) == ["CURCY", "BSART", "BELNR"]  # document order
    text_lines = [child.fields["TDLINE"] for child in idoc.segments[7].children]
    assert text_lines == ["Deliver to gate 4.", "   Leading blanks are kept: this line is indented."]
    assert idoc.segments[-1].fields == {"SUMID": "002", "SUMME": "415.80", "SUNIT": "EUR"}


def test_pretty_print_whitespace_is_ignored_and_trailing_blanks_dropped() -> None:
    compact = _read(
        _doc('<Z1HEAD SEGMENT="1"><DOCNO>  A1  </DOCNO><Z1NOTE SEGMENT="1"><NOTE>n</NOTE></Z1NOTE></Z1HEAD>')
    )
    pretty = _read(
        _doc(
            '\n  <Z1HEAD SEGMENT="1">\n    <DOCNO>  A1</DOCNO>\n\t<Z1NOTE SEGMENT="1">\n <NOTE>n</NOTE>\n'
            "</Z1NOTE>\n  </Z1HEAD>\n"
        )
    )
    assert (
        compact
        == pretty
        == [
            IDoc(
                {"TABNAM": "EDI_DC40", "IDOCTYP": "ZTEST01"},
                [Segment("Z1HEAD", {"DOCNO": "  A1"}, [Segment("Z1NOTE", {"NOTE": "n"})])],
            )
        ]
    )


def test_empty_and_blank_fields_are_left_out() -> None:
    [idoc] = _read(_doc('<Z1HEAD SEGMENT="1"><DOCNO/><COUNT>   </COUNT></Z1HEAD>'))
    assert idoc.segments == [Segment("Z1HEAD", {})]


@pytest.mark.parametrize("name", ["Avon.xml", "back.xml", "boatyard.xml", "but.xml"])
def test_the_ballerina_delvry03_files_parse_with_a_word_for_docnum(name: str) -> None:
    path = external(f"{BALLERINA}/{name}")
    [idoc] = iter_idoc_xml(path)
    assert idoc.basic_type == "DELVRY03"
    assert idoc.control["MESTYP"] == "DESADV"
    assert idoc.control["DIRECT"] == "1"
    assert not idoc.control["DOCNUM"].isdigit()
    assert [segment.type for segment in idoc.segments] == ["E1EDL20"]
    assert idoc.segments[0].fields["VBELN"] == idoc.control["DOCNUM"]


def test_namespaced_names_are_escaped_both_ways() -> None:
    idoc = IDoc(
        {"IDOCTYP": "/ABC/ZT01"},
        [Segment("/ABC/Z1SEG", {"/ABC/FLD": "v", "PLAIN": "w"}, [Segment("/ABC/Z1SUB", {"/ABC/X": "1"})])],
    )
    out = io.BytesIO()
    write_idoc_xml(out, [idoc])
    text = out.getvalue().decode()
    assert "<_-ABC_-ZT01>" in text
    assert '<_-ABC_-Z1SEG SEGMENT="1">' in text
    assert "<_-ABC_-FLD>v</_-ABC_-FLD>" in text
    assert '<_-ABC_-Z1SUB SEGMENT="1">' in text
    assert "/ABC/" not in text.replace("<IDOCTYP>/ABC/ZT01</IDOCTYP>", "")
    [back] = iter_idoc_xml(io.BytesIO(out.getvalue()))
    assert back == IDoc({"TABNAM": "EDI_DC40", **idoc.control}, idoc.segments)


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        (_doc('<Z1HEAD SEGMENT="1">\n<DOCNO>1</DOCNO>stray</Z1HEAD>'), 4, "<Z1HEAD> holds text outside its fields"),
        (_doc('<Z1HEAD SEGMENT="1"/>\nstray text'), 2, "<IDOC> holds text outside its fields"),
        (
            _doc('<Z1HEAD SEGMENT="1">\n<Z1NOTE SEGMENT="1"/>\n<DOCNO>1</DOCNO></Z1HEAD>'),
            6,
            "field DOCNO comes after child segments of Z1HEAD; fields come first",
        ),
        (_doc('<Z1HEAD SEGMENT="1" COLOUR="red"/>'), 4, "<Z1HEAD> has unknown attribute(s) COLOUR"),
        (
            _doc('<Z1HEAD SEGMENT="1">\n<DOCNO>\n<X>1</X></DOCNO></Z1HEAD>'),
            5,
            '<DOCNO> has child elements or attributes but no SEGMENT attribute: a segment needs SEGMENT="1"',
        ),
        (_doc('<Z1HEAD SEGMENT="1"><DOCNO unit="x">1</DOCNO></Z1HEAD>'), 4, "<DOCNO> has child elements or attributes"),
        (_doc("<Z1HEAD><DOCNO>1</DOCNO></Z1HEAD>"), 4, "<Z1HEAD> is not a segment (no SEGMENT attribute)"),
        (_doc('<Z1HEAD SEGMENT="1"><DOCNO>1</DOCNO><DOCNO>2</DOCNO></Z1HEAD>'), 4, "field DOCNO occurs twice"),
        (
            _doc("", control='<EDI_DC40 SEGMENT="1"><IDOCTYP>ZTEST01</IDOCTYP><COLOUR>r</COLOUR></EDI_DC40>'),
            3,
            "COLOUR is not a field of the control record EDI_DC40",
        ),
        (
            _doc("", control='<EDI_DC40 SEGMENT="1"><IDOCTYP>ZTEST01</IDOCTYP><Z1 SEGMENT="1"/></EDI_DC40>'),
            3,
            "the control record holds no segments",
        ),
        (_doc('<Z1HEAD SEGMENT="1"/>', control=""), 2, '<IDOC> must start with <EDI_DC40 SEGMENT="1">'),
        (_doc("", control="<EDI_DC40><IDOCTYP>ZTEST01</IDOCTYP></EDI_DC40>"), 3, '<EDI_DC40> needs SEGMENT="1"'),
        (
            _doc("", root="ZTEST02"),
            2,
            "the document element <ZTEST02> must be named after the basic type (IDOCTYP) ZTEST01",
        ),
        (
            _doc("", control='<EDI_DC40 SEGMENT="1"><IDOCTYP>ZTEST01</IDOCTYP><CIMTYP>ZEXT</CIMTYP></EDI_DC40>'),
            2,
            "the document element <ZTEST01> must be named after the extension (CIMTYP) ZEXT",
        ),
        ('<ZTEST01>\n<E1 SEGMENT="1"/>\n</ZTEST01>', 2, '<E1> inside <ZTEST01>: expected <IDOC BEGIN="1">'),
        ("<ZTEST01>\n</ZTEST01>", 1, "<ZTEST01> holds no <IDOC> element"),
        ('<ZTEST01 version="3">\n</ZTEST01>', 1, "<ZTEST01> has unknown attribute(s) version"),
        (_doc("").replace("</IDOC>", "</IDOC>\nbetween IDocs"), 1, "<ZTEST01> holds text outside its fields"),
        (_doc("").replace('<IDOC BEGIN="1">', '<IDOC BEGIN="1" X="2">'), 2, "<IDOC> has unknown attribute(s) X"),
        ('<ZTEST01 xmlns="urn:sap">\n</ZTEST01>', 1, "IDoc-XML has no namespace, but <ZTEST01> has one"),
        (_doc('<s:Z1HEAD xmlns:s="urn:x" SEGMENT="1"/>'), 4, "IDoc-XML has no namespace, but <Z1HEAD> has one"),
    ],
)
def test_shape_errors_name_the_line(text: str, line: int, message: str) -> None:
    with pytest.raises(IDocXmlError) as raised:
        _read(text)
    assert str(raised.value).startswith(f"t.xml, line {line}: ")
    assert message in str(raised.value)


@pytest.mark.parametrize(
    "prolog",
    [
        "<!DOCTYPE ZTEST01>",
        '<!DOCTYPE ZTEST01 [<!ENTITY boom "exploded">]>',
        '<!DOCTYPE ZTEST01 SYSTEM "file:///etc/passwd">',
    ],
)
def test_a_doctype_is_refused(prolog: str) -> None:
    text = prolog + "\n" + _doc('<Z1HEAD SEGMENT="1"><DOCNO>&boom;</DOCNO></Z1HEAD>')
    with pytest.raises(IDocXmlError, match=r"^t\.xml: a DOCTYPE is not allowed in IDoc-XML"):
        _read(text)


def test_xml_that_is_not_well_formed_names_the_source() -> None:
    with pytest.raises(IDocXmlError, match=r"^t\.xml: not well-formed XML: .*line 3"):
        _read('<ZTEST01>\n<IDOC BEGIN="1">\n</IDOX></ZTEST01>')


def test_write_then_read_gives_the_same_documents_and_several_idocs_share_one_document() -> None:
    first = IDoc(
        {"TABNAM": "EDI_DC40", "DOCNUM": "1", "IDOCTYP": "ZTEST01"},
        [
            Segment("Z1HEAD", {"DOCNO": "  lead", "COUNT": "00002"}, [Segment("Z1NOTE", {"NOTE": "東京 Müller"})]),
            Segment("Z1ITEM", {"POSNR": "000010"}, [Segment("Z1SCHED", {"QTY": "00001"})]),
        ],
    )
    second = IDoc({"TABNAM": "EDI_DC40", "DOCNUM": "2", "IDOCTYP": "ZTEST01"}, [Segment("Z1HEAD", {"DOCNO": "<&>\"'"})])
    for pretty in (True, False):
        out = io.BytesIO()
        assert write_idoc_xml(out, [first, second], pretty=pretty) == 2
        assert out.getvalue().startswith(b"<?xml version='1.0' encoding='UTF-8'?>\n<ZTEST01>")
        assert list(iter_idoc_xml(io.BytesIO(out.getvalue()))) == [first, second]


def test_the_written_document_is_indented_two_spaces() -> None:
    out = io.BytesIO()
    write_idoc_xml(out, [IDoc({"IDOCTYP": "ZTEST01"}, [Segment("Z1HEAD", {"DOCNO": "1"})])])
    assert out.getvalue().decode() == (
        "<?xml version='1.0' encoding='UTF-8'?>\n<ZTEST01>\n"
        '  <IDOC BEGIN="1">\n'
        '    <EDI_DC40 SEGMENT="1">\n'
        "      <TABNAM>EDI_DC40</TABNAM>\n      <IDOCTYP>ZTEST01</IDOCTYP>\n    </EDI_DC40>\n"
        '    <Z1HEAD SEGMENT="1">\n      <DOCNO>1</DOCNO>\n    </Z1HEAD>\n'
        "  </IDOC>\n</ZTEST01>\n"
    )


def test_an_idoc_of_another_type_cannot_join_the_document() -> None:
    with pytest.raises(IDocXmlError, match="an IDoc of type ORDERS05 cannot join an IDoc-XML document of type ZTEST01"):
        write_idoc_xml(io.BytesIO(), [IDoc({"IDOCTYP": "ZTEST01"}), IDoc({"IDOCTYP": "ORDERS05"})])
    with pytest.raises(IDocXmlError, match="an IDoc of type ZEXT cannot join an IDoc-XML document of type ZTEST01"):
        write_idoc_xml(io.BytesIO(), [IDoc({"IDOCTYP": "ZTEST01", "CIMTYP": "ZEXT"})], root_name="ZTEST01")


def test_writing_without_idoctyp_is_refused() -> None:
    with pytest.raises(IDocXmlError, match="no IDOCTYP"):
        write_idoc_xml(io.BytesIO(), [IDoc({"MESTYP": "X"})])


def test_a_value_xml_cannot_hold_is_an_idoc_xml_error_naming_the_field() -> None:
    with pytest.raises(IDocXmlError, match=r"segment Z1HEAD, field DOCNO: 'a\\x01b' cannot be written as XML"):
        write_idoc_xml(io.BytesIO(), [IDoc({"IDOCTYP": "ZTEST01"}, [Segment("Z1HEAD", {"DOCNO": "a\x01b"})])])
    with pytest.raises(IDocXmlError, match=r"EDI_DC40-SNDPRN: 'a\\x02' cannot be written as XML"):
        idoc_to_element(IDoc({"IDOCTYP": "ZTEST01", "SNDPRN": "a\x02"}))


def test_idoc_to_element_and_back() -> None:
    idoc = IDoc({"TABNAM": "EDI_DC40", "IDOCTYP": "ZTEST01"}, [Segment("Z1HEAD", {"DOCNO": " 1"})])
    element = idoc_to_element(idoc)
    assert etree.tostring(element).decode() == (
        '<IDOC BEGIN="1"><EDI_DC40 SEGMENT="1"><TABNAM>EDI_DC40</TABNAM><IDOCTYP>ZTEST01</IDOCTYP></EDI_DC40>'
        '<Z1HEAD SEGMENT="1"><DOCNO> 1</DOCNO></Z1HEAD></IDOC>'
    )
    assert idoc_from_element(element, "ZTEST01") == idoc
    with pytest.raises(IDocXmlError, match="must be named after the basic type"):
        idoc_from_element(element, "OTHER")


def _many(count: int) -> bytes:
    out = io.BytesIO()
    write_idoc_xml(
        out,
        (IDoc({"IDOCTYP": "ZTEST01", "DOCNUM": str(n)}, [Segment("Z1HEAD", {"DOCNO": str(n)})]) for n in range(count)),
    )
    return out.getvalue()


def test_reading_streams_and_stops_early_without_leaking_the_file(tmp_path: Path) -> None:
    path = tmp_path / "many.xml"
    path.write_bytes(_many(2000) + b"<broken")  # the damage, far beyond what is read ahead, is never reached
    with warnings.catch_warnings():
        warnings.simplefilter("error", ResourceWarning)
        reader = iter_idoc_xml(path)
        assert next(reader).control["DOCNUM"] == "0"
        assert next(reader).control["DOCNUM"] == "1"
        reader.close()
        del reader
        gc.collect()
        for idoc in iter_idoc_xml(path):  # abandoned in a loop
            if idoc.control["DOCNUM"] == "3":
                break
        gc.collect()


def test_reading_frees_each_idoc_once_read() -> None:
    reader = iter_idoc_xml(io.BytesIO(_many(5)))
    first = next(reader)
    assert first.segments[0].fields == {"DOCNO": "0"}
    assert [idoc.control["DOCNUM"] for idoc in reader] == ["1", "2", "3", "4"]


def test_an_error_in_a_later_idoc_comes_after_the_earlier_ones() -> None:
    text = _many(2).decode().replace("<DOCNO>1</DOCNO>", "<DOCNO>1</DOCNO>oops")
    reader = iter_idoc_xml(io.BytesIO(text.encode()), "late.xml")
    assert next(reader).control["DOCNUM"] == "0"
    with pytest.raises(IDocXmlError, match=r"late\.xml, line \d+: <Z1HEAD> holds text outside its fields"):
        next(reader)


def test_a_missing_file_is_an_idoc_xml_error(tmp_path: Path) -> None:
    with pytest.raises(IDocXmlError, match="cannot read the file"):
        list(iter_idoc_xml(tmp_path / "absent.xml"))


def test_external_folder_constant_points_at_shared() -> None:
    assert EXTERNAL.parts[-3:] == ("shared", "testdata", "external")


def test_the_root_may_name_its_schema_location() -> None:
    xsi = 'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:noNamespaceSchemaLocation="ZTEST01.xsd"'
    [idoc] = _read(_doc("").replace("<ZTEST01>", f"<ZTEST01 {xsi}>"))
    assert idoc.basic_type == "ZTEST01"
    with pytest.raises(
        IDocXmlError, match=r"<ZTEST01> has unknown attribute\(s\) \{http://www.w3.org/2001/XMLSchema-instance\}type"
    ):
        _read(
            _doc("").replace(
                "<ZTEST01>", '<ZTEST01 xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="x">'
            )
        )


def test_every_idoc_of_a_long_document_is_read_once_in_order_though_the_parser_reads_ahead() -> None:
    idocs = [
        IDoc({"TABNAM": "EDI_DC40", "DOCNUM": str(n), "IDOCTYP": "ZTEST01"}, [Segment("Z1HEAD", {"DOCNO": f"d{n}"})])
        for n in range(1, 3001)
    ]
    out = io.BytesIO()
    write_idoc_xml(out, idocs)
    assert [idoc.control["DOCNUM"] for idoc in iter_idoc_xml(io.BytesIO(out.getvalue()))] == [
        str(n) for n in range(1, 3001)
    ]
    late = out.getvalue().replace(b"</ZTEST01>", b'<Z1HEAD SEGMENT="1"/></ZTEST01>')
    read: list[str] = []
    with pytest.raises(IDocXmlError, match='<Z1HEAD> inside <ZTEST01>: expected <IDOC BEGIN="1">'):
        read.extend(idoc.control["DOCNUM"] for idoc in iter_idoc_xml(io.BytesIO(late), "t.xml"))
    assert len(read) == 3000, "the IDocs before the stray element were read"


def test_an_idoc_element_inside_a_segment_is_no_idoc() -> None:
    with pytest.raises(IDocXmlError, match=r"line 4: <IDOC> has child elements or attributes but no SEGMENT attribute"):
        _read(_doc('<Z1HEAD SEGMENT="1"><IDOC BEGIN="1"/></Z1HEAD>'))
