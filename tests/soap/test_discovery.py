"""Where SOAP toolkits look for a service's WSDL and schemas, asked of a served service over HTTP."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from lxml import etree

from idocbridge.soap.testing import ServiceProcess
from tests.soap.example_service import IDOC_SERVICE, SERVICE, Served, served_example, served_idoc_example

WSDL = "http://schemas.xmlsoap.org/wsdl/"
XSD = "http://www.w3.org/2001/XMLSchema"
IDOC_NAMESPACE = "urn:IDocServiceExample:IDocService:idoc"


@pytest.fixture(scope="module")
def trfc(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceProcess]:
    with served_example(tmp_path_factory.mktemp("discovery")) as (_, service):
        yield service


@pytest.fixture(scope="module")
def behind_proxy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceProcess]:
    with served_example(tmp_path_factory.mktemp("proxied"), "  trustedProxies: 127.0.0.1\n") as (_, service):
        yield service


@pytest.fixture(scope="module")
def public(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceProcess]:
    server = "  publicUrl: https://soap.example.com/gateway\n"
    with served_example(tmp_path_factory.mktemp("public"), server) as (_, service):
        yield service


@pytest.fixture(scope="module")
def idoc(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    with served_idoc_example(tmp_path_factory.mktemp("discovery-idoc")) as served:
        yield served


def _get(service: ServiceProcess, name: str, query: str, **headers: str) -> httpx.Response:
    return httpx.get(f"{service.url}/{name}?{query}", headers=headers, timeout=30)


def _address(response: httpx.Response) -> str:
    assert response.status_code == 200, response.text
    addresses = etree.fromstring(response.content).findall(f".//{{{WSDL}}}port/*[@location]")
    assert addresses
    (location,) = {address.get("location") for address in addresses}
    return str(location)


@pytest.mark.parametrize("query", ["wsdl", "WSDL", "Wsdl", "singleWsdl", "singlewsdl"])
def test_every_spelling_of_the_wsdl_query_answers_the_one_wsdl(trfc: ServiceProcess, query: str) -> None:
    response = _get(trfc, SERVICE, query)
    assert response.headers["content-type"].startswith("text/xml")
    assert _address(response) == f"{trfc.url}/{SERVICE}"
    assert response.content == _get(trfc, SERVICE, "wsdl").content


def test_head_answers_the_headers_of_get_without_a_body(trfc: ServiceProcess) -> None:
    got = _get(trfc, SERVICE, "wsdl")
    head = httpx.head(f"{trfc.url}/{SERVICE}?wsdl", timeout=30)
    assert head.status_code == 200 and head.content == b""
    for header in ("etag", "last-modified", "content-type", "content-length"):
        assert head.headers[header] == got.headers[header], header
    assert int(head.headers["content-length"]) == len(got.content)


def test_a_client_with_the_current_copy_gets_304(trfc: ServiceProcess) -> None:
    got = _get(trfc, SERVICE, "wsdl")
    assert _get(trfc, SERVICE, "wsdl", **{"If-None-Match": got.headers["etag"]}).status_code == 304
    assert _get(trfc, SERVICE, "wsdl", **{"If-None-Match": '"another"'}).status_code == 200
    since = got.headers["last-modified"]
    assert _get(trfc, SERVICE, "wsdl", **{"If-Modified-Since": since}).status_code == 304
    assert _get(trfc, SERVICE, "wsdl", **{"If-Modified-Since": "Mon, 01 Jan 2001 00:00:00 GMT"}).status_code == 200


def test_the_service_schema_is_served_by_either_name(trfc: ServiceProcess) -> None:
    plain, named = _get(trfc, SERVICE, "xsd"), _get(trfc, SERVICE, "xsd=types")
    assert plain.status_code == named.status_code == 200 and plain.content == named.content
    etree.XMLSchema(etree.fromstring(plain.content))


def test_an_unknown_schema_is_404_naming_those_there_are(trfc: ServiceProcess) -> None:
    response = _get(trfc, SERVICE, "xsd=nothing")
    assert response.status_code == 404
    assert "has no schema 'nothing'; it has ?xsd=types" in response.text


def test_the_idoc_service_serves_each_schema_its_wsdl_carries(idoc: Served) -> None:
    service = idoc.service
    wsdl = etree.fromstring(_get(service, IDOC_SERVICE, "wsdl").content)
    inline = {schema.get("targetNamespace"): schema for schema in wsdl.iter(f"{{{XSD}}}schema")}
    assert set(inline) == {"urn:IDocServiceExample:IDocService", IDOC_NAMESPACE}
    for name, namespace in (("types", "urn:IDocServiceExample:IDocService"), ("idoc", IDOC_NAMESPACE)):
        served = etree.fromstring(_get(service, IDOC_SERVICE, f"xsd={name}").content)
        assert served.get("targetNamespace") == namespace
        assert len(served) == len(inline[namespace]), f"?xsd={name} declares what the WSDL does"
    we60 = etree.fromstring(_get(service, IDOC_SERVICE, "xsd=TXTRAW01").content)
    assert we60.get("targetNamespace") is None and we60.find(f"{{{XSD}}}element[@name='TXTRAW01']") is not None
    assert "?xsd=types, ?xsd=idoc, ?xsd=TXTRAW01" in _get(service, IDOC_SERVICE, "xsd=nope").text


def test_forwarded_headers_from_an_untrusted_peer_are_ignored(trfc: ServiceProcess) -> None:
    response = _get(trfc, SERVICE, "wsdl", **{"X-Forwarded-Host": "evil.example", "X-Forwarded-Proto": "https"})
    assert _address(response) == f"{trfc.url}/{SERVICE}"


def test_forwarded_headers_from_a_trusted_proxy_make_the_address(behind_proxy: ServiceProcess) -> None:
    # the last value is the one the trusted proxy set; what a client sent before it does not count
    headers = {"X-Forwarded-Host": "evil.example, soap.example.com", "X-Forwarded-Proto": "http, https"}
    response = _get(behind_proxy, SERVICE, "wsdl", **headers)
    assert _address(response) == f"https://soap.example.com/{SERVICE}"
    assert response.headers["vary"] == "Host, X-Forwarded-Host, X-Forwarded-Proto"
    assert _address(_get(behind_proxy, SERVICE, "wsdl")) == f"{behind_proxy.url}/{SERVICE}"


@pytest.mark.parametrize(
    ("name", "value"),
    [("X-Forwarded-Host", 'evil.example"/><x y="'), ("X-Forwarded-Host", "evil.example/phish?"),
     ("X-Forwarded-Host", "https://evil.example"), ("X-Forwarded-Proto", "javascript")],
)  # fmt: skip
def test_a_forwarded_value_that_is_no_host_or_scheme_is_not_used(
    behind_proxy: ServiceProcess, name: str, value: str
) -> None:
    assert _address(_get(behind_proxy, SERVICE, "wsdl", **{name: value})) == f"{behind_proxy.url}/{SERVICE}"


@pytest.mark.parametrize("host", ['evil.example"/><x y="', "evil.example/phish?", "a&b", "evil example"])
def test_a_host_header_that_is_no_host_is_not_written_into_the_wsdl(trfc: ServiceProcess, host: str) -> None:
    response = _get(trfc, SERVICE, "wsdl", Host=host)
    assert _address(response) == f"{trfc.url}/{SERVICE}"  # the address the connection came to
    assert response.headers["vary"] == "Host"


def test_a_public_url_wins_over_whatever_the_request_says(public: ServiceProcess) -> None:
    headers = {"X-Forwarded-Host": "elsewhere.example", "Host": "other.example"}
    assert _address(_get(public, SERVICE, "wsdl", **headers)) == f"https://soap.example.com/gateway/{SERVICE}"
