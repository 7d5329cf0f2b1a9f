"""Delivery policies: a valid model never asks the outbox for an activity the chain would run in the request.

The refused shapes (several transactions, a tRFC transaction with a synchronous RFC call, a second
confirm) are in the invalid-model corpus; here: what stays valid, and that the chain runner sends every
accepted tRFC operation under ``guaranteed`` or ``synchronous`` through the outbox.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from idocbridge.adapters.chain import trfc_chain
from idocbridge.models import ModelError, load_model, load_model_text
from idocbridge.models.activities import RFCCallStep
from idocbridge.models.model import Model
from tests.conftest import EXAMPLES

_ALIASES = """\
name: Policies
aliases:
  - {name: SAP, protocol: trfc, client: "100", user: "IDOC/${SAP_PASSWORD}"}
  - {name: SAPRFC, protocol: rfc, client: "100", user: "IDOC/${SAP_PASSWORD}"}
services:
  - name: S
    portTypes:
      - name: P
        operations:
          - name: Op
"""
_PING = """\
              - {stereotype: SAPRFCAdapter, name: ping, alias: SAPRFC, function: STFC_CONNECTION}
"""
_TRANSACTION = """\
              - {{stereotype: SAPTRFCCreateTransaction, name: {name}, alias: SAP}}
              - {{stereotype: SAPTRFCAdapter, name: {name}Call, alias: SAP, function: IDOC_INBOUND_ASYNCHRONOUS,
                 transaction: {name}}}
              - {{stereotype: SAPTRFCConfirmTransaction, name: {name}Confirm, alias: SAP, transaction: {name}}}
"""


def _model(delivery: str | None, *steps: str) -> str:
    policy = f"            delivery: {delivery}\n" if delivery else ""
    return _ALIASES + policy + "            activity:\n" + "".join(steps)


def _load(text: str) -> Model:
    return load_model_text(text, "policies.yaml", "yaml").model


@pytest.mark.parametrize("delivery", [None, "guaranteed", "synchronous", "direct"])
def test_synchronous_rfc_calls_are_valid_under_every_policy(delivery: str | None) -> None:
    operation = (
        _load(_model(delivery, _PING, _PING.replace("ping", "pingAgain"))).services[0].port_types[0].operations[0]
    )
    assert [type(step) for step in operation.activity] == [RFCCallStep, RFCCallStep]


@pytest.mark.parametrize("delivery", [None, "guaranteed", "synchronous"])
def test_one_transaction_is_valid_and_goes_through_the_outbox(delivery: str | None) -> None:
    operation = _load(_model(delivery, _TRANSACTION.format(name="create"))).services[0].port_types[0].operations[0]
    assert trfc_chain(operation) is not None


def test_several_transactions_and_calls_are_valid_when_direct() -> None:
    text = _model("direct", _TRANSACTION.format(name="first"), _PING, _TRANSACTION.format(name="second"))
    assert len(_load(text).services[0].port_types[0].operations[0].activity) == 7


@pytest.mark.parametrize("delivery", [None, "guaranteed", "synchronous"])
def test_several_transactions_are_refused_unless_direct(delivery: str | None) -> None:
    text = _model(delivery, _TRANSACTION.format(name="first"), _TRANSACTION.format(name="second"))
    with pytest.raises(ModelError) as raised:
        _load(text)
    (diagnostic,) = raised.value.diagnostics
    assert f"asks for delivery: {delivery or 'guaranteed (the default)'}," in diagnostic.message
    assert diagnostic.hint is not None and "write delivery: direct" in diagnostic.hint


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*/model.yaml")) + sorted(EXAMPLES.glob("*/model.xml")),
                         ids=lambda p: f"{p.parent.name}/{p.name}")  # fmt: skip
def test_every_trfc_operation_of_the_examples_goes_through_the_outbox(path: Path) -> None:
    operations = [op for s in load_model(path).model.services for p in s.port_types for op in p.operations]
    trfc = [op for op in operations if not any(isinstance(step, RFCCallStep) for step in op.activity)]
    assert trfc, f"{path} has no tRFC operation"
    assert [op.name for op in trfc if op.delivery != "direct" and trfc_chain(op) is None] == []
