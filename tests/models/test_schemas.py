"""The JSON Schema and the XSD are derived from the metamodel and accept every example."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
from lxml import etree

from idocbridge.models import DeploymentSettings, Model, json_schema, xml_schema
from idocbridge.models.yaml_io import read_yaml
from tests.conftest import EXAMPLES, ROOT

SCHEMAS = ROOT / "docs" / "schema"
YAML_FILES = sorted(EXAMPLES.glob("*/model.yaml"))
XML_FILES = sorted(EXAMPLES.glob("*/model.xml"))


def _yaml_data(path: Path) -> object:
    return read_yaml(path.read_text(encoding="utf-8"), str(path)).to_plain()


@pytest.mark.parametrize("path", YAML_FILES, ids=lambda p: p.parent.name)
def test_examples_validate_against_the_json_schema(path: Path) -> None:
    validator = jsonschema.Draft202012Validator(json.loads(json_schema(Model)))
    assert list(validator.iter_errors(_yaml_data(path))) == []


@pytest.mark.parametrize("path", XML_FILES, ids=lambda p: p.parent.name)
def test_examples_validate_against_the_xsd(path: Path) -> None:
    schema = etree.XMLSchema(etree.fromstring(xml_schema(Model).encode()))
    assert schema.validate(etree.parse(str(path))), schema.error_log


def test_settings_example_validates_against_its_json_schema() -> None:
    validator = jsonschema.Draft202012Validator(json.loads(json_schema(DeploymentSettings)))
    assert list(validator.iter_errors(_yaml_data(EXAMPLES / "trfc_client" / "settings.production.yaml"))) == []


def test_the_schemas_reject_what_the_loader_rejects() -> None:
    validator = jsonschema.Draft202012Validator(json.loads(json_schema(Model)))
    bad = {"name": "X", "aliases": [{"name": "A", "protocol": "ftp", "hots": "x"}]}
    messages = sorted(error.message for error in validator.iter_errors(bad))
    assert any("'ftp'" in message for message in messages)
    assert any("'hots'" in message for message in messages)
    schema = etree.XMLSchema(etree.fromstring(xml_schema(Model).encode()))
    document = etree.fromstring(
        b'<model xmlns="urn:idocbridge:model:1" name="X"><aliases>'
        b'<alias name="A" protocol="ftp" poolSize="0"/></aliases></model>'
    )
    assert not schema.validate(document)
    assert len(schema.error_log) == 2


@pytest.mark.parametrize(
    ("name", "render"),
    [
        ("model.schema.json", lambda: json_schema(Model)),
        ("model.xsd", lambda: xml_schema(Model)),
        ("settings.schema.json", lambda: json_schema(DeploymentSettings)),
        ("settings.xsd", lambda: xml_schema(DeploymentSettings)),
    ],
)
def test_committed_schemas_are_current(name: str, render: object) -> None:
    assert callable(render)
    committed = (SCHEMAS / name).read_text(encoding="utf-8")
    assert committed == render(), f"docs/schema/{name} is stale: run ./run idocbridge schema docs/schema"
