"""The idocbridge command, run as users run it: a subprocess of the installed console script."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from idocbridge import __version__
from idocbridge.models import load_model
from tests.conftest import EXAMPLES, ROOT

INVALID = ROOT / "tests" / "models" / "invalid"


def _idocbridge(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    executable = shutil.which("idocbridge", path=str(Path(sys.executable).parent))
    assert executable, "the idocbridge console script is not installed"
    return subprocess.run([executable, *args], cwd=cwd, capture_output=True, text=True, timeout=60, check=False)


def test_version() -> None:
    result = _idocbridge("--version")
    assert result.returncode == 0
    assert result.stdout.strip() == f"idocbridge {__version__}"


def test_validate_summarises_a_valid_model() -> None:
    result = _idocbridge("validate", "examples/trfc_client/model.yaml")
    assert result.returncode == 0, result.stderr
    for text in ("tRFCClientExample", "SendAnyIDoc", "SendTXTRAW", "TestSimpleTypes", "IDOCUSER", "Connection pools"):
        assert text in result.stdout
    assert "SAP_PASSWORD" not in result.stdout


def test_validate_lists_every_error_like_a_compiler_and_exits_1() -> None:
    result = _idocbridge("validate", "tests/models/invalid/step_unknown_alias.yaml", "examples/trfc_client/model.xml")
    assert result.returncode == 1
    lines = [line for line in result.stderr.splitlines() if ": error: " in line]
    assert len(lines) == 3
    assert all(line.startswith("tests/models/invalid/step_unknown_alias.yaml:") for line in lines)
    assert lines[0] == "tests/models/invalid/step_unknown_alias.yaml:29:24: error: SAP alias 'SPA' is not defined"
    assert "    hint: did you mean 'SAP'?" in result.stderr
    assert "tRFCClientExample" in result.stdout  # the valid model is still summarised


def test_validate_with_settings_runs_the_checks_serve_would(monkeypatch: pytest.MonkeyPatch) -> None:
    arguments = (
        "validate",
        "-q",
        "examples/trfc_client/model.yaml",
        "-s",
        "examples/trfc_client/settings.production.yaml",
    )
    monkeypatch.delenv("SAP_PRD_PASSWORD", raising=False)
    missing = _idocbridge(*arguments)
    assert missing.returncode == 1
    assert (
        "SAP alias 'RFCPort_IDOC_INBOUND_ASYNCHRONOUS' cannot connect as configured: the password in user: "
        "environment variable SAP_PRD_PASSWORD is not set" in missing.stderr
    )
    monkeypatch.setenv("SAP_PRD_PASSWORD", "never-printed")
    result = _idocbridge(*arguments)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "1 model(s) valid"
    assert "never-printed" not in result.stdout + result.stderr + missing.stderr


def test_convert_both_ways(tmp_path: Path) -> None:
    xml = tmp_path / "model.xml"
    back = tmp_path / "model.yaml"
    assert _idocbridge("convert", "examples/trfc_client/model.yaml", "-o", str(xml)).returncode == 0
    assert _idocbridge("convert", str(xml), "-o", str(back)).returncode == 0
    original = load_model(EXAMPLES / "trfc_client" / "model.yaml").model
    assert load_model(xml).model == original
    assert load_model(back).model == original
    assert back.read_text(encoding="utf-8").startswith("# Converted from model.xml by idocbridge convert.")


def test_convert_to_standard_output_needs_a_syntax() -> None:
    result = _idocbridge("convert", "examples/trfc_client/model.yaml")
    assert result.returncode == 2
    assert "--to yaml|xml" in result.stderr
    result = _idocbridge("convert", "examples/trfc_client/model.yaml", "--to", "xml")
    assert result.returncode == 0
    assert result.stdout.startswith("<?xml version='1.0' encoding='UTF-8'?>")


def test_convert_refuses_an_invalid_model(tmp_path: Path) -> None:
    result = _idocbridge("convert", str(INVALID / "unknown_alias_key.yaml"), "-o", str(tmp_path / "x.xml"))
    assert result.returncode == 1
    assert "unknown key 'hots'" in result.stderr
    assert not (tmp_path / "x.xml").exists()


def test_schema_writes_four_files(tmp_path: Path) -> None:
    result = _idocbridge("schema", str(tmp_path))
    assert result.returncode == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "model.schema.json",
        "model.xsd",
        "settings.schema.json",
        "settings.xsd",
    ]


@pytest.mark.parametrize(
    ("args", "error"), [(["validate"], "Missing argument 'models'."), (["frobnicate"], "No such command 'frobnicate'.")]
)
def test_usage_errors_exit_2(args: list[str], error: str) -> None:
    result = _idocbridge(*args)
    assert result.returncode == 2
    assert error in result.stderr and "Try 'idocbridge" in result.stderr


BARE_IDOC = """name: M
aliases:
  - name: SAP
    protocol: rfc
    connector: pyrfc
    host: localhost
    client: "100"
    user: U/${SAP_PASSWORD}
    systemNumber: "00"
services:
  - name: S
    path: /S
    portTypes:
      - name: P
        operations:
          - name: Op
            idoc:
            activity:
              - stereotype: SAPRFCAdapter
                name: call
                alias: SAP
                function: STFC_CONNECTION
"""


@pytest.mark.parametrize("command", [["validate"], ["convert", "--to", "xml"]])
def test_a_bare_element_key_is_one_positioned_error(tmp_path: Path, command: list[str]) -> None:
    model = tmp_path / "bare.yaml"
    model.write_text(BARE_IDOC, encoding="utf-8")
    result = _idocbridge(*command, str(model))
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert f"{model}:17:13: error: 'idoc' in operation 'Op' is empty" in result.stderr, result.stderr
    assert "hint: write its keys indented under it (format: xml or flat), or remove 'idoc:'" in result.stderr


@pytest.mark.parametrize(
    ("args", "target"),
    [
        (["convert", "examples/trfc_client/model.yaml", "-o"], "folder.xml"),
        (["convert", "examples/trfc_client/model.yaml", "-o"], "missing/out.xml"),
        (["generate", "examples/trfc_client/model.yaml", "-o"], "file.txt"),
        (["schema"], "file.txt"),
    ],
)
def test_an_output_that_cannot_be_written_is_one_error_line(tmp_path: Path, args: list[str], target: str) -> None:
    (tmp_path / "folder.xml").mkdir()
    (tmp_path / "file.txt").write_text("a file, not a folder")
    result = _idocbridge(*args, str(tmp_path / target))
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    [line] = result.stderr.splitlines()
    assert line.startswith(f"error: cannot write {tmp_path}"), line


def test_the_command_keeps_what_its_imports_made_out_of_the_collectors_sight() -> None:
    """The objects of the imports live as long as the process; full collections must not walk them again
    (that doubled the time to convert a large IDoc)."""
    probe = (
        "import gc, sys\n"
        "from idocbridge.cli.app import main\n"
        "sys.argv = ['idocbridge', '--version']\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "print(gc.get_freeze_count())\n"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert int(result.stdout.strip().splitlines()[-1]) > 0, "nothing was frozen"
