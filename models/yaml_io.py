"""YAML syntax: read a file into a :class:`SourceNode` tree, and write plain data back as YAML."""

from __future__ import annotations

import datetime as dt
import io
import re
import warnings
from dataclasses import dataclass
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError, ReusedAnchorWarning, YAMLError
from ruamel.yaml.nodes import MappingNode, Node, SequenceNode
from ruamel.yaml.scalarstring import DoubleQuotedScalarString, LiteralScalarString, SingleQuotedScalarString

from idocbridge.models.diagnostics import Diagnostic, Location, ModelError, Severity
from idocbridge.models.source import KeyKind, RawText, Scalar, SourceNode

__all__ = ["MAX_DEPTH", "dump_yaml", "read_yaml"]

MAX_DEPTH = 64
"""Deeper nesting than any model needs; refused rather than followed."""

_DUPLICATE_KEY = re.compile(r'found duplicate key "([^"]*)"')
_SURROGATE = re.compile("[\ud800-\udfff]")
_REUSED_ANCHOR = re.compile(
    r"found duplicate anchor '(.*)'\s.*second occurrence\s+in \"[^\"]*\", line (\d+), column (\d+)", re.DOTALL
)


def _error(location: Location, message: str, hint: str | None = None) -> ModelError:
    return ModelError([Diagnostic(Severity.ERROR, location, message, hint)])


def read_yaml(text: str, file: str) -> SourceNode:
    """Parse YAML text; raise :class:`ModelError` with the position of any problem."""
    yaml = YAML(typ="rt")
    yaml.allow_duplicate_keys = False
    yaml.preserve_quotes = True
    root = Location(file, 1, 1)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", ReusedAnchorWarning)
            data = yaml.load(text)
    except ReusedAnchorWarning as exc:
        raise ModelError([_reused_anchor(exc, file)]) from None
    except MarkedYAMLError as exc:
        raise ModelError([_syntax_diagnostic(exc, file)]) from None
    except YAMLError as exc:  # pragma: no cover - ruamel marks nearly every error
        raise _error(root, f"invalid YAML: {exc}") from None
    except RecursionError:
        raise _error(root, f"the file nests deeper than {MAX_DEPTH} levels", "models are a few levels deep") from None
    except ValueError as exc:  # e.g. an integer of thousands of digits
        raise _error(root, f"invalid YAML: {exc}") from None
    except TypeError:  # a key ruamel cannot hash: '? [{a: 1}]'
        raise ModelError([_complex_key(text, file)]) from None
    if data is None:
        return SourceNode({}, root, "yaml")
    return _Converter(file, text.splitlines()).convert(data, root, None, 0)


def _reused_anchor(warning: ReusedAnchorWarning, file: str) -> Diagnostic:
    """A second anchor of the same name: YAML lets it replace the first for later aliases; here it is refused."""
    found = _REUSED_ANCHOR.search(str(warning))
    name = found.group(1)[:40] if found else "?"
    location = Location(file, int(found.group(2)), int(found.group(3))) if found else Location(file, 1, 1)
    return Diagnostic(Severity.ERROR, location, f"the anchor &{name} is defined a second time",
                      "give each anchor its own name, so that every alias says which one it means")  # fmt: skip


_COMPLEX_KEY_HINT = "write the key as a word, e.g. name: value ('? ' and [...] or {...} keys are not used)"


def _complex_key(text: str, file: str) -> Diagnostic:
    """The first key in the file that is a list or a mapping (found in the node tree, which has positions)."""
    found: list[tuple[int, int, str]] = []
    stack: list[Node] = [YAML(typ="rt").compose(text)]
    while stack:
        node = stack.pop()
        if isinstance(node, MappingNode):
            for key, value in node.value:
                if isinstance(key, MappingNode | SequenceNode):
                    kind = "list" if isinstance(key, SequenceNode) else "mapping"
                    found.append((key.start_mark.line + 1, key.start_mark.column + 1, kind))
                stack += [key, value]
        elif isinstance(node, SequenceNode):
            stack += node.value
    line, column, kind = min(found, default=(1, 1, "list or mapping"))
    return Diagnostic(Severity.ERROR, Location(file, line, column), f"a key must be a plain name, not a {kind}",
                      _COMPLEX_KEY_HINT)  # fmt: skip


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


