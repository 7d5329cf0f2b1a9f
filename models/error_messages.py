"""Turn pydantic's validation errors into diagnostics a model author can act on.

Each error's ``loc`` is followed through the source tree to the key or value it concerns, so the
message names file, line and column; the text says what is wrong and the hint how to fix it.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from typing import Any

from pydantic_core import ErrorDetails

from idocbridge.models.activities import STEP_STEREOTYPES
from idocbridge.models.diagnostics import Diagnostic, Severity
from idocbridge.models.element import Element
from idocbridge.models.fields import ERROR_TYPE
from idocbridge.models.shapes import Shape, class_at, field_by_key, fields_of
from idocbridge.models.source import SourceNode

__all__ = ["translate_errors"]

# Keys people reach for that the metamodel spells differently or does not allow, with the fix.
KNOWN_MISTAKES: dict[tuple[str, str], str] = {
    ("SAPTRFCAdapter step", "outputs"): (
        "a tRFC adapter has no output parameters: tRFC is asynchronous, so remove 'outputs' "
        "(use an SAPRFCAdapter step for a synchronous call with outputs)"
    ),
    (
        "SAPTRFCAdapter step",
        "changing",
    ): "a tRFC adapter takes only import and tables inputs: map them under 'inputs'",
    ("WebSocket settings", "tls"): "WebSocket RFC always uses TLS (HTTPS): remove 'tls'",
    (
        "WebSocket settings",
        "host",
    ): "the WebSocket host is the alias's own 'host' tagged value: move it there",
    ("SAP alias", "password"): "write the password inside 'user' as NAME/${SAP_PASSWORD}",
    ("SAP alias", "connectionString"): "the connection string is the 'options' tagged value",
    ("SAP alias", "port"): "for WebSocket RFC write websocket: {port: 443}; classic RFC uses systemNumber",
    (
        "alias override",
        "protocol",
    ): "the protocol is part of the model's design and cannot be overridden per deployment",
}


def translate_errors(errors: Iterable[ErrorDetails], root_node: SourceNode, root: type[Element]) -> list[Diagnostic]:
    plain = root_node.to_plain()
    return [_translate(error, root_node, root, plain) for error in errors]


def _follow(root_node: SourceNode, loc: tuple[int | str, ...]) -> tuple[list[SourceNode], list[str | int]]:
    """Walk ``loc`` through the tree; return the nodes visited and the path in file keys/indices.

    pydantic inserts the discriminator value after a union's list index; such steps are skipped.
    """
    nodes = [root_node]
    path: list[str | int] = []
    for step in loc:
        node = nodes[-1]
        child = node.child(step)
        if child is None:
            if isinstance(step, str) and isinstance(node.value, dict) and node.scalar("stereotype") == step:
                continue
            path.append(step)
            break
        nodes.append(child)
        path.append(step)
    return nodes, path


def _owner(node: SourceNode, cls: type[Element] | None) -> str:
    label = cls.label if cls is not None else "element"
    name = node.scalar("name") if isinstance(node.value, dict) else None
    return f"{label} '{name}'" if name is not None else label


def _allowed_keys(cls: type[Element] | None) -> list[str]:
    return [shape.key for shape in fields_of(cls)] if cls is not None else []


def _did_you_mean(word: str, options: list[str]) -> str | None:
    lowered = {option.lower(): option for option in options}
    if word.lower() in lowered:
        return lowered[word.lower()]
    close = difflib.get_close_matches(word, options, n=1, cutoff=0.6)
    return close[0] if close else None


def _translate(error: ErrorDetails, root_node: SourceNode, root: type[Element], plain: Any) -> Diagnostic:
    loc = tuple(error["loc"])
    nodes, path = _follow(root_node, loc)
    kind = error["type"]
    ctx: dict[str, Any] = dict(error.get("ctx") or {})
    reached_all = len(nodes) - 1 == len(path)
    key = path[-1] if path else None
    if kind == "extra_forbidden":
        parent = nodes[-2] if reached_all else nodes[-1]
        parent_path = tuple(path[:-1])
        cls = class_at(root, parent_path, plain)
        assert isinstance(key, str)
        what = {"key": "key", "attribute": "attribute", "element": "element"}[parent.key_kind(key)]
        shown = f"<{key}>" if what == "element" else f"'{key}'"
        message = f"unknown {what} {shown} in {_owner(parent, cls)}"
        hint = KNOWN_MISTAKES.get((cls.label if cls else "", key))
        if hint is None:
            suggestion = _did_you_mean(key, _allowed_keys(cls))
            hint = f"did you mean '{suggestion}'?" if suggestion else _allowed_hint(cls)
        return Diagnostic(Severity.ERROR, parent.key_location(key), message, hint)
    if kind == "missing":
        parent = nodes[-1]
        cls = class_at(root, tuple(path[:-1]), plain)
        message = f"{_owner(parent, cls)} has no '{key}'"
        return Diagnostic(Severity.ERROR, parent.location, message, _missing_hint(cls, str(key)))
    if kind in ("union_tag_invalid", "union_tag_not_found"):
        node = nodes[-1]
        allowed = str(ctx.get("expected_tags", "")).replace("'", "")
        tag = ctx.get("tag")
        if kind == "union_tag_not_found":
            allowed = ", ".join(STEP_STEREOTYPES)
            return Diagnostic(
                Severity.ERROR, node.location, "step has no 'stereotype'", f"add stereotype: one of {allowed}"
            )
        suggestion = _did_you_mean(str(tag), [t.strip() for t in allowed.split(",")])
        hint = f"did you mean {suggestion}?" if suggestion else f"use one of {allowed}"
        stereotype = node.child("stereotype")
        where = stereotype.location if stereotype else node.location
        return Diagnostic(Severity.ERROR, where, f"unknown stereotype '{tag}'", hint)
    node = nodes[-1]
    owner_path = tuple(path[:-1])
    owner_node = nodes[-2] if len(nodes) >= 2 else node
    cls = class_at(root, owner_path, plain)
    field_name = str(key) if key is not None else "value"
    value = error.get("input")
    if kind == ERROR_TYPE:
        at = str(ctx.get("key") or "")
        where = node.key_location(at) if at and at in node.key_locations else node.location
        return Diagnostic(Severity.ERROR, where, str(ctx["message"]), str(ctx.get("hint")) or None)
    if isinstance(key, int):
        # An entry of a list: name the list and the entry's position.
        list_key = path[-2] if len(path) >= 2 else "list"
        owner_node = nodes[-3] if len(nodes) >= 3 else owner_node
        cls = class_at(root, tuple(path[:-2]), plain)
        field_name = f"entry {key + 1} of {list_key}"
    message, hint = _value_message(kind, field_name, value, ctx, _owner(owner_node, cls), cls, node)
    return Diagnostic(Severity.ERROR, node.location, message, hint)


def _allowed_hint(cls: type[Element] | None) -> str:
    keys = _allowed_keys(cls)
    return "allowed here: " + ", ".join(keys) if keys else "remove it"


def _missing_hint(cls: type[Element] | None, key: str) -> str:
    examples = {
        "name": "name: MyName",
        "protocol": "protocol: trfc",
        "type": 'type: "CHAR(10)"',
        "alias": "alias: <SAP alias name>",
        "function": "function: <function module name>",
        "transaction": "transaction: <name of the SAPTRFCCreateTransaction step>",
        "to": "to: <target path>",
        "rowType": "rowType: <structure name>",
    }
    return f"add {examples.get(key, key + ': ...')}"


def _value_message(
    kind: str,
    key: str,
    value: Any,
    ctx: dict[str, Any],
    owner: str,
    cls: type[Element] | None,
    node: SourceNode,
) -> tuple[str, str | None]:
    syntax_yaml = node.syntax == "yaml"
    if kind == "string_type":
        if isinstance(value, bool | int | float) and syntax_yaml:
            shown = (
                node.raw.text if node.raw is not None else str(value).lower() if isinstance(value, bool) else str(value)
            )
            return (
                f"'{key}' in {owner} must be text, not {type(value).__name__} {shown}",
                f'write it in quotes so YAML keeps it as text (and keeps leading zeros), e.g. {key}: "{shown}"',
            )
        return f"'{key}' in {owner} must be text", None
    if kind in ("int_type", "int_parsing", "int_from_float"):
        return (
            f"'{key}' in {owner} must be a whole number, not {_show(value)}",
            f"e.g. {key}: 10" if syntax_yaml else f'e.g. {key}="10"',
        )
    if kind in ("bool_type", "bool_parsing"):
        return (
            f"'{key}' in {owner} must be true or false, not {_show(value)}",
            f"write {key}: true or {key}: false" if syntax_yaml else f'write {key}="true" or {key}="false"',
        )
    if kind == "literal_error":
        expected = str(ctx.get("expected", "")).replace("'", "")
        options = [part.strip() for part in expected.replace(" or ", ",").split(",") if part.strip()]
        suggestion = _did_you_mean(str(value), options)
        hint = f"did you mean '{suggestion}'?" if suggestion else f"use one of: {', '.join(options)}"
        return f"'{value}' is not a valid {key} for {owner}", hint
    if kind in ("greater_than_equal", "greater_than"):
        bound = ctx.get("ge", ctx.get("gt"))
        return f"'{key}' in {owner} must be at least {bound}, not {_show(value)}", None
    if kind in ("less_than_equal", "less_than"):
        bound = ctx.get("le", ctx.get("lt"))
        return f"'{key}' in {owner} must be at most {bound}, not {_show(value)}", None
    if kind == "list_type":
        return (
            f"'{key}' in {owner} must be a list",
            f"write each entry on its own line starting with '- ' under {key}:",
        )
    if kind in ("model_type", "dict_type", "model_attributes_type"):
        if key.startswith("entry "):
            list_key = key.rsplit(" ", 1)[-1]
            label = _field_label(cls, list_key)
        else:
            label = _field_label(cls, key)
        return f"{_quoted(key)} in {owner} must be a mapping ({label})", "write its keys indented under it"
    return f"'{key}' in {owner}: {_plain_message(kind)}", None


def _quoted(key: str) -> str:
    return key if key.startswith("entry ") else f"'{key}'"


def _field_label(cls: type[Element] | None, key: str) -> str:
    shape = field_by_key(cls, key) if cls is not None else None
    if shape is not None and shape.shape in (Shape.ELEMENT, Shape.LIST):
        return shape.classes[0].label
    return "keys and values"


def _show(value: Any) -> str:
    if isinstance(value, str):
        return f"'{value}'"
    if isinstance(value, dict | list):
        return "a " + ("mapping" if isinstance(value, dict) else "list")
    return str(value)


def _plain_message(kind: str) -> str:
    return kind.replace("_", " ")
