"""The documentation says what the code does: examples in it validate, and every key is documented."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from idocbridge.models import DeploymentSettings, Model, load_model_text
from idocbridge.models.activities import STEP_STEREOTYPES
from idocbridge.models.connection_options import KNOWN_OPTIONS
from idocbridge.models.element import Element
from idocbridge.models.shapes import Shape, fields_of
from tests.conftest import ROOT

DOCS = ROOT / "docs"
_YAML_BLOCK = re.compile(r"```yaml\n(.*?)```", re.DOTALL)


def _classes(root: type[Element]) -> set[type[Element]]:
    seen: set[type[Element]] = set()
    pending = [root]
    while pending:
        cls = pending.pop()
        if cls in seen:
            continue
        seen.add(cls)
        for shape in fields_of(cls):
            if shape.shape is not Shape.SCALAR:
                pending.extend(shape.classes)
    return seen


def test_every_key_of_the_metamodel_is_in_the_reference() -> None:
    reference = (DOCS / "models.md").read_text(encoding="utf-8")
    missing = sorted(
        f"{cls.__name__}.{shape.key}"
        for cls in _classes(Model) | _classes(DeploymentSettings)
        for shape in fields_of(cls)
        if f"`{shape.key}`" not in reference and f"`{shape.key}." not in reference and f".{shape.key}`" not in reference
    )
    assert missing == []


def test_every_connection_option_and_stereotype_is_in_the_reference() -> None:
    reference = (DOCS / "models.md").read_text(encoding="utf-8")
    assert [name for name in KNOWN_OPTIONS if f"| `{name}` |" not in reference] == []
    assert [name for name in STEP_STEREOTYPES if f"`{name}`" not in reference] == []


@pytest.mark.parametrize("page", ["guide.md", "models.md"])
def test_complete_models_in_the_docs_are_valid(page: str) -> None:
    blocks = [b for b in _YAML_BLOCK.findall((DOCS / page).read_text(encoding="utf-8")) if b.startswith("name:")]
    assert blocks, f"{page} shows no complete model"
    for block in blocks:
        load_model_text(block, f"{page}.yaml", "yaml")


def test_the_readme_shows_what_validate_prints(tmp_path: Path) -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    shown = [line.strip() for line in readme.splitlines() if line.startswith("    copy.yaml:") or "hint: did" in line]
    original = (ROOT / "examples" / "trfc_client" / "model.yaml").read_text(encoding="utf-8")
    broken = original.replace("protocol: trfc", "protocol: trcf", 1).replace(
        "    host: localhost", "    hots: localhost", 1
    )
    (tmp_path / "copy.yaml").write_text(broken, encoding="utf-8")
    result = subprocess.run(
        [Path(sys.executable).parent / "idocbridge", "validate", "copy.yaml"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    printed = [line.strip() for line in result.stderr.splitlines() if "error:" in line or "hint:" in line]
    assert printed == shown
