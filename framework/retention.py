"""The retention job: purge transaction-log entries and finished outbox entries older than configured."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine

from idocbridge.tlog.retention import purge_log
from idocbridge.transactions.fate import FateStore
from idocbridge.transactions.store import OutboxStore

__all__ = ["Retention"]

log = logging.getLogger("idocbridge.retention")


@dataclass(frozen=True)
class Retention:
    """What to keep: days of transaction log and of finished outbox entries (None keeps everything)."""

    engine: Engine
    store: OutboxStore
    log_days: int | None
    outbox_days: int | None

    def run(self, now: datetime | None = None) -> tuple[int, int]:
        """Purge what is older than the retention; return (log entries, outbox entries) deleted."""
        now = now or datetime.now(UTC)
        entries = purge_log(self.engine, now - timedelta(days=self.log_days)) if self.log_days else 0
        finished = self.store.purge(now - timedelta(days=self.outbox_days)) if self.outbox_days else 0
        # the keys and SAP IDocs of purged entries go with them (those of entries still kept stay)
        related = FateStore(self.engine).purge(now - timedelta(days=self.outbox_days)) if self.outbox_days else 0
        if entries or finished:
            log.info("retention: purged %d log entries and %d finished outbox entries (and %d of their keys and "
                     "SAP IDoc rows)", entries, finished, related)  # fmt: skip
        return entries, finished
