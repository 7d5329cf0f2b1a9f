"""IDoc types a model uses: each read from a SAP parser file (WE60) next to the model."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from idocbridge.models.element import Element

__all__ = ["IDocTypeSource"]


class IDocTypeSource(Element):
    """An IDoc type (basic type, or extension) and the parser file that describes it."""

    label: ClassVar[str] = "IDoc type"
    xml_tag: ClassVar[str] = "idocType"

    name: str
    """The basic type (ORDERS05) or extension (ZORDERS05) the parser file defines."""
    parser_file: str
    """The WE60 parser file, relative to the model file."""
    description: str | None = None

    def parser_path(self, model_file: str | Path | None = None) -> Path:
        """Where the parser file is: relative to the model file this entry was read from.

        ``model_file`` stands in for an entry built in Python (no source location); without either, the
        current directory.
        """
        path = Path(self.parser_file)
        if path.is_absolute():
            return path
        location = self.location("parser_file")
        if location is not None:
            return Path(location.file).parent / path
        return (Path(model_file).parent if model_file is not None else Path()) / path
