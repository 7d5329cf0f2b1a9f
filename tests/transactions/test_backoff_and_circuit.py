"""Backoff with jitter and a cap; the per-alias circuit with its one half-open trial."""

from __future__ import annotations

import pytest

from idocbridge.transactions.backoff import Backoff
from idocbridge.transactions.circuit import Circuits


def test_backoff_doubles_up_to_the_cap_and_jitters_downwards() -> None:
    exact = Backoff(base=1.0, cap=60.0, jitter=0.0)
    assert [exact.delay(n) for n in (1, 2, 3, 4, 7, 8, 1000)] == [1.0, 2.0, 4.0, 8.0, 60.0, 60.0, 60.0]
    jittered = Backoff(base=1.0, cap=60.0, jitter=0.5, seed=1)
    delays = [jittered.delay(5) for _ in range(200)]
    assert all(8.0 <= d <= 16.0 for d in delays) and len({round(d, 6) for d in delays}) > 100


@pytest.mark.parametrize("arguments", [{"base": 0}, {"base": 10, "cap": 5}, {"jitter": 1.0}, {"jitter": -0.1}])
def test_backoff_refuses_nonsense(arguments: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="need 0 < base"):
        Backoff(**arguments)


def test_the_circuit_opens_after_the_threshold_and_lets_one_trial_through() -> None:
    circuits = Circuits(threshold=3, cooldown=30.0)
    for _ in range(2):
        circuits.failure("ERP", now=0.0)
    assert circuits.admit("ERP", now=0.0) == "closed"
    assert circuits.failure("ERP", now=1.0) is True
    assert circuits.admit("ERP", now=2.0) == "refused" and circuits.retry_in("ERP", now=2.0) == 29.0
    assert circuits.admit("OTHER", now=2.0) == "closed", "circuits are per alias"
    assert circuits.admit("ERP", now=31.0) == "trial"
    assert circuits.admit("ERP", now=31.0) == "refused", "one trial at a time"
    circuits.failure("ERP", now=32.0)
    assert circuits.admit("ERP", now=40.0) == "refused" and circuits.retry_in("ERP", now=40.0) == 22.0
    assert circuits.admit("ERP", now=62.0) == "trial"
    circuits.success("ERP")
    assert circuits.admit("ERP", now=62.0) == "closed"


def test_a_trial_without_a_verdict_lets_the_next_one_try() -> None:
    circuits = Circuits(threshold=1, cooldown=10.0)
    circuits.failure("ERP", now=0.0)
    assert circuits.admit("ERP", now=11.0) == "trial"
    assert circuits.admit("ERP", now=12.0) == "refused"
    circuits.settle("ERP")  # e.g. the trial lost its lease: it proved nothing
    assert circuits.admit("ERP", now=12.0) == "trial"
