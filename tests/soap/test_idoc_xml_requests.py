"""What an IDoc-XML request may hold, posted over HTTP to the served examples/idoc_service: exactly the IDoc-XML
SAP defines in the request element, nothing else; whatever else is refused with a fault and reaches no SAP."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from lxml import etree

from tests.soap.example_service import IDOC_SERVICE, Served, served_idoc_example

IDOC_NAMESPACE = "urn:IDocServiceExample:IDocService:idoc"
CONTROL = (
    '<EDI_DC40 SEGMENT="1"><TABNAM>EDI_DC40</TABNAM><DIRECT>2</DIRECT><IDOCTYP>TXTRAW01</IDOCTYP>'
    "<MESTYP>TXTRAW</MESTYP><SNDPOR>LEGACY</SNDPOR><SNDPRT>LS</SNDPRT><SNDPRN>STRICT</SNDPRN><RCVPOR>SAPSIM</RCVPOR>"
    "<RCVPRT>LS</RCVPRT><RCVPRN>SIM100</RCVPRN></EDI_DC40>"
)
IDOC = f'<IDOC BEGIN="1">{CONTROL}<E1TXTRW SEGMENT="1"><TLINE>strict</TLINE></E1TXTRW></IDOC>'


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    with served_idoc_example(tmp_path_factory.mktemp("idoc-xml-requests")) as running:
        yield running


def _post(served: Served, operation: str, inside: str, attributes: str = "") -> tuple[int, str]:
    envelope = (
        '<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body>'
        f'<r:{operation} xmlns:r="{IDOC_NAMESPACE}"{attributes}>{inside}</r:{operation}></s:Body></s:Envelope>'
    )
    response = httpx.post(f"{served.service.url}/{IDOC_SERVICE}", content=envelope.encode("utf-8"),
                          headers={"Content-Type": "text/xml; charset=utf-8"}, timeout=60)  # fmt: skip
    reason = etree.fromstring(response.content).findtext(".//faultstring") or ""
    return response.status_code, reason


def _document(idoc: str = IDOC, attributes: str = "", before: str = "") -> str:
    return f"<TXTRAW01{attributes}>{before}{idoc}</TXTRAW01>"


NAMESPACED = IDOC.replace("<E1TXTRW ", '<x:E1TXTRW xmlns:x="urn:evil" ').replace("</E1TXTRW>", "</x:E1TXTRW>")
XSI = ' xmlns:x="http://www.w3.org/2001/XMLSchema-instance" x:nil="true"'
CASES = {
    "request attribute": (_document(), ' evil="1"', "request element has attributes (evil)"),
    "nil request": (_document(), XSI, "request element has attributes (nil)"),
    "document attribute": (_document(attributes=' foo="bar"'), "", "<TXTRAW01> has unknown attribute(s) foo"),
    "document text": (_document(before="before"), "", "<TXTRAW01> holds text outside its fields"),
    "no IDOC": (_document(IDOC.replace("IDOC", "WHATEVER")), "", "<WHATEVER> inside <TXTRAW01>: expected <IDOC"),
    "BEGIN 2": (_document(IDOC.replace('BEGIN="1"', 'BEGIN="2"')), "", '<IDOC> has BEGIN="2"'),
    "SEGMENT 0": (_document(IDOC.replace('<E1TXTRW SEGMENT="1"', '<E1TXTRW SEGMENT="0"')), "",
                  '<E1TXTRW> has SEGMENT="0"'),
    "control SEGMENT 2": (_document(IDOC.replace('<EDI_DC40 SEGMENT="1"', '<EDI_DC40 SEGMENT="2"')), "",
                          '<EDI_DC40> needs SEGMENT="1"'),
    "namespaced segment": (_document(NAMESPACED), "", "IDoc-XML has no namespace, but <E1TXTRW> has one"),
}  # fmt: skip


@pytest.mark.parametrize("operation", ["SendTextIDoc", "SendIDocXML"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_anything_but_sap_idoc_xml_is_refused_naming_it(served: Served, operation: str, case: str) -> None:
    inside, attributes, named = CASES[case]
    status, reason = _post(served, operation, inside, attributes)
    assert status == 500 and named in reason, reason
    assert "(transaction " in reason
    assert [idoc for idoc in served.sim.control.idocs() if idoc["sndprn"] == "STRICT"] == []


def test_the_same_idoc_as_sap_defines_it_is_taken(served: Served) -> None:
    idoc = IDOC.replace("<SNDPRN>STRICT</SNDPRN>", "<SNDPRN>TAKEN</SNDPRN>")
    status, reason = _post(served, "SendTextIDoc", f"<TXTRAW01>\n  {idoc}\n</TXTRAW01>")
    assert status == 200, reason
