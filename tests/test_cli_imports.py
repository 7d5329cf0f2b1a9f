"""What the command line imports: ``idocbridge --help`` (and the help of every command) loads typer, click,
rich and the light parts of the command modules; a command loads what its work needs and no more.

Each probe runs in a fresh interpreter, through ``idocbridge.cli:main`` (the console script's entry), and
reports the modules loaded. The heavy packages: zeep, SQLAlchemy and Alembic, the simulator, the SOAP app
and the generators (docs/performance.md, "Starting the command line", has the figures).
"""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest

from tests.conftest import EXAMPLES, ROOT

HEAVY = ("zeep", "alembic", "sqlalchemy", "idocbridge.sapsim", "idocbridge.soap.app", "idocbridge.generators")
"""What no help text needs."""

NOT_FOR_VALIDATING = ("zeep", "alembic", "idocbridge.sapsim", "idocbridge.soap.app")
"""What ``idocbridge validate`` needs no more than --help does (it needs the models)."""

MARKER = "modules loaded: "

PROBE = f"""
import json, sys
from idocbridge.cli import main

def run(arguments):
    sys.argv = ["idocbridge", *arguments]
    try:
        main()
    except SystemExit as exit:
        return exit.code or 0
    return 0

if sys.argv[1:] == ["--help-of-every-command"]:
    import typer
    from idocbridge.cli import app

    def paths(command, path):
        yield path
        for name, sub in getattr(command, "commands", {{}}).items():
            yield from paths(sub, [*path, name])

    reports = []
    for path in paths(typer.main.get_command(app), []):
        code = run([*path, "--help"])
        reports.append({{"arguments": [*path, "--help"], "exit": code, "modules": sorted(sys.modules)}})
else:
    code = run(sys.argv[1:])
    reports = [{{"arguments": sys.argv[1:], "exit": code, "modules": sorted(sys.modules)}}]
print("\\n{MARKER}" + json.dumps(reports))
"""
"""Runs ``idocbridge ARGUMENTS`` as the console script does (or the help of every command and subcommand,
one after the other); prints, after the command's output, the modules loaded by the end of each."""


Report = dict[str, Any]
"""What the probe says of one command: its ``arguments``, its ``exit`` code, the ``modules`` loaded by its end."""


def _probe(*arguments: str) -> list[Report]:
    result = subprocess.run(
        [sys.executable, "-c", PROBE, *arguments], cwd=ROOT, capture_output=True, text=True, timeout=120, check=False
    )
    lines = [line for line in result.stdout.splitlines() if line.startswith(MARKER)]
    assert lines, f"the probe reported nothing ({result.returncode}):\n{result.stderr}"
    reports: list[Report] = json.loads(lines[-1].removeprefix(MARKER))
    return reports


def _loaded(report: Report, names: tuple[str, ...]) -> list[str]:
    """Which of ``names`` (packages or modules) the report's command had loaded, with or without submodules."""
    modules: list[str] = report["modules"]
    return [name for name in names if any(module == name or module.startswith(name + ".") for module in modules)]


def test_help_loads_none_of_the_heavy_packages() -> None:
    [report] = _probe("--help")
    assert report["exit"] == 0
    assert _loaded(report, HEAVY) == []


def test_the_help_of_every_command_loads_none_of_the_heavy_packages() -> None:
    """One interpreter shows every help text in turn; the first that loads a heavy package is named."""
    reports = _probe("--help-of-every-command")
    assert len(reports) > 20, "the probe did not find the commands"
    for report in reports:
        assert report["exit"] == 0, report["arguments"]
        assert _loaded(report, HEAVY) == [], f"idocbridge {' '.join(report['arguments'])}"


def test_validate_loads_the_models_and_nothing_for_serving_or_sending() -> None:
    [report] = _probe("validate", str(EXAMPLES / "trfc_client" / "model.yaml"))
    assert report["exit"] == 0
    assert _loaded(report, ("idocbridge.models",)) == ["idocbridge.models"], "the probe saw no command run"
    assert _loaded(report, NOT_FOR_VALIDATING) == []


def test_the_outbox_states_tx_list_offers_are_the_outboxs() -> None:
    """``tx list --status`` names the states itself (importing the outbox loads SQLAlchemy)."""
    from idocbridge.cli.tx import EntryState
    from idocbridge.transactions.states import OutboxState

    assert [(state.name, state.value) for state in EntryState] == [(state.name, state.value) for state in OutboxState]


def test_send_allows_as_many_idocs_per_request_as_the_service_takes() -> None:
    """``send --per-request`` names its maximum itself (importing the SOAP layer loads the models and SQLAlchemy)."""
    from idocbridge.cli import send
    from idocbridge.soap import idoc_request

    assert send.MAX_IDOCS_PER_REQUEST == idoc_request.MAX_IDOCS_PER_REQUEST


@pytest.mark.parametrize("name", HEAVY)
def test_the_check_sees_a_heavy_import(name: str) -> None:
    """A report that holds a heavy module is caught, whether the package or one of its modules."""
    assert _loaded({"modules": ["typer", f"{name}.inner"]}, HEAVY) == [name]
    assert _loaded({"modules": [name]}, HEAVY) == [name]
    assert _loaded({"modules": [f"{name}_lookalike"]}, HEAVY) == []
