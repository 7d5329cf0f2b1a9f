"""node-soap as a client in tests: one call per ``node tests/interop/node/call.mjs`` process.

``./run test`` installs node-soap into tests/interop/node/node_modules (``npm ci`` from the committed
package-lock.json) where node and npm are on PATH. Tests that need it ask for the ``node_client``
fixture, which skips them, naming the reason, where node or that installation is missing.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

import pytest

__all__ = ["CALL", "NODE_PACKAGE", "call_node", "node_available", "node_client"]

NODE_PACKAGE = Path(__file__).resolve().parent / "node"
"""The private npm package holding node-soap (package.json, package-lock.json, node_modules)."""
CALL = NODE_PACKAGE / "call.mjs"
"""The script that makes one call (or describes one WSDL) with node-soap; its header says how."""
NOT_INSTALLED = "run ./run test, which installs tests/interop/node"


def _package(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def _version(text: str) -> tuple[int, ...]:
    """(major, minor, patch) of a version such as ``v20.19.0`` or ``>=20.19.0``."""
    match = re.search(r"(\d+)(?:\.(\d+))?(?:\.(\d+))?", text)
    if match is None:
        raise ValueError(f"no version in {text!r}")
    return tuple(int(part or 0) for part in match.groups())


def _node_reason(node: str) -> str | None:
    """Why the node at ``node`` cannot run node-soap, or None if it can."""
    wanted = _package(NODE_PACKAGE / "package.json")["engines"]["node"]
    try:
        found = subprocess.run([node, "--version"], capture_output=True, text=True, timeout=30, check=True).stdout
    except (OSError, subprocess.SubprocessError) as exc:
        return f"node ({node}) does not run: {exc}"
    if _version(found) < _version(wanted):
        return f"node {found.strip()} is older than node-soap needs ({wanted}, tests/interop/node/package.json)"
    return None


def _installation_reason() -> str | None:
    """Why node_modules does not hold the node-soap version package.json pins, or None if it does."""
    pinned = _package(NODE_PACKAGE / "package.json")["dependencies"]["soap"]
    installed = NODE_PACKAGE / "node_modules" / "soap" / "package.json"
    if not installed.exists():
        return f"node-soap is not installed in {NODE_PACKAGE / 'node_modules'}: {NOT_INSTALLED}"
    version = _package(installed)["version"]
    if version != pinned:
        return f"node_modules holds node-soap {version}, package.json pins {pinned}: {NOT_INSTALLED}"
    return None


@cache
def node_available() -> str | None:
    """None if node-soap can run here, else why not (node missing or too old, node-soap not installed)."""
    node = shutil.which("node")
    if node is None:
        return "node is not on PATH (the node-soap interop tests need Node.js and npm)"
    return _node_reason(node) or _installation_reason()


def call_node(request: dict[str, Any], timeout: float = 60) -> dict[str, Any]:
    """What call.mjs answers to ``request`` (see its header): the one JSON line it prints, parsed.

    Raises AssertionError, with node's output, if node crashes, prints no JSON or runs over ``timeout`` s.
    """
    node = shutil.which("node") or "node"
    try:
        done = subprocess.run([node, str(CALL)], input=json.dumps(request), capture_output=True, text=True,
                              timeout=timeout, cwd=NODE_PACKAGE, check=False)  # fmt: skip
    except subprocess.TimeoutExpired as exc:
        raise AssertionError(f"node-soap did not answer within {timeout:g} s: {request!r}\n{exc.stderr!r}") from exc
    lines = done.stdout.strip().splitlines()
    if done.returncode not in (0, 2) or not lines:
        raise AssertionError(f"call.mjs exited with {done.returncode}:\n{done.stderr}\nstdout: {done.stdout}")
    try:
        answer: dict[str, Any] = json.loads(lines[-1])
    except ValueError as exc:
        raise AssertionError(f"call.mjs printed no JSON line:\n{done.stdout}\nstderr: {done.stderr}") from exc
    return answer


@pytest.fixture(scope="session")
def node_client() -> Callable[..., dict[str, Any]]:
    """``call_node``, or the test skips where node-soap cannot run, saying why."""
    reason = node_available()
    if reason is not None:
        pytest.skip(reason)
    return call_node
