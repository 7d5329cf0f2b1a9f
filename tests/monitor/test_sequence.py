"""The sequence diagram's layout: the order of events, the lanes they go between, folded retries."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from idocbridge.monitor.sequence import LANES, diagram
from idocbridge.tlog.trace import Step, Trace

T0 = datetime(2026, 12, 7, 8, 0, tzinfo=UTC)
TID = "0A1B2C3D4E5F60718293A4B5"


def _at(ms: int) -> datetime:
    return T0 + timedelta(milliseconds=ms)


def _call(ms: int, what: str, ok: bool = True, detail: str = "", elapsed: int = 5) -> Step:
    return Step(_at(ms), "sap-call", "ERP", what, detail, elapsed, ok, TID)


def _state(ms: int, state: str, detail: str = "e1") -> Step:
    return Step(_at(ms), "outbox", "TRFCOutbox", state, detail, 0, True, TID)


def _request(ms: int, elapsed: int, ok: bool = True) -> Step:
    return Step(_at(ms), "request", "urn:S.P.Send", "S.Send", "", elapsed, ok, None)


def _trace(*steps: Step) -> Trace:
    return Trace("t" * 40, steps=list(steps))


def test_a_delivery_reads_client_to_sap_in_the_order_it_happened() -> None:
    drawn = diagram(_trace(
        _state(2, "TID_ASSIGNED"), _call(3, "outbox:get_tid", elapsed=2),
        _state(8, "EXECUTED"), _call(9, "outbox:submit", elapsed=6),
        _state(12, "CONFIRMED"), _call(13, "outbox:confirm", elapsed=3),
        _request(20, 20),
    ))  # fmt: skip
    lanes = [(LANES[m.source], LANES[m.target], m.label) for m in drawn.messages]
    assert lanes == [
        ("Client", "Service", "Send"),
        ("Service", "Outbox", "ACCEPTED"),
        ("Outbox", "SAP", "get tid"),
        ("Outbox", "Outbox", "TID_ASSIGNED"),
        ("Outbox", "SAP", "submit"),
        ("Outbox", "Outbox", "EXECUTED"),
        ("Outbox", "SAP", "confirm"),
        ("Outbox", "Outbox", "CONFIRMED"),
        ("Service", "Client", "receipt"),
    ]
    assert [m.y for m in drawn.messages] == sorted(m.y for m in drawn.messages)
    assert drawn.height > drawn.messages[-1].y


def test_repeated_failures_fold_into_one_arrow_with_their_count_and_the_next_attempt() -> None:
    steps = [_state(0, "TID_ASSIGNED")]
    for attempt in range(13):
        steps.append(_call(100 * attempt + 10, "outbox:submit", ok=False, detail="RFC_COMMUNICATION_FAILURE: down"))
        steps.append(_state(100 * attempt + 20, "RETRY_WAIT", "RFC_COMMUNICATION_FAILURE: down"))
    later = T0 + timedelta(minutes=5)
    drawn = diagram(_trace(*steps), next_attempt=later)
    failures = [m for m in drawn.messages if not m.ok]
    assert len(failures) == 1 and failures[0].count == 13
    assert failures[0].text.startswith("submit \u00d713")
    waits = [m for m in drawn.messages if m.label == "RETRY_WAIT"]
    assert len(waits) == 1, "the waits between the folded failures go with them"
    assert waits[0].detail == f"next attempt {later:%Y-%m-%d %H:%M:%S} UTC"


def test_different_errors_are_not_folded() -> None:
    drawn = diagram(_trace(
        _call(10, "outbox:submit", ok=False, detail="RFC_COMMUNICATION_FAILURE: down"),
        _state(20, "RETRY_WAIT"),
        _call(30, "outbox:submit", ok=False, detail="RFC_LOGON_FAILURE: locked"),
    ))  # fmt: skip
    assert [m.count for m in drawn.messages if not m.ok] == [1, 1]


def test_status_reads_and_operator_actions_are_drawn_from_the_outbox() -> None:
    drawn = diagram(_trace(
        Step(_at(10), "other", "Monitor", "CUSTOM", "retry by otto", 0, True, TID),
        Step(_at(20), "sap-call", "IDocStatus", "GET_STATUS_FROM_IDOCNR", "0000000000000001", 3, True, TID),
    ))  # fmt: skip
    assert [(LANES[m.source], LANES[m.target], m.label) for m in drawn.messages] == [
        ("Outbox", "Outbox", "retry by otto"),
        ("Outbox", "SAP", "GET_STATUS_FROM_IDOCNR"),
    ]
