"""The transaction-log writer: callers hand entries over; a background thread writes them in batches.

``record`` only filters by level and appends to a bounded in-memory queue, so a request never waits
for the database. The writer thread inserts a batch when ``batch_size`` entries are queued, when the
oldest queued entry is ``flush_interval`` seconds old, on :meth:`TransactionLog.flush`, and on
:meth:`TransactionLog.close` (which drains everything).

Nothing is lost silently:

- queue full: a caller in a plain thread waits up to ``wait`` seconds for room; code running on an
  event loop never waits. An entry that finds no room is dropped and counted (``stats().dropped``),
  and the writer logs a warning with the count;
- a database error never reaches the caller: the writer logs it, retries a batch once after a lost
  connection or lock timeout, writes a batch with a bad row entry by entry, and counts what the
  database refused (``stats().failed``).
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections import deque
from dataclasses import dataclass
from types import TracebackType
from typing import Self

from sqlalchemy import Engine
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError, InterfaceError, OperationalError, StatementError

from idocbridge.db.writer import write
from idocbridge.models.composite import LOG_LEVELS, LogLevel
from idocbridge.tlog.entry import LogEntry, records
from idocbridge.tlog.tables import insert_rows, row_from_entry

__all__ = ["TransactionLog", "TransactionLogStats"]

logger = logging.getLogger("idocbridge.tlog")


@dataclass(frozen=True, slots=True)
class TransactionLogStats:
    """Counts since the log was opened."""

    recorded: int
    """Entries accepted into the queue."""
    written: int
    dropped: int
    """Entries refused because the queue was full or the log closed."""
    failed: int
    """Entries the database refused."""
    pending: int
    """Entries queued or being written."""


class TransactionLog:
    """Records entries at or below ``level`` into the ``transaction_log`` table of ``engine``.

    Safe to use from any number of threads and from asyncio code; call :meth:`close` at shutdown.
    """

    def __init__(
        self,
        engine: Engine,
        level: LogLevel = "IO",
        *,
        batch_size: int = 200,
        flush_interval: float = 0.25,
        capacity: int = 10_000,
        wait: float = 0.1,
        retry_delay: float = 0.5,
    ) -> None:
        if batch_size < 1 or capacity < batch_size or flush_interval <= 0 or wait < 0:
            raise ValueError("need batch_size >= 1, capacity >= batch_size, flush_interval > 0 and wait >= 0")
        self.level = level
        self._engine = engine
        self._batch_size = batch_size
        self._interval = flush_interval
        self._capacity = capacity
        self._wait = wait
        self._retry_delay = retry_delay
        self._lock = threading.Lock()
        self._wake_writer = threading.Condition(self._lock)
        self._room = threading.Condition(self._lock)
        self._progress = threading.Condition(self._lock)
        self._items: deque[LogEntry] = deque()
        self._oldest = 0.0
        self._accepted = self._taken = self._done = self._flush_to = 0
        self._written = self._dropped = self._failed = self._dropped_reported = 0
        self._closed = self._warned_closed = False
        self._last_error_report = float("-inf")
        self._thread = threading.Thread(target=self._run, name="idocbridge-tlog-writer", daemon=True)
        self._thread.start()

    @property
    def level(self) -> LogLevel:
        """None < Custom < Service < IO; may be changed while the log runs."""
        return self._level

    @level.setter
    def level(self, value: LogLevel) -> None:
        if value not in LOG_LEVELS:
            raise ValueError(f"unknown log level {value!r}; known: {', '.join(LOG_LEVELS)}")
        self._level: LogLevel = value

    def enabled_for(self, log_type: str) -> bool:
        """Whether entries of ``log_type`` are recorded at the current level (skip building them if not)."""
        return records(self._level, log_type)

    def record(self, entry: LogEntry, *, wait: float | None = None) -> bool:
        """Queue ``entry`` for writing unless the level filters it out; True if it was queued.

        Returns at once unless the queue is full: then a plain thread waits up to ``wait`` seconds
        (the log's default if None) and an event loop never waits; a refused entry is counted as dropped.
        """
        if not records(self._level, entry.log_type):
            return False
        with self._lock:
            if len(self._items) >= self._capacity and not self._closed:
                self._wait_for_room(self._wait if wait is None else wait)
            if not self._closed and len(self._items) < self._capacity:
                self._items.append(entry)
                self._accepted += 1
                if len(self._items) == 1:
                    self._oldest = time.monotonic()
                    self._wake_writer.notify()
                elif len(self._items) == self._batch_size:
                    self._wake_writer.notify()
                return True
            self._dropped += 1
            first_after_close, self._warned_closed = self._closed and not self._warned_closed, self._closed
        if first_after_close:
            logger.warning("transaction log: closed; entries recorded from now on are dropped (and counted)")
        return False

    def flush(self, timeout: float | None = None) -> bool:
        """Write everything recorded so far; False if that took longer than ``timeout`` seconds.

        Blocks: from asyncio code, call it through ``asyncio.to_thread``.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._lock:
            target = self._accepted
            self._flush_to = max(self._flush_to, target)
            self._wake_writer.notify()
            while self._done < target:
                remaining = None if deadline is None else deadline - time.monotonic()
                if (remaining is not None and remaining <= 0) or not self._thread.is_alive():
                    return False
                self._progress.wait(remaining)
            return True

    def close(self, timeout: float | None = None) -> None:
        """Stop taking entries, write every queued one and stop the writer thread. Idempotent."""
        with self._lock:
            self._closed = True
            self._wake_writer.notify()
            self._room.notify_all()
        self._thread.join(timeout)
        if self._thread.is_alive():
            logger.error("transaction log: %d entries still unwritten at close", self.stats().pending)

    def stats(self) -> TransactionLogStats:
        """What happened to the entries so far."""
        with self._lock:
            pending = self._accepted - self._done
            return TransactionLogStats(self._accepted, self._written, self._dropped, self._failed, pending)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.close()

    def _wait_for_room(self, wait: float) -> None:
        """Wait (lock held) until the queue has room, the log closes or ``wait`` passes; never on a loop."""
        try:
            asyncio.get_running_loop()
            return
        except RuntimeError:
            pass
        deadline = time.monotonic() + wait
        while len(self._items) >= self._capacity and not self._closed:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            self._room.wait(remaining)

    def _run(self) -> None:
        try:
            self._loop()
        except BaseException:  # pragma: no cover - a bug; say so loudly rather than die quietly
            logger.critical("transaction log: the writer thread stopped", exc_info=True)
            raise

    def _loop(self) -> None:
        while True:
            with self._lock:
                while not self._batch_due():
                    if self._closed and not self._items:
                        return
                    due = self._oldest + self._interval - time.monotonic() if self._items else None
                    self._wake_writer.wait(due)
                count = min(self._batch_size, len(self._items))
                batch = [self._items.popleft() for _ in range(count)]
                self._taken += count
                self._room.notify_all()
                dropped, self._dropped_reported = self._dropped - self._dropped_reported, self._dropped
            if dropped:
                logger.warning("transaction log: %d entries dropped (queue of %d full)", dropped, self._capacity)
            written = self._write(batch)
            with self._lock:
                self._written += written
                self._failed += count - written
                self._done += count
                self._progress.notify_all()

    def _batch_due(self) -> bool:
        if not self._items:
            return False
        return (
            self._closed
            or len(self._items) >= self._batch_size
            or self._taken < self._flush_to
            or time.monotonic() >= self._oldest + self._interval
        )

    def _write(self, batch: list[LogEntry]) -> int:
        """Insert ``batch``; the number of entries written. Never raises."""
        try:
            self._insert(batch)
            return len(batch)
        except Exception as exc:
            error = exc
        if isinstance(error, OperationalError | InterfaceError) and self._retry_delay >= 0:
            time.sleep(self._retry_delay)
            try:
                self._insert(batch)
                return len(batch)
            except Exception as exc:
                error = exc
        if len(batch) > 1 and _is_bad_row(error):
            return sum(self._write([entry]) for entry in batch)
        self._report(len(batch), error)
        return 0

    def _insert(self, batch: list[LogEntry]) -> None:
        rows = [row_from_entry(entry) for entry in batch]
        write(self._engine, lambda connection: insert_rows(connection, rows))

    def _report(self, count: int, error: Exception) -> None:
        """Log a failed write: with the traceback the first time, then at most every 10 seconds."""
        now = time.monotonic()
        first = self._last_error_report == float("-inf")
        if now - self._last_error_report < 10.0:
            return
        self._last_error_report = now
        with self._lock:
            failed = self._failed + count
        logger.error(
            "transaction log: the database refused %d entries (%d so far): %s", count, failed, error, exc_info=first
        )


def _is_bad_row(error: Exception) -> bool:
    """A data error (not a connection or schema problem): worth writing the batch entry by entry."""
    if isinstance(error, DBAPIError):
        return isinstance(error, IntegrityError | DataError)
    return isinstance(error, StatementError | ValueError)  # a value the driver could not bind
