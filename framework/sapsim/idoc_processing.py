"""Background processing of inbound IDocs, as SAP's report RBDAPP01 does it.

With ``idocProcessing: {mode: background, delaySeconds: N}`` an inbound call leaves each valid IDoc at
status 64 (ready to be transferred to the application), as SAP does when the partner profile says
"trigger by background program". A background task of the simulator process then posts every IDoc
whose status 64 is at least N seconds old: 62, then 53, or 51 when a ``posting_error`` fault is armed
for its message type (taken when the IDoc is posted, not when it arrived).

The waiting IDocs are the ones whose last status record is 64, read from the database, so IDocs left
at 64 when the simulator stopped are posted after a restart (at once if their time has passed).
``idocbridge sim``'s control command ``idocs.process`` posts every waiting IDoc now, whatever the mode
(RBDAPP01 started by hand).

The task runs on the simulator's event loop, not on a thread of its own: the state store's SQLite
connection and the fault plan are used from that loop only, so a posting never interleaves with a
call's database transaction.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from typing import TYPE_CHECKING

from idocbridge.sapsim.idoc_inbound import READY, post_idoc

if TYPE_CHECKING:
    from idocbridge.sapsim.faults import FaultPlan
    from idocbridge.sapsim.store import SimulatorStore

__all__ = ["BackgroundProcessing", "post_waiting"]

log = logging.getLogger("idocbridge.sapsim")

BATCH = 100
"""IDocs posted in one go before the task lets calls run (a large backlog must not stall the simulator)."""
_POLL = 0.5
"""Longest wait between two looks for IDocs that became due (new IDocs arrive at any time)."""
_SHORTEST_WAIT = 0.05


def _time(at: str) -> dt.datetime:
    moment = dt.datetime.fromisoformat(at)
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=dt.UTC)


def post_waiting(
    store: SimulatorStore,
    faults: FaultPlan,
    *,
    delay: float | None = None,
    now: dt.datetime | None = None,
    limit: int | None = None,
) -> list[dict[str, str]]:
    """Post the IDocs that wait at status 64: all of them (``delay`` None), or those whose 64 is at least
    ``delay`` seconds older than ``now``; at most ``limit``. Each IDoc is posted in a transaction of its own.

    Returns ``{"docnum": ..., "status": ...}`` of each IDoc posted, in DOCNUM order.
    """
    moment = now or dt.datetime.now(dt.UTC)
    posted: list[dict[str, str]] = []
    for docnum, message_type, at, user in store.idocs_at_status(READY):
        if limit is not None and len(posted) >= limit:
            break
        if delay is not None and _time(at) + dt.timedelta(seconds=delay) > moment:
            continue
        with store.transaction():
            status = post_idoc(store, faults, docnum, message_type, user)
        posted.append({"docnum": docnum, "status": status})
    return posted


class BackgroundProcessing:
    """The background job: posts each IDoc waiting at 64 once its 64 is ``delay`` seconds old."""

    def __init__(self, store: SimulatorStore, faults: FaultPlan, delay: float) -> None:
        self.store = store
        self.faults = faults
        self.delay = delay

    def run_once(self, now: dt.datetime | None = None) -> tuple[int, float]:
        """Post what is due now (at most :data:`BATCH`); return how many were posted and how long to wait."""
        moment = now or dt.datetime.now(dt.UTC)
        posted = post_waiting(self.store, self.faults, delay=self.delay, now=moment, limit=BATCH)
        if posted:
            log.info("posted %d inbound IDoc(s) in the background: %s", len(posted),
                     ", ".join(f"{entry['docnum']} ({entry['status']})" for entry in posted))  # fmt: skip
        if len(posted) >= BATCH:
            return len(posted), 0.0  # more may be due: go on after the calls that wait have run
        waiting = self.store.idocs_at_status(READY)
        if not waiting:
            return len(posted), _POLL
        due = min(_time(at) for _, _, at, _ in waiting) + dt.timedelta(seconds=self.delay)
        return len(posted), min(_POLL, max(_SHORTEST_WAIT, (due - moment).total_seconds()))

    async def run(self) -> None:
        """Post due IDocs until cancelled; a failure is logged and the job carries on."""
        while True:
            try:
                _, wait = self.run_once()
            except Exception:  # e.g. the database is busy: the IDocs stay at 64 and are tried again
                log.exception("background processing of inbound IDocs failed; trying again")
                wait = _POLL
            await asyncio.sleep(wait)
