"""The IDoc types a system knows, by basic type and extension (IDOCTYP and CIMTYP of a control record)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

from idocbridge.idoc.errors import DuplicateIDocTypeError, UnknownIDocTypeError
from idocbridge.idoc.metadata import IDocType
from idocbridge.idoc.parser_file import read_parser_file
from idocbridge.idoc.txtraw import TXTRAW01

__all__ = ["IDocTypeRegistry"]

_Key = tuple[str, str | None]


def _key(name: str, extension: str | None) -> _Key:
    return name.strip(), (extension or "").strip() or None


class IDocTypeRegistry:
    """IDoc types by (basic type, extension); starts with the built-in TXTRAW01 unless ``builtins=False``."""

    def __init__(self, *, builtins: bool = True) -> None:
        self._types: dict[_Key, IDocType] = {}
        if builtins:
            self.register(TXTRAW01)

    def register(self, idoc_type: IDocType, *, replace: bool = False) -> None:
        """Add an IDoc type; one of the same name and extension is an error unless ``replace`` is true."""
        key = _key(idoc_type.name, idoc_type.extension)
        if key in self._types and not replace:
            raise DuplicateIDocTypeError(f"IDoc type {idoc_type.label} is registered already")
        self._types[key] = idoc_type

    def get(self, name: str, extension: str | None = None) -> IDocType:
        """The IDoc type of basic type ``name`` with ``extension`` (blank or None: the basic type itself).

        Without an extension, ``name`` may also be an extension name (SAP's extension names are unique).
        Raises :class:`UnknownIDocTypeError` (a KeyError) naming the IDoc types the registry knows.
        """
        key = _key(name, extension)
        found = self._types.get(key)
        if found is None and key[1] is None:
            found = next((t for t in self._types.values() if t.extension == key[0]), None)
        if found is None:
            wanted = key[0] if key[1] is None else f"{key[0]} with extension {key[1]}"
            known = ", ".join(t.label for t in self) or "none"
            raise UnknownIDocTypeError(f"unknown IDoc type {wanted}; known IDoc types: {known}")
        return found

    def load_parser_files(self, paths: Iterable[Path], *, replace: bool = False) -> list[IDocType]:
        """Read parser files and register their IDoc types: all of them, or none if one fails.

        Raises :class:`~idocbridge.idoc.errors.ParserFileError` for an unreadable or damaged file and
        :class:`~idocbridge.idoc.errors.DuplicateIDocTypeError` for a type loaded twice (or registered
        already, unless ``replace``).
        """
        loaded: dict[_Key, tuple[Path, IDocType]] = {}
        for path in paths:
            idoc_type = read_parser_file(path)
            key = _key(idoc_type.name, idoc_type.extension)
            if key in loaded:
                raise DuplicateIDocTypeError(f"{path} and {loaded[key][0]} both define IDoc type {idoc_type.label}")
            if key in self._types and not replace:
                raise DuplicateIDocTypeError(f"{path}: IDoc type {idoc_type.label} is registered already")
            loaded[key] = (path, idoc_type)
        for _, idoc_type in loaded.values():
            self.register(idoc_type, replace=True)
        return [idoc_type for _, idoc_type in loaded.values()]

    def __contains__(self, name: object) -> bool:
        """True if :meth:`get` finds ``name`` (a basic type without extension, or an extension name)."""
        if not isinstance(name, str):
            return False
        try:
            self.get(name)
        except UnknownIDocTypeError:
            return False
        return True

    def __iter__(self) -> Iterator[IDocType]:
        """The registered IDoc types, sorted by basic type and extension."""
        return iter(sorted(self._types.values(), key=lambda t: (t.name, t.extension or "")))

    def __len__(self) -> int:
        return len(self._types)
