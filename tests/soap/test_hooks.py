"""hooks.py as docs/serving.md shows it: a check in an operation and the mapping hook."""

from __future__ import annotations

from pathlib import Path

import pytest
import zeep

from idocbridge.generators.generate import generate
from idocbridge.models import load_model
from idocbridge.sapsim.testing import SimulatorProcess
from idocbridge.soap.testing import ServiceProcess, simulator_settings
from tests.conftest import EXAMPLES
from tests.waiting import confirmed_receipt

HOOKS = """
from typing import Any

from idocbridge.soap.faults import SoapFault

from .service import DeliveryReceipt, SaptRFCClientServiceBase, SendTXTRAWRequest


class Service(SaptRFCClientServiceBase):
    def SendTXTRAW(self, request: SendTXTRAWRequest) -> DeliveryReceipt:
        if not request.lines:
            raise SoapFault("send at least one line")
        return super().SendTXTRAW(request)

    def adjust_parameters(self, operation: str, step: str, parameters: dict[str, Any]) -> dict[str, Any]:
        if step == "sendIDoc":
            parameters["IDOC_CONTROL_REC_40"][0]["SNDPRN"] = "LEGACYSYS"
        return parameters
"""


def test_hooks_check_requests_and_adjust_parameters(tmp_path: Path) -> None:
    generate(load_model(EXAMPLES / "trfc_client" / "model.yaml").model, "model.yaml", tmp_path / "out")
    (tmp_path / "out" / "saptRFCClientService" / "hooks.py").write_text(HOOKS, encoding="utf-8")
    with SimulatorProcess(tmp_path / "sim") as sim:
        assert sim.info is not None
        settings = tmp_path / "settings.yaml"
        aliases = ["RFCPort_IDOC_INBOUND_ASYNCHRONOUS", "RFCPort_STFC_CONNECTION"]
        settings.write_text(simulator_settings(aliases, sim.info, tmp_path / "state"), encoding="utf-8")
        with ServiceProcess(tmp_path / "out", settings, tmp_path / "state", {"SAP_PASSWORD": "idocbridge"}) as service:
            client = zeep.Client(service.wsdl_url("saptRFCClientService"))
            with pytest.raises(zeep.exceptions.Fault) as raised:
                client.service.SendTXTRAW(
                    senderPort="P", senderPartner="WHOEVER", receiverPort="R", receiverPartner="Q", lines=[]
                )
            assert raised.value.message.startswith("send at least one line (transaction ")
            assert raised.value.code == "soap:Client"
            receipt = confirmed_receipt(lambda message_id: client.service.SendTXTRAW(
                senderPort="P", senderPartner="WHOEVER", receiverPort="R", receiverPartner="Q", lines=["hooked"],
                _soapheaders={"MessageId": message_id},
            ))  # fmt: skip
        (idoc,) = sim.control.idocs(tid=receipt.tid)
        assert idoc["sndprn"] == "LEGACYSYS"
