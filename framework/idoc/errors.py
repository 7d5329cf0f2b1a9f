"""Errors of the IDoc metadata layer.

IdocbridgeError
 +-- ParserFileError          a parser file is damaged or cannot be read
 +-- UnknownIDocTypeError     (also a KeyError) the registry has no such IDoc type
 +-- DuplicateIDocTypeError   (also a ValueError) the registry has that IDoc type already
 +-- RemoteMetadataError      IDOCTYPE_READ_COMPLETE failed or answered rows that make no valid IDoc type
"""

from __future__ import annotations

from idocbridge.errors import IdocbridgeError

__all__ = ["DuplicateIDocTypeError", "ParserFileError", "RemoteMetadataError", "UnknownIDocTypeError"]


class ParserFileError(IdocbridgeError):
    """A parser file that cannot be read: ``source`` and the 1-based ``line`` (None if the file is unreadable)."""

    def __init__(self, source: str, line: int | None, detail: str) -> None:
        self.source = source
        self.line = line
        self.detail = detail
        where = f"{source}, line {line}" if line is not None else source
        super().__init__(f"{where}: {detail}")


class UnknownIDocTypeError(IdocbridgeError, KeyError):
    """An IDoc type name the registry does not know; the message lists the ones it does."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:  # KeyError would quote the message
        return self.message


class DuplicateIDocTypeError(IdocbridgeError, ValueError):
    """An IDoc type registered a second time without ``replace=True``."""


class RemoteMetadataError(IdocbridgeError):
    """IDoc type metadata read from an SAP system that cannot be used.

    Either IDOCTYPE_READ_COMPLETE raised an ABAP exception (``key`` is its name, e.g. OBJECT_UNKNOWN), or
    its answer holds a row that does not describe a valid IDoc type (``row`` names it, e.g.
    ``PT_SEGMENTS row 5 (E1EDP01)``). ``idoc_type`` is the requested type's label, ``system`` the
    system key or alias the metadata was read from.
    """

    def __init__(
        self, idoc_type: str, system: str, detail: str, *, key: str | None = None, row: str | None = None
    ) -> None:
        self.idoc_type = idoc_type
        self.system = system
        self.detail = detail
        self.key = key
        self.row = row
        where = f", {row}" if row is not None else ""
        super().__init__(f"IDoc type {idoc_type} from {system}{where}: {detail}")
