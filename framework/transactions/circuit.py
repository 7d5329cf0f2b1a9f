"""A circuit per SAP alias: after repeated communication failures, stop calling a dead system for a while.

Closed: calls go through. After ``threshold`` failures in a row the circuit opens for ``cooldown``
seconds: deliveries to the alias wait without touching SAP (and without tying up its pool). Then one
delivery may try (half-open); success closes the circuit, failure opens it again.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Literal

__all__ = ["Circuits"]


@dataclass
class _State:
    failures: int = 0
    open_until: float = 0.0
    trial: bool = False


@dataclass
class Circuits:
    threshold: int = 5
    cooldown: float = 30.0
    _states: dict[str, _State] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def allows(self, alias: str, now: float | None = None) -> bool:
        """May a delivery to ``alias`` call SAP now? (Half-open: one trial at a time.)"""
        return self.admit(alias, now) != "refused"

    def admit(self, alias: str, now: float | None = None) -> Literal["closed", "trial", "refused"]:
        """Like :meth:`allows`, saying whether the call is the half-open circuit's one trial."""
        now = time.monotonic() if now is None else now
        with self._lock:
            state = self._states.setdefault(alias, _State())
            if state.open_until <= 0:
                return "closed"
            if now < state.open_until or state.trial:
                return "refused"
            state.trial = True
            return "trial"

    def retry_in(self, alias: str, now: float | None = None) -> float:
        """Seconds until the circuit of ``alias`` lets a trial through (0 if closed)."""
        now = time.monotonic() if now is None else now
        with self._lock:
            state = self._states.get(alias)
            return max(0.0, state.open_until - now) if state else 0.0

    def success(self, alias: str) -> None:
        with self._lock:
            self._states[alias] = _State()

    def failure(self, alias: str, now: float | None = None) -> bool:
        """Count a communication failure; True if the circuit is (now) open."""
        now = time.monotonic() if now is None else now
        with self._lock:
            state = self._states.setdefault(alias, _State())
            state.failures += 1
            state.trial = False
            if state.failures >= self.threshold:
                state.open_until = now + self.cooldown
            return state.open_until > now

    def settle(self, alias: str) -> None:
        """End a trial that proved nothing either way (a lost lease, an internal error): let the next one try."""
        with self._lock:
            state = self._states.get(alias)
            if state is not None:
                state.trial = False

    def is_open(self, alias: str) -> bool:
        return self.retry_in(alias) > 0
