"""A model's alias, pointed at the simulator by deployment settings, connects and delivers."""

from __future__ import annotations

from pathlib import Path

import pytest

from idocbridge.connectors.pool_set import PoolSet
from idocbridge.connectors.simulator import SimulatorConnector
from idocbridge.models import load_deployment
from idocbridge.sapsim.testing import SimulatorProcess, txtraw
from tests.conftest import EXAMPLES


def _settings(sim: SimulatorProcess, folder: Path) -> Path:
    assert sim.info is not None
    websocket = f"{{port: {sim.info.port}, trustedCa: '{sim.info.ca_certificate}'}}"
    body = "".join(
        f"  - name: {name}\n    transport: websocket\n    host: 127.0.0.1\n    websocket: {websocket}\n"
        for name in ("RFCPort_IDOC_INBOUND_ASYNCHRONOUS", "RFCPort_STFC_CONNECTION")
    )
    path = folder / "settings.simulator.yaml"
    path.write_text(f"environment: simulator\naliases:\n{body}", encoding="utf-8")
    return path


def test_the_example_model_reaches_the_simulator_through_settings(sim: SimulatorProcess, tmp_path: Path) -> None:
    deployed = load_deployment(EXAMPLES / "trfc_client" / "model.yaml", _settings(sim, tmp_path)).model
    environ = {"SAP_PASSWORD": "idocbridge"}
    pools = PoolSet(deployed, lambda alias: SimulatorConnector.from_alias(alias, environ))
    assert len(pools.pools) == 1  # both aliases share one connection string, so one pool
    assert pools.aliases == ["RFCPort_IDOC_INBOUND_ASYNCHRONOUS", "RFCPort_STFC_CONNECTION"]
    assert "RFCPort_STFC_CONNECTION" in pools and "RFCPort_GONE" not in pools
    with pytest.raises(KeyError, match="no SAP alias named 'RFCPort_GONE'; known: RFCPort_IDOC_INBOUND_ASYNCHRONOUS, "):
        pools.for_alias("RFCPort_GONE")
    with pools.for_alias("RFCPort_STFC_CONNECTION").connection() as sap:
        assert sap.call("STFC_CONNECTION", {"REQUTEXT": "from the model"})["ECHOTEXT"] == "from the model"
    with pools.for_alias("RFCPort_IDOC_INBOUND_ASYNCHRONOUS").connection() as sap:
        tid = sap.get_transaction_id()
        sap.submit_transaction(tid, "IDOC_INBOUND_ASYNCHRONOUS", txtraw("via the model"))
        sap.confirm_transaction(tid)
    pools.close()
    assert [idoc["status"] for idoc in sim.control.idocs(tid=tid)] == ["53"]
    assert pools.pools[0].size == 5
