"""The simulator answers a call only once its changes are on disk, syncing off the event loop and once for the
calls that finish together (group commit); and SimulatorStore.sync reaches the files SQLite writes."""

from __future__ import annotations

import asyncio
import os
import threading
from pathlib import Path

import pytest

from idocbridge.sapsim.group_commit import GroupCommit, SyncFailed
from idocbridge.sapsim.store import SimulatorStore

WAIT = 10.0


class _Store:
    """A store whose syncs wait until the test lets them go, and which records what each sync covered."""

    def __init__(self) -> None:
        self.durable_commits = 0
        self.covered: list[int] = []
        self.failures: list[OSError] = []
        self.release = threading.Event()
        self.started = threading.Event()

    def change(self) -> None:
        self.durable_commits += 1

    def sync(self) -> None:
        seen = self.durable_commits
        self.started.set()
        if not self.release.wait(WAIT):
            raise AssertionError("the test never let the sync go")
        if self.failures:
            raise self.failures.pop()
        self.covered.append(seen)


async def _until(condition: threading.Event) -> None:
    assert await asyncio.to_thread(condition.wait, WAIT)


def test_calls_that_finish_while_a_sync_runs_share_the_next_one_and_the_loop_runs_on() -> None:
    async def scenario() -> None:
        store = _Store()
        commits = GroupCommit(store)
        store.change()
        first = asyncio.create_task(commits.durable())
        await _until(store.started)  # the sync runs on a thread, while this event loop goes on
        assert not first.done()  # the answer waits for it
        store.change()  # two calls change the store while the first sync runs:
        second = asyncio.create_task(commits.durable())
        store.change()
        third = asyncio.create_task(commits.durable())
        await asyncio.sleep(0)
        store.release.set()
        await asyncio.wait_for(asyncio.gather(first, second, third), WAIT)
        assert store.covered == [1, 3]  # the first sync covered the first change; one more covered both others
        assert commits.syncs == 2

    asyncio.run(scenario())


def test_nothing_changed_since_the_last_sync_means_no_sync() -> None:
    async def scenario() -> None:
        store = _Store()
        store.release.set()
        store.change()
        commits = GroupCommit(store)  # what was there at start, the store synced when it opened
        await asyncio.wait_for(commits.durable(), WAIT)
        store.change()
        await asyncio.wait_for(commits.durable(), WAIT)
        await asyncio.wait_for(commits.durable(), WAIT)
        assert store.covered == [2] and commits.syncs == 1

    asyncio.run(scenario())


def test_a_failed_sync_fails_its_callers_and_every_later_call_without_syncing_again() -> None:
    """After a failed fsync the kernel may have dropped the pages it could not write, and a later fsync would
    succeed without them: the simulator answers no more calls."""

    async def scenario() -> None:
        store = _Store()
        store.release.set()
        store.failures.append(OSError(5, "Input/output error"))
        commits = GroupCommit(store)
        store.change()
        with pytest.raises(SyncFailed, match=r"Input/output error.*answers no more calls: check the disk, then"):
            await asyncio.wait_for(commits.durable(), WAIT)
        store.change()
        for _ in range(2):
            with pytest.raises(SyncFailed):
                await asyncio.wait_for(commits.durable(), WAIT)
        assert store.covered == [] and commits.syncs == 0

    asyncio.run(scenario())


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="reads which file a descriptor is from /proc")
def test_the_store_syncs_its_write_ahead_log_and_counts_the_commits_a_call_must_wait_for(tmp_path: Path) -> None:
    store = SimulatorStore(tmp_path / "sim.db")
    try:
        before = store.durable_commits
        with store.transaction():  # statistics only: no call's answer waits for them
            store.next_counter("rfc:cpic:STFC_CONNECTION")
        with store.transaction():  # nothing changed
            store.executed("0A0B0C0D0E0F101112131415")
        assert store.durable_commits == before
        with store.transaction():
            store.next_counter("calls:IDOC_INBOUND_ASYNCHRONOUS")
            store.mark_executed("0A0B0C0D0E0F101112131415", "IDOC_INBOUND_ASYNCHRONOUS", None, "100", "IDOCBRIDGE")
        assert store.durable_commits == before + 1
        assert (tmp_path / "sim.db-wal").stat().st_size > 0  # the commit went to the log, which sync() syncs
        synced: list[str] = []
        real_fsync = os.fsync

        def fsync(descriptor: int) -> None:
            synced.append(str(Path(f"/proc/self/fd/{descriptor}").readlink()))
            real_fsync(descriptor)

        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(os, "fsync", fsync)
            store.sync()
        assert synced == [str(tmp_path / "sim.db-wal")]
    finally:
        store.close()


class _HangUp(Exception):
    """A connection dropped without an answer."""


def test_an_answer_and_a_hang_up_leave_after_the_sync_and_after_a_failed_sync_the_caller_is_hung_up_on() -> None:
    async def scenario() -> None:
        store = _Store()
        store.release.set()
        commits = GroupCommit(store)

        async def ran(answer: str) -> str:
            store.change()
            return answer

        async def ran_then_hung_up() -> str:
            store.change()
            raise _HangUp

        assert await asyncio.wait_for(commits.answered(ran("executed"), _HangUp), WAIT) == "executed"
        assert store.covered == [1]  # synced before the answer
        with pytest.raises(_HangUp):
            await asyncio.wait_for(commits.answered(ran_then_hung_up(), _HangUp), WAIT)
        assert store.covered == [1, 2]  # what ran before the hang-up is kept
        store.failures.append(OSError(28, "No space left on device"))
        with pytest.raises(_HangUp):  # not an error the caller would take as final: whether it ran is unknown
            await asyncio.wait_for(commits.answered(ran("executed"), _HangUp), WAIT)
        assert store.covered == [1, 2]

    asyncio.run(scenario())
