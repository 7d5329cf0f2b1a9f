"""Paths to the shared external IDoc test data (never copied into the repository), and the simulator
fixtures of tests/sapsim (a simulator process per module that knows ORDERS05 where ../shared has it)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.sapsim.conftest import sim, simulator_process  # noqa: F401 - fixtures for the tests here

EXTERNAL = Path(__file__).resolve().parents[3] / "shared" / "testdata" / "external"
SAPIDOC = "PeterXyp__sapidoc/src"


def external(relative: str) -> Path:
    """A file under ../shared/testdata/external, or skip the test with the reason when it is absent."""
    path = EXTERNAL / relative
    if not path.is_file():
        pytest.skip(f"shared test data not available: {path} (see shared/testdata/external/SOURCES.md)")
    return path
