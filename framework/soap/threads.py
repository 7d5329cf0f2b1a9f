"""The request threads, renewed after a fixed amount of request bytes.

lxml keeps every element and attribute name it parses in a dictionary of the thread that parsed it,
for as long as that thread lives: a client that keeps sending made-up names would grow the service's
memory without end. These threads are replaced by new ones after every ``renew_after`` bytes of
requests (the old ones finish what they hold, then end, and their dictionaries go with them), so the
names a client makes up cost at most that much memory.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Executor, Future, ThreadPoolExecutor

__all__ = ["RENEW_AFTER_BYTES", "RenewedThreads"]

RENEW_AFTER_BYTES = 64 * 1024 * 1024


class RenewedThreads(Executor):
    """A thread pool of ``workers`` threads, replaced by a new one after ``renew_after`` bytes of requests."""

    def __init__(self, workers: int, name: str, renew_after: int = RENEW_AFTER_BYTES) -> None:
        self.workers, self.name, self.renew_after = workers, name, renew_after
        self.renewals = 0
        self._lock = threading.Lock()
        self._bytes = 0
        self._pool = self._new_pool()

    def _new_pool(self) -> ThreadPoolExecutor:
        return ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix=self.name)

    def submit[T](self, fn: Callable[..., T], /, *args: object, **kwargs: object) -> Future[T]:
        with self._lock:
            pool = self._pool
        return pool.submit(fn, *args, **kwargs)

    def read(self, size: int) -> None:
        """Count ``size`` bytes of a request about to be parsed; renew the threads once enough were read."""
        with self._lock:
            self._bytes += size
            if self._bytes < self.renew_after:
                return
            self._bytes = 0
            old, self._pool = self._pool, self._new_pool()
            self.renewals += 1
        old.shutdown(wait=False)  # its threads finish the work they hold, then end

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        with self._lock:
            pool = self._pool
        pool.shutdown(wait=wait, cancel_futures=cancel_futures)
