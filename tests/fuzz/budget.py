"""How many inputs each fuzz target gets, and a count of the inputs each one actually ran.

The short run (part of ``./run test``) gives each target the number of inputs its test names; the long
run (``./run fuzz``) sets ``IDOCBRIDGE_FUZZ_EXAMPLES`` (100,000 by default) for every target. Every
example is bounded in time too: an input that takes longer than ``HANG_SECONDS`` fails as a hang.
"""

from __future__ import annotations

import os
from collections import Counter
from datetime import timedelta

from hypothesis import HealthCheck, settings

__all__ = ["HANG_SECONDS", "count", "fuzz_settings", "inputs_run"]

HANG_SECONDS = 20.0
"""Far above any input's normal cost: only a hang (or a quadratic blow-up) gets near it."""

_LONG = int(os.environ.get("IDOCBRIDGE_FUZZ_EXAMPLES", "0") or 0)
inputs_run: Counter[str] = Counter()


def fuzz_settings(short: int) -> settings:
    """Hypothesis settings for a fuzz target: ``short`` inputs in ``./run test``, the long budget in ``./run fuzz``."""
    return settings(
        max_examples=_LONG or short,
        deadline=timedelta(seconds=HANG_SECONDS),
        suppress_health_check=list(HealthCheck),
        database=None,
        print_blob=True,
    )


def count(target: str) -> None:
    """Count one input run against ``target`` (the figures printed at the end of the run)."""
    inputs_run[target] += 1
