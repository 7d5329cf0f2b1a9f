"""Following the transaction log: the entries written since the last look, each exactly once.

Row IDs grow as entries are written. On PostgreSQL, IDs come from a sequence and transactions may
commit out of order, so an ID below the highest one seen can still appear: the follower remembers
such gaps for ``settle`` seconds and reads them again on each poll.
"""

from __future__ import annotations

import time

from sqlalchemy import Engine, or_, select

from idocbridge.tlog.entry import LogEntry
from idocbridge.tlog.queries import LogFilter, last_row_id, query_rows
from idocbridge.tlog.tables import transaction_log_table

__all__ = ["LogFollower"]

_t = transaction_log_table
_MAX_GAPS = 10_000


class LogFollower:
    """Reads the entries matching ``where``: those present now with :meth:`start`, later ones with :meth:`poll`."""

    def __init__(self, engine: Engine, where: LogFilter | None = None, *, settle: float = 30.0) -> None:
        self._engine = engine
        self._where = where or LogFilter()
        self._settle = settle
        self._last = 0
        self._gaps: dict[int, float] = {}
        """Row IDs below ``_last`` not seen yet, with the monotonic time they were first missed."""

    @property
    def last_id(self) -> int:
        """The highest row ID read so far."""
        return self._last

    def start(self, *, limit: int | None = None, newest: bool = False) -> list[LogEntry]:
        """The matching entries written so far (``limit``/``newest`` as in :func:`query`); polls continue after them."""
        self._last = last_row_id(self._engine)
        rows = query_rows(self._engine, self._where, up_to_id=self._last, limit=limit, newest=newest)
        return [entry for _, entry in rows]

    def poll(self) -> list[LogEntry]:
        """The matching entries written since the last call (or :meth:`start`), oldest first."""
        now = time.monotonic()
        self._gaps = {gap: since for gap, since in self._gaps.items() if now - since < self._settle}
        new_ids = self._new_ids()
        if not new_ids:
            return []
        top = max(new_ids)
        appeared = [row_id for row_id in new_ids if row_id in self._gaps]
        for row_id in appeared:
            del self._gaps[row_id]
        if top > self._last:
            missing = set(range(self._last + 1, top)) - new_ids
            for row_id in sorted(missing)[-_MAX_GAPS:]:
                self._gaps[row_id] = now
        rows = query_rows(self._engine, self._where, after_id=self._last, up_to_id=top, also_ids=appeared)
        self._last = max(self._last, top)
        if len(self._gaps) > _MAX_GAPS:
            self._gaps = dict(sorted(self._gaps.items())[-_MAX_GAPS:])
        return [entry for _, entry in rows]

    def _new_ids(self) -> set[int]:
        condition = _t.c.id > self._last
        if self._gaps:
            condition = or_(condition, _t.c.id.in_(list(self._gaps)))
        with self._engine.connect() as connection:
            return {int(row_id) for row_id in connection.execute(select(_t.c.id).where(condition)).scalars()}
