"""IDocTypeRegistry: by basic type and extension, preloaded with TXTRAW01, loading parser files."""

from __future__ import annotations

from pathlib import Path

import pytest

from idocbridge.errors import IdocbridgeError
from idocbridge.idoc import (
    TXTRAW01,
    DuplicateIDocTypeError,
    IDocType,
    IDocTypeRegistry,
    ParserFileError,
    SegmentDefinition,
    UnknownIDocTypeError,
)
from tests.idoc.samples import ZTEST01

ZTESTX = ZTEST01.replace("BEGIN_IDOC          ZTEST01\n", "BEGIN_IDOC ZTEST01\nBEGIN_EXTENSION ZTESTX01\n")


def _write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def test_preloaded_with_txtraw01() -> None:
    registry = IDocTypeRegistry()
    assert registry.get("TXTRAW01") is TXTRAW01
    assert "TXTRAW01" in registry and " TXTRAW01 " in registry
    assert (list(registry), len(registry)) == ([TXTRAW01], 1)
    assert len(IDocTypeRegistry(builtins=False)) == 0


def test_unknown_names_list_the_known_types(tmp_path: Path) -> None:
    registry = IDocTypeRegistry()
    registry.load_parser_files([_write(tmp_path, "x.txt", ZTESTX)])
    with pytest.raises(UnknownIDocTypeError) as raised:
        registry.get("ORDERS05")
    message = "unknown IDoc type ORDERS05; known IDoc types: TXTRAW01, ZTEST01 with extension ZTESTX01"
    assert str(raised.value) == message
    assert isinstance(raised.value, KeyError) and isinstance(raised.value, IdocbridgeError)
    with pytest.raises(KeyError, match="unknown IDoc type ZTEST01 with extension ZOTHER; known"):
        registry.get("ZTEST01", "ZOTHER")
    assert "ORDERS05" not in registry and 42 not in registry
    assert "ZTEST01" not in registry  # only the extended type is known


def test_basic_types_and_extensions(tmp_path: Path) -> None:
    registry = IDocTypeRegistry()
    basic, extended = registry.load_parser_files(
        [_write(tmp_path, "b.txt", ZTEST01), _write(tmp_path, "x.txt", ZTESTX)]
    )
    assert (basic.extension, extended.extension) == (None, "ZTESTX01")
    assert registry.get("ZTEST01") is basic and registry.get("ZTEST01", "") is basic
    assert registry.get("ZTEST01", " ZTESTX01 ") is extended
    assert registry.get("ZTESTX01") is extended  # an extension name alone, as in CIMTYP
    assert "ZTESTX01" in registry
    assert [t.label for t in registry] == ["TXTRAW01", "ZTEST01", "ZTEST01 with extension ZTESTX01"]


def test_registering_twice(tmp_path: Path) -> None:
    registry = IDocTypeRegistry()
    with pytest.raises(DuplicateIDocTypeError, match=r"^IDoc type TXTRAW01 is registered already$"):
        registry.register(TXTRAW01)
    replacement = IDocType("TXTRAW01", None, (SegmentDefinition("E2TXTRW", "E1TXTRW", 2, True, 1, 9),))
    registry.register(replacement, replace=True)
    assert registry.get("TXTRAW01") is replacement
    first, second = _write(tmp_path, "a.txt", ZTEST01), _write(tmp_path, "b.txt", ZTEST01)
    with pytest.raises(DuplicateIDocTypeError, match=f"^{second} and {first} both define IDoc type ZTEST01$"):
        registry.load_parser_files([first, second])
    assert "ZTEST01" not in registry
    registry.load_parser_files([first])
    with pytest.raises(DuplicateIDocTypeError, match=f"^{second}: IDoc type ZTEST01 is registered already$"):
        registry.load_parser_files([second])
    assert registry.load_parser_files([second], replace=True)[0] == registry.get("ZTEST01")


def test_loading_is_all_or_nothing(tmp_path: Path) -> None:
    registry = IDocTypeRegistry()
    good, bad = _write(tmp_path, "good.txt", ZTEST01), _write(tmp_path, "bad.txt", ZTEST01[:200])
    with pytest.raises(ParserFileError, match=r"bad.txt, line \d+: "):
        registry.load_parser_files([good, bad])
    assert list(registry) == [TXTRAW01]
