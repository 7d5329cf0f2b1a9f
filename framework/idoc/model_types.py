"""The IDoc types a model declares (``idocTypes``), read from their parser files."""

from __future__ import annotations

from pathlib import Path

from idocbridge.idoc.metadata import IDocType
from idocbridge.idoc.parser_file import read_parser_file
from idocbridge.idoc.registry import IDocTypeRegistry
from idocbridge.idoc.txtraw import TXTRAW01
from idocbridge.models.model import Model

__all__ = ["model_idoc_types", "registry_of"]


def model_idoc_types(model: Model, model_file: str | Path | None = None) -> dict[str, IDocType]:
    """The model's IDoc types by the name each entry gives (basic type or extension), and the built-in
    TXTRAW01 unless the model declares its own.

    Raises :class:`~idocbridge.idoc.errors.ParserFileError` for a file that is missing or damaged (the
    model check reports those with the model's line and column first).
    """
    declared = {source.name: read_parser_file(source.parser_path(model_file)) for source in model.idoc_types}
    return {TXTRAW01.name: TXTRAW01, **declared}


def registry_of(types: dict[str, IDocType]) -> IDocTypeRegistry:
    """A registry of TXTRAW01 and ``types``."""
    registry = IDocTypeRegistry()
    for idoc_type in types.values():
        registry.register(idoc_type, replace=True)
    return registry
