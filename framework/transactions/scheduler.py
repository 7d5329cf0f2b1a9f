"""The background worker: a loop claims due outbox entries, a thread pool delivers what it claimed.

Each poll first gathers waiting IDocs into packets (for aliases with a packet rule), then claims due
entries (ACCEPTED, interrupted ones, RETRY_WAIT whose time has come, leases that expired because an
instance died) up to the number of free worker threads, under this instance's name, in one
transaction, and hands them to the :class:`Deliverer`. The loop sleeps until ``wake()`` (an accepted
request, an operator's retry in the monitor) or ``interval`` seconds have passed, whichever comes
first; wake-ups that arrive while it polls make it poll once more, never queue up. A poll after a
wake-up claims at once; one after the interval first reads, without the write lock, whether anything
is due. A delivery that ends wakes the loop when the last poll left due entries behind for want of a
free thread (a poll that sees a thread freed while it claimed wakes it too), when the worker released
the entry's lease (it is due again), and when its end may make others due (the next entry of its qRFC
queue; the halves of a packet SAP refused); what falls due later (a retry's time, a lapsed lease)
waits for the interval. Starting it is what resumes the work a crash left. Jobs that run rarely
(retention) run on an APScheduler scheduler (:meth:`OutboxWorker.every`); frequent ones (the IDocs'
fate in SAP) on a thread of their own each (:meth:`OutboxWorker.repeat`).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.background import BackgroundScheduler

from idocbridge.transactions.broadcast import sender_name
from idocbridge.transactions.delivery import Deliverer
from idocbridge.transactions.store import OutboxStore
from idocbridge.transactions.tables import OutboxEntry

__all__ = ["OutboxWorker", "instance_name"]

log = logging.getLogger("idocbridge.transactions")


def instance_name() -> str:
    """This process's name as lease owner (and in its announcements): host, process ID and a random part."""
    return sender_name()


