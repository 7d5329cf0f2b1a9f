"""Paths to the shared external IDoc test data (never copied into the repository)."""

from __future__ import annotations

from pathlib import Path

import pytest

EXTERNAL = Path(__file__).resolve().parents[3] / "shared" / "testdata" / "external"
SAPIDOC = "PeterXyp__sapidoc/src"


def external(relative: str) -> Path:
    """A file under ../shared/testdata/external, or skip the test with the reason when it is absent."""
    path = EXTERNAL / relative
    if not path.is_file():
        pytest.skip(f"shared test data not available: {path} (see shared/testdata/external/SOURCES.md)")
    return path
