"""How many inputs each fuzz target gets, and a count of the inputs each one actually ran.

A target is one input surface (the SOAP endpoint, the model loaders, the settings loaders, the IDoc
readers and parser files, the simulator's RFC endpoint); several tests may fuzz it, each with its
``share`` of the surface's inputs. The short run (part of ``./run test``) gives each test the number of
inputs it names; the long run (``./run fuzz``) gives every surface ``IDOCBRIDGE_FUZZ_EXAMPLES`` inputs
(100,000 by default), split by the shares. Every example is bounded in time too: an input that takes
longer than ``HANG_SECONDS`` fails as a hang.
"""

from __future__ import annotations

import math
import os
import re
from collections import Counter
from datetime import timedelta

from hypothesis import HealthCheck, settings

__all__ = ["HANG_SECONDS", "count", "fuzz_settings", "inputs_run", "surface"]

HANG_SECONDS = 120.0
"""Far above any input's normal cost, even on a loaded machine: only a hang (or a blow-up) gets near it."""

_LONG = int(os.environ.get("IDOCBRIDGE_FUZZ_EXAMPLES", "0") or 0)
inputs_run: Counter[str] = Counter()


def fuzz_settings(short: int, share: float = 1.0) -> settings:
    """Hypothesis settings for one test of a surface: ``short`` inputs in ``./run test``, its ``share`` of the
    surface's inputs in ``./run fuzz``."""
    return settings(
        max_examples=math.ceil(_LONG * share) if _LONG else short,
        deadline=timedelta(seconds=HANG_SECONDS),
        suppress_health_check=list(HealthCheck),
        database=None,
        print_blob=True,
    )


def surface(target: str) -> str:
    """The surface a target's label names first: ``models`` for ``models.yaml.mutated``."""
    return re.split(r"[.: ]", target, maxsplit=1)[0]


def count(target: str) -> None:
    """Count one input run against ``target`` (the figures printed at the end of the run)."""
    inputs_run[target] += 1
