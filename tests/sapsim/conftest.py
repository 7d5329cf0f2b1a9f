"""A simulator process per test module, reset before each test, and IDoc builders."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from idocbridge.sapsim.testing import SimulatorProcess
from tests.conftest import SHARED

ORDERS05 = SHARED / "testdata" / "external" / "PeterXyp__sapidoc" / "src" / "test" / "resources" / "ORDERS05.txt"


@pytest.fixture(scope="module")
def simulator_process(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimulatorProcess]:
    parser_files = [ORDERS05] if ORDERS05.exists() else []
    with SimulatorProcess(tmp_path_factory.mktemp("sim"), parser_files=parser_files) as process:
        yield process


@pytest.fixture
def sim(simulator_process: SimulatorProcess) -> SimulatorProcess:
    simulator_process.control.reset()
    return simulator_process


def shared_file(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"{path} is absent (the shared test data is not next to this checkout)")
    return path
