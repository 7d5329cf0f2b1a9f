"""The example tRFC client service served with the simulator, once per test module that asks for it."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import zeep

from idocbridge.generators.generate import generate
from idocbridge.models import load_model
from idocbridge.sapsim.testing import SimulatorProcess
from idocbridge.soap.testing import ServiceProcess, simulator_settings
from tests.conftest import EXAMPLES

SERVICE = "saptRFCClientService"
NS = f"urn:tRFCClientExample:{SERVICE}"
ALIASES = ["RFCPort_IDOC_INBOUND_ASYNCHRONOUS", "RFCPort_STFC_CONNECTION"]


@dataclass
class Running:
    """The simulator and the served example service (both processes), and a zeep client of it."""

    sim: SimulatorProcess
    service: ServiceProcess
    client: zeep.Client

    @property
    def endpoint(self) -> str:
        return f"{self.service.url}/{SERVICE}"


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    root = tmp_path_factory.mktemp("served")
    generate(load_model(EXAMPLES / "trfc_client" / "model.yaml").model, "model.yaml", root / "out")
    with SimulatorProcess(root / "sim") as sim:
        assert sim.info is not None
        settings = root / "settings.yaml"
        settings.write_text(simulator_settings(ALIASES, sim.info, root / "state"), encoding="utf-8")
        with ServiceProcess(root / "out", settings, root / "state", {"SAP_PASSWORD": "idocbridge"}) as service:
            with warnings.catch_warnings():
                warnings.simplefilter("error")
                client = zeep.Client(service.wsdl_url(SERVICE))
            yield Running(sim, service, client)
