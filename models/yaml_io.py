"""YAML syntax: read a file into a :class:`SourceNode` tree, and write plain data back as YAML."""

from __future__ import annotations

import datetime as dt
import io
import re
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.scalarstring import DoubleQuotedScalarString, LiteralScalarString, SingleQuotedScalarString

from idocbridge.models.diagnostics import Diagnostic, Location, ModelError, Severity
from idocbridge.models.source import KeyKind, Scalar, SourceNode

__all__ = ["dump_yaml", "read_yaml"]

_DUPLICATE_KEY = re.compile(r'found duplicate key "([^"]*)"')


def read_yaml(text: str, file: str) -> SourceNode:
    """Parse YAML text; raise :class:`ModelError` with the position of any syntax error."""
    yaml = YAML(typ="rt")
    yaml.allow_duplicate_keys = False
    yaml.preserve_quotes = True
    try:
        data = yaml.load(text)
    except MarkedYAMLError as exc:
        raise ModelError([_syntax_diagnostic(exc, file)]) from None
    except YAMLError as exc:  # pragma: no cover - ruamel marks nearly every error
        raise ModelError([Diagnostic(Severity.ERROR, Location(file, 1, 1), f"invalid YAML: {exc}")]) from None
    root = Location(file, 1, 1)
    if data is None:
        return SourceNode({}, root, "yaml")
    return _convert(data, root, file)


def _syntax_diagnostic(exc: MarkedYAMLError, file: str) -> Diagnostic:
    mark = exc.problem_mark or exc.context_mark
    location = Location(file, mark.line + 1, mark.column + 1) if mark else Location(file, 1, 1)
    problem = str(exc.problem or exc.context or "invalid YAML")
    duplicate = _DUPLICATE_KEY.search(problem)
    if duplicate:
        # ruamel's own text repeats both values, which may be secrets: name the key only.
        key = duplicate.group(1)
        return Diagnostic(
            Severity.ERROR,
            location,
            f"duplicate key '{key}'",
            f"a key may appear once per mapping: remove one of the two '{key}' entries",
        )
    return Diagnostic(Severity.ERROR, location, f"invalid YAML: {problem}", "check indentation and quoting")


def _convert(value: Any, location: Location, file: str) -> SourceNode:
    if isinstance(value, CommentedMap):
        children: dict[str, SourceNode] = {}
        key_locations: dict[str, Location] = {}
        key_kinds: dict[str, KeyKind] = {}
        for key in value:
            key_line, key_col = value.lc.key(key)
            value_line, value_col = value.lc.value(key)
            name = str(key)
            key_locations[name] = Location(file, key_line + 1, key_col + 1)
            key_kinds[name] = "key"
            children[name] = _convert(value[key], Location(file, value_line + 1, value_col + 1), file)
        return SourceNode(children, location, "yaml", key_locations, key_kinds)
    if isinstance(value, CommentedSeq):
        items = []
        for index, item in enumerate(value):
            line, col = value.lc.item(index)
            items.append(_convert(item, Location(file, line + 1, col + 1), file))
        return SourceNode(items, location, "yaml")
    quoted = isinstance(value, SingleQuotedScalarString | DoubleQuotedScalarString)
    return SourceNode(_scalar(value), location, "yaml", text_offset=1 if quoted else 0)


def _scalar(value: Any) -> Scalar:
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):
        # ruamel's ScalarBoolean is an int subclass: keep true/false as bool.
        if type(value).__name__ == "ScalarBoolean":
            return bool(value)
        return int(value)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    return str(value)


def dump_yaml(data: object, header: str | None = None) -> str:
    """Write plain data as block-style YAML; multi-line strings become literal blocks."""
    yaml = YAML(typ="rt")
    yaml.default_flow_style = False
    yaml.indent(mapping=2, sequence=4, offset=2)
    yaml.width = 4096
    out = io.StringIO()
    if header:
        out.write("".join(f"# {line}\n" if line else "#\n" for line in header.splitlines()))
    yaml.dump(_prepare(data), out)
    return out.getvalue()


def _prepare(data: object) -> object:
    if isinstance(data, dict):
        result = CommentedMap()
        for key, value in data.items():
            result[key] = _prepare(value)
        return result
    if isinstance(data, list):
        return CommentedSeq([_prepare(item) for item in data])
    if isinstance(data, str) and "\n" in data:
        return LiteralScalarString(data)
    return data
