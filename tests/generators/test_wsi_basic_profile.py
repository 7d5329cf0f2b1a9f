"""The generated WSDLs against the description rules of WS-I Basic Profile 1.1 that a document/literal WSDL
with its schemas inline can break (docs/serving.md, "WS-I Basic Profile", lists them).

Each rule is a function named after its requirement number, returning what breaks it in one WSDL; every rule
runs on the WSDL of each example service and of the IDoc service under an ``http://`` namespace. Basic
Profile 1.1 speaks of SOAP 1.1; the SOAP 1.2 bindings are held to the same rules (Basic Profile 2.0 keeps
them for SOAP 1.2).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from lxml import etree

from idocbridge.generators.generate import generate
from idocbridge.models import load_model
from tests.conftest import EXAMPLES

WSDL = "http://schemas.xmlsoap.org/wsdl/"
SOAP11 = "http://schemas.xmlsoap.org/wsdl/soap/"
SOAP12 = "http://schemas.xmlsoap.org/wsdl/soap12/"
XSD = "http://www.w3.org/2001/XMLSchema"
HTTP_TRANSPORT = "http://schemas.xmlsoap.org/soap/http"
SOAP_BINDINGS = (SOAP11, SOAP12)

Rule = Callable[[etree._Element], list[str]]
RULES: dict[str, Rule] = {}


def rule(function: Rule) -> Rule:
    RULES[function.__name__.upper()] = function
    return function


def _qname(node: etree._Element, attribute: str) -> tuple[str | None, str]:
    """The (namespace, local name) of a QName attribute; namespace None when its prefix is not declared."""
    value = node.get(attribute, "")
    prefix, _, local = value.rpartition(":")
    return node.nsmap.get(prefix or None), local


def _schemas(wsdl: etree._Element) -> list[etree._Element]:
    return wsdl.findall(f"{{{WSDL}}}types/{{{XSD}}}schema")


def _globals(wsdl: etree._Element, kind: str) -> set[tuple[str | None, str | None]]:
    """The global declarations of ``kind`` (element, complexType, simpleType) as (namespace, name)."""
    return {(schema.get("targetNamespace"), node.get("name")) for schema in _schemas(wsdl)
            for node in schema.findall(f"{{{XSD}}}{kind}")}  # fmt: skip


def _messages(wsdl: etree._Element) -> dict[str, etree._Element]:
    return {message.get("name", ""): message for message in wsdl.findall(f"{{{WSDL}}}message")}


def _bindings(wsdl: etree._Element) -> Iterator[tuple[etree._Element, str]]:
    """Each wsdl:binding with the namespace of its SOAP binding extension (1.1 or 1.2)."""
    for binding in wsdl.findall(f"{{{WSDL}}}binding"):
        for namespace in SOAP_BINDINGS:
            if binding.find(f"{{{namespace}}}binding") is not None:
                yield binding, namespace


@rule
def r2105(wsdl: etree._Element) -> list[str]:
    """Every xsd:schema in wsdl:types has a targetNamespace."""
    return [f"schema {index} has no targetNamespace" for index, schema in enumerate(_schemas(wsdl))
            if not schema.get("targetNamespace")]  # fmt: skip


@rule
def r2003(wsdl: etree._Element) -> list[str]:
    """xsd:schema appears only inside wsdl:types."""
    return [f"a schema inside {etree.QName(schema.getparent()).localname}" for schema in wsdl.iter(f"{{{XSD}}}schema")
            if schema.getparent() is None or schema.getparent().tag != f"{{{WSDL}}}types"]  # fmt: skip


@rule
def r2101(wsdl: etree._Element) -> list[str]:
    """Every QName reference resolves: its prefix is declared, and it names a component the document defines
    (elements, types, messages, port types, bindings) or one of XML Schema's built-in types."""
    problems = []
    elements, types = _globals(wsdl, "element"), _globals(wsdl, "complexType") | _globals(wsdl, "simpleType")
    target = wsdl.get("targetNamespace")
    defined = {kind: {(target, node.get("name")) for node in wsdl.findall(f"{{{WSDL}}}{kind}")}
               for kind in ("message", "portType", "binding")}  # fmt: skip
    for node in wsdl.iter():
        if not isinstance(node.tag, str):
            continue
        for attribute, known in (("element", elements), ("type", types), ("base", types), ("ref", elements),
                                 ("message", defined["message"]), ("binding", defined["binding"])):  # fmt: skip
            if attribute not in node.attrib or (attribute == "type" and node.tag == f"{{{WSDL}}}binding"):
                continue
            namespace, local = _qname(node, attribute)
            if namespace is None:
                problems.append(f"{node.get(attribute)}: prefix not declared")
            elif namespace != XSD and (namespace, local) not in known:
                problems.append(f"{node.get(attribute)} ({attribute}) names nothing defined")
        if node.tag == f"{{{WSDL}}}binding" and _qname(node, "type") not in defined["portType"]:
            problems.append(f"binding {node.get('name')} names port type {node.get('type')}, which is not defined")
    return problems


