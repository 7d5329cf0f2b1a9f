"""The example services (tRFC client, IDoc service), generated and served as processes with the simulator behind."""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import zeep

from idocbridge.generators.generate import generate
from idocbridge.models import load_model
from idocbridge.sapsim.testing import SimulatorProcess
from idocbridge.soap.testing import ServiceProcess, simulator_settings
from tests.conftest import EXAMPLES

__all__ = [
    "ALIASES",
    "IDOC_ALIAS",
    "IDOC_SERVICE",
    "NS",
    "SERVICE",
    "Served",
    "served_example",
    "served_idoc_example",
    "strict_client",
]

SERVICE = "saptRFCClientService"
NS = f"urn:tRFCClientExample:{SERVICE}"
ALIASES = ["RFCPort_IDOC_INBOUND_ASYNCHRONOUS", "RFCPort_STFC_CONNECTION"]
IDOC_SERVICE = "IDocService"
IDOC_ALIAS = "ERP_IDOC_INBOUND"
"""The service and the alias of examples/idoc_service."""


@contextmanager
def served_example(
    root: Path, server: str = "", environment: dict[str, str] | None = None
) -> Iterator[tuple[SimulatorProcess, ServiceProcess]]:
    """The simulator and the example service in ``root`` (state in ``root/state``); ``server`` holds extra
    lines of the settings' server section, each indented by two spaces and ending in a newline;
    ``environment`` adds to the service's environment."""
    generate(load_model(EXAMPLES / "trfc_client" / "model.yaml").model, "model.yaml", root / "out")
    with SimulatorProcess(root / "sim") as sim:
        assert sim.info is not None
        settings = root / "settings.yaml"
        text = simulator_settings(ALIASES, sim.info, root / "state").replace("server:\n", f"server:\n{server}", 1)
        settings.write_text(text, encoding="utf-8")
        with ServiceProcess(root / "out", settings, root / "state",
                            {"SAP_PASSWORD": "idocbridge", **(environment or {})}) as service:  # fmt: skip
            yield sim, service


@dataclass
class Served:
    """The simulator and a served example service (both processes), and a zeep client of the service."""

    sim: SimulatorProcess
    service: ServiceProcess
    client: zeep.Client


@contextmanager
def served_idoc_example(
    root: Path,
    *,
    operations: str = "",
    alias: str = "",
    parser_files: Iterable[Path] = (),
    settings: str = "",
    environment: dict[str, str] | None = None,
    simulator_config: Path | None = None,
) -> Iterator[Served]:
    """The simulator (knowing the IDoc types of ``parser_files``) and examples/idoc_service in ``root``.

    ``operations`` holds operations to add to its port (YAML, indented as the model's), ``alias`` extra
    lines of its alias's settings, each indented by four spaces and ending in a newline; ``settings`` more
    top-level sections of the settings file (YAML); ``environment`` adds to the service's environment;
    ``simulator_config`` replaces the simulator's default configuration."""
    model = root / "model.yaml"
    source = (EXAMPLES / "idoc_service" / "model.yaml").read_text(encoding="utf-8")
    model.write_text(source.rstrip("\n") + "\n" + operations, encoding="utf-8")
    generate(load_model(model).model, "model.yaml", root / "out")
    with SimulatorProcess(root / "sim", parser_files=list(parser_files), config=simulator_config) as sim:
        assert sim.info is not None
        text = simulator_settings([IDOC_ALIAS], sim.info, root / "state")
        name = f"  - name: {IDOC_ALIAS}\n"
        assert name in text
        path = root / "settings.yaml"
        path.write_text(text.replace(name, name + alias) + settings, encoding="utf-8")
        environ = {"SAP_PASSWORD": "idocbridge", **(environment or {})}
        with ServiceProcess(root / "out", path, root / "state", environ) as service:
            yield Served(sim, service, strict_client(service, IDOC_SERVICE))


def strict_client(service: ServiceProcess, name: str) -> zeep.Client:
    """A zeep client of service ``name``'s served WSDL; a warning of zeep about the WSDL fails the test."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return zeep.Client(service.wsdl_url(name))
