"""Waiting for a condition in tests: poll it until it holds, with a generous deadline, never a fixed sleep.

A test that sleeps and then asserts is a timing assertion: it fails on a busy machine and passes
without proving anything on a fast one. ``wait_until`` returns as soon as the condition holds and
fails, naming what was awaited and the last value seen, only when it did not hold for ``timeout`` s.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

__all__ = ["wait_until"]

T = TypeVar("T")


def wait_until(predicate: Callable[[], T], *, timeout: float = 60.0, interval: float = 0.1, what: str) -> T:
    """Call ``predicate`` every ``interval`` s until it returns a true value, and return that value.

    Raises AssertionError naming ``what`` and the last value if it stays false for ``timeout`` s.
    """
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout:g} s (last seen: {value!r})")
        time.sleep(interval)
