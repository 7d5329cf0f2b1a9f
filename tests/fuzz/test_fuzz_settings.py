"""Fuzz the deployment settings loader and what ``idocbridge validate -s`` does with a settings file.

Inputs are mutations of the example settings and the settings corpus (YAML, and each as XML), and
settings trees built of the settings' own keys. The property: every input ends in settings applied to
the example model or a :class:`ModelError` whose diagnostics each carry file, line and column and say
something; nothing else is raised; no input hangs.
"""

from __future__ import annotations

from contextlib import suppress
from pathlib import Path

from hypothesis import example, given
from hypothesis import strategies as st

from idocbridge.models import DeploymentSettings, ModelError, apply_settings, dump_yaml, load_model, write_xml
from idocbridge.models.loader import parse_element, parse_source
from idocbridge.models.rules import check_model
from idocbridge.models.settings import load_settings
from idocbridge.models.source import Syntax
from tests.conftest import EXAMPLES
from tests.fuzz.budget import count, fuzz_settings
from tests.fuzz.test_fuzz_models import assert_positioned, keys_below, mutated, trees

CASES = Path(__file__).resolve().parent.parent / "models" / "settings_cases"
MODEL = load_model(EXAMPLES / "trfc_client" / "model.yaml").model

_YAML_FILES = sorted(EXAMPLES.glob("*/settings*.yaml")) + sorted(
    p for p in CASES.glob("*.yaml") if p.name != "model.yaml"
)
SEEDS: dict[Syntax, list[bytes]] = {
    "yaml": [path.read_bytes() for path in _YAML_FILES],
    "xml": [path.read_bytes() for path in sorted(EXAMPLES.glob("*/settings*.xml"))],
}
for _path in _YAML_FILES:  # each YAML seed that loads as settings, in the XML syntax too
    with suppress(ModelError):
        SEEDS["xml"].append(write_xml(load_settings(_path)).encode("utf-8"))


def _apply(data: bytes, syntax: Syntax) -> None:
    """Load settings from ``data`` and apply them to the example model, as ``validate -s`` does."""
    file = f"settings.{syntax}"
    try:
        settings = parse_element(parse_source(data, file, syntax, DeploymentSettings), DeploymentSettings)
    except ModelError as error:
        assert_positioned(error, file)
        return
    deployed, problems = apply_settings(MODEL, settings)
    for diagnostic in [*problems, *check_model(deployed)]:
        assert diagnostic.location is not None, diagnostic.format()
        assert diagnostic.message.strip(), diagnostic.format()


@fuzz_settings(300, share=0.7)
@given(st.sampled_from(["yaml", "xml"]), st.data())
@example("yaml", b"server:\n  basicAuthUser: u\n")
@example("yaml", b"server:\n  basicAuthPassword: ${P}\n")
@example("yaml", b"server:\n? [a]\n: 1\n")
@example("yaml", b"server:\n")
@example("yaml", b"aliases:\n  - name: RFCPort_STFC_CONNECTION\n    websocket:\n")
@example("yaml", b"&e;\nserver:\n&e;  basicAuthUser: erp-sender\n")
@example("yaml", b"aliases:\n  ?\n  - name: SAP\n    host: a\n  - name: SAP\n    host: b\n")  # an unhashable key
def test_mutated_settings_load_or_report_positions(syntax: Syntax, data: st.DataObject | bytes) -> None:
    text = data if isinstance(data, bytes) else data.draw(mutated(SEEDS[syntax]), label="settings")
    count(f"settings.{syntax}.mutated")
    _apply(text, syntax)


_KEYS = keys_below(DeploymentSettings)


@fuzz_settings(100, share=0.3)
@given(st.dictionaries(st.sampled_from(_KEYS), trees(_KEYS), max_size=6))
def test_generated_settings_structures_load_or_report_positions(tree: dict[str, object]) -> None:
    count("settings.yaml.structure")
    _apply(dump_yaml(tree).encode("utf-8"), "yaml")
