"""The connection pool against the simulator: never more than its size, waits reported each second."""

from __future__ import annotations

import logging
import re
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from idocbridge.connectors import CommunicationError, LogonError
from idocbridge.connectors.pool import ConnectionPool, PoolTimeoutError, PoolWaitEvent, log_pool_waits
from idocbridge.sapsim.testing import SimulatorProcess


def test_fifty_callers_never_exceed_the_pool_size_and_waits_are_reported(sim: SimulatorProcess) -> None:
    events: list[PoolWaitEvent] = []
    lock = threading.Lock()
    in_use = 0
    peak = 0
    everyone_waits = threading.Event()  # the first five hold their connections until then

    def record(event: PoolWaitEvent) -> None:
        events.append(event)
        waiting = {e.waiter for e in events if e.phase == "enter"}
        if len(waiting) == 45 and any(e.elapsed_ms == 1000 for e in events if e.phase == "exit"):
            everyone_waits.set()  # the 45 without a connection wait, one of them a full second

    pool = ConnectionPool("SIM/100/IDOCUSER", sim.connector, size=5, timeout=120, on_wait=record)

    def caller(number: int) -> str:
        nonlocal in_use, peak
        with pool.connection() as sap:
            with lock:
                in_use += 1
                peak = max(peak, in_use)
            everyone_waits.wait(60)
            try:
                return str(sap.call("STFC_CONNECTION", {"REQUTEXT": f"caller {number}"})["ECHOTEXT"])
            finally:
                with lock:
                    in_use -= 1

    with ThreadPoolExecutor(max_workers=50) as executor:
        answers = list(executor.map(caller, range(50)))
    pool.close()
    assert everyone_waits.is_set(), "45 callers waited, one of them a full second"
    assert answers == [f"caller {n}" for n in range(50)]
    stats = pool.stats()
    assert peak <= 5 and stats.peak_in_use == 5 and stats.open == 0
    assert stats.waits == 45
    enters = [e for e in events if e.phase == "enter"]
    exits = [e for e in events if e.phase == "exit"]
    assert len(enters) == len(exits) > stats.waits  # a new IO_ENTER after each full second
    assert all(0 <= e.elapsed_ms <= 1000 for e in exits)


def test_waits_are_logged_as_pool_exhausted(sim: SimulatorProcess, caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("idocbridge.test.pool")
    log = log_pool_waits(logger)
    holding, waited_a_second = threading.Event(), threading.Event()

    def on_wait(event: PoolWaitEvent) -> None:
        log(event)
        if event.phase == "exit":
            waited_a_second.set()

    pool = ConnectionPool("SIM/100", sim.connector, size=1, timeout=60, on_wait=on_wait)

    def hold() -> None:
        with pool.connection() as sap:
            sap.ping()
            holding.set()
            waited_a_second.wait(60)  # let go once the other caller's first full second was reported

    holder = threading.Thread(target=hold)
    with caplog.at_level(logging.WARNING, logger="idocbridge.test.pool"):
        holder.start()
        assert holding.wait(60)
        with pool.connection() as sap:
            sap.ping()
        holder.join()
    pool.close()
    lines = [record.getMessage() for record in caplog.records]
    assert lines[0] == "SAPConnectionPool 0    OK SAPRFC IO_ENTER PoolExhausted pool=SIM/100 waiter=1"
    assert lines[1] == "SAPConnectionPool 1000 OK SAPRFC IO_EXIT  PoolExhausted pool=SIM/100 waiter=1"
    assert lines[2] == "SAPConnectionPool 0    OK SAPRFC IO_ENTER PoolExhausted pool=SIM/100 waiter=1"
    assert re.fullmatch(r"SAPConnectionPool \d+ +OK SAPRFC IO_EXIT  PoolExhausted pool=SIM/100 waiter=1", lines[-1])
    assert len(lines) % 2 == 0  # four, or two more for each further full second if the machine stalls


def test_a_wait_that_exceeds_the_timeout_fails_retryably(sim: SimulatorProcess) -> None:
    pool = ConnectionPool("tiny", sim.connector, size=1, timeout=0.3)
    with pool.connection(), pytest.raises(PoolTimeoutError) as raised:
        pool.acquire()
    assert raised.value.retryable and raised.value.key == "POOL_EXHAUSTED"
    pool.close()


def test_broken_connections_are_replaced(sim: SimulatorProcess) -> None:
    pool = ConnectionPool("replace", sim.connector, size=1, timeout=5)
    with pool.connection() as sap:
        first = sap
        sap.ping()
    sim.control.add_fault("communication_error", function="RFC_PING")
    with pytest.raises(CommunicationError), pool.connection() as sap:
        assert sap is first
        sap.ping()
    with pool.connection() as sap:
        assert sap is not first
        sap.ping()
    stats = pool.stats()
    assert (stats.replaced, stats.open) == (1, 1)
    pool.close()


def test_a_failed_open_frees_its_place(sim: SimulatorProcess) -> None:
    sim.control.add_fault("refuse_logon")
    pool = ConnectionPool("logon", sim.connector, size=1, timeout=1)
    with pytest.raises(LogonError, match=r"^logon refused by the simulator \(fault injection\)"):
        pool.acquire()
    with pool.connection() as sap:
        sap.ping()
    pool.close()
