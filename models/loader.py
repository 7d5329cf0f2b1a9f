"""Load a model file: parse (YAML or XML), validate its structure, attach positions, check the rules."""

from __future__ import annotations

import stat
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import ValidationError

from idocbridge.models.diagnostics import Diagnostic, Location, ModelError, Severity
from idocbridge.models.element import Element
from idocbridge.models.error_messages import translate_errors
from idocbridge.models.model import Model
from idocbridge.models.rules import check_model
from idocbridge.models.shapes import FieldShape, Shape, fields_of, scalar_base
from idocbridge.models.source import SourceNode, Syntax
from idocbridge.models.xml_io import read_xml
from idocbridge.models.yaml_io import read_yaml

__all__ = ["LoadedModel", "load_model", "load_model_text", "parse_element", "read_source", "syntax_of"]


_SUFFIXES: dict[str, Syntax] = {".yaml": "yaml", ".yml": "yaml", ".xml": "xml"}


@dataclass
class LoadedModel:
    """A valid model and the warnings found while loading it."""

    model: Model
    path: str
    warnings: list[Diagnostic] = field(default_factory=list)


def syntax_of(path: Path) -> Syntax:
    """The syntax of a model or settings file, from its extension (.yaml, .yml or .xml)."""
    syntax = _SUFFIXES.get(path.suffix.lower())
    if syntax is None:
        raise ModelError(
            [
                Diagnostic(
                    Severity.ERROR,
                    Location(str(path), 1, 1),
                    f"cannot tell the syntax of '{path.name}'",
                    "name model files *.yaml, *.yml or *.xml",
                )
            ]
        )
    return syntax


def read_source(path: Path, root: type[Element]) -> SourceNode:
    """Read a YAML or XML file (chosen by extension) into a source tree."""
    return parse_source(_read_bytes(path), str(path), syntax_of(path), root)


MAX_FILE_BYTES = 16 * 1024 * 1024
"""Far above any model or settings file; a larger one (or a device that never ends) is not read."""


def _read_bytes(path: Path) -> bytes:
    try:
        mode = path.stat().st_mode
        if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):  # a FIFO would block, a device might never end
            problem = "not a regular file"
        else:
            with path.open("rb") as handle:
                data = handle.read(MAX_FILE_BYTES + 1)
            if len(data) <= MAX_FILE_BYTES:
                return data
            problem = f"larger than {MAX_FILE_BYTES // (1024 * 1024)} MiB, which no model is"
    except OSError as exc:
        problem = str(exc.strerror or exc)
    raise ModelError([Diagnostic(Severity.ERROR, None, f"cannot read {path}: {problem}")])


def parse_source(data: bytes, file: str, syntax: Syntax, root: type[Element]) -> SourceNode:
    if syntax == "xml":
        return read_xml(data, file, root)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ModelError(
            [
                Diagnostic(
                    Severity.ERROR,
                    Location(file, 1, 1),
                    f"the file is not UTF-8 (byte {exc.start})",
                    "save the file as UTF-8",
                )
            ]
        ) from None
    return read_yaml(text, file)


def parse_element[E: Element](node: SourceNode, cls: type[E]) -> E:
    """Validate a source tree as ``cls``; every structural error becomes a positioned diagnostic."""
    if not isinstance(node.value, dict):
        raise ModelError(
            [
                Diagnostic(
                    Severity.ERROR,
                    node.location,
                    f"a {cls.label} file holds a mapping of keys",
                    f"start with {cls.alias_of(next(iter(cls.model_fields)))}: ... at the top level",
                )
            ]
        )
    try:
        element = cls.model_validate(node.to_plain(), strict=True, by_alias=True, by_name=False)
    except ValidationError as exc:
        raise ModelError(translate_errors(exc.errors(), node, cls)) from None
    empty: list[Diagnostic] = []
    attach_sources(element, node, empty)
    if empty:
        raise ModelError(empty)
    return element


def attach_sources(element: Element, node: SourceNode, empty: list[Diagnostic] | None = None) -> None:
    """Remember, on every element, the source node it was read from.

    A key of a nested element written without a value (YAML's ``idoc:``) reads as null, which an
    optional element takes as absent; that is a mistake to report in ``empty``, not a silent default.
    """
    element._source = node
    for shape in fields_of(type(element)):
        child = node.child(shape.key)
        value = getattr(element, shape.name)
        if child is not None and child.value is None and shape.shape is Shape.ELEMENT and empty is not None:
            empty.append(_empty_element(element, shape, child))
        if child is None or value is None:
            continue
        if shape.shape is Shape.ELEMENT:
            attach_sources(value, child, empty)
        elif shape.shape is Shape.LIST and isinstance(child.value, list):
            for item, item_node in zip(value, child.value, strict=True):
                attach_sources(item, item_node, empty)


def _empty_element(owner: Element, shape: FieldShape, node: SourceNode) -> Diagnostic:
    required = []
    for inner in fields_of(shape.classes[0]):
        if inner.required:
            base = scalar_base(inner) if inner.shape is Shape.SCALAR else None
            required.append(f"{inner.key}: {' or '.join(base) if isinstance(base, tuple) else '...'}")
    example = f" ({', '.join(required)})" if required else ""
    return Diagnostic(
        Severity.ERROR,
        node.location,
        f"'{shape.key}' in {owner.display_name()} is empty",
        f"write its keys indented under it{example}, or remove '{shape.key}:'",
    )


def load_model_text(data: bytes | str, file: str, syntax: Syntax) -> LoadedModel:
    """Load a model from text; raise :class:`ModelError` listing every error."""
    raw = data.encode("utf-8") if isinstance(data, str) else data
    source = parse_source(raw, file, syntax, Model)
    _not_settings(source, file)
    model = parse_element(source, Model)
    diagnostics = check_model(model)
    if any(d.is_error for d in diagnostics):
        raise ModelError(diagnostics)
    return LoadedModel(model, file, [d for d in diagnostics if not d.is_error])


_SETTINGS_ONLY = frozenset({"environment", "server"})
"""Keys only deployment settings have: a file with them and without a name is settings given as a model."""


def _not_settings(source: SourceNode, file: str) -> None:
    """Refuse, with the command that takes it, a deployment settings file given where a model belongs."""
    if not isinstance(source.value, dict) or "name" in source.value:
        return
    found = sorted(_SETTINGS_ONLY & set(source.value))
    if found:
        message = f"this is a deployment settings file ({', '.join(found)}), not a model"
        hint = f"validate it with the model it deploys: idocbridge validate MODEL -s {file}"
        raise ModelError([Diagnostic(Severity.ERROR, source.location, message, hint)])


def load_model(path: str | Path) -> LoadedModel:
    """Load and check a model file (``*.yaml``, ``*.yml`` or ``*.xml``)."""
    path = Path(path)
    return load_model_text(_read_bytes(path), str(path), syntax_of(path))
