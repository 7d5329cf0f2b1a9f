"""Pure parts of the simulator: the wire encoding and the fault plan."""

from __future__ import annotations

from decimal import Decimal

import pytest

from idocbridge.connectors import ABAPApplicationError, CommunicationError, TransactionBusyError
from idocbridge.sapsim.faults import Fault, FaultPlan
from idocbridge.sapsim.protocol import decode, encode, error_body, error_from_body, kind_of


def test_values_survive_the_wire() -> None:
    message = {"params": {"AMOUNT": Decimal("12.30"), "RAW": b"\x00\xff", "ROWS": [{"A": "ä"}], "N": 7}}
    assert decode(encode(message)) == message


def test_non_objects_and_unknown_types_are_refused() -> None:
    with pytest.raises(ValueError, match="JSON object"):
        decode("[1, 2]")
    with pytest.raises(TypeError, match="cannot be sent"):
        encode({"x": object()})


@pytest.mark.parametrize(
    "error", [CommunicationError("x"), TransactionBusyError("x"), ABAPApplicationError("x", key="K")]
)
def test_errors_round_trip_by_kind(error: Exception) -> None:
    assert isinstance(error, CommunicationError | TransactionBusyError | ABAPApplicationError)
    body = error_body(kind_of(error), error.message, error.key)
    again = error_from_body(body, function="F", tid="T")
    assert type(again) is type(error)
    assert (again.key, again.function, again.tid) == (error.key, "F", "T")


def test_faults_count_down_and_filter_by_function() -> None:
    plan = FaultPlan()
    plan.add(Fault("drop_after", count=2, function="A"))
    assert plan.take("drop_after", "B") is None
    assert plan.take("drop_after", "A") is not None
    assert plan.take("drop_after", "A") is not None
    assert plan.take("drop_after", "A") is None
    assert plan.armed() == []


def test_faults_without_count_stay_armed_and_seeded_draws_repeat() -> None:
    def draws(seed: int) -> list[bool]:
        plan = FaultPlan(seed)
        plan.add(Fault("delay", count=None, probability=0.3))
        return [plan.take("delay") is not None for _ in range(100)]

    assert draws(7) == draws(7)
    assert draws(7) != draws(8)
    assert 10 < draws(7).count(True) < 50


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"kind": "meteor"}, "unknown fault kind 'meteor'"),
        ({"kind": "delay", "count": 0}, "count is a whole number of at least 1"),
        ({"kind": "delay", "count": 1.5}, "count is a whole number of at least 1"),
        ({"kind": "delay", "seconds": -1}, "seconds is between 0 and 600"),
        ({"kind": "delay", "seconds": float("inf")}, "seconds is between 0 and 600"),
        ({"kind": "delay", "seconds": float("nan")}, "seconds is between 0 and 600"),
        ({"kind": "abap_exception", "key": ["X"]}, "key is text"),
        ({"kind": "refuse_logon", "function": "RFC_PING"}, "refuse_logon happens before any function is named"),
        ({"kind": "delay", "when": "now"}, "unknown fault setting(s): when"),
    ],
)
def test_fault_settings_are_checked(data: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError) as raised:
        Fault.from_dict(data)
    assert message in str(raised.value)
