"""Semantic rules checked after a model's structure is valid: references, tRFC rules, mappings,
delivery policies and filled responses."""

from __future__ import annotations

from idocbridge.models.diagnostics import Diagnostic
from idocbridge.models.index import ModelIndex
from idocbridge.models.model import Model
from idocbridge.models.rules import (
    activities,
    aliases,
    delivery,
    functions,
    generated_names,
    idoc,
    names,
    outputs,
    types,
)
from idocbridge.models.rules.context import Checker

__all__ = ["check_model"]


def check_model(model: Model) -> list[Diagnostic]:
    """Run every rule on ``model``; return all errors and warnings found."""
    checker = Checker(ModelIndex(model))
    names.check(checker)
    aliases.check(checker)
    types.check(checker)
    functions.check(checker)
    idoc.check(checker)
    activities.check(checker)
    delivery.check(checker)
    outputs.check(checker)
    generated_names.check(checker)
    return checker.diagnostics
