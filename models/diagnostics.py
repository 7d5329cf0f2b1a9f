"""Positions in source files and the diagnostics reported against them."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from idocbridge.errors import IdocbridgeError

__all__ = ["Diagnostic", "Location", "ModelError", "Severity"]


@dataclass(frozen=True, order=True)
class Location:
    """A 1-based line and column in a named file."""

    file: str
    line: int
    column: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"


class Severity(StrEnum):
    """An error makes a model unusable; a warning points at a risk (such as a literal password)."""

    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True)
class Diagnostic:
    """One finding: what is wrong, where, and how to fix it."""

    severity: Severity
    location: Location | None
    message: str
    hint: str | None = None

    @property
    def is_error(self) -> bool:
        return self.severity is Severity.ERROR

    def format(self) -> str:
        """Render compiler-style: ``file:line:col: error: message`` plus an indented hint line."""
        where = f"{self.location}: " if self.location else ""
        text = f"{where}{self.severity.value}: {self.message}"
        if self.hint:
            text += f"\n    hint: {self.hint}"
        return text

    def without_file(self) -> str:
        """The first line without the file name (``line:col: severity: message``), for tests."""
        where = f"{self.location.line}:{self.location.column}: " if self.location else ""
        return f"{where}{self.severity.value}: {self.message}"


def sort_key(diagnostic: Diagnostic) -> tuple[str, int, int, str]:
    loc = diagnostic.location
    if loc is None:
        return ("", 0, 0, diagnostic.message)
    return (loc.file, loc.line, loc.column, diagnostic.message)


class ModelError(IdocbridgeError):
    """A model or settings file has errors; ``diagnostics`` lists all of them."""

    def __init__(self, diagnostics: Iterable[Diagnostic]) -> None:
        self.diagnostics = sorted(diagnostics, key=sort_key)
        errors = [d for d in self.diagnostics if d.is_error]
        summary = f"{len(errors)} error(s) in the model"
        super().__init__(summary + "\n" + "\n".join(d.format() for d in self.diagnostics))
