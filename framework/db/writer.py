"""One writer per database in this process: every write runs on one thread, many writes per transaction.

SQLite allows one writer at a time; threads that each open their own write transaction queue up for
its file lock (each waiting in the busy handler's sleeps) and each pays a commit (an fsync). The
:class:`SerialWriter` of an engine takes that contention out of the database: callers hand it a
*work* (a function of a connection), the writer thread runs every work queued meanwhile in one
``BEGIN IMMEDIATE`` transaction, commits once, and only then returns each work's result to its caller
("group commit"). A caller therefore sees its write committed, exactly as with its own transaction.

A work that raises rolls back the batch it was in; the batch is then run again one work per
transaction, so that one failing write (a lost lease, a constraint) fails alone and the others commit.
Works must therefore be repeatable: they read what they need inside the transaction and have no effect
outside the database. When the commit itself fails, every caller of the batch gets the error and
nothing is run again (on a lost connection the outcome is unknown: the caller decides, as it would had
its own commit failed).

On PostgreSQL the writer serialises this process's writes too: other instances write side by side,
and row locks (``FOR UPDATE SKIP LOCKED`` claims) keep them apart.
"""

from __future__ import annotations

import copy
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, cast

from sqlalchemy import Connection, Engine, Executable

from idocbridge.db.engine import begin_write

__all__ = ["SerialWriter", "WriterStats", "delete_in_batches", "serial_writer", "write"]

MAX_BATCH = 256
"""The most works one transaction runs."""
LOCK_TIMEOUT_SECONDS = 10.0
"""On PostgreSQL, a statement of the writer waits this long at most for a lock (a row another session
holds, say): then its work fails alone, instead of every write of the process waiting behind it.
SQLite's busy timeout (10 s) bounds the wait for its write lock the same way."""
_IDLE_SECONDS = 5.0
"""The writer thread ends after this long without work, and starts again with the next one."""


@dataclass(eq=False)
class _Job:
    work: Callable[[Connection], Any]
    alone: bool = False
    done: threading.Event = field(default_factory=threading.Event)
    result: Any = None
    error: BaseException | None = None

    def finish(self, result: Any = None, error: BaseException | None = None) -> None:
        self.result, self.error = result, error
        self.done.set()


@dataclass(frozen=True, slots=True)
class WriterStats:
    """What a writer did since it was made."""

    works: int
    """Works committed or failed."""
    transactions: int
    """Transactions begun (committed or not)."""
    commits: int


class SerialWriter:
    """Runs the writes of this process to ``engine`` on one thread, batching them into shared transactions."""

    def __init__(self, engine: Engine, max_batch: int = MAX_BATCH, lock_timeout: float = LOCK_TIMEOUT_SECONDS) -> None:
        self._engine = engine
        self._max_batch = max_batch
        self._lock_timeout_ms = max(1, int(lock_timeout * 1000))
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._queue: deque[_Job] = deque()
        self._thread: threading.Thread | None = None
        self._works = self._transactions = self._commits = 0

    def run[T](self, work: Callable[[Connection], T], *, alone: bool = False) -> T:
        """Run ``work`` in a write transaction and return its result once that transaction committed.

        ``alone``: in a transaction of its own, for a work that takes a lock other processes take in another
        order (shared, two instances' batches could deadlock). Raises what ``work`` raised, or the commit's
        error. Blocks the calling thread; never call it from a work (the writer would wait for itself).
        """
        if threading.current_thread() is self._thread:
            raise RuntimeError("a write work cannot start another write: use the connection it was given")
        job = _Job(work, alone)
        with self._lock:
            self._queue.append(job)
            if self._thread is None:
                self._thread = threading.Thread(target=self._loop, name="idocbridge-db-writer", daemon=True)
                self._thread.start()
            else:
                self._wake.notify()
        job.done.wait()
        if job.error is not None:
            raise job.error
        return cast(T, job.result)

    def pending(self) -> int:
        """How many works wait for the writer (the batch being written not included)."""
        with self._lock:
            return len(self._queue)

    def stats(self) -> WriterStats:
        """Counts since the writer was made (for benchmarks and health)."""
        with self._lock:
            return WriterStats(self._works, self._transactions, self._commits)

    def _loop(self) -> None:
        while True:
            with self._lock:
                while not self._queue:
                    if not self._wake.wait(_IDLE_SECONDS) and not self._queue:
                        self._thread = None
                        return
                batch = [self._queue.popleft()]
                while not batch[0].alone and self._queue and not self._queue[0].alone and len(batch) < self._max_batch:
                    batch.append(self._queue.popleft())
            self._execute(batch)

    def _execute(self, batch: list[_Job]) -> None:
        """Run ``batch`` in one transaction; after a work failed, each work again in its own."""
        results: list[Any] = []
        failed: BaseException | None = None
        with self._lock:
            self._transactions += 1
        try:
            with begin_write(self._engine) as connection:
                if connection.dialect.name == "postgresql":  # a lock held elsewhere must not stall every write
                    connection.exec_driver_sql(f"SET LOCAL lock_timeout = '{self._lock_timeout_ms}ms'")
                for job in batch:
                    try:
                        results.append(job.work(connection))
                    except BaseException as exc:  # the transaction rolls back; see below
                        failed = exc
                        raise
        except BaseException as exc:
            if failed is None:  # BEGIN or COMMIT failed: nothing is run again (the outcome may be unknown)
                for job in batch:
                    job.finish(error=_own_copy(exc) if len(batch) > 1 else exc)
                self._count(len(batch), committed=False)
            elif len(batch) == 1:
                batch[0].finish(error=failed)
                self._count(1, committed=False)
            else:
                for job in batch:  # one work failed: run each alone so the others still commit
                    self._execute([job])
            return
        self._count(len(batch), committed=True)
        for job, result in zip(batch, results, strict=True):
            job.finish(result)

    def _count(self, works: int, *, committed: bool) -> None:
        with self._lock:
            self._works += works
            self._commits += 1 if committed else 0


def _own_copy(error: BaseException) -> BaseException:
    """A copy of ``error`` for one of several callers, so that their tracebacks do not mix in one object."""
    try:
        duplicate = copy.copy(error)
    except Exception:
        return error
    duplicate.__cause__, duplicate.__traceback__ = error, None
    return duplicate


_ATTRIBUTE = "_idocbridge_serial_writer"
_writers_lock = threading.Lock()


def serial_writer(engine: Engine) -> SerialWriter:
    """The one :class:`SerialWriter` of ``engine`` in this process (kept on the engine, gone with it)."""
    with _writers_lock:
        writer: SerialWriter | None = getattr(engine, _ATTRIBUTE, None)
        if writer is None:
            writer = SerialWriter(engine)
            setattr(engine, _ATTRIBUTE, writer)
        return writer


def write[T](engine: Engine, work: Callable[[Connection], T], *, alone: bool = False) -> T:
    """Run ``work`` on ``engine``'s :class:`SerialWriter` (see :meth:`SerialWriter.run`)."""
    return serial_writer(engine).run(work, alone=alone)


def delete_in_batches(engine: Engine, statement: Executable, batch_size: int) -> int:
    """Run ``statement``, a DELETE of at most ``batch_size`` rows, on the writer until it deletes fewer; how many
    rows it deleted in all. Bounded transactions: the writer serves the other writes in between."""
    total = 0
    while True:
        deleted = int(write(engine, lambda connection: connection.execute(statement).rowcount))
        total += deleted
        if deleted < batch_size:
            return total
