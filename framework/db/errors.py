"""Errors of the runtime database."""

from __future__ import annotations

from idocbridge.errors import IdocbridgeError

__all__ = ["DatabaseError", "DatabaseNotFoundError"]


class DatabaseError(IdocbridgeError):
    """The runtime database cannot be used: a bad URL, a missing driver, an unreachable server."""


class DatabaseNotFoundError(DatabaseError):
    """A database that must already exist (for reading) does not."""
