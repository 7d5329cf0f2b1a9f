"""One blocking call at a time on a thread of its own, shared by whoever asks while it runs.

``/health/ready`` and ``/metrics`` read the database: neither may block the event loop or wait behind the
request threads, and a burst of probes or scrapes must not queue one read each.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

__all__ = ["SingleFlight"]


class SingleFlight[T]:
    """Runs ``work`` on its own thread; a caller that comes while it runs awaits that same run."""

    def __init__(self, work: Callable[[], T], name: str) -> None:
        self._work = work
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=name)
        self._running: asyncio.Future[T] | None = None

    async def result(self, timeout: float) -> T:
        """The result of the run under way, or of a new one; TimeoutError after ``timeout`` s (the run goes on
        for the others: a caller that gives up does not cancel it)."""
        if self._running is None or self._running.done():
            self._running = asyncio.get_running_loop().run_in_executor(self._executor, self._work)
        return await asyncio.wait_for(asyncio.shield(self._running), timeout)