@rule
def r2201(wsdl: etree._Element) -> list[str]:
    """A document-literal soap:body has at most one part."""
    problems = []
    messages = _messages(wsdl)
    port_types = {port_type.get("name"): port_type for port_type in wsdl.findall(f"{{{WSDL}}}portType")}
    for binding, soap in _bindings(wsdl):
        port_type = port_types[_qname(binding, "type")[1]]
        for operation in binding.findall(f"{{{WSDL}}}operation"):
            abstract = port_type.find(f"{{{WSDL}}}operation[@name='{operation.get('name')}']")
            assert abstract is not None
            for direction in ("input", "output"):
                message = messages[_qname(abstract.find(f"{{{WSDL}}}{direction}"), "message")[1]]
                body = operation.find(f"{{{WSDL}}}{direction}/{{{soap}}}body")
                named = (body.get("parts") or "").split() if body is not None else []
                parts = named or [part.get("name") for part in message.findall(f"{{{WSDL}}}part")]
                if len(parts) > 1:
                    problems.append(f"{operation.get('name')} {direction}: {len(parts)} parts in the body")
    return problems


@rule
def r2204(wsdl: etree._Element) -> list[str]:
    """Document-literal message parts refer to global elements with ``element``, never ``type``."""
    elements = _globals(wsdl, "element")
    problems = []
    for message in _messages(wsdl).values():
        for part in message.findall(f"{{{WSDL}}}part"):
            if part.get("element") is None or part.get("type") is not None:
                problems.append(f"message {message.get('name')} part {part.get('name')} does not use element=")
            elif _qname(part, "element") not in elements:
                problems.append(f"message {message.get('name')} refers to {part.get('element')}, no global element")
    return problems


@rule
def r2705(wsdl: etree._Element) -> list[str]:
    """A binding is document style throughout (ours: never rpc)."""
    return [f"{binding.get('name')}: style {node.get('style')}" for binding, soap in _bindings(wsdl)
            for node in binding.iter(f"{{{soap}}}binding", f"{{{soap}}}operation")
            if node.get("style") not in (None, "document")]  # fmt: skip


@rule
def r2706(wsdl: etree._Element) -> list[str]:
    """soap:body, soap:header and soap:fault say use="literal"."""
    return [f"{binding.get('name')}: {etree.QName(node).localname} use={node.get('use')}"
            for binding, soap in _bindings(wsdl)
            for node in binding.iter(f"{{{soap}}}body", f"{{{soap}}}header", f"{{{soap}}}fault")
            if node.get("use") != "literal"]  # fmt: skip


@rule
def r2716(wsdl: etree._Element) -> list[str]:
    """Document-literal soap:body, soap:header and soap:fault have no namespace attribute."""
    return [f"{binding.get('name')}: {etree.QName(node).localname} has namespace=" for binding, soap in _bindings(wsdl)
            for node in binding.iter(f"{{{soap}}}body", f"{{{soap}}}header", f"{{{soap}}}fault")
            if node.get("namespace") is not None]  # fmt: skip


