"""Secret references: ``${ENV_VAR}`` and ``${file:/path}`` in place of a literal password.

Models and settings keep the reference; :func:`resolve_secret` reads the value at run time. A resolved
value is wrapped in :class:`Secret`, whose ``repr`` and ``str`` never show it.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path

from idocbridge.errors import IdocbridgeError

__all__ = ["Secret", "SecretError", "is_reference", "mask_router_string", "resolve_secret", "split_user"]

_REFERENCE = re.compile(r"^\$\{(?:(?P<env>[A-Za-z_][A-Za-z0-9_]*)|file:(?P<file>[^}]+))\}$")


class SecretError(IdocbridgeError):
    """A secret reference could not be resolved. The message names the reference, never a value."""


class Secret:
    """A resolved secret. ``str()`` and ``repr()`` print ``***``; call :meth:`reveal` to use it."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    def __str__(self) -> str:
        return "***"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


def is_reference(text: str) -> bool:
    """True if ``text`` is exactly one ``${ENV}`` or ``${file:/path}`` reference."""
    return _REFERENCE.match(text) is not None


def mask_router_string(value: str) -> str:
    """A SAProuter string with the passwords of its /W/ and /P/ parts replaced by ***."""
    return re.sub(r"(/[WwPp]/)[^/]*", r"\1***", value)


def split_user(text: str) -> tuple[str, str] | None:
    """Split ``<user>/<password>``; None if there is no user part or no slash.

    A password reference may itself hold a slash (``${file:/run/secrets/sap}``), so the split is at
    the first slash.
    """
    user, sep, password = text.partition("/")
    if not sep or not user.strip():
        return None
    return user, password


def resolve_secret(reference: str, environ: Mapping[str, str] | None = None) -> Secret:
    """Read the value a reference points to; a literal is returned as it is."""
    match = _REFERENCE.match(reference)
    if match is None:
        if "${" in reference:
            raise SecretError("a secret reference is malformed: write ${ENV_VAR} or ${file:/path/to/file}")
        return Secret(reference)
    env = os.environ if environ is None else environ
    if match.group("env"):
        name = match.group("env")
        if name not in env:
            raise SecretError(f"environment variable {name} is not set (referenced as ${{{name}}})")
        return Secret(env[name])
    path = Path(match.group("file"))
    try:
        return Secret(path.read_text(encoding="utf-8").rstrip("\r\n"))
    except OSError as exc:
        raise SecretError(f"cannot read secret file {path}: {exc.strerror}") from None
