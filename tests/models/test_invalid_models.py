"""The corpus of invalid models: each file ends with the exact diagnostics the loader must report."""

from __future__ import annotations

from pathlib import Path

import pytest

from idocbridge.models import ModelError, load_deployment, load_model
from tests.models.expectations import actual, expected

CORPUS = Path(__file__).parent / "invalid"
SETTINGS = Path(__file__).parent / "settings_cases"
CASES = sorted(CORPUS.glob("*.yaml")) + sorted(CORPUS.glob("*.xml"))
SETTINGS_CASES = sorted(p for p in SETTINGS.glob("*.yaml") if p.name != "model.yaml")


def test_the_corpus_is_large_enough() -> None:
    assert len(CASES) >= 40
    assert len(list(CORPUS.glob("*.xml"))) >= 10


@pytest.mark.parametrize("path", CASES, ids=lambda p: p.name)
def test_invalid_model_reports_exactly_its_expected_errors(path: Path) -> None:
    want = expected(path)
    assert want, f"{path.name} states no expectation"
    errors_expected = any(": error: " in text for text, _ in want)
    if errors_expected:
        with pytest.raises(ModelError) as raised:
            load_model(path)
        got = actual(raised.value.diagnostics, path)
    else:
        got = actual(load_model(path).warnings, path)
    assert got == want


@pytest.mark.parametrize("path", SETTINGS_CASES, ids=lambda p: p.name)
def test_invalid_settings_report_exactly_their_expected_errors(path: Path) -> None:
    want = expected(path)
    assert want
    model = SETTINGS / "model.yaml"
    if any(": error: " in text for text, _ in want):
        with pytest.raises(ModelError) as raised:
            load_deployment(model, path)
        got = actual(raised.value.diagnostics, path)
    else:
        got = actual(load_deployment(model, path).warnings, path)
    assert got == want


def test_model_error_lists_every_problem_in_one_message() -> None:
    with pytest.raises(ModelError) as raised:
        load_model(CORPUS / "step_unknown_alias.yaml")
    text = str(raised.value)
    assert text.startswith("3 error(s) in the model")
    assert text.count("error: SAP alias 'SPA' is not defined") == 3
