"""When to try again: exponential backoff with jitter, capped."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta

__all__ = ["Backoff"]


@dataclass
class Backoff:
    """Delay before attempt ``n + 1`` after ``n`` failures: ``base * 2**(n - 1)``, at most ``cap``, times a
    random factor in [1 - jitter, 1] so that many entries failing together do not retry together."""

    base: float = 1.0
    cap: float = 300.0
    jitter: float = 0.5
    seed: int | None = None
    _random: random.Random = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if self.base <= 0 or self.cap < self.base or not 0 <= self.jitter < 1:
            raise ValueError("need 0 < base <= cap and 0 <= jitter < 1")
        self._random = random.Random(self.seed)

    def delay(self, failures: int) -> float:
        """Seconds to wait after the ``failures``-th failure in a row (1, 2, 3, ...)."""
        exponent = max(0, failures - 1)
        raw = self.cap if exponent > 60 else min(self.cap, self.base * 2**exponent)
        return raw * (1 - self.jitter * self._random.random())

    def next_attempt(self, now: datetime, failures: int) -> datetime:
        return now + timedelta(seconds=self.delay(failures))
