"""The example tRFC client service, generated and served as a real process with the simulator behind it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from idocbridge.generators.generate import generate
from idocbridge.models import load_model
from idocbridge.sapsim.testing import SimulatorProcess
from idocbridge.soap.testing import ServiceProcess, simulator_settings
from tests.conftest import EXAMPLES

__all__ = ["ALIASES", "NS", "SERVICE", "served_example"]

SERVICE = "saptRFCClientService"
NS = f"urn:tRFCClientExample:{SERVICE}"
ALIASES = ["RFCPort_IDOC_INBOUND_ASYNCHRONOUS", "RFCPort_STFC_CONNECTION"]


@contextmanager
def served_example(root: Path, server: str = "") -> Iterator[tuple[SimulatorProcess, ServiceProcess]]:
    """The simulator and the example service in ``root`` (state in ``root/state``); ``server`` holds extra
    lines of the settings' server section, each indented by two spaces and ending in a newline."""
    generate(load_model(EXAMPLES / "trfc_client" / "model.yaml").model, "model.yaml", root / "out")
    with SimulatorProcess(root / "sim") as sim:
        assert sim.info is not None
        settings = root / "settings.yaml"
        text = simulator_settings(ALIASES, sim.info, root / "state").replace("server:\n", f"server:\n{server}", 1)
        settings.write_text(text, encoding="utf-8")
        with ServiceProcess(root / "out", settings, root / "state", {"SAP_PASSWORD": "idocbridge"}) as service:
            yield sim, service
