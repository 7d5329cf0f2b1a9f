"""The one thread that renews the leases of the deliveries in progress (real threads, no SAP needed)."""

from __future__ import annotations

import threading
from collections.abc import Callable

from idocbridge.transactions.heartbeat import Heartbeats
from tests.waiting import wait_until

QUICK = 0.02


def _counter() -> tuple[list[int], Callable[[], bool]]:
    count = [0]

    def renew() -> bool:
        count[0] += 1
        return True

    return count, renew


def _never() -> None:
    raise AssertionError("expired, though its duration had not passed")


def test_a_beat_renews_until_its_block_ends_and_never_after() -> None:
    heartbeats = Heartbeats()
    first, renew_first = _counter()
    with heartbeats.beating(QUICK, 600, renew_first, _never):
        wait_until(lambda: first[0] >= 3, what="three renewals while the block runs")
    ended_at = first[0]
    later, renew_later = _counter()
    with heartbeats.beating(QUICK, 600, renew_later, _never):
        # the thread serves beats in turn: once the later one has beaten five times, a first one still
        # registered would have beaten again
        wait_until(lambda: later[0] >= 5, what="five renewals of the later beat")
    assert first[0] == ended_at


def test_a_beat_expires_once_after_its_duration_and_then_stops() -> None:
    heartbeats = Heartbeats()
    expired = threading.Event()
    expiries: list[int] = []
    count, renew = _counter()

    def expire() -> None:
        expiries.append(count[0])
        expired.set()

    with heartbeats.beating(QUICK, 0.3, renew, expire):
        assert expired.wait(60), "the beat did not expire"
        renewals_at_expiry = count[0]
        other, renew_other = _counter()
        with heartbeats.beating(QUICK, 600, renew_other, _never):
            wait_until(lambda: other[0] >= 5, what="five renewals of another beat after the expiry")
    assert len(expiries) == 1 and count[0] == renewals_at_expiry, "an expired beat renewed or expired again"


def test_a_renewal_that_says_the_lease_is_gone_ends_the_beat() -> None:
    heartbeats = Heartbeats()
    calls = [0]

    def lost() -> bool:
        calls[0] += 1
        return False

    with heartbeats.beating(QUICK, 600, lost, _never):
        wait_until(lambda: calls[0] == 1, what="the first renewal")
        other, renew_other = _counter()
        with heartbeats.beating(QUICK, 600, renew_other, _never):
            wait_until(lambda: other[0] >= 5, what="five renewals of another beat")
    assert calls[0] == 1


def test_leaving_the_block_waits_for_its_renewal_in_progress() -> None:
    heartbeats = Heartbeats()
    renewing, finish = threading.Event(), threading.Event()
    finished: list[bool] = []

    def slow_renewal() -> bool:
        renewing.set()
        finish.wait(60)
        finished.append(True)
        return True

    left = threading.Event()

    def delivery() -> None:
        with heartbeats.beating(QUICK, 600, slow_renewal, _never):
            assert renewing.wait(60)
        left.set()

    worker = threading.Thread(target=delivery)
    worker.start()
    assert renewing.wait(60)
    assert not left.wait(0.2), "the block ended while its renewal was still running"
    finish.set()
    assert left.wait(60) and finished == [True]
    worker.join(60)


def test_a_failing_renewal_is_tried_again() -> None:
    heartbeats = Heartbeats()
    calls = [0]

    def failing() -> bool:
        calls[0] += 1
        raise RuntimeError("the database is away")

    with heartbeats.beating(QUICK, 600, failing, _never):
        wait_until(lambda: calls[0] >= 3, what="renewals tried again after failing")


def test_many_deliveries_share_one_thread() -> None:
    heartbeats = Heartbeats("idocbridge-lease-shared-test")
    counts = [_counter() for _ in range(20)]
    started = threading.Barrier(len(counts) + 1)
    release = threading.Event()

    def delivery(renew: Callable[[], bool]) -> None:
        with heartbeats.beating(QUICK, 600, renew, _never):
            started.wait(60)
            release.wait(60)

    workers = [threading.Thread(target=delivery, args=(renew,)) for _, renew in counts]
    for worker in workers:
        worker.start()
    started.wait(60)
    wait_until(lambda: all(count[0] >= 2 for count, _ in counts), what="every delivery renewed twice")
    beating = [thread for thread in threading.enumerate() if thread.name == "idocbridge-lease-shared-test"]
    release.set()
    for worker in workers:
        worker.join(60)
    assert len(beating) == 1
