"""Shared fixtures and paths."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
SHARED = ROOT.parent / "shared"


@pytest.fixture
def example_model() -> Path:
    return EXAMPLES / "trfc_client" / "model.yaml"


@pytest.fixture(autouse=True)
def _collect_garbage_after_each_test() -> Iterator[None]:
    """Collect garbage when each test ends, so that a connection a test left open is reported (Python 3.13
    warns of unclosed SQLite connections) in the test that left it, not in whichever test runs next."""
    yield
    gc.collect()