@rule
def r2710(wsdl: etree._Element) -> list[str]:
    """The operations of a binding have distinct wire signatures: each request's body element differs."""
    messages = _messages(wsdl)
    problems = []
    for port_type in wsdl.findall(f"{{{WSDL}}}portType"):
        seen: dict[tuple[str | None, str], str] = {}
        for operation in port_type.findall(f"{{{WSDL}}}operation"):
            message = messages[_qname(operation.find(f"{{{WSDL}}}input"), "message")[1]]
            part = message.find(f"{{{WSDL}}}part")
            signature = _qname(part, "element") if part is not None else (None, "")
            if signature in seen:
                problems.append(f"{operation.get('name')} and {seen[signature]} both take {signature}")
            seen[signature] = str(operation.get("name"))
    return problems


@rule
def r2304(wsdl: etree._Element) -> list[str]:
    """Operation names are unique within a port type (no overloading)."""
    problems = []
    for port_type in wsdl.findall(f"{{{WSDL}}}portType"):
        names = [operation.get("name") for operation in port_type.findall(f"{{{WSDL}}}operation")]
        problems += [f"{port_type.get('name')}: {name} twice" for name in set(names) if names.count(name) > 1]
    return problems


@rule
def r2718(wsdl: etree._Element) -> list[str]:
    """A binding has the same operations as its port type."""
    port_types = {port_type.get("name"): port_type for port_type in wsdl.findall(f"{{{WSDL}}}portType")}
    problems = []
    for binding, _ in _bindings(wsdl):
        port_type = port_types[_qname(binding, "type")[1]]
        abstract = {operation.get("name") for operation in port_type.findall(f"{{{WSDL}}}operation")}
        bound = {operation.get("name") for operation in binding.findall(f"{{{WSDL}}}operation")}
        if abstract != bound:
            problems.append(f"{binding.get('name')}: {sorted(map(str, abstract ^ bound))} in one of the two only")
    return problems


@rule
def r2702(wsdl: etree._Element) -> list[str]:
    """Every SOAP binding uses the HTTP transport (R2702: soap:binding's transport)."""
    return [f"{binding.get('name')}: transport {node.get('transport')}" for binding, soap in _bindings(wsdl)
            for node in binding.findall(f"{{{soap}}}binding") if node.get("transport") != HTTP_TRANSPORT]  # fmt: skip


@rule
def r2208(wsdl: etree._Element) -> list[str]:
    """A soap:header refers to a message part that refers to a global element."""
    messages, elements = _messages(wsdl), _globals(wsdl, "element")
    problems = []
    for binding, soap in _bindings(wsdl):
        for header in binding.iter(f"{{{soap}}}header"):
            message = messages.get(_qname(header, "message")[1])
            part = message.find(f"{{{WSDL}}}part[@name='{header.get('part')}']") if message is not None else None
            if part is None or _qname(part, "element") not in elements:
                problems.append(f"{binding.get('name')}: header {header.get('message')}/{header.get('part')}")
    return problems


@rule
def r2800(wsdl: etree._Element) -> list[str]:
    """The schemas are XML Schema 1.0 that a processor loads together (each imports the others it uses)."""
    schemas = _schemas(wsdl)
    problems = []
    for schema in schemas:
        combined = etree.fromstring(etree.tostring(schema))
        for other in schemas:
            if other is not schema:
                combined.insert(0, etree.Element(f"{{{XSD}}}import", namespace=other.get("targetNamespace", "")))
        resolver = _SchemaResolver({other.get("targetNamespace", ""): other for other in schemas})
        parser = etree.XMLParser()
        parser.resolvers.add(resolver)
        for element in combined.findall(f"{{{XSD}}}import"):
            element.set("schemaLocation", f"inline:{element.get('namespace')}")
        try:
            etree.XMLSchema(etree.fromstring(etree.tostring(combined), parser))
        except etree.XMLSchemaParseError as exc:
            problems.append(f"schema {schema.get('targetNamespace')}: {exc}")
    return problems


class _SchemaResolver(etree.Resolver):
    """Answers ``inline:<namespace>`` with that namespace's schema from the WSDL."""

    def __init__(self, schemas: dict[str, etree._Element]) -> None:
        super().__init__()
        self.schemas = schemas

    def resolve(self, system_url: str, public_id: str, context: object) -> object:
        namespace = system_url.removeprefix("inline:")
        if namespace in self.schemas:
            return self.resolve_string(etree.tostring(self.schemas[namespace]), context)
        return None


