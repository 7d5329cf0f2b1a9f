"""A simulator process per test module, reset before each test, and IDoc builders."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

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


def txtraw(*lines: str, sender: str = "LEGACY", receiver: str = "SIMCLNT100", **control: str) -> dict[str, Any]:
    """IDOC_INBOUND_ASYNCHRONOUS parameters for one TXTRAW01 IDoc."""
    record = {
        "TABNAM": "EDI_DC40",
        "DIRECT": "2",
        "IDOCTYP": "TXTRAW01",
        "MESTYP": "TXTRAW",
        "SNDPOR": "LEGACY",
        "SNDPRT": "LS",
        "SNDPRN": sender,
        "RCVPOR": "SAPSIM",
        "RCVPRT": "LS",
        "RCVPRN": receiver,
    } | control
    data = [{"SEGNAM": "E1TXTRW", "SDATA": line} for line in lines]
    return {"IDOC_CONTROL_REC_40": [record], "IDOC_DATA_REC_40": data}


def shared_file(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"{path} is absent (the shared test data is not next to this checkout)")
    return path
