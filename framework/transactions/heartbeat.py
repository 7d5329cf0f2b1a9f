"""One thread that keeps the leases of every delivery in progress alive.

A delivery renews its entry's lease every ``interval`` seconds while it runs, so that no other instance
takes the entry over from a live delivery, and gives up once its ``duration`` has passed (a call that never
returns). Each delivery used to have a thread of its own for this: one started and joined per IDoc. Here one
thread per deliverer serves them all; it sleeps until the earliest beat is due, and a delivery that ends
waits only if its own beat is running at that moment, so that nothing of it is renewed once it has ended.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

__all__ = ["Heartbeats"]

log = logging.getLogger("idocbridge.transactions")


@dataclass(eq=False)
class _Beat:
    interval: float
    deadline: float
    renew: Callable[[], bool]
    expire: Callable[[], None]
    due: float
    running: bool = False

    @property
    def next_at(self) -> float:
        return min(self.due, self.deadline)


class Heartbeats:
    """Calls each registered beat's ``renew`` every ``interval`` seconds and its ``expire`` once its
    ``duration`` has passed, from one thread (started on first use; a daemon that sleeps while nothing beats)."""

    def __init__(self, name: str = "idocbridge-lease") -> None:
        self._name = name
        self._changed = threading.Condition()
        self._beats: set[_Beat] = set()
        self._wake_at = math.inf
        self._thread: threading.Thread | None = None

    @contextmanager
    def beating(self, interval: float, duration: float, renew: Callable[[], bool],
                expire: Callable[[], None]) -> Iterator[None]:  # fmt: skip
        """Beat while the block runs: ``renew()`` every ``interval`` s until it returns False, ``expire()`` once
        after ``duration`` s (then no more beats). Leaving the block waits for a beat in progress, if any."""
        now = time.monotonic()
        beat = _Beat(interval, now + duration, renew, expire, due=now + interval)
        with self._changed:
            self._beats.add(beat)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
                self._thread.start()
            elif beat.next_at < self._wake_at:
                self._changed.notify_all()  # the thread sleeps past this beat's first time
        try:
            yield
        finally:
            with self._changed:
                self._beats.discard(beat)
                while beat.running:
                    self._changed.wait()

    def _run(self) -> None:
        while True:
            with self._changed:
                now = time.monotonic()
                due = [beat for beat in self._beats if beat.next_at <= now]
                if not due:
                    self._wake_at = min((beat.next_at for beat in self._beats), default=math.inf)
                    self._changed.wait(None if self._wake_at == math.inf else self._wake_at - now)
                    continue
                self._wake_at = now  # awake: a new beat needs no wake-up
                for beat in due:
                    beat.running = True
            for beat in due:
                going_on = self._tick(beat)
                with self._changed:
                    beat.running = False
                    beat.due = time.monotonic() + beat.interval
                    if not going_on:
                        self._beats.discard(beat)
                    self._changed.notify_all()  # a delivery that ended may wait for this beat

    @staticmethod
    def _tick(beat: _Beat) -> bool:
        """Renew or expire ``beat``; whether it beats on."""
        try:
            if time.monotonic() >= beat.deadline:
                beat.expire()
                return False
            return beat.renew()
        except Exception:
            log.warning("a lease's heartbeat failed", exc_info=True)
            return time.monotonic() < beat.deadline
