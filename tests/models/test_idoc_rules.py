"""The rules on IDoc inputs and IDoc types, beyond the corpus: valid models, paths, reading each file once."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import idocbridge.models.rules.idoc as idoc_rules
from idocbridge.idoc import IDocType
from idocbridge.models import Model, ModelError, load_model, load_model_text
from idocbridge.models.idoc_types import IDocTypeSource
from idocbridge.models.rules import check_model
from idocbridge.models.services import IDocInput, Operation, PortType, SoapService

PARSER_FILES = Path(__file__).parent / "invalid" / "idoc"

MODEL = """\
name: Case
aliases:
  - name: SAP
    protocol: trfc
    client: "100"
    user: IDOC/${SAP_PASSWORD}
  - name: SAPRFC
    protocol: rfc
    client: "100"
    user: IDOC/${SAP_PASSWORD}
structures:
  - name: Answer
    fields:
      - name: text
        type: CHAR(255)
idocTypes:
  - name: ZCASE01
    parserFile: types/ZCASE01.txt
    description: the test type
  - name: ZCASEX01
    parserFile: types/ZCASEX01.txt
services:
  - name: S
    portTypes:
      - name: P
        operations:
          - name: SendXml
            idoc:
              format: xml
              type: ZCASEX01
            activity:
              - stereotype: SAPTRFCCreateTransaction
                name: create
                alias: SAP
              - stereotype: SAPTRFCAdapter
                name: send
                alias: SAP
                function: IDOC_INBOUND_ASYNCHRONOUS
                transaction: create
                inputs:
                  - to: tables.IDOC_CONTROL_REC_40[0]
                    from: input.controlRecord
                  - to: tables.IDOC_DATA_REC_40
                    from: input.dataRecords
              - stereotype: SAPTRFCConfirmTransaction
                name: confirm
                alias: SAP
                transaction: create
          - name: SendFlat
            idoc:
              format: flat
              type: ZCASE01
          - name: SendText
            idoc:
              format: flat
              type: TXTRAW01
          - name: Echo
            idoc:
              format: xml
            output: Answer
            activity:
              - stereotype: SAPRFCAdapter
                name: echo
                alias: SAPRFC
                function: STFC_CONNECTION
                inputs:
                  - to: import.REQUTEXT
                    from: input.controlRecord.DOCNUM
                outputs:
                  - to: output.text
                    from: export.ECHOTEXT
"""


@pytest.fixture
def model_dir(tmp_path: Path) -> Path:
    (tmp_path / "types").mkdir()
    for name in ("ZCASE01.txt", "ZCASEX01.txt"):
        shutil.copy(PARSER_FILES / name, tmp_path / "types" / name)
    (tmp_path / "model.yaml").write_text(MODEL, encoding="utf-8")
    return tmp_path


def _counting_reader(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    calls: list[Path] = []
    original = idoc_rules.read_parser_file

    def read(path: Path) -> IDocType:
        calls.append(path)
        return original(path)

    monkeypatch.setattr(idoc_rules, "read_parser_file", read)
    return calls


def test_idoc_operations_with_declared_types_load_without_findings(model_dir: Path) -> None:
    loaded = load_model(model_dir / "model.yaml")
    assert loaded.warnings == []
    operations = {op.name: op for op in loaded.model.services[0].port_types[0].operations}
    assert operations["SendFlat"].idoc == IDocInput(format="flat", type="ZCASE01")
    assert operations["Echo"].request_structure == "IDocRecords"


def test_parser_files_resolve_against_the_model_files_directory(
    model_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(PARSER_FILES)  # elsewhere: the current directory must not matter
    calls = _counting_reader(monkeypatch)
    loaded = load_model(model_dir / "model.yaml")
    assert calls == [model_dir / "types" / "ZCASE01.txt", model_dir / "types" / "ZCASEX01.txt"]
    assert loaded.model.idoc_types[0].parser_path() == model_dir / "types" / "ZCASE01.txt"


def test_each_parser_file_is_read_once_per_check(model_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = _counting_reader(monkeypatch)
    more = (
        "    parserFile: types/ZCASEX01.txt\n"
        "  - name: ZCASEX01\n"
        "    parserFile: types/ZCASEX01.txt\n"
        "  - name: ZOTHER\n"
        "    parserFile: ./types/ZCASE01.txt\n"
    )
    text = MODEL.replace("    parserFile: types/ZCASEX01.txt\n", more)
    with pytest.raises(ModelError, match="defined twice") as raised:
        load_model_text(text, str(model_dir / "model.yaml"), "yaml")
    assert "ZOTHER' is read from ZCASE01.txt, which defines ZCASE01" in str(raised.value)
    assert sorted(calls) == [model_dir / "types" / "ZCASE01.txt", model_dir / "types" / "ZCASEX01.txt"]


def test_models_without_idoc_types_read_no_parser_file(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = _counting_reader(monkeypatch)
    load_model_text("name: Case\n", "case.yaml", "yaml")
    assert calls == []


def test_a_model_built_in_python_resolves_parser_files_against_the_current_directory(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(PARSER_FILES.parent)
    operation = Operation(name="Op", idoc=IDocInput(format="flat", type="ZCASE01"))
    model = Model(
        name="Case",
        idoc_types=[
            IDocTypeSource(name="ZCASE01", parser_file="idoc/ZCASE01.txt"),
            IDocTypeSource(name="ZCASEX01", parser_file="idoc/ZDAMAGED.txt"),
        ],
        services=[SoapService(name="S", port_types=[PortType(name="P", operations=[operation])])],
    )
    found = [(d.location, d.message) for d in check_model(model)]
    assert found == [
        (
            None,
            "the parser file of IDoc type 'ZCASEX01' is damaged: ZDAMAGED.txt, line 8: expected SEGMENTTYPE, "
            "found 'BEGIN_FIELDS' (in BEGIN_SEGMENT Z2HEAD000 at line 3)",
        )
    ]
