"""Control and inspection commands, as the control endpoint and the CLI use them.

Inspection answers the questions tests and people ask of a system after a run: which IDocs arrived
(DOCNUM, type, status history, TID), which TIDs are known and what happened to each, counters, and
each inbound qRFC queue: the calls it executed in order, then the failed call that stopped it
(SYSFAIL) and the calls waiting behind it (READY). ``queue.restart`` and ``queue.delete`` act on a
stopped queue as SMQ2 does. ``idocs.process`` posts the inbound IDocs waiting at status 64 now, as
RBDAPP01 started by hand does.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict
from typing import Any

from idocbridge.connectors.errors import ABAPApplicationError, ABAPRuntimeError
from idocbridge.sapsim.engine import Engine
from idocbridge.sapsim.faults import Fault
from idocbridge.sapsim.idoc_inbound import READY
from idocbridge.sapsim.idoc_processing import post_waiting
from idocbridge.sapsim.store import IDocRecord

__all__ = ["ControlCommands"]


def _idoc(record: IDocRecord, full: bool) -> dict[str, Any]:
    summary: dict[str, Any] = {
        "docnum": record.docnum,
        "tid": record.tid,
        "client": record.client,
        "idoctyp": record.idoctyp,
        "cimtyp": record.cimtyp,
        "mestyp": record.mestyp,
        "sndprn": record.sndprn,
        "rcvprn": record.rcvprn,
        "status": record.status,
        "created_at": record.created_at,
        "segments": len(record.data),
        "statuses": [asdict(status) for status in record.statuses],
    }
    if full:
        summary |= {"control": record.control, "data": record.data}
    return summary


class ControlCommands:
    """Named commands over one engine; each takes keyword arguments and returns JSON-able data."""

    def __init__(self, engine: Engine, status: Callable[[], dict[str, Any]] | None = None) -> None:
        self.engine = engine
        self._status = status
        self._commands: dict[str, Callable[..., Any]] = {
            "status": self.status,
            "faults.add": self.add_fault,
            "faults.list": self.list_faults,
            "faults.clear": self.clear_faults,
            "faults.seed": self.seed,
            "inspect.idocs": self.idocs,
            "inspect.idoc": self.idoc,
            "inspect.tids": self.tids,
            "inspect.events": self.events,
            "inspect.queue": self.queue,
            "inspect.counters": self.counters,
            "queue.restart": self.restart_queue,
            "queue.delete": self.delete_failed_call,
            "idocs.process": self.process_idocs,
            "reset": self.reset,
        }

    def run(self, command: str, arguments: dict[str, Any]) -> Any:
        handler = self._commands.get(command)
        if handler is None:
            raise KeyError(f"unknown command {command!r}; known: {', '.join(sorted(self._commands))}")
        return handler(**arguments)

    def status(self) -> dict[str, Any]:
        config = self.engine.config
        base = {"system_id": config.system_id, "release": config.release, "seed": self.engine.faults.seed}
        processing = {
            "mode": config.idoc_processing.mode,
            "delay_seconds": config.idoc_processing.delay_seconds,
            "waiting": len(self.engine.store.idocs_at_status(READY)),
        }
        return base | {"idoc_processing": processing} | (self._status() if self._status else {})

    def add_fault(self, **fault: Any) -> dict[str, Any]:
        armed = Fault.from_dict(fault)
        self.engine.faults.add(armed)
        return armed.to_dict()

    def list_faults(self) -> list[dict[str, Any]]:
        return [fault.to_dict() for fault in self.engine.faults.armed()]

    def clear_faults(self) -> dict[str, Any]:
        count = len(self.engine.faults.armed())
        self.engine.faults.clear()
        return {"cleared": count}

    def seed(self, seed: int) -> dict[str, Any]:
        self.engine.faults.reseed(int(seed))
        return {"seed": self.engine.faults.seed}

    def idocs(
        self, tid: str | None = None, status: str | None = None, limit: int | None = None, full: bool = False
    ) -> list[dict[str, Any]]:
        return [_idoc(record, full) for record in self.engine.store.idocs(tid=tid, status=status, limit=limit)]

    def idoc(self, docnum: str) -> dict[str, Any]:
        record = self.engine.store.idoc(str(docnum))
        if record is None:
            raise KeyError(f"no IDoc {docnum}")
        return _idoc(record, full=True)

    def tids(self) -> list[dict[str, Any]]:
        return self.engine.store.tids()

    def events(self, tid: str | None = None) -> list[dict[str, Any]]:
        return [asdict(event) for event in self.engine.store.events(tid)]

    def queue(self, queue: str) -> list[dict[str, Any]]:
        """The queue's executed calls (state EXECUTED, with their position), then the calls that have not
        run: the failed head (SYSFAIL, with its error) and those waiting behind it (READY)."""
        store = self.engine.store
        executed = [
            {"position": p, "tid": t, "function": f, "state": "EXECUTED", "error": None}
            for p, t, f in store.queue_log(queue)
        ]
        waiting = [
            {"position": None, "tid": call.tid, "function": call.function, "state": call.state, "error": call.error}
            for call in store.waiting_calls(queue)
        ]
        return executed + waiting

    def restart_queue(self, queue: str) -> dict[str, Any]:
        """Run a stopped queue's failed call again, then the calls waiting behind it (ValueError if it fails)."""
        try:
            tid = self.engine.restart_queue(queue)
        except (ABAPApplicationError, ABAPRuntimeError) as exc:
            raise ValueError(
                f"the call of TID {exc.tid} failed again, queue {queue} stays stopped: {exc.message}"
            ) from exc
        return {"restarted": tid, "queue": self.queue(queue)}

    def delete_failed_call(self, queue: str) -> dict[str, Any]:
        """Delete a stopped queue's failed call, then run the calls waiting behind it."""
        return {"deleted": self.engine.delete_failed_call(queue), "queue": self.queue(queue)}

    def process_idocs(self) -> dict[str, Any]:
        """Post every inbound IDoc waiting at status 64 now, whatever the mode and delay (RBDAPP01 by hand):
        62, then 53, or 51 under a ``posting_error`` fault. Returns the IDocs posted and their status."""
        return {"posted": post_waiting(self.engine.store, self.engine.faults)}

    def counters(self) -> dict[str, int]:
        return self.engine.store.counters()

    def reset(self) -> dict[str, Any]:
        self.engine.store.reset()
        self.engine.faults.clear()
        return {"reset": True}
