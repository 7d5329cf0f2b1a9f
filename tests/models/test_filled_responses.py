"""The output rule agrees with what serving does: the fields it reports unfilled are exactly those the
generated response class refuses once the step's output mappings have run; with all filled, it accepts."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from idocbridge.adapters.mapping import MappingRoot, apply_mappings
from idocbridge.generators.generate import generate
from idocbridge.models import ModelError, load_model, load_model_text
from idocbridge.models.activities import RFCCallStep
from idocbridge.models.index import ModelIndex
from idocbridge.models.loader import parse_element, parse_source
from idocbridge.models.model import Model
from idocbridge.models.rules import check_model
from tests.conftest import EXAMPLES

_OUTPUTS = {
    "header.docnum": "- {to: output.header.docnum, from: 'tables.IDOC_CONTROL_REC_40[0].DOCNUM'}",
    "header.status": "- {to: output.header.status, from: 'tables.IDOC_CONTROL_REC_40[0].STATUS'}",
    "lines[*].data": "- {to: 'output.lines[*].data', from: 'tables.IDOC_DATA_REC_40[*].SDATA'}",
    "lines[*].segment": "- {to: 'output.lines[*].segment', from: 'tables.IDOC_DATA_REC_40[*].SEGNAM'}",
    "control": "- {to: output.control, from: 'tables.IDOC_CONTROL_REC_40[0]'}",
}

_MODEL = """\
name: Responses
aliases:
  - {name: SAPRFC, protocol: rfc, client: "100", user: "IDOC/${SAP_PASSWORD}"}
structures:
  - name: Line
    fields:
      - {name: segment, type: CHAR(30)}
      - {name: data, type: CHAR(1000)}
  - name: Header
    fields:
      - {name: docnum, type: NUMC(16)}
      - {name: status, type: CHAR(2)}
  - name: Answer
    fields:
      - {name: header, type: Header}
      - {name: sender, type: Header, optional: true}
      - {name: lines, type: Line, array: true}
      - {name: control, type: EDI_DC40}
services:
  - name: Reader
    portTypes:
      - name: P
        operations:
          - name: Read
            output: Answer
            activity:
              - stereotype: SAPRFCAdapter
                name: read
                alias: SAPRFC
                function: IDOC_INBOUND_ASYNCHRONOUS
"""

_SAP_ANSWER = {
    "IDOC_CONTROL_REC_40": [{"DOCNUM": "0000000000000042", "STATUS": "53", "MESTYP": "ORDERS"}],
    "IDOC_DATA_REC_40": [{"SEGNAM": "E1EDK01", "SDATA": "head"}, {"SEGNAM": "E1EDP01", "SDATA": "item"}],
}


def _text(filled: list[str]) -> str:
    return _MODEL + "                outputs:\n" + "".join(f"                  {_OUTPUTS[name]}\n" for name in filled)


def _unchecked(text: str) -> Model:
    return parse_element(parse_source(text.encode("utf-8"), "responses.yaml", "yaml", Model), Model)


@pytest.fixture(scope="module")
def answer_class(tmp_path_factory: pytest.TempPathFactory) -> type[BaseModel]:
    """The response class ``idocbridge generate`` writes for Answer (it depends on the structures only)."""
    out = tmp_path_factory.mktemp("generated")
    generate(load_model_text(_text(list(_OUTPUTS)), "responses.yaml", "yaml").model, "responses.yaml", out)
    spec = importlib.util.spec_from_file_location("responses_generated_service", out / "Reader" / "service.py")
    assert spec is not None and spec.loader is not None
    module: ModuleType = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    answer = module.Answer
    assert isinstance(answer, type) and issubclass(answer, BaseModel)
    return answer


def _response(model: Model) -> dict[str, Any]:
    """What the SAPRFCAdapter step builds as the response from SAP's answer (as rfc_call does)."""
    index = ModelIndex(model)
    step = model.services[0].port_types[0].operations[0].activity[0]
    assert isinstance(step, RFCCallStep)
    tables = index.structures["IDOC_INBOUND_ASYNCHRONOUS_TABLES"]
    output: dict[str, Any] = {}
    apply_mappings(index, step.outputs, {"tables": MappingRoot(_SAP_ANSWER, tables)},
                   {"output": MappingRoot(output, index.structures["Answer"])})  # fmt: skip
    return output


def _path(location: tuple[int | str, ...]) -> str:
    """A pydantic error location written as the rule names fields: header.status, lines[*].segment."""
    text = ""
    for part in location:
        text += "[*]" if isinstance(part, int) else f".{part}" if text else part
    return text


def test_a_response_filled_completely_is_valid_and_accepted_when_served(answer_class: type[BaseModel]) -> None:
    loaded = load_model_text(_text(list(_OUTPUTS)), "responses.yaml", "yaml")
    answer = answer_class.model_validate(_response(loaded.model))
    assert answer.model_dump()["lines"][1] == {"segment": "E1EDP01", "data": "item"}


@pytest.mark.parametrize("left_out", [[name] for name in _OUTPUTS] + [["header.docnum", "header.status"]], ids=str)
def test_a_field_no_mapping_fills_is_refused_and_would_fail_every_request(
    answer_class: type[BaseModel], left_out: list[str]
) -> None:
    text = _text([name for name in _OUTPUTS if name not in left_out])
    with pytest.raises(ModelError) as raised:
        load_model_text(text, "responses.yaml", "yaml")
    (diagnostic,) = raised.value.diagnostics
    assert diagnostic.location is not None
    line = next(number for number, written in enumerate(text.splitlines(), 1) if written.endswith("output: Answer"))
    assert (diagnostic.location.line, diagnostic.location.column) == (line, len("            output: ") + 1)
    # the whole header left out: the field itself is missing, not its parts
    reported = ["header"] if left_out == ["header.docnum", "header.status"] else left_out
    assert diagnostic.message.endswith(", ".join(f"'{name}'" for name in reported) + ", so every request would fail")
    with pytest.raises(ValidationError) as refused:
        answer_class.model_validate(_response(_unchecked(text)))
    missing = {_path(error["loc"]) for error in refused.value.errors() if error["type"] == "missing"}
    assert missing == set(reported)


def test_an_optional_field_and_an_untouched_list_need_no_mapping() -> None:
    text = _MODEL.replace("type: Header}", "type: Header, optional: true}", 1).replace(
        "type: EDI_DC40}", "type: EDI_DC40, optional: true}"
    )
    assert [d for d in check_model(_unchecked(text)) if d.is_error] == []


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*/model.yaml")) + sorted(EXAMPLES.glob("*/model.xml")),
                         ids=lambda p: f"{p.parent.name}/{p.name}")  # fmt: skip
def test_every_example_model_is_still_valid(path: Path) -> None:
    assert load_model(path).warnings == []
