"""Errors of the IDoc metadata layer.

IdocbridgeError
 +-- ParserFileError          a parser file is damaged or cannot be read
 +-- UnknownIDocTypeError     (also a KeyError) the registry has no such IDoc type
 +-- DuplicateIDocTypeError   (also a ValueError) the registry has that IDoc type already
"""

from __future__ import annotations

from idocbridge.errors import IdocbridgeError

__all__ = ["DuplicateIDocTypeError", "ParserFileError", "UnknownIDocTypeError"]


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
