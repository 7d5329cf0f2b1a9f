"""YAML and XML are two syntaxes of one model: conversion either way loses nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings

from idocbridge.models import Model, dump_yaml, load_model, load_model_text, write_xml
from tests.conftest import EXAMPLES
from tests.models.strategies import models

EXAMPLE_MODELS = sorted(EXAMPLES.glob("*/model.yaml")) + sorted(EXAMPLES.glob("*/model.xml"))


def _through_yaml(model: Model) -> Model:
    return load_model_text(dump_yaml(model.dump()), "generated.yaml", "yaml").model


def _through_xml(model: Model) -> Model:
    return load_model_text(write_xml(model), "generated.xml", "xml").model


@pytest.mark.parametrize("path", EXAMPLE_MODELS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_example_round_trips_through_both_syntaxes(path: Path) -> None:
    model = load_model(path).model
    assert _through_xml(model) == model
    assert _through_yaml(model) == model
    assert _through_yaml(_through_xml(model)) == model
    assert write_xml(_through_yaml(model)) == write_xml(model)


def test_the_yaml_and_xml_examples_are_the_same_model() -> None:
    for yaml_path in EXAMPLES.glob("*/model.yaml"):
        xml_path = yaml_path.with_suffix(".xml")
        assert xml_path.exists(), f"{yaml_path.parent.name} has no XML twin"
        assert load_model(yaml_path).model == load_model(xml_path).model


def test_content_inequality_is_detected() -> None:
    model = load_model(EXAMPLES / "trfc_client" / "model.yaml").model
    changed = model.model_copy(update={"version": "9.9"})
    assert changed != model


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(models())
def test_load_dump_load_is_the_identity_in_yaml(model: Model) -> None:
    loaded = _through_yaml(model)
    assert loaded == model
    assert _through_yaml(loaded) == loaded


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(models())
def test_load_dump_load_is_the_identity_in_xml(model: Model) -> None:
    loaded = _through_xml(model)
    assert loaded == model
    assert _through_xml(loaded) == loaded
