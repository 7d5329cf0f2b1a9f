"""Fault injection: make the simulator fail the way SAP systems and networks fail.

Faults are set through the control API (``idocbridge sim fault ...``, or the test helpers). Each
fault applies to the next ``count`` matching events (all of them when ``count`` is None), optionally
only for calls of one function module (a fault with a function never matches operations that name
none, such as get_tid or confirm; logon and connection faults take no function) and only with a
``probability``; probabilities draw from a random
generator seeded by the plan's seed, so a run with the same seed and the same traffic fails the same
way again.

Kinds:
    refuse_logon        logons fail with a logon error
    refuse_connections  new WebSocket handshakes are refused (HTTP 503)
    communication_error the call fails with a communication error and the connection closes
    drop_before         the connection drops before the function runs (nothing happened)
    drop_after          the function runs and commits, then the connection drops (no reply)
    drop_on_confirm     a confirm arrives and the connection drops before the TID is forgotten: the
                        client cannot tell whether its confirm happened (``function``: of the TID's call)
    delay               the call waits ``seconds`` before it runs; longer than the client's timeout
                        (up to 600 s) it is a hung call
    abap_exception      the function raises ABAP exception ``key``
    posting_error       an inbound IDoc is added but not posted: status 51 with ``message`` (taken when the
                        IDoc is posted: in background processing, later than the call)
    refuse_idoc         a call carrying an inbound IDoc is refused whole with ABAP exception ``key``
                        (IDOC_REFUSED if not given): nothing of it is stored

posting_error and refuse_idoc name the IDoc's message type (MESTYP) in ``function``.
"""

from __future__ import annotations

import random
from dataclasses import asdict, dataclass
from typing import Any, Literal, get_args

__all__ = ["FAULT_KINDS", "Fault", "FaultKind", "FaultPlan"]

FaultKind = Literal[
    "refuse_logon",
    "refuse_connections",
    "communication_error",
    "drop_before",
    "drop_after",
    "drop_on_confirm",
    "delay",
    "abap_exception",
    "posting_error",
    "refuse_idoc",
]
FAULT_KINDS: tuple[str, ...] = get_args(FaultKind)
MAX_DELAY = 600.0
"""The longest delay a fault may ask for, in seconds (a finite number: clearing faults cannot cut it short)."""
_WITHOUT_FUNCTION = frozenset({"refuse_logon", "refuse_connections"})


@dataclass
class Fault:
    """One armed fault."""

    kind: FaultKind
    count: int | None = 1
    function: str | None = None
    probability: float = 1.0
    seconds: float = 0.0
    key: str | None = None
    message: str | None = None
    fired: int = 0

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Fault:
        known = {name for name in cls.__dataclass_fields__ if name != "fired"}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown fault setting(s): {', '.join(unknown)}; known: {', '.join(sorted(known))}")
        if data.get("kind") not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {data.get('kind')!r}; use one of {', '.join(FAULT_KINDS)}")
        fault = cls(**data)
        count = fault.count
        if count is not None and (isinstance(count, bool) or not isinstance(count, int) or count < 1):
            raise ValueError("count is a whole number of at least 1 (or null for every matching event)")
        if isinstance(fault.probability, bool) or not isinstance(fault.probability, int | float):
            raise ValueError("probability is a number")
        if not 0.0 < fault.probability <= 1.0:
            raise ValueError("probability is above 0 and at most 1")
        if isinstance(fault.seconds, bool) or not isinstance(fault.seconds, int | float):
            raise ValueError("seconds is a number")
        if not 0.0 <= fault.seconds <= MAX_DELAY:
            raise ValueError(f"seconds is between 0 and {MAX_DELAY:g}")
        for name in ("function", "key", "message"):
            if not isinstance(getattr(fault, name), str | None):
                raise ValueError(f"{name} is text")
        if fault.function is not None and fault.kind in _WITHOUT_FUNCTION:
            raise ValueError(f"{fault.kind} happens before any function is named: it takes no function")
        return fault

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class FaultPlan:
    """The armed faults, consumed as matching events happen."""

    def __init__(self, seed: int = 0) -> None:
        self.seed = seed
        self._random = random.Random(seed)
        self._faults: list[Fault] = []

    def reseed(self, seed: int) -> None:
        self.seed = seed
        self._random = random.Random(seed)

    def add(self, fault: Fault) -> None:
        self._faults.append(fault)

    def clear(self) -> None:
        self._faults.clear()

    def armed(self) -> list[Fault]:
        return list(self._faults)

    def take(self, kind: FaultKind, function: str | None = None) -> Fault | None:
        """The first armed fault of ``kind`` that fires for ``function`` now, consuming one use."""
        for fault in self._faults:
            if fault.kind != kind or (fault.function is not None and fault.function != function):
                continue
            if fault.probability < 1.0 and self._random.random() >= fault.probability:
                continue
            fault.fired += 1
            if fault.count is not None:
                fault.count -= 1
                if fault.count == 0:
                    self._faults.remove(fault)
            return fault
        return None
