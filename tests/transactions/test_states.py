"""The state rules, pair by pair: every transition not listed here is refused."""

from __future__ import annotations

import itertools

import pytest

from idocbridge.transactions import (
    ACTIVE_STATES,
    FINAL_STATES,
    TRANSITIONS,
    InvalidTransition,
    OutboxState,
    Phase,
    check_transition,
    resume_phase,
)

S = OutboxState
P = Phase

# (old, new, phases in which it is allowed)
ALLOWED: dict[tuple[OutboxState, OutboxState], set[Phase]] = {
    (S.ACCEPTED, S.TID_ASSIGNED): {P.GET_TID},
    (S.ACCEPTED, S.RETRY_WAIT): {P.GET_TID},
    (S.ACCEPTED, S.FAILED): {P.GET_TID},
    (S.ACCEPTED, S.CANCELLED): {P.GET_TID},
    (S.TID_ASSIGNED, S.EXECUTED): {P.SUBMIT},
    (S.TID_ASSIGNED, S.RETRY_WAIT): {P.SUBMIT},
    (S.TID_ASSIGNED, S.FAILED): {P.SUBMIT},
    (S.EXECUTED, S.CONFIRMED): {P.CONFIRM},
    (S.EXECUTED, S.RETRY_WAIT): {P.CONFIRM},
    (S.RETRY_WAIT, S.TID_ASSIGNED): {P.GET_TID},
    (S.RETRY_WAIT, S.EXECUTED): {P.SUBMIT},
    (S.RETRY_WAIT, S.CONFIRMED): {P.CONFIRM},
    (S.RETRY_WAIT, S.RETRY_WAIT): {P.GET_TID, P.SUBMIT, P.CONFIRM},
    (S.RETRY_WAIT, S.FAILED): {P.GET_TID, P.SUBMIT},
    (S.RETRY_WAIT, S.CANCELLED): {P.GET_TID},
    (S.FAILED, S.RETRY_WAIT): {P.GET_TID, P.SUBMIT},
    (S.FAILED, S.CANCELLED): {P.GET_TID, P.SUBMIT},  # SAP refused it: an operator may give it up
    # IDoc packets: an IDoc is gathered, follows its packet, or goes on in a smaller one; a packet is refused
    (S.ACCEPTED, S.PACKED): {P.GET_TID},
    (S.PACKED, S.PACKED): {P.GET_TID},
    (S.PACKED, S.CONFIRMED): {P.GET_TID},
    (S.PACKED, S.FAILED): {P.GET_TID},
    (S.ACCEPTED, S.REFUSED): {P.GET_TID},
    (S.TID_ASSIGNED, S.REFUSED): {P.SUBMIT},
    (S.RETRY_WAIT, S.REFUSED): {P.GET_TID, P.SUBMIT},
}
# the phase an entry in each state can be in (RETRY_WAIT: any; FAILED: never after execution)
POSSIBLE_PHASES = {
    S.ACCEPTED: {P.GET_TID},
    S.TID_ASSIGNED: {P.SUBMIT},
    S.EXECUTED: {P.CONFIRM},
    S.RETRY_WAIT: set(Phase),
    S.FAILED: {P.GET_TID, P.SUBMIT},
    S.CONFIRMED: {P.CONFIRM},
    S.CANCELLED: {P.GET_TID},
    S.PACKED: {P.GET_TID},
    S.REFUSED: {P.GET_TID, P.SUBMIT},
}
CASES = [
    (old, new, phase)
    for old, new in itertools.product(OutboxState, OutboxState)
    for phase in sorted(POSSIBLE_PHASES[old])
]


@pytest.mark.parametrize(("old", "new", "phase"), CASES, ids=[f"{o}-{n}-{p}" for o, n, p in CASES])
def test_every_transition_rule(old: OutboxState, new: OutboxState, phase: Phase) -> None:
    if phase in ALLOWED.get((old, new), set()):
        check_transition(old, new, phase)
    else:
        with pytest.raises(InvalidTransition, match=r"can(not| only)"):
            check_transition(old, new, phase)


def test_the_table_without_phase_is_the_union_over_phases() -> None:
    assert {(old, new) for old, targets in TRANSITIONS.items() for new in targets} == set(ALLOWED)
    for old, new in itertools.product(OutboxState, OutboxState):
        if (old, new) in ALLOWED:
            check_transition(old, new)
        else:
            with pytest.raises(InvalidTransition):
                check_transition(old, new)


def test_final_states_go_nowhere_except_an_operator_retry_or_cancel_of_failed() -> None:
    assert {S.CONFIRMED, S.FAILED, S.CANCELLED, S.REFUSED} == FINAL_STATES
    assert set(OutboxState) - FINAL_STATES == ACTIVE_STATES | {S.PACKED}  # a PACKED IDoc moves with its packet
    assert TRANSITIONS[S.CONFIRMED] == TRANSITIONS[S.CANCELLED] == TRANSITIONS[S.REFUSED] == frozenset()
    assert TRANSITIONS[S.FAILED] == {S.RETRY_WAIT, S.CANCELLED}
    with pytest.raises(InvalidTransition, match=r"CONFIRMED cannot change to TID_ASSIGNED.*final"):
        check_transition(S.CONFIRMED, S.TID_ASSIGNED)


def test_the_errors_say_why() -> None:
    with pytest.raises(InvalidTransition, match="may have reached SAP"):
        check_transition(S.RETRY_WAIT, S.CANCELLED, P.SUBMIT)
    with pytest.raises(InvalidTransition, match="only its confirm is retried"):
        check_transition(S.RETRY_WAIT, S.FAILED, P.CONFIRM)
    with pytest.raises(InvalidTransition, match="phase SUBMIT can only change to EXECUTED"):
        check_transition(S.RETRY_WAIT, S.TID_ASSIGNED, P.SUBMIT)


def test_resume_phase_follows_tid_and_execution() -> None:
    assert resume_phase(None, False) is P.GET_TID
    assert resume_phase("X" * 24, False) is P.SUBMIT
    assert resume_phase("X" * 24, True) is P.CONFIRM
    assert [phase.completes for phase in (P.GET_TID, P.SUBMIT, P.CONFIRM)] == [
        S.TID_ASSIGNED,
        S.EXECUTED,
        S.CONFIRMED,
    ]
