"""The service's own log as an operator reads it: JSON lines with the transaction ID, one access line a request,
and a clean stop on SIGTERM that says what it did."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import zeep

from idocbridge.generators.generate import generate
from idocbridge.models import load_model
from idocbridge.sapsim.testing import SimulatorProcess
from idocbridge.soap.testing import ServiceProcess, simulator_settings
from tests.conftest import EXAMPLES
from tests.soap.example_service import ALIASES, SERVICE


def _lines(state: Path) -> list[dict[str, Any]]:
    """The JSON lines of the service's log (other output, such as the serving banner, left out)."""
    text = (state / "serve.log").read_text(encoding="utf-8")
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


def test_json_lines_carry_the_access_of_each_request_and_the_stop(tmp_path: Path) -> None:
    generate(load_model(EXAMPLES / "trfc_client" / "model.yaml").model, "model.yaml", tmp_path / "out")
    with SimulatorProcess(tmp_path / "sim") as sim:
        assert sim.info is not None
        settings = tmp_path / "settings.yaml"
        settings.write_text(simulator_settings(ALIASES, sim.info, tmp_path / "state"), encoding="utf-8")
        service = ServiceProcess(tmp_path / "out", settings, tmp_path / "state", {"SAP_PASSWORD": "idocbridge"},
                                 arguments=["--log-format", "json", "--log-level", "INFO"])  # fmt: skip
        with service:
            zeep.Client(service.wsdl_url(SERVICE)).service.TestSimpleTypes(requestText="logged")
            forged = "?x%0A2030-01-01T00:00:00.000Z%20ERROR%20FORGED=secret-value"
            httpx.post(f"{service.url}/{SERVICE}{forged}", content=b"<x/>", headers={"Content-Type": "text/xml"})
        # leaving the block sent SIGTERM and waited for the process to end
    entries = _lines(tmp_path / "state")
    assert entries, (tmp_path / "state" / "serve.log").read_text(encoding="utf-8")[-2000:]
    assert all({"time", "level", "logger", "message"} <= set(entry) for entry in entries)
    access = [entry for entry in entries if entry["logger"] == "idocbridge.access"]
    (post,) = [entry for entry in access if entry["message"].endswith(" TestSimpleTypes ok")]
    assert post["message"].startswith(f"POST /{SERVICE} 200 ") and post["message"].endswith(" TestSimpleTypes ok")
    assert len(post["transactionId"]) == 40
    log_text = (tmp_path / "state" / "serve.log").read_text(encoding="utf-8")
    assert "secret-value" not in log_text, "a query's values never reach the log"
    assert any(entry["message"].startswith(f"POST /{SERVICE}?x%0A2030") for entry in access), "names as sent"
    messages = [entry["message"] for entry in entries if entry["logger"] == "idocbridge.serve"]
    assert messages[-1].startswith("stopped: every delivery in progress finished"), messages
    assert not any("maximum number of running instances" in entry["message"] for entry in entries)
