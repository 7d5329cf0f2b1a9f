"""One request's story as a sequence diagram: client, service, outbox and SAP, each call and state between them.

The story comes from the transaction log (:func:`idocbridge.tlog.trace.story`); this module lays it out
(lanes, arrows, notes, coordinates) for the SVG template. Failed calls repeated with the same error fold
into one arrow with their count, and the outbox's waits between them into the note after it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from idocbridge.tlog.trace import Step, Trace

__all__ = ["LANES", "MONITOR_COMPONENT", "Diagram", "Message", "diagram"]

MONITOR_COMPONENT = "Monitor"
"""The component of the log entries of operators' actions in the monitor (param1: "retry by NAME")."""

LANES = ("Client", "Service", "Outbox", "SAP")
_CLIENT, _SERVICE, _OUTBOX, _SAP = range(4)
_LANE_GAP = 210
_LEFT = 110
_TOP = 56
_ROW = 38
_STATUS_READS = "IDocStatus"
_OUTBOX_CALL = "outbox:"
"""What the outbox's SAP calls are logged as (outbox:get_tid, outbox:submit, outbox:confirm)."""


@dataclass(frozen=True, slots=True)
class Message:
    """An arrow from lane ``source`` to lane ``target`` (equal: a note on that lane), with its row's y."""

    source: int
    target: int
    label: str
    detail: str
    ok: bool
    at: datetime
    elapsed_ms: int = 0
    count: int = 1
    reply: bool = False
    y: int = 0

    @property
    def is_note(self) -> bool:
        return self.source == self.target

    @property
    def x1(self) -> int:
        return lane_x(self.source)

    @property
    def x2(self) -> int:
        return lane_x(self.target)

    @property
    def text(self) -> str:
        """The label as drawn: with the duration and, for folded retries, the count."""
        parts = [self.label]
        if self.count > 1:
            parts.append(f"\u00d7{self.count}")
        if self.elapsed_ms:
            parts.append(f"{self.elapsed_ms} ms")
        return " ".join(parts)


@dataclass(frozen=True, slots=True)
class Diagram:
    """The laid-out diagram: its lanes' x, its messages in order, its size."""

    messages: tuple[Message, ...]
    width: int
    height: int

    @property
    def lanes(self) -> list[tuple[str, int]]:
        return [(name, lane_x(index)) for index, name in enumerate(LANES)]


def lane_x(lane: int) -> int:
    """The x of lane number ``lane``."""
    return _LEFT + lane * _LANE_GAP


def diagram(trace: Trace, next_attempt: datetime | None = None) -> Diagram:
    """The diagram of ``trace``; ``next_attempt`` (of an entry waiting to retry) goes on its last wait."""
    messages: list[Message] = []
    for step in trace.steps:
        messages.extend(_messages(step))
    if any(message.target == _OUTBOX for message in messages) and not any(
        message.label == "ACCEPTED" for message in messages
    ):
        request = next((message for message in messages if message.source == _CLIENT), None)
        if request is not None:  # the commit to the outbox is not logged as a transition of its own
            messages.append(Message(_SERVICE, _OUTBOX, "ACCEPTED", "", True, request.at))
    messages.sort(key=lambda message: message.at)  # stable: what was logged together keeps its order
    folded = _fold(messages)
    if next_attempt is not None and folded and folded[-1].label == "RETRY_WAIT":
        folded[-1] = replace(folded[-1], detail=f"next attempt {next_attempt:%Y-%m-%d %H:%M:%S} UTC")
    placed = tuple(replace(message, y=_TOP + index * _ROW) for index, message in enumerate(folded))
    return Diagram(placed, lane_x(len(LANES) - 1) + _LEFT, _TOP + len(placed) * _ROW + 20)


def _messages(step: Step) -> list[Message]:
    started = step.at - timedelta(milliseconds=step.elapsed_ms)
    if step.kind == "request":
        operation = step.what.rsplit(".", 1)[-1] or "request"
        reply = "receipt" if step.ok else "fault"
        return [
            Message(_CLIENT, _SERVICE, operation, "", True, started),
            Message(_SERVICE, _CLIENT, reply, step.detail, step.ok, step.at, step.elapsed_ms, reply=True),
        ]
    if step.kind == "outbox":
        if step.what == "ACCEPTED":
            return [Message(_SERVICE, _OUTBOX, "ACCEPTED", "", step.ok, step.at)]
        detail = step.detail if step.what in ("RETRY_WAIT", "FAILED", "REFUSED", "CANCELLED") else ""
        return [Message(_OUTBOX, _OUTBOX, step.what, detail, step.ok, step.at)]
    if step.kind == "sap-call":
        by_outbox = step.what.startswith(_OUTBOX_CALL) or step.component == _STATUS_READS
        label = step.what.removeprefix(_OUTBOX_CALL).replace("_", " ") if by_outbox else step.what
        if step.component == _STATUS_READS:
            label = step.what
        return [Message(_OUTBOX if by_outbox else _SERVICE, _SAP, label, step.detail if not step.ok else "",
                        step.ok, started, step.elapsed_ms)]  # fmt: skip
    if step.kind == "other" and step.component == MONITOR_COMPONENT:
        return [Message(_OUTBOX, _OUTBOX, step.detail, "", step.ok, step.at)]
    if step.kind == "pool-wait":
        return [Message(_SERVICE, _SERVICE, "waited for a connection", step.detail, step.ok, step.at, step.elapsed_ms)]
    return [Message(_SERVICE, _SERVICE, step.what, step.detail, step.ok, step.at, step.elapsed_ms)]


def _fold(messages: list[Message]) -> list[Message]:
    """Fold repeated failures of the same call (and the waits between them) into one arrow with a count."""
    folded: list[Message] = []
    for message in messages:
        if not message.ok and not message.is_note and message.target == _SAP:
            earlier = _last_failure(folded)
            if earlier is not None:
                index, failure = earlier
                if failure.label == message.label and _error_key(failure.detail) == _error_key(message.detail):
                    waits = folded[index + 1 :]
                    del folded[index:]
                    folded.append(replace(failure, count=failure.count + 1, at=message.at, detail=message.detail,
                                          elapsed_ms=max(failure.elapsed_ms, message.elapsed_ms)))  # fmt: skip
                    folded.extend(waits[-1:])
                    continue
        if message.is_note and message.label == "RETRY_WAIT" and folded and folded[-1].label == "RETRY_WAIT":
            folded[-1] = message  # one wait after a folded failure: the latest
            continue
        folded.append(message)
    return folded


def _last_failure(messages: list[Message]) -> tuple[int, Message] | None:
    """The last failed SAP call, when only the outbox's waits (RETRY_WAIT notes) follow it."""
    for index in range(len(messages) - 1, -1, -1):
        message = messages[index]
        if message.is_note and message.source == _OUTBOX and message.label in ("RETRY_WAIT", "TID_ASSIGNED"):
            continue
        if not message.ok and message.target == _SAP and not message.is_note:
            return index, message
        return None
    return None


def _error_key(detail: str) -> str:
    return detail.partition(":")[0]
