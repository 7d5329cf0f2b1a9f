"""The root of idocbridge's exception hierarchy.

    IdocbridgeError
     +-- ModelError            a model or settings file is invalid (idocbridge.models)
     +-- SecretError           a ${...} secret reference cannot be resolved

Each subsystem adds its own leaves next to its interface.
"""

from __future__ import annotations

__all__ = ["IdocbridgeError"]


class IdocbridgeError(Exception):
    """Base class of every error idocbridge raises on purpose."""
