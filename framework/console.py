"""The command line's consoles and how diagnostics are printed on them."""

from __future__ import annotations

from collections.abc import Iterable

from rich.console import Console

from idocbridge.models.diagnostics import Diagnostic

__all__ = ["err", "out", "print_diagnostics"]

out = Console(highlight=False, soft_wrap=False)
"""Standard output: summaries and tables."""

err = Console(stderr=True, highlight=False, soft_wrap=True)
"""Standard error: diagnostics, one per line, never wrapped (editors and CI parse them)."""


def print_diagnostics(diagnostics: Iterable[Diagnostic]) -> None:
    for diagnostic in diagnostics:
        err.print(diagnostic.format(), markup=False)
