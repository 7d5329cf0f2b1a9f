"""The public namespace of idocbridge.models is exactly its ``__all__``."""

from __future__ import annotations

import types

from idocbridge import models


def test_models_all_is_the_public_namespace() -> None:
    public = sorted(
        name
        for name, value in vars(models).items()
        if not name.startswith("_") and not isinstance(value, types.ModuleType) and name != "annotations"
    )
    assert sorted(models.__all__) == public


def test_everything_exported_has_a_docstring() -> None:
    missing = [name for name in models.__all__ if callable(getattr(models, name)) and not getattr(models, name).__doc__]
    assert missing == []
