"""Prints how many inputs each fuzz target ran, so a run's figures can be quoted."""

from __future__ import annotations

import pytest

from tests.fuzz.budget import inputs_run, surface


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not inputs_run:
        return
    terminalreporter.section("fuzz inputs per target")
    for target, number in sorted(inputs_run.items()):
        terminalreporter.write_line(f"  {target:<40} {number:>9,}")
    surfaces: dict[str, int] = {}
    for target, number in inputs_run.items():
        surfaces[surface(target)] = surfaces.get(surface(target), 0) + number
    for name, number in sorted(surfaces.items()):
        terminalreporter.write_line(f"{name:<42} {number:>9,}")
