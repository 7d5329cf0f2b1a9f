"""Answer a call only once what it changed is on disk, without syncing on the event loop.

The simulator's store commits with ``synchronous=NORMAL`` (WAL): a commit is written to the write-ahead log
but not synced, so a killed process loses nothing and a lost machine may lose the last commits. Before
a call's answer leaves, :meth:`GroupCommit.durable` syncs the log on a thread; calls that finish while a
sync runs share the next one (group commit, as a database server does it). Before this, every commit
synced on the event loop, and each connection's call waited for every other connection's disk writes.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Protocol

__all__ = ["GroupCommit", "Syncable"]

log = logging.getLogger("idocbridge.sapsim")


class Syncable(Protocol):
    """What a group commit needs of a store."""

    @property
    def changes(self) -> int:
        """A count that grows with every change made (committed once no transaction is open)."""
        ...

    def sync(self) -> None:
        """Put every change committed so far on disk (blocking)."""
        ...


class GroupCommit:
    """Syncs ``store`` off the event loop, one sync at a time, each covering every change made before it began."""

    def __init__(self, store: Syncable) -> None:
        self._store = store
        self._synced = store.changes  # what was there at start is on disk as far as this run is concerned
        self._running: asyncio.Future[None] | None = None
        self.syncs = 0
        """Syncs run so far (each may cover the changes of many calls)."""

    async def durable(self) -> None:
        """Return once every change made before this call is on disk; OSError when syncing failed."""
        target = self._store.changes
        while self._synced < target:
            if self._running is None:
                self._running = asyncio.ensure_future(self._sync())
            await asyncio.shield(self._running)

    async def _sync(self) -> None:
        covered = self._store.changes  # read on the event loop, where every change is made
        try:
            await asyncio.get_running_loop().run_in_executor(None, self._store.sync)
        except OSError:
            log.exception("syncing the simulator's database to disk failed")
            raise
        finally:
            self._running = None
        self.syncs += 1
        self._synced = max(self._synced, covered)
