"""Fuzz the model loaders (YAML and XML) and the rules ``idocbridge validate`` runs.

Inputs are mutations of the example models (byte flips, deletions, duplications, hostile snippets) and
models built from the model strategies. The property: every input ends in a loaded model or a
:class:`ModelError` whose diagnostics each name file, line and column and say something; nothing else
is raised, and no input hangs (the budget's per-example bound).
"""

from __future__ import annotations

from collections.abc import Sequence

from hypothesis import example, given
from hypothesis import strategies as st

from idocbridge.models import Model, ModelError, dump_yaml, load_model_text, write_xml
from idocbridge.models.element import Element
from idocbridge.models.shapes import fields_of
from idocbridge.models.source import Syntax
from tests.conftest import EXAMPLES
from tests.fuzz.budget import count, fuzz_settings
from tests.models.strategies import models

__all__ = ["HOSTILE", "assert_positioned", "keys_below", "mutated", "trees"]

HOSTILE: tuple[bytes, ...] = (
    b"[" * 300 + b"]" * 300,
    b"{a: " * 200 + b"1" + b"}" * 200,
    b"<a>" * 300 + b"</a>" * 300,
    b"9" * 5000,
    b"-1e99999",
    b".nan",
    b"0x" + b"f" * 100,
    b"\xef\xbb\xbf",
    b"\x00",
    b"\xff\xfe",
    b"\xc3",
    b"\xed\xa0\x80",
    "ä ö ü ß 日本語 \u202e \u200b \ufeff \U0001f600".encode(),
    b'"\\ud800"',
    b"!!python/object:os.system ls",
    b"!!binary AAAA",
    b"!!omap [a: 1]",
    b"!custom x",
    b"&a [1, 2]",
    b"*a",
    b"<<: *a",
    b"&x { y: *x }",
    b"? [a, b]\n: 1",
    b"{[a]: 1}",
    b"? {a: 1}\n: 2",
    "n\u00e4me: x".encode(),
    'n\u00e4me="x"'.encode(),
    b' a="1" b="2"',
    b"<x/>",
    b"</model>",
    b"<![CDATA[x]]>",
    b"<?pi x?>",
    b"<!-- c -->",
    b'<!DOCTYPE x [<!ENTITY e "e">]>',
    b"&e;",
    b"&#0;",
    b"&#xD800;",
    b'<?xml version="1.0" encoding="UTF-16"?>',
    b'xmlns:x="urn:x" x:y="1"',
    b"---\n...\n---",
    b"%YAML 1.1",
    b"%TAG ! tag:x,2000:",
    b": : :",
    b"- - -",
    b"\t",
    b"\r",
    b"\r\n",
    b"\x85",
    "\u2028".encode(),
    b"'unterminated",
    b'"unterminated',
    b"|\n  block",
    b">-\n  folded",
    b"${SAP_PASSWORD}",
    b"${file:/etc/passwd}",
    b"2001-12-14t21:59:43.10-05:00",
    b"1_000",
    b"0o17",
    b"y",
    b"~",
    b"null",
)
"""Snippets that have broken parsers before: nesting, numbers, encodings, tags, anchors, keys, markup."""


def _source(path: str) -> bytes:
    return (EXAMPLES / path).read_bytes()


MODEL_SEEDS: dict[Syntax, list[bytes]] = {
    "yaml": [_source(f"{name}/model.yaml") for name in ("trfc_client", "idoc_service")],
    "xml": [_source(f"{name}/model.xml") for name in ("trfc_client", "idoc_service")],
}


@st.composite
def mutated(draw: st.DrawFn, seeds: Sequence[bytes], snippets: Sequence[bytes] = HOSTILE) -> bytes:
    """A seed with a few byte-level mutations: flips, deletions, duplications, hostile insertions."""
    data = bytearray(draw(st.sampled_from(seeds)))
    for _ in range(draw(st.integers(1, 4))):
        size = len(data)
        position = draw(st.integers(0, size))
        kind = draw(st.sampled_from(["flip", "delete", "duplicate", "insert", "insert", "line", "encode"]))
        if kind == "flip" and size:
            index = min(position, size - 1)
            data[index] ^= 1 << draw(st.integers(0, 7))
        elif kind == "delete" and size:
            data[position : position + draw(st.integers(1, 64))] = b""
        elif kind == "duplicate" and size:
            start = min(position, size - 1)
            piece = data[start : start + draw(st.integers(1, 256))]
            data[position:position] = piece * draw(st.integers(1, 3))
        elif kind == "insert":
            data[position:position] = draw(st.sampled_from(snippets))
        elif kind == "line":
            # A hostile snippet as a line of its own, indented like the line it lands on.
            start = data.rfind(b"\n", 0, position) + 1
            indent = len(data[start:]) - len(data[start:].lstrip(b" "))
            data[start:start] = b" " * indent + draw(st.sampled_from(snippets)) + b"\n"
        elif kind == "encode":
            codec = draw(st.sampled_from(["utf-16", "utf-16-le", "utf-32", "latin-1", "cp1252"]))
            data = bytearray(bytes(data).decode("utf-8", "replace").encode(codec, "replace"))
    return bytes(data)


