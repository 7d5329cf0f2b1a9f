"""The outbox worker's repeated jobs: run from its start on, again after each run, past failures, until it stops."""

from __future__ import annotations

import threading
from typing import cast

import pytest
from sqlalchemy import Engine

from idocbridge.connectors.pool_set import PoolSet
from idocbridge.transactions import OutboxStore
from idocbridge.transactions.delivery import Deliverer
from idocbridge.transactions.scheduler import OutboxWorker
from tests.waiting import wait_until


def _worker(engine: Engine) -> OutboxWorker:
    store = OutboxStore(engine)
    no_sap = cast(PoolSet, None)  # the outbox stays empty: nothing is delivered
    return OutboxWorker(store, Deliverer(store, no_sap, None, "instance-1"), workers=1)


def test_a_repeated_job_runs_again_after_each_run_and_after_a_failure(engine: Engine) -> None:
    worker = _worker(engine)
    runs: list[str] = []

    def job() -> None:
        runs.append(threading.current_thread().name)
        if len(runs) == 2:
            raise RuntimeError("a run that fails")

    worker.repeat("probe", 0.001, job)
    assert runs == []  # not before the worker starts
    worker.start()
    try:
        wait_until(lambda: len(runs) >= 5, what="five runs, one of them failed")
    finally:
        worker.stop()
    assert set(runs) == {"idocbridge-probe"}  # on a thread of its own


def test_stopping_the_worker_waits_for_a_repeated_job_that_runs(engine: Engine) -> None:
    worker = _worker(engine)
    running, release = threading.Event(), threading.Event()
    finished: list[bool] = []

    def job() -> None:
        running.set()
        release.wait(30)
        finished.append(True)

    worker.repeat("probe", 3600.0, job)
    worker.start()
    assert running.wait(30)
    threading.Timer(0.2, release.set).start()  # the run ends a little after stop() begins
    worker.stop()
    assert finished == [True], "stop() returned while the job still ran"


def test_a_job_is_repeated_only_when_set_before_the_worker_starts(engine: Engine) -> None:
    worker = _worker(engine)
    worker.start()
    try:
        with pytest.raises(RuntimeError, match="before starting it"):
            worker.repeat("late", 1.0, lambda: None)
    finally:
        worker.stop()