def _generated(root: Path, model_text: str, name: str) -> etree._Element:
    model = root / "model.yaml"
    model.write_text(model_text, encoding="utf-8")
    generate(load_model(model).model, "model.yaml", root / "out")
    return etree.parse(str(root / "out" / name / "service.wsdl")).getroot()


def _idoc_model(namespace: str | None = None) -> str:
    text = (EXAMPLES / "idoc_service" / "model.yaml").read_text(encoding="utf-8")
    if namespace is not None:
        assert "\n  - name: IDocService\n" in text
        text = text.replace("\n  - name: IDocService\n", f"\n  - name: IDocService\n    namespace: {namespace}\n", 1)
    return text


WSDLS = {
    "trfc_client": lambda root: _generated(
        root, (EXAMPLES / "trfc_client" / "model.yaml").read_text(encoding="utf-8"), "saptRFCClientService"
    ),
    "idoc_service": lambda root: _generated(root, _idoc_model(), "IDocService"),
    "idoc_service, http namespace": lambda root: _generated(
        root, _idoc_model("http://example.com/idoc-service"), "IDocService"
    ),
}


@pytest.mark.parametrize("example", sorted(WSDLS))
@pytest.mark.parametrize("requirement", sorted(RULES))
def test_the_generated_wsdl_keeps_the_rule(tmp_path: Path, example: str, requirement: str) -> None:
    wsdl = WSDLS[example](tmp_path)
    assert RULES[requirement](wsdl) == []


def test_each_rule_finds_what_breaks_it(tmp_path: Path) -> None:
    wsdl = WSDLS["idoc_service"](tmp_path)
    broken = {
        "R2105": lambda w: _schemas(w)[0].attrib.pop("targetNamespace"),
        "R2204": lambda w: w.find(f"{{{WSDL}}}message/{{{WSDL}}}part").set("type", "xs:string"),
        "R2706": lambda w: w.find(f".//{{{SOAP11}}}body").set("use", "encoded"),
        "R2716": lambda w: w.find(f".//{{{SOAP11}}}body").set("namespace", "urn:x"),
        "R2705": lambda w: w.find(f".//{{{SOAP11}}}operation").set("style", "rpc"),
        "R2702": lambda w: w.find(f".//{{{SOAP11}}}binding").set("transport", "urn:smtp"),
        "R2101": lambda w: w.find(f"{{{WSDL}}}message/{{{WSDL}}}part").set("element", "tns:Nothing"),
        "R2201": lambda w: w.find(f"{{{WSDL}}}message[@name='SendFlatIDocRequest']").append(
            etree.fromstring(
                f'<part xmlns="{WSDL}" xmlns:tns="{w.get("targetNamespace")}" name="more" element="tns:SendFlatIDoc"/>'
            )
        ),
        "R2710": lambda w: w.find(f"{{{WSDL}}}portType/{{{WSDL}}}operation[2]/{{{WSDL}}}input").set(
            "message", "tns:SendIDocXMLRequest"
        ),
        "R2718": lambda w: w.find(f"{{{WSDL}}}binding").remove(w.find(f"{{{WSDL}}}binding/{{{WSDL}}}operation")),
        "R2208": lambda w: w.find(f".//{{{SOAP11}}}header").set("part", "Nothing"),
        "R2003": lambda w: w.append(etree.fromstring(etree.tostring(_schemas(w)[0]))),
        "R2304": lambda w: w.find(f"{{{WSDL}}}portType").append(
            etree.fromstring(etree.tostring(w.find(f"{{{WSDL}}}portType/{{{WSDL}}}operation")))
        ),
        "R2800": lambda w: _schemas(w)[0].append(
            etree.fromstring(f'<xs:element xmlns:xs="{XSD}" name="Broken" type="xs:noSuchType"/>')
        ),
    }
    assert set(broken) == set(RULES), "every rule has a way to break it"
    for requirement, breaking in broken.items():
        copy = etree.fromstring(etree.tostring(wsdl))
        breaking(copy)
        assert RULES[requirement](copy), f"{requirement} did not notice"
