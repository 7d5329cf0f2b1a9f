"""Waiting for a condition in tests: poll it until it holds, with a generous deadline, never a fixed sleep.

A test that sleeps and then asserts is a timing assertion: it fails on a busy machine and passes
without proving anything on a fast one. ``wait_until`` returns as soon as the condition holds and
fails, naming what was awaited and the last value seen, only when it did not hold for ``timeout`` s.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Any

__all__ = ["confirmed_receipt", "wait_until"]


def wait_until[T](predicate: Callable[[], T], *, timeout: float = 60.0, interval: float = 0.1, what: str) -> T:
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


def confirmed_receipt(send: Callable[[str], Any], message_id: str | None = None, *, timeout: float = 60.0) -> Any:
    """The receipt of a request sent with ``send(message_id)`` once it says CONFIRMED.

    A guaranteed operation answers after a short wait with how far delivery got; a client learns how
    it ended by sending the same request with the same MessageId again. This does that (a fault, e.g.
    SAP refused the call, ends the wait at once) instead of expecting CONFIRMED in the first answer.
    """
    sent_as = message_id or f"test-{uuid.uuid4().hex}"

    def answer() -> Any:
        receipt = send(sent_as)
        return receipt if receipt.state == "CONFIRMED" else None

    return wait_until(answer, timeout=timeout, what=f"the receipt of MessageId {sent_as} saying CONFIRMED")
