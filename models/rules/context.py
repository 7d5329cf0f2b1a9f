"""What every rule gets: the model's index and a place to report findings."""

from __future__ import annotations

from dataclasses import dataclass, field

from idocbridge.models.diagnostics import Diagnostic, Location, Severity
from idocbridge.models.element import Element
from idocbridge.models.index import ModelIndex

__all__ = ["Checker"]


@dataclass
class Checker:
    index: ModelIndex
    diagnostics: list[Diagnostic] = field(default_factory=list)

    def error(
        self,
        element: Element,
        field: str | None,
        message: str,
        hint: str | None = None,
        *,
        at_key: bool = False,
        location: Location | None = None,
    ) -> None:
        where = location or element.location(field, at_key=at_key)
        self.diagnostics.append(Diagnostic(Severity.ERROR, where, message, hint))

    def warning(
        self,
        element: Element,
        field: str | None,
        message: str,
        hint: str | None = None,
        *,
        location: Location | None = None,
    ) -> None:
        where = location or element.location(field)
        self.diagnostics.append(Diagnostic(Severity.WARNING, where, message, hint))

    def unknown(self, element: Element, field: str, what: str, name: str, candidates: list[str], fallback: str) -> None:
        """Report a dangling reference, suggesting the closest known name."""
        suggestion = self.index.suggest(name, candidates)
        hint = f"did you mean '{suggestion}'?" if suggestion else fallback
        self.error(element, field, f"{what} '{name}' is not defined", hint)
