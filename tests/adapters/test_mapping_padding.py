"""The composite's SAP value padding applies to the values the mappings hand to SAP."""

from __future__ import annotations

from typing import Any

import pytest

from idocbridge.adapters.mapping import apply_mappings, root
from idocbridge.models import load_model
from idocbridge.models.activities import TRFCCallStep
from idocbridge.models.index import ModelIndex
from idocbridge.padding import ValuePadding
from tests.conftest import EXAMPLES

MODEL = load_model(EXAMPLES / "trfc_client" / "model.yaml").model
INDEX = ModelIndex(MODEL)


def _control_record(padding: ValuePadding) -> dict[str, Any]:
    operation = next(
        op for s in MODEL.services for p in s.port_types for op in p.operations if op.name == "SendAnyIDoc"
    )
    step = next(step for step in operation.activity if isinstance(step, TRFCCallStep))
    request = {"controlRecord": {"DOCNUM": "4711", "MESTYP": "TXTRAW", "DIRECT": "2"}, "dataRecords": []}
    sources = {"input": root(request, INDEX.structures[operation.request_structure or ""])}
    targets = {"tables": root({}, INDEX.structures["IDOC_INBOUND_ASYNCHRONOUS_TABLES"])}
    tables = apply_mappings(INDEX, step.inputs, sources, targets, padding)["tables"]
    record: dict[str, Any] = tables["IDOC_CONTROL_REC_40"][0]
    return record


@pytest.mark.parametrize(
    ("padding", "docnum", "mestyp"),
    [
        ("Never", "4711", "TXTRAW"),
        ("Mixed", "0000000000004711", "TXTRAW"),
        ("Always", "0000000000004711", "TXTRAW" + " " * 24),
    ],
)
def test_numc_is_zero_filled_in_mixed_and_always_and_char_blank_filled_in_always(
    padding: ValuePadding, docnum: str, mestyp: str
) -> None:
    record = _control_record(padding)
    assert (record["DOCNUM"], record["MESTYP"]) == (docnum, mestyp)