@dataclass
class _Converter:
    file: str
    lines: list[str]

    def convert(self, value: Any, location: Location, raw: RawText | None, depth: int) -> SourceNode:
        if depth > MAX_DEPTH:
            raise _error(location, f"the file nests deeper than {MAX_DEPTH} levels", "models are a few levels deep")
        if isinstance(value, CommentedMap):
            return self._mapping(value, location, depth)
        if isinstance(value, CommentedSeq):
            items = []
            for index, item in enumerate(value):
                where = self._position(_positions(value).get(index), location, 0)
                items.append(self.convert(item, where, self._raw(item, where), depth + 1))
            return SourceNode(items, location, "yaml")
        scalar = _scalar(value)
        if isinstance(scalar, str) and _SURROGATE.search(scalar):
            raise _error(location, "the text holds an escaped surrogate (\\ud800-\\udfff), which is not a character",
                         "write the character itself, or its \\U00xxxxxx escape")  # fmt: skip
        return SourceNode(scalar, location, "yaml", raw=raw)

    def _mapping(self, value: CommentedMap, location: Location, depth: int) -> SourceNode:
        children: dict[str, SourceNode] = {}
        key_locations: dict[str, Location] = {}
        key_kinds: dict[str, KeyKind] = {}
        for key in value:
            entry = _positions(value).get(key)  # merged keys (<<) have no position of their own
            key_location = self._position(entry, location, 0)
            if key is not None and not isinstance(key, str | int | float | dt.date):  # '? [a, b]', '{[a]: 1}'
                kind = "list" if isinstance(key, tuple | list) else "mapping"
                raise _error(
                    key_location,
                    f"a key must be a plain name, not a {kind}",
                    _COMPLEX_KEY_HINT,
                )
            name = str(key)
            if name in children:  # 1 and "1", or null and None: one key once read as text
                raise _error(key_location, f"duplicate key '{name}'",
                             f"a key may appear once per mapping: remove one of the two '{name}' entries")  # fmt: skip
            if _SURROGATE.search(name):
                raise _error(key_location, "a key holds an escaped surrogate, which is not a character",
                             "write the character itself, or its \\U00xxxxxx escape")  # fmt: skip
            item = value[key]
            # A null value has no token of its own; ruamel points at what follows. Use the key.
            where = key_location if item is None else self._position(entry, location, 2)
            key_locations[name] = key_location
            key_kinds[name] = "key"
            children[name] = self.convert(item, where, self._raw(item, where), depth + 1)
        return SourceNode(children, location, "yaml", key_locations, key_kinds)

    def _position(self, entry: Any, fallback: Location, index: int) -> Location:
        if not entry or len(entry) < index + 2:
            return fallback
        return Location(self.file, entry[index] + 1, entry[index + 1] + 1)

    def _raw(self, value: Any, where: Location) -> RawText | None:
        """The scalar's text as written, when it stands on one line."""
        if not isinstance(value, str | int | float) or isinstance(value, bool) or where.line > len(self.lines):
            return None
        rest = self.lines[where.line - 1][where.column - 1 :]
        if isinstance(value, SingleQuotedScalarString | DoubleQuotedScalarString):
            quote = rest[:1]
            closing = re.compile(r"(?:''|[^'])*'" if quote == "'" else r'(?:\\.|[^"\\])*"')
            match = closing.match(rest, 1)
            if match is None:
                return None
            start = Location(self.file, where.line, where.column + 1)
            return RawText(rest[1 : match.end() - 1], start, "single" if quote == "'" else "double")
        plain = re.split(r"\s+#", rest, maxsplit=1)[0].rstrip()
        if plain != str(value) and not isinstance(value, int | float):
            return None  # folded over several lines, or a block scalar
        return RawText(plain, where, "plain")


def _positions(node: CommentedMap | CommentedSeq) -> dict[Any, Any]:
    data = getattr(node.lc, "data", None)
    return data if isinstance(data, dict) else {}


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
