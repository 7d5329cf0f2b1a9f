"""Data flows one way: model -> generator -> service -> chain -> outbox -> connector -> SAP.

Each package of the runtime may import only the layers below it; this test reads every module's
imports (without running it) so that a layer importing back up fails here, not in a review.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.conftest import ROOT

FORBIDDEN: dict[str, frozenset[str]] = {
    "connectors": frozenset({"adapters", "transactions", "soap", "monitor", "tlog", "generators", "cli"}),
    "transactions": frozenset({"adapters", "soap", "monitor", "generators", "cli"}),
    "tlog": frozenset({"adapters", "transactions", "soap", "monitor", "generators", "cli"}),
    "adapters": frozenset({"soap", "monitor", "generators", "cli"}),
    "db": frozenset({"adapters", "transactions", "soap", "monitor", "tlog", "connectors", "generators", "cli"}),
    "soap": frozenset({"cli"}),
    "monitor": frozenset({"adapters", "connectors", "soap", "generators", "cli"}),
    "idoc": frozenset({"cli"}),
    "sapsim": frozenset({"cli"}),
}
"""For each package under framework/, the idocbridge packages it must not import: the command line (``cli``)
sits on top of everything and nothing imports it."""


def _imported_packages(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level:
            names.add("idocbridge.relative-import")  # the project imports absolutely: flagged below
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            if node.module == "idocbridge":
                names.update(f"idocbridge.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return {name.split(".")[1] for name in names if name.startswith("idocbridge.")}


def _outside_the_command_line() -> list[Path]:
    """Every module of the package except the command line's own (and ``python -m idocbridge``)."""
    folders = [ROOT / "framework", ROOT / "models", ROOT / "generators"]
    return sorted(
        path
        for folder in folders
        for path in folder.rglob("*.py")
        if (ROOT / "framework" / "cli") not in path.parents and path != ROOT / "framework" / "__main__.py"
    )


def test_nothing_imports_the_command_line_and_imports_are_absolute() -> None:
    offences = [
        f"{path.relative_to(ROOT)} imports idocbridge.{name}"
        for path in _outside_the_command_line()
        for name in _imported_packages(path) & {"cli", "relative-import"}
    ]
    assert offences == []


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_a_layer_never_imports_the_layers_above_it(package: str) -> None:
    offences = {
        f"{path.relative_to(ROOT)} imports idocbridge.{name}"
        for path in sorted((ROOT / "framework" / package).rglob("*.py"))
        for name in _imported_packages(path) & FORBIDDEN[package]
    }
    assert sorted(offences) == []


def test_the_check_sees_imports(tmp_path: Path) -> None:
    source = ROOT / "framework" / "adapters" / "chain.py"
    assert "transactions" in _imported_packages(source)
    module = tmp_path / "module.py"
    module.write_text("from idocbridge import cli\nfrom . import sibling\n")
    assert _imported_packages(module) == {"cli", "relative-import"}
