"""The snippets of docs/serving.md's "Calling the service from other languages", run as they are written
against a served examples/idoc_service (only the server's address replaced), each delivering its IDoc."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.interop.node_client import NODE_PACKAGE, node_available
from tests.soap.example_service import Served, served_idoc_example
from tests.waiting import wait_until

PAGE = (ROOT / "docs" / "serving.md").read_text(encoding="utf-8")
SECTION = PAGE.split("## Calling the service from other languages", 1)[1]
DOCUMENTED = "http://127.0.0.1:8080"


def _snippet(heading: str, language: str) -> str:
    """The first ``language`` code block under ``### heading``."""
    part = SECTION.split(f"### {heading}", 1)[1].split("\n### ", 1)[0]
    found = re.search(rf"```{language}\n(.*?)```", part, re.DOTALL)
    assert found, f"no {language} snippet under {heading}"
    return found.group(1)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    with served_idoc_example(tmp_path_factory.mktemp("snippets")) as running:
        yield running


def _delivered(served: Served, sender: str, output: str) -> None:
    """The snippet printed a receipt (transaction ID, TID, state) and SAP got its IDoc once, status 53."""
    transaction, tid, state = output.split()
    assert len(transaction) == 40 and len(tid) == 24 and state in ("ACCEPTED", "TID_ASSIGNED", "CONFIRMED"), output
    found = wait_until(lambda: served.sim.control.idocs(tid=tid), what=f"the IDoc of {sender} in SAP")
    assert [(idoc["sndprn"], idoc["status"]) for idoc in found] == [(sender, "53")]


@pytest.mark.parametrize(("heading", "sender"), [("Python: zeep", "ZEEP"), ("Python: suds (suds-community)", "SUDS")])
def test_the_python_snippet_delivers_its_idoc(served: Served, tmp_path: Path, heading: str, sender: str) -> None:
    script = tmp_path / "snippet.py"
    script.write_text(_snippet(heading, "python").replace(DOCUMENTED, served.service.url), encoding="utf-8")
    result = subprocess.run([sys.executable, str(script)], check=False, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    _delivered(served, sender, result.stdout)


def test_the_node_snippet_delivers_its_idoc(served: Served, tmp_path: Path) -> None:
    reason = node_available()
    if reason is not None:
        pytest.skip(reason)
    (tmp_path / "node_modules").symlink_to(NODE_PACKAGE / "node_modules")  # where node finds node-soap
    script = tmp_path / "snippet.mjs"
    script.write_text(_snippet("Node.js: node-soap", "javascript").replace(DOCUMENTED, served.service.url),
                      encoding="utf-8")  # fmt: skip
    result = subprocess.run(["node", str(script)], check=False, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    _delivered(served, "NODE", result.stdout)


def test_every_line_of_the_java_snippet_is_in_the_tested_client() -> None:
    client = (ROOT / "tests" / "interop" / "java" / "IDocServiceClient.java").read_text(encoding="utf-8")
    lines = {line.strip() for line in client.splitlines()}
    snippet = [line.strip() for line in _snippet("Java: JAX-WS (wsimport)", "java").splitlines() if line.strip()]
    assert snippet and [line for line in snippet if line not in lines] == []
