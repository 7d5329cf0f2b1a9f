"""Connection pools: one per connection string, a bounded wait, broken connections replaced.

While a caller waits for a connection, the pool reports the wait every second through ``on_wait``,
as the reference runtime writes PoolExhausted to its transaction log (SAP-FACTS §1)::

    ... SAPConnectionPool 0    OK SAPRFC IO_ENTER PoolExhausted
    ... SAPConnectionPool 1000 OK SAPRFC IO_EXIT  PoolExhausted

Each started second of waiting is an ``enter`` event, each finished one an ``exit`` event with the
milliseconds waited in it; the last ``exit`` comes when the caller gets a connection or gives up.
``on_wait`` runs while the pool's lock is held: it must be quick (queue the event, do not write it).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Literal

from idocbridge.connectors.base import Connector
from idocbridge.connectors.errors import CommunicationError

__all__ = ["ConnectionPool", "PoolStats", "PoolTimeoutError", "PoolWaitEvent", "log_pool_waits"]


class PoolTimeoutError(CommunicationError):
    """No connection became free within the pool's wait timeout (retryable: try again later)."""

    default_key = "POOL_EXHAUSTED"


@dataclass(frozen=True)
class PoolWaitEvent:
    """One second (or less) of a caller's wait for a connection."""

    pool: str
    phase: Literal["enter", "exit"]
    elapsed_ms: int
    waiter: int


@dataclass(frozen=True)
class PoolStats:
    size: int
    open: int
    in_use: int
    peak_in_use: int
    waits: int
    """Waits reported to ``on_wait`` (not the deliveries' waits by design: ``acquire(report=False)``)."""
    replaced: int
    waiting: int = 0
    """Callers waiting for a connection now, reported or not."""


def log_pool_waits(logger: logging.Logger) -> Callable[[PoolWaitEvent], None]:
    """A hook that logs each wait event as a warning in the reference runtime's words, e.g.
    ``SAPConnectionPool 1000 OK SAPRFC IO_EXIT PoolExhausted pool=... waiter=3``."""

    def hook(event: PoolWaitEvent) -> None:
        log_type = "IO_ENTER" if event.phase == "enter" else "IO_EXIT "
        logger.warning("SAPConnectionPool %-4d OK SAPRFC %s PoolExhausted pool=%s waiter=%d",
                       event.elapsed_ms, log_type, event.pool, event.waiter)  # fmt: skip

    return hook


class ConnectionPool:
    """At most ``size`` connections made by ``factory``; callers wait at most ``timeout`` seconds."""

    def __init__(
        self,
        name: str,
        factory: Callable[[], Connector],
        size: int,
        timeout: float = 30.0,
        on_wait: Callable[[PoolWaitEvent], None] | None = None,
    ) -> None:
        if size < 1:
            raise ValueError("a pool holds at least one connection")
        self.name = name
        self.size = size
        self.timeout = timeout
        self._factory = factory
        self._on_wait = on_wait
        self._condition = threading.Condition()
        self._idle: list[Connector] = []
        self._open = 0
        self._in_use = 0
        self._peak = 0
        self._waits = 0
        self._replaced = 0
        self._waiters = 0
        self._waiting = 0
        self._closed = False

    def stats(self) -> PoolStats:
        with self._condition:
            return PoolStats(self.size, self._open, self._in_use, self._peak, self._waits, self._replaced,
                             self._waiting)  # fmt: skip

    @contextmanager
    def connection(self) -> Iterator[Connector]:
        """A connection for the duration of the block; a broken one is closed, not returned."""
        connector = self.acquire()
        broken = False
        try:
            yield connector
        except CommunicationError:
            broken = True
            raise
        finally:
            self.release(connector, broken=broken or not connector.is_open)

    def acquire(self, *, report: bool = True) -> Connector:
        """Take an idle connection, open a new one if below ``size``, or wait for one.

        ``report``: tell ``on_wait`` of the wait (PoolExhausted); background work that waits by design (the
        outbox's deliveries, more threads than connections) passes False."""
        deadline = time.monotonic() + self.timeout
        with self._condition:
            waiter, second_started = 0, 0.0
            try:
                while True:
                    if self._closed:
                        if waiter:
                            self._report_wait_end(waiter, second_started, report)
                        raise CommunicationError(f"connection pool {self.name} is closed")
                    if self._idle or self._open < self.size:
                        break
                    now = time.monotonic()
                    if not waiter:
                        self._waits += 1 if report else 0
                        self._waiters += 1
                        self._waiting += 1
                        waiter, second_started = self._waiters, now
                        self._report("enter", 0, waiter, report)
                    if now >= deadline:
                        self._report_wait_end(waiter, second_started, report)
                        raise PoolTimeoutError(
                            f"no connection of pool {self.name} became free within {self.timeout:g} s "
                            f"(pool size {self.size}); raise poolSize or lower the load"
                        )
                    if now - second_started >= 1.0:
                        self._report("exit", 1000, waiter, report)
                        second_started += 1.0
                        self._report("enter", 0, waiter, report)
                    self._condition.wait(min(deadline, second_started + 1.0) - now)
                if waiter:
                    self._report_wait_end(waiter, second_started, report)
            finally:  # however the wait ends (the pool closed, a timeout, a hook or the wait raising)
                if waiter:
                    self._waiting -= 1
            self._in_use += 1
            self._peak = max(self._peak, self._in_use)
            if self._idle:
                return self._idle.pop()
            self._open += 1
        try:
            connector = self._factory()
            connector.open()
        except BaseException:
            with self._condition:
                self._open -= 1
                self._in_use -= 1
                self._condition.notify()
            raise
        return connector

    def release(self, connector: Connector, *, broken: bool = False) -> None:
        """Give a connection back; a broken one is closed and its place freed for a new one."""
        with self._condition:
            self._in_use -= 1
            if broken or self._closed:
                self._open -= 1
                self._replaced += 1 if broken else 0
            else:
                self._idle.append(connector)
            self._condition.notify()
        if broken or self._closed:
            connector.close()

    def close(self) -> None:
        """Close idle connections now and the others as they come back."""
        with self._condition:
            self._closed = True
            idle, self._idle = self._idle, []
            self._open -= len(idle)
            self._condition.notify_all()
        for connector in idle:
            connector.close()

    def _report_wait_end(self, waiter: int, second_started: float, report: bool) -> None:
        """The last exit of a wait; a wake-up just past a full second reports that second first."""
        elapsed = time.monotonic() - second_started
        while elapsed >= 1.0:
            self._report("exit", 1000, waiter, report)
            self._report("enter", 0, waiter, report)
            elapsed -= 1.0
        self._report("exit", int(elapsed * 1000), waiter, report)

    def _report(self, phase: Literal["enter", "exit"], elapsed_ms: int, waiter: int, report: bool) -> None:
        if report and self._on_wait is not None:
            self._on_wait(PoolWaitEvent(self.name, phase, elapsed_ms, waiter))
