"""Answer a call only once what it changed is on disk, without syncing on the event loop.

The simulator's store commits with ``synchronous=NORMAL`` (WAL): a commit is written to the write-ahead log
but not synced, so a killed process loses nothing and a lost machine may lose the last commits. Before an
answer leaves, :meth:`GroupCommit.durable` syncs the log on a thread; calls that finish while a sync runs
share the next one (group commit, as a database server does it). Before this, every commit synced on the
event loop, and each connection's call waited for every other connection's disk writes. (SQLite's own
checkpoints, every thousand pages or so, still sync on the event loop.)

A sync that fails is final, as it is for PostgreSQL: after a failed fsync the kernel may have dropped the
pages it could not write, and a later fsync would report success without them. From then on no call is
answered: its connection is closed, as if the network had failed (whether it ran is unknown, so the caller
tries again with its TID), until the simulator is restarted and reads what is on disk.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable
from typing import Protocol

__all__ = ["GroupCommit", "SyncFailed", "Syncable"]

log = logging.getLogger("idocbridge.sapsim")


class SyncFailed(Exception):
    """The store could not be synced to disk: no call may be answered any more."""


class Syncable(Protocol):
    """What a group commit needs of a store."""

    @property
    def durable_commits(self) -> int:
        """How many commits so far must be on disk before a call is answered."""
        ...

    def sync(self) -> None:
        """Put every commit so far on disk (blocking)."""
        ...


class GroupCommit:
    """Syncs ``store`` off the event loop, one sync at a time, each covering every commit made before it began.

    Used from the event loop that makes the store's commits."""

    def __init__(self, store: Syncable) -> None:
        self._store = store
        self._synced = store.durable_commits  # the store syncs what it finds when it opens
        self._running: asyncio.Future[None] | None = None
        self._failure: Exception | None = None
        self.syncs = 0
        """Syncs run so far (each may cover the commits of many calls)."""

    async def durable(self) -> None:
        """Return once every durable commit made before this call is on disk; :class:`SyncFailed` when a sync
        failed (this one or an earlier one)."""
        target = self._store.durable_commits
        while True:
            if self._failure is not None:
                raise SyncFailed(
                    f"the simulator could not write its database to disk ({self._failure}); it answers no more "
                    "calls: check the disk, then restart it"
                )
            if self._synced >= target:
                return
            if self._running is None:
                self._running = asyncio.ensure_future(self._sync())
            await asyncio.shield(self._running)  # a caller that hangs up does not cancel the others' sync

    async def answered[T](self, answer: Awaitable[T], hang_up: type[Exception]) -> T:
        """What ``answer`` returns, once what it changed is on disk. When ``answer`` raises ``hang_up`` (a fault
        breaks the connection), that waits for the sync too: what ran is kept. After a failed sync ``hang_up``
        is raised instead of the answer: whether the call is on disk is unknown, so its caller sees the network
        fail and tries again (with its TID)."""
        try:
            result = await answer
        except hang_up:
            with contextlib.suppress(SyncFailed):  # the connection breaks either way
                await self.durable()
            raise
        try:
            await self.durable()
        except SyncFailed:
            raise hang_up() from None
        return result

    async def _sync(self) -> None:
        covered = self._store.durable_commits  # read on the event loop, where every commit is made
        try:
            await asyncio.get_running_loop().run_in_executor(None, self._store.sync)
        except Exception as exc:
            self._failure = exc
            log.critical("syncing the simulator's database to disk failed: it answers no more calls", exc_info=True)
        else:
            self.syncs += 1
            self._synced = max(self._synced, covered)
        finally:
            self._running = None
