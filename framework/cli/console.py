"""The command line's consoles and how diagnostics are printed on them."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from rich.console import Console

if TYPE_CHECKING:
    from idocbridge.models.diagnostics import Diagnostic

__all__ = ["err", "out", "print_diagnostics", "print_json"]

out = Console(highlight=False, soft_wrap=False)
"""Standard output: summaries and tables."""

err = Console(stderr=True, highlight=False, soft_wrap=True)
"""Standard error: diagnostics, one per line, never wrapped (editors and CI parse them)."""


def print_diagnostics(diagnostics: Iterable[Diagnostic]) -> None:
    for diagnostic in diagnostics:
        err.print(diagnostic.format(), markup=False)


def print_json(data: Any, *, lines: bool = False) -> None:
    """JSON on standard output, never wrapped or styled (for scripts); ``lines``: one object per line."""
    if lines:
        for item in data:
            sys.stdout.write(json.dumps(item) + "\n")
    else:
        sys.stdout.write(json.dumps(data, indent=2) + "\n")
    sys.stdout.flush()
