"""The example tRFC client service served with the simulator, once per test module that asks for it."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import zeep

from idocbridge.sapsim.testing import SimulatorProcess
from idocbridge.soap.testing import ServiceProcess
from tests.soap.example_service import served_example

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
    with served_example(tmp_path_factory.mktemp("served")) as (sim, service):
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            client = zeep.Client(service.wsdl_url(SERVICE))
        yield Running(sim, service, client)