def assert_positioned(error: ModelError, file: str) -> None:
    """Every diagnostic names the file, a line and a column, and says something."""
    assert error.diagnostics, "a ModelError without diagnostics"
    for diagnostic in error.diagnostics:
        location = diagnostic.location
        assert location is not None, diagnostic.format()
        assert location.file == file, diagnostic.format()
        assert location.line >= 1 and location.column >= 1, diagnostic.format()
        assert diagnostic.message.strip(), diagnostic.format()


def _load(data: bytes, syntax: Syntax) -> None:
    file = f"fuzz.{syntax}"
    try:
        loaded = load_model_text(data, file, syntax)
    except ModelError as error:
        assert_positioned(error, file)
    else:
        for warning in loaded.warnings:
            assert warning.location is not None, warning.format()


BOM_IN_TAG = '<model \ufeffxmlns="urn:idocbridge:model:1" name="M"/>'.encode()
"""Found by this target: lxml takes U+FEFF in a name (XML 1.0 5th edition), expat (the positions) does not."""

BARE_IDOC = b"""name: M
services:
  - name: S
    path: /S
    portTypes:
      - name: P
        operations:
          - name: Op
            idoc:
"""


@fuzz_settings(300, share=0.5)
@given(st.sampled_from(["yaml", "xml"]), st.data())
@example("yaml", b"? [a, b]\n: 1\n")
@example("yaml", b"{[a]: 1}\n")
@example("yaml", BARE_IDOC)
@example("xml", '<model xmlns="urn:idocbridge:model:1" n\u00e4me="M"/>'.encode())
@example("xml", BOM_IN_TAG)
def test_mutated_models_load_or_report_positions(syntax: Syntax, data: st.DataObject | bytes) -> None:
    text = data if isinstance(data, bytes) else data.draw(mutated(MODEL_SEEDS[syntax]), label="model")
    count(f"models.{syntax}.mutated")
    _load(text, syntax)


@fuzz_settings(15, share=0.1)
@given(models(), st.sampled_from(["yaml", "xml"]), st.data())
def test_generated_models_with_mutations_load_or_report_positions(
    model: Model, syntax: Syntax, data: st.DataObject
) -> None:
    text = (dump_yaml(model.dump()) if syntax == "yaml" else write_xml(model)).encode("utf-8")
    count(f"models.{syntax}.generated")
    _load(text, syntax)
    _load(data.draw(mutated([text]), label="mutated"), syntax)


def keys_below(root: type[Element]) -> list[str]:
    """Every key the metamodel knows below ``root``: trees built of them reach deep into the rules."""
    found: set[str] = set()
    pending = [root]
    seen: set[type[Element]] = set()
    while pending:
        cls = pending.pop()
        if cls in seen:
            continue
        seen.add(cls)
        for shape in fields_of(cls):
            found.add(shape.key)
            pending.extend(shape.classes)
    return sorted(found)


_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),
    st.sampled_from(
        [
            "SAP",
            "rfc",
            "trfc",
            "CHAR(10)",
            "input.a",
            "tables.T[0].X",
            "${SAP_PASSWORD}",
            "E1TXTRW",
            "SAPTRFCAdapter",
            "SAPRFCAdapter",
            "SAPTRFCCreateTransaction",
            "SAPTRFCConfirmTransaction",
            "xml",
            "flat",
            "/S",
            "websocket",
            "Always",
            "IDOC_INBOUND_ASYNCHRONOUS",
            "U/${P}",
        ]
    ),
    st.text(max_size=20),
)


def trees(keys: list[str]) -> st.SearchStrategy[object]:
    """Plain data of metamodel keys and odd values, nested a few levels."""
    return st.recursive(
        _SCALARS,
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.sampled_from(keys), inner, max_size=6),
        max_leaves=40,
    )


@fuzz_settings(100, share=0.4)
@given(st.dictionaries(st.sampled_from(keys_below(Model)), trees(keys_below(Model)), max_size=8))
def test_generated_structures_load_or_report_positions(tree: dict[str, object]) -> None:
    count("models.yaml.structure")
    _load(dump_yaml(tree).encode("utf-8"), "yaml")
