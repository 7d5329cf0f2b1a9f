"""The public namespace of idocbridge.idoc is exactly its ``__all__``, and everything in it is documented."""

from __future__ import annotations

import types

from idocbridge import idoc


def test_idoc_all_is_the_public_namespace() -> None:
    public = sorted(
        name
        for name, value in vars(idoc).items()
        if not name.startswith("_") and not isinstance(value, types.ModuleType) and name != "annotations"
    )
    assert sorted(idoc.__all__) == public


def test_everything_exported_has_a_docstring() -> None:
    missing = [name for name in idoc.__all__ if callable(getattr(idoc, name)) and not getattr(idoc, name).__doc__]
    assert missing == []
