"""Values of a settings file as the deployment uses them: ``${ENV}`` in any field, paths from the file's folder.

One settings file serves every environment when its values come from the environment: ``port: ${PORT}``,
``host: ${SAP_HOST}``, ``database: ${DATABASE_URL}``. A value that is a whole ``${NAME}`` takes the variable's
value when the settings are loaded for a deployment; secrets are the exception: ``password`` and
``basicAuthPassword`` keep their reference and are read when the service starts, never stored. A variable
that is not set is an error at the value's line, as is a reference the syntax does not allow (``${1X}``).

Files named in settings (``tlsCertificate``, ``tlsKey``, an alias's ``websocket`` ``clientCertificate``,
``clientKey`` and ``trustedCa``) and the ``state`` folder are resolved against the settings file's folder when
relative, not against the working directory of whoever starts the service; the files must exist (``state``
is made by the service).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path

from idocbridge.models.diagnostics import Diagnostic, Severity
from idocbridge.models.element import Element
from idocbridge.models.shapes import Shape, field_by_key, scalar_base
from idocbridge.models.source import Scalar, SourceNode

__all__ = ["PATH_KEYS", "SECRET_KEYS", "resolve_values"]

SECRET_KEYS = frozenset({"password", "basicAuthPassword"})
"""Keys whose ``${...}`` stays a reference, read when the service starts."""
PATH_KEYS = frozenset({"tlsCertificate", "tlsKey", "clientCertificate", "clientKey", "trustedCa", "state"})
"""Keys that name a file or folder: a relative one is relative to the settings file."""
_FOLDERS = frozenset({"state"})
_WHOLE_REFERENCE = re.compile(r"\$\{([^}]*)\}")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def resolve_values(
    node: SourceNode, root: type[Element], folder: Path, environ: Mapping[str, str] | None = None
) -> tuple[SourceNode, list[Diagnostic]]:
    """``node`` (a settings file's tree, of element class ``root``) with ``${ENV}`` values replaced (as the
    field's type: ``port: ${PORT}`` becomes a number) and relative paths made absolute against ``folder``, and
    the problems found (unset variables, missing files)."""
    problems: list[Diagnostic] = []
    resolved = _walk(node, root, None, folder, os.environ if environ is None else environ, problems)
    return resolved, problems


def _walk(node: SourceNode, owner: type[Element] | None, key: str | None, folder: Path,
          environ: Mapping[str, str], problems: list[Diagnostic]) -> SourceNode:  # fmt: skip
    """``node``, the value of ``key`` in an element of class ``owner``, resolved."""
    if isinstance(node.value, dict):
        children = {name: _walk(child, _element_of(owner, name), name, folder, environ, problems)
                    for name, child in node.value.items()}  # fmt: skip
        return replace(node, value=children)
    if isinstance(node.value, list):
        return replace(node, value=[_walk(child, owner, key, folder, environ, problems) for child in node.value])
    if not isinstance(node.value, str) or key is None:
        return node
    value: Scalar = node.value
    reference = _WHOLE_REFERENCE.fullmatch(node.value.strip())
    if reference is not None and key not in SECRET_KEYS and not reference.group(1).startswith("file:"):
        name = reference.group(1)
        if not _NAME.fullmatch(name):
            why, hint = "names no environment variable", "write ${NAME}: letters, digits and _, not first a digit"
            problems.append(Diagnostic(Severity.ERROR, node.location, f"{key}: ${{{name}}} {why}", hint))
            return node
        if name not in environ:
            why, hint = "is not set in the environment", f"set {name} where the service runs, or write the value"
            problems.append(Diagnostic(Severity.ERROR, node.location, f"{key}: ${{{name}}} {why}", hint))
            return node
        value = _typed(owner, key, environ[name])
    if key in PATH_KEYS and isinstance(value, str) and value:
        path = Path(value).expanduser()
        path = path if path.is_absolute() else folder / path
        if key not in _FOLDERS and not path.is_file():
            problems.append(Diagnostic(Severity.ERROR, node.location, f"{key}: {path} is no file",
                                       "give the path of an existing file, absolute or relative to the "
                                       "settings file's folder"))  # fmt: skip
        value = str(path)
    return node if value == node.value else replace(node, value=value, raw=None)


def _element_of(owner: type[Element] | None, key: str) -> type[Element] | None:
    """The element class the value of ``key`` holds (or, for a list, each item): None for a scalar."""
    shape = field_by_key(owner, key) if owner is not None else None
    if shape is None or shape.shape is Shape.SCALAR:
        return owner  # a scalar's own class does not matter; its owner decides its type
    return shape.classes[0] if shape.classes else None


def _typed(owner: type[Element] | None, key: str, raw: str) -> Scalar:
    """``raw`` (a variable's text) as the field ``key`` of ``owner`` takes it: a number, true/false, or text."""
    shape = field_by_key(owner, key) if owner is not None else None
    if shape is None or shape.shape is not Shape.SCALAR:
        return raw
    base = scalar_base(shape)
    if base is bool:
        return {"true": True, "1": True, "false": False, "0": False}.get(raw.strip().lower(), raw)
    if base is int and re.fullmatch(r"\s*-?[0-9]{1,18}\s*", raw):
        return int(raw)
    return raw