class OutboxWorker:
    """Polls ``store`` every ``interval`` seconds and delivers with ``workers`` threads."""

    def __init__(self, store: OutboxStore, deliverer: Deliverer, workers: int = 8, interval: float = 0.5,
                 lease: timedelta = timedelta(minutes=2)) -> None:  # fmt: skip
        self.store = store
        self.deliverer = deliverer
        self.owner = deliverer.owner
        self.lease = lease
        self.interval = interval
        self._capacity = workers
        self._busy = 0
        self._left_behind = False
        """Whether the last poll may have left due entries unclaimed: no free thread for all it could have claimed,
        or its claim failed."""
        self._lock = threading.Lock()
        self._woken = threading.Event()
        self._stopping = threading.Event()
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="idocbridge-outbox")
        self._loop = threading.Thread(target=self._poll_loop, name="idocbridge-outbox-poll", daemon=True)
        self._scheduler = BackgroundScheduler(timezone=UTC)
        self._repeating: list[threading.Thread] = []
        self._started = False

    @property
    def capacity(self) -> int:
        """How many deliveries may run at once (the delivery threads)."""
        return self._capacity

    def start(self) -> None:
        with self._lock:
            self._started = True
        self._loop.start()
        self._scheduler.start()
        for thread in self._repeating:
            thread.start()

    def repeat(self, name: str, seconds: float, job: Callable[[], object]) -> None:
        """Run ``job`` from the worker's start on, and again ``seconds`` after each run ends, on a thread of its
        own until the worker stops; failures are logged. For frequent jobs: a run that takes longer than
        ``seconds`` delays the next one (no run is skipped with a warning, as a scheduler's would be). Call it
        before :meth:`start`."""

        def run() -> None:
            while not self._stopping.is_set():
                try:
                    job()
                except Exception:
                    log.exception("repeated job %s failed", name)
                self._stopping.wait(seconds)

        with self._lock:
            if self._started:
                raise RuntimeError(f"the outbox worker runs already: repeat job {name} before starting it")
            self._repeating.append(threading.Thread(target=run, name=f"idocbridge-{name}", daemon=True))

    def spare(self) -> bool:
        """Whether a delivery thread is free now (the IDoc fate follower asks SAP only then)."""
        with self._lock:
            return self._busy < self._capacity

    def every(self, name: str, hours: float, job: Callable[[], object]) -> None:
        """Run ``job`` every ``hours`` (first run now), on the worker's scheduler; failures are logged."""

        def run() -> None:
            try:
                job()
            except Exception:
                log.exception("scheduled job %s failed", name)

        self._scheduler.add_job(run, "interval", hours=hours, id=name, max_instances=1, coalesce=True,
                                misfire_grace_time=None, next_run_time=datetime.now(UTC),
                                replace_existing=True)  # fmt: skip

    def wake(self) -> None:
        """Poll now rather than at the next tick."""
        self._woken.set()

    def _poll_loop(self) -> None:
        woken = True  # the first poll resumes what an earlier run left
        while not self._stopping.is_set():
            self._woken.clear()
            self.poll(look_first=not woken)
            woken = self._woken.wait(self.interval)

    def poll(self, look_first: bool = True) -> int:
        """Claim what is due and start delivering it; return how many entries were claimed. ``look_first``: read
        whether anything is due before taking the write lock (False when something is known to be due)."""
        with self._lock:
            free = self._capacity - self._busy
            self._left_behind = free <= 0
        if free <= 0:
            return 0
        now = datetime.now(UTC)
        try:
            self.store.gather(now, self.deliverer.member_log)
        except Exception:  # the IDocs wait, and go alone if gathering keeps failing: claims go on
            log.exception("gathering IDoc packets failed")
        try:
            claimed = self.store.claim(self.owner, now, free, self.lease, look_first=look_first)
        except Exception:  # a database hiccup must not stop the scheduler
            log.exception("claiming outbox entries failed")
            with self._lock:
                self._left_behind = True  # the next delivery that ends tries again
            return 0
        with self._lock:
            self._busy += len(claimed)
            self._left_behind = len(claimed) == free  # perhaps more were due
            freed_meanwhile = self._left_behind and self._busy < self._capacity  # deliveries that ended during the
        if freed_meanwhile:  # poll did not wake the loop: their threads are free now
            self.wake()
        for entry in claimed:
            self._executor.submit(self._run, entry)
        return len(claimed)

    def _run(self, entry: OutboxEntry) -> None:
        release, failed = True, True
        try:
            release = self.deliverer.deliver(entry)
            failed = False
        except Exception:
            log.exception("delivering outbox entry %s failed", entry.id)
        finally:
            try:
                if release:  # an abandoned delivery's lease may belong to another thread of this instance by now
                    self.store.release(entry.id, self.owner)
            except Exception:
                log.debug("release of %s failed (lease taken over)", entry.id, exc_info=True)
            with self._lock:
                self._busy -= 1
                # a delivery that raised is tried again at the next poll on the timer, not in a loop without pause
                wake = self._left_behind or (release and not failed) or _makes_others_due(entry)
            if wake:  # otherwise what falls due meanwhile (a retry's time, a lapsed lease) waits for the interval
                self.wake()

    def stop(self, wait: bool = True) -> None:
        """Stop polling; let running deliveries finish (their leases expire otherwise)."""
        self._stopping.set()
        self._woken.set()
        if self._loop.is_alive():  # a deployment may close without having started
            self._loop.join()
        if self._scheduler.running:
            self._scheduler.shutdown(wait=wait)
        for thread in self._repeating:
            if wait and thread.is_alive():
                thread.join()
        self._executor.shutdown(wait=wait)


def _makes_others_due(entry: OutboxEntry) -> bool:
    """Whether the end of ``entry``'s delivery may make other entries due at once: the next entry of its qRFC
    queue (once it is CONFIRMED), or, for a packet SAP refused, the two packets of its IDocs (see
    :mod:`idocbridge.transactions.packets`). (A released entry is due again itself; see ``_run``.)"""
    return entry.queue is not None or entry.is_packet
