"""The IDoc's fate in SAP: which IDocs a confirmed TID created there, and their status until it is final.

tRFC answers nothing: SAP creates the IDocs of a unit and posts them later (status 64, 62, then 53
posted or 51 application error). After the confirm, the outbox marks the entry due (``fate_due_at``); the
:class:`FateFollower` then asks SAP which IDocs the TID created (``INBOUND_IDOCS_FOR_TID``), records their
numbers (a packet's by position: SAP numbers the IDocs of one call in order), and reads each one's status
(``GET_STATUS_FROM_IDOCNR``) on a widening schedule; when the status changes, it reads the status records
with their texts (``IDOC_READ_COMPLETELY``). It stops at a final status, after :data:`FOLLOW_FOR`, or for an
alias whose user SAP does not let call these functions. Reading is never a reason to deliver again: the
follower only reads.
"""

from __future__ import annotations

import logging
import time as monotonic_clock
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, Insert, and_, bindparam, delete, exists, select, update
from sqlalchemy.dialects import postgresql, sqlite

from idocbridge.connectors.base import Connector
from idocbridge.connectors.errors import ABAPApplicationError, ABAPRuntimeError, AuthorizationError, ConnectorError
from idocbridge.connectors.pool_set import PoolSet
from idocbridge.db.writer import write
from idocbridge.idoc.keys import IDOC_TABLES
from idocbridge.tlog.context import RequestContext
from idocbridge.tlog.sap_calls import ONCE, logged_call
from idocbridge.tlog.writer import TransactionLog
from idocbridge.transactions.fate_tables import (
    SapIDoc,
    SapStatus,
    business_keys_table,
    sap_idoc_status_table,
    sap_idocs_table,
)
from idocbridge.transactions.states import OutboxState
from idocbridge.transactions.tables import outbox_table

__all__ = [
    "FINAL_STATUSES",
    "FOLLOW_FOR",
    "STATUS_TEXTS",
    "FateFollower",
    "FateStore",
    "fate_due",
    "status_text",
]

log = logging.getLogger("idocbridge.fate")

FINAL_STATUSES = frozenset({"53", "68", "70", "73"})
"""Inbound statuses that end an IDoc: posted (53), or ended without (68 no further processing, 70 original of an
edited IDoc, 73 archived). Reading stops there."""

ERROR_STATUSES = frozenset({"51", "56", "60", "63", "65"})
"""Inbound statuses where SAP waits for a person (51 application document not posted, 56 IDoc with errors added,
60 syntax error, 63 and 65 errors passing it on): settled for now, and read again hourly while followed, since a
reprocess in SAP (BD87) moves the IDoc on. The monitor also reads it again on request."""

ERROR_READ_EVERY = timedelta(hours=1)

STATUS_TEXTS: Mapping[str, str] = {
    "50": "IDoc added",
    "51": "Application document not posted",
    "52": "Application document not fully posted",
    "53": "Application document posted",
    "56": "IDoc with errors added",
    "60": "Error during syntax check of IDoc (inbound)",
    "61": "Processing despite syntax error (inbound)",
    "62": "IDoc passed to application",
    "63": "Error passing IDoc to application",
    "64": "IDoc ready to be transferred to application",
    "65": "Error in ALE service",
    "66": "IDoc is waiting for predecessor IDoc (serialization)",
    "68": "Error - no further processing",
    "69": "IDoc was edited",
    "70": "Original of an IDoc which was edited",
    "73": "IDoc archived",
    "75": "IDoc is in inbound queue",
}
"""SAP's short texts of the inbound statuses (what WE02 shows)."""

FIRST_ASK = timedelta(seconds=1)
"""How soon after the confirm SAP is asked which IDocs the TID created."""

READ_AFTER = (5, 15, 30, 60, 120, 300, 900, 1800, 3600)
"""Seconds between status reads of an IDoc not yet final: widening, then hourly."""

RUN_BUDGET = 1.5
"""Seconds one run of the follower works; what it claimed and did not ask is due again at once."""

PAUSE_BASE, PAUSE_CAP = 10, 900
"""Seconds an alias pauses after a failed call to SAP: doubling from the base with each failure in a row, at most the
cap."""

CLAIM_LEASE = timedelta(minutes=2)
"""A claimed unit or IDoc is due again after this, should the instance that claimed it not record an answer."""

FOLLOW_FOR = timedelta(days=7)
"""How long an IDoc is followed: one still not final then keeps its last status."""

ASK_AGAIN = timedelta(seconds=10)
"""When a TID showed no IDocs (SAP may still be committing its unit), it is asked again after this ..."""

ASK_UNTIL = timedelta(minutes=10)
"""... until this long after its confirm: then it is taken to have created none (a function without IDocs)."""

_T, _I, _S, _K = outbox_table, sap_idocs_table, sap_idoc_status_table, business_keys_table


def fate_due(function: str, follows: bool, now: datetime) -> datetime | None:
    """When to ask for the IDocs of a unit of ``function`` just confirmed: soon for an IDoc function of an alias
    that ``follows`` the status, else never."""
    return now + FIRST_ASK if follows and function in IDOC_TABLES else None


@dataclass(frozen=True, slots=True)
class DueUnit:
    """A confirmed unit whose IDocs are to be asked for."""

    id: str
    alias: str
    tid: str
    transaction_id: str
    service: str
    operation: str
    packet_size: int | None
    confirmed_at: datetime


class FateStore:
    """Reads and writes ``sap_idocs`` and ``sap_idoc_status`` (and ``trfc_outbox.fate_due_at``)."""

    def __init__(self, engine: Engine, clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self._engine = engine
        self._clock = clock

    def due_units(self, now: datetime, aliases: Sequence[str], limit: int = 50,
                  lease: timedelta = CLAIM_LEASE) -> list[DueUnit]:  # fmt: skip
        """Claim confirmed units of ``aliases`` due to be asked for their IDocs, oldest first: each is due again
        only after ``lease`` (another instance, or this one after a crash, then takes it over)."""
        candidates = (
            select(_T.c.id)
            .where(
                _T.c.fate_due_at <= now,
                _T.c.alias.in_(list(aliases)),
                _T.c.state == OutboxState.CONFIRMED.value,
                _T.c.tid.is_not(None),
            )
            .order_by(_T.c.fate_due_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        columns = (_T.c.id, _T.c.alias, _T.c.tid, _T.c.transaction_id, _T.c.service, _T.c.operation,
                   _T.c.packet_size, _T.c.updated_at)  # fmt: skip

        def work(connection: Connection) -> list[Any]:
            ids = connection.execute(candidates).scalars().all()
            if not ids:
                return []
            connection.execute(update(_T).where(_T.c.id.in_(ids)).values(fate_due_at=now + lease))
            return list(connection.execute(select(*columns).where(_T.c.id.in_(ids)).order_by(_T.c.created_at)).all())

        if not aliases:
            return []
        rows = write(self._engine, work)
        return [DueUnit(row.id, row.alias, row.tid, row.transaction_id, row.service, row.operation,
                        row.packet_size, row.updated_at) for row in rows]  # fmt: skip

    def record_idocs(self, unit: DueUnit, docnums: Sequence[str], retry_at: datetime | None) -> None:
        """The IDocs SAP created for ``unit`` (none found: ask again at ``retry_at``, or stop with None)."""
        now = self._clock()

        def work(connection: Connection) -> None:
            owners = _owners(connection, unit, len(docnums))
            rows = [
                {
                    "alias": unit.alias,
                    "docnum": docnum,
                    "tid": unit.tid,
                    "outbox_id": owner,
                    "final": False,
                    "reads": 0,
                    "next_read_at": now,
                    "created_at": now,
                    "updated_at": now,
                }
                for docnum, owner in zip(docnums, owners, strict=True)
            ]
            if rows:
                connection.execute(_ignore_existing(connection, _I), rows)
            due = None if docnums else retry_at
            connection.execute(update(_T).where(_T.c.id == unit.id).values(fate_due_at=due))

        write(self._engine, work)

    def stop_alias(self, alias: str) -> None:
        """Follow nothing more for ``alias`` (its SAP user may not read IDocs)."""

        def work(connection: Connection) -> None:
            connection.execute(
                update(_T).where(_T.c.alias == alias, _T.c.fate_due_at.is_not(None)).values(fate_due_at=None)
            )
            connection.execute(
                update(_I).where(_I.c.alias == alias, _I.c.next_read_at.is_not(None)).values(next_read_at=None)
            )

        write(self._engine, work)

    def due_idocs(self, now: datetime, aliases: Sequence[str], limit: int = 100,
                  lease: timedelta = CLAIM_LEASE) -> list[tuple[SapIDoc, RequestContext]]:  # fmt: skip
        """Claim IDocs of ``aliases`` whose status is due to be read, oldest first, each with the request it came
        with (due again after ``lease``, should the reader not record it)."""
        candidates = (
            select(_I.c.id)
            .where(_I.c.next_read_at <= now, _I.c.alias.in_(list(aliases)))
            .order_by(_I.c.next_read_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        query = select(_I, _T.c.transaction_id, _T.c.service, _T.c.operation).join(_T, _T.c.id == _I.c.outbox_id)

        def work(connection: Connection) -> list[Any]:
            ids = connection.execute(candidates).scalars().all()
            if not ids:
                return []
            connection.execute(update(_I).where(_I.c.id.in_(ids)).values(next_read_at=now + lease))
            return list(connection.execute(query.where(_I.c.id.in_(ids)).order_by(_I.c.id)).mappings().all())

        if not aliases:
            return []
        rows = write(self._engine, work)
        return [(_idoc(row), RequestContext(row["transaction_id"], 0, row["service"], row["operation"]))
                for row in rows]  # fmt: skip

    def give_back(
        self, units: Sequence[DueUnit], idocs: Sequence[SapIDoc], claimed_at: datetime, lease: timedelta = CLAIM_LEASE
    ) -> None:
        """Let ``units`` and ``idocs`` claimed at ``claimed_at`` (with ``lease``) and not asked about be due again at
        once, instead of after their claim's lease; one whose claim changed since (read, stopped, or claimed by
        another instance after the lease ran out) is left as it is."""
        held = claimed_at + lease
        unit_ids = [unit.id for unit in units]
        idoc_keys = [{"b_alias": idoc.alias, "b_docnum": idoc.docnum, "b_due": claimed_at, "b_held": held}
                     for idoc in idocs]  # fmt: skip

        def work(connection: Connection) -> None:
            if unit_ids:
                still_held = and_(_T.c.id.in_(unit_ids), _T.c.fate_due_at == held)
                connection.execute(update(_T).where(still_held).values(fate_due_at=claimed_at))
            if idoc_keys:
                connection.execute(_READ_AGAIN_AT, idoc_keys)

        if unit_ids or idoc_keys:
            write(self._engine, work)

    def record_status(
        self, idoc: SapIDoc, status: str, history: Sequence[SapStatus] | None, *, force_due: bool = False
    ) -> SapIDoc:
        """The status just read for ``idoc`` (and its status records, when read), with its next read."""
        now = self._clock()
        final = status in FINAL_STATUSES
        reads = idoc.reads + 1
        latest = history[-1] if history else None
        text = latest.text if latest is not None and latest.status == status else STATUS_TEXTS.get(status, "")
        changed = status != idoc.status
        followed_since = idoc.created_at or now
        gap = max(_gap(reads), ERROR_READ_EVERY) if status in ERROR_STATUSES else _gap(reads)
        next_read = None if final or now - followed_since > FOLLOW_FOR else now + gap
        values: dict[str, Any] = {"reads": reads, "next_read_at": next_read, "final": final, "updated_at": now}
        if changed or force_due:  # status_at: when the service saw it (SAP's LOGDAT/LOGTIM are its local time)
            values.update(status=status, status_text=text, status_at=now)

        def work(connection: Connection) -> None:
            connection.execute(update(_I).where(_I.c.alias == idoc.alias, _I.c.docnum == idoc.docnum).values(values))
            if history:
                rows = [{"alias": idoc.alias, "docnum": idoc.docnum, "counter": record.counter, "status": record.status,
                         "text": record.text, "logged_at": record.logged_at, "uname": record.uname}
                        for record in history]  # fmt: skip
                connection.execute(_ignore_existing(connection, _S), rows)

        write(self._engine, work)
        return SapIDoc(idoc.alias, idoc.docnum, idoc.tid, idoc.outbox_id, values.get("status", idoc.status),
                       values.get("status_text", idoc.status_text), values.get("status_at", idoc.status_at), final,
                       reads, next_read, idoc.created_at)  # fmt: skip

    def read_again(self, outbox_ids: Iterable[str]) -> int:
        """Read the status of the IDocs of ``outbox_ids`` again now (after a reprocess in SAP, say)."""
        ids = list(outbox_ids)
        now = self._clock()

        def work(connection: Connection) -> int:
            by_entry = _I.c.outbox_id.in_(ids)
            changed = connection.execute(update(_I).where(by_entry).values(next_read_at=now)).rowcount
            unknown = and_(_T.c.id.in_(ids), _T.c.state == OutboxState.CONFIRMED.value, _T.c.tid.is_not(None))
            connection.execute(update(_T).where(unknown, ~_T.c.id.in_(select(_I.c.outbox_id))).values(fate_due_at=now))
            return int(changed)

        return write(self._engine, work)

    def idocs_of(self, outbox_ids: Sequence[str]) -> dict[str, list[SapIDoc]]:
        """The SAP IDocs recorded for each of ``outbox_ids`` (a packet entry's and its IDocs'), with histories."""
        if not outbox_ids:
            return {}
        ids = list(outbox_ids)
        with self._engine.connect() as connection:
            idocs = [_idoc(row) for row in connection.execute(
                select(_I).where(_I.c.outbox_id.in_(ids)).order_by(_I.c.docnum)).mappings()]  # fmt: skip
            keys = [(idoc.alias, idoc.docnum) for idoc in idocs]
            history: dict[tuple[str, str], list[SapStatus]] = {}
            if keys:
                docnums = sorted({docnum for _, docnum in keys})
                query = select(_S).where(_S.c.docnum.in_(docnums)).order_by(_S.c.alias, _S.c.docnum, _S.c.counter)
                for row in connection.execute(query).mappings():
                    history.setdefault((row["alias"], row["docnum"]), []).append(
                        SapStatus(row["counter"], row["status"], row["text"], row["logged_at"], row["uname"])
                    )
        found: dict[str, list[SapIDoc]] = {}
        for idoc in idocs:
            with_history = SapIDoc(**{**_fields(idoc), "history": tuple(history.get((idoc.alias, idoc.docnum), ()))})
            found.setdefault(idoc.outbox_id, []).append(with_history)
        return found

    def purge(self, older_than: datetime, batch: int = 1000) -> int:
        """Delete the business keys and SAP IDocs (with their status history) of outbox entries the retention
        purged, recorded before ``older_than``; how many rows it deleted. Bounded transactions."""
        gone_key = ~exists().where(_T.c.id == _K.c.outbox_id)
        keys = select(_K.c.id).where(_K.c.at < older_than, gone_key).limit(batch)
        gone_idoc = ~exists().where(_T.c.id == _I.c.outbox_id)
        idocs = select(_I.c.id, _I.c.alias, _I.c.docnum).where(_I.c.created_at < older_than, gone_idoc).limit(batch)
        deleted = 0

        def keys_batch(connection: Connection) -> int:
            ids = connection.execute(keys).scalars().all()
            return int(connection.execute(delete(_K).where(_K.c.id.in_(ids))).rowcount) if ids else 0

        def idocs_batch(connection: Connection) -> int:
            rows = connection.execute(idocs).all()
            history = sum(connection.execute(delete(_S).where(_S.c.alias == alias, _S.c.docnum == docnum)).rowcount
                          for _, alias, docnum in rows)  # fmt: skip
            ids = [row[0] for row in rows]
            return int(connection.execute(delete(_I).where(_I.c.id.in_(ids))).rowcount) + history if ids else 0

        for work in (keys_batch, idocs_batch):
            while True:  # a batch deletes up to ``batch`` keys, or IDocs (each with its history)
                done = write(self._engine, work)
                deleted += done
                if not done:
                    break
        return deleted


def _owners(connection: Connection, unit: DueUnit, count: int) -> list[str]:
    """The outbox entry each of ``count`` IDocs of ``unit`` belongs to: a packet's IDocs by position (when SAP
    created as many IDocs as the packet carried), else the unit's own entry."""
    if unit.packet_size is None or count != unit.packet_size:
        return [unit.id] * count
    members = connection.execute(
        select(_T.c.id).where(_T.c.packet_id == unit.id).order_by(_T.c.packet_position)
    ).scalars().all()  # fmt: skip
    return list(members) if len(members) == count else [unit.id] * count


def _ignore_existing(connection: Connection, table: Any) -> Insert:
    """An INSERT into ``table`` that skips rows its unique index already holds (another instance read them too)."""
    dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
    statement: Insert = dialect.insert(table).on_conflict_do_nothing()
    return statement


def _gap(reads: int) -> timedelta:
    return timedelta(seconds=READ_AFTER[min(reads - 1, len(READ_AFTER) - 1)])


_READ_AGAIN_AT = (
    update(_I)
    .where(
        _I.c.alias == bindparam("b_alias"),
        _I.c.docnum == bindparam("b_docnum"),
        _I.c.next_read_at == bindparam("b_held"),
    )
    .values(next_read_at=bindparam("b_due"))
)


def _idoc(row: Mapping[Any, Any]) -> SapIDoc:
    return SapIDoc(row["alias"], row["docnum"], row["tid"], row["outbox_id"], row["status"], row["status_text"],
                   row["status_at"], bool(row["final"]), row["reads"], row["next_read_at"],
                   row["created_at"])  # fmt: skip


def _fields(idoc: SapIDoc) -> dict[str, Any]:
    return {name: getattr(idoc, name) for name in SapIDoc.__slots__}


class FateFollower:
    """Asks SAP for the IDocs of confirmed units and follows their status (see the module's text).

    ``follows`` tells for each alias whether to follow at all (the alias's ``followIdocStatus``); ``allows`` says
    whether SAP may be asked about an alias's IDocs now (a served deployment: its circuit is closed, and its
    deliveries leave a connection and a delivery thread free), checked before each unit or IDoc. :meth:`run_once`
    does what is due within :data:`RUN_BUDGET`; the outbox worker runs it every few seconds.
    """

    def __init__(self, store: FateStore, pools: PoolSet, tlog: TransactionLog | None, follows: Mapping[str, bool],
                 allows: Callable[[str], bool] | None = None) -> None:  # fmt: skip
        self.store = store
        self.pools = pools
        self.tlog = tlog
        self.follows = dict(follows)
        self.allows = allows or (lambda alias: True)
        self._stopped: set[str] = set()
        self._failures: dict[str, int] = {}
        self._paused_until: dict[str, float] = {}

    def run_once(self, now: datetime | None = None) -> int:
        """Ask for the IDocs of due units and read the due statuses; how many SAP calls it made."""
        now = now or datetime.now(UTC)
        started = monotonic_clock.monotonic()
        aliases = [alias for alias in self.follows if self._follows(alias)]
        calls = 0
        units_left: list[DueUnit] = []
        for unit in self.store.due_units(now, aliases):
            if monotonic_clock.monotonic() - started > RUN_BUDGET or not self._follows(unit.alias):
                if unit.alias not in self._stopped:  # out of time, or the deliveries need SAP now: due again at once
                    units_left.append(unit)
                continue
            calls += self._guarded(unit.alias, lambda unit=unit: self._ask(unit, now))  # type: ignore[misc]
        idocs_left: list[SapIDoc] = []
        if monotonic_clock.monotonic() - started <= RUN_BUDGET:
            aliases = [alias for alias in aliases if self._follows(alias)]
            for idoc, request in self.store.due_idocs(now, aliases):
                if monotonic_clock.monotonic() - started > RUN_BUDGET or not self._follows(idoc.alias):
                    if idoc.alias not in self._stopped:
                        idocs_left.append(idoc)
                    continue
                calls += self._guarded(idoc.alias, lambda idoc=idoc, request=request: self._read(idoc, request))  # type: ignore[misc]
        self.store.give_back(units_left, idocs_left, now)
        return calls

    def _follows(self, alias: str) -> bool:
        paused = self._paused_until.get(alias, 0.0) > monotonic_clock.monotonic()
        return self.follows.get(alias, False) and alias not in self._stopped and not paused and self.allows(alias)

    def _guarded(self, alias: str, work: Callable[[], int]) -> int:
        """``work`` for one unit or IDoc: SAP's refusals stop or pause the alias, anything else is logged and the
        follower goes on with the next one."""
        try:
            calls = work()
        except AuthorizationError:
            self._stop(alias, f"SAP does not let the user of alias {alias} read IDocs")
            return 1
        except (ABAPRuntimeError, ABAPApplicationError) as exc:  # the function is missing or takes other parameters
            self._stop(alias, f"SAP (alias {alias}) does not answer the IDoc functions as expected ({exc.key}: "
                              f"{exc.message})")  # fmt: skip
            return 1
        except ConnectorError as exc:
            failures = self._failures.get(alias, 0) + 1
            self._failures[alias] = failures
            pause = min(PAUSE_CAP, PAUSE_BASE * 2 ** (failures - 1))
            self._paused_until[alias] = monotonic_clock.monotonic() + pause
            log.warning("reading IDocs in SAP (alias %s) failed (%s); trying again in %d s", alias, exc, pause)
            return 1
        except Exception:
            log.exception("following IDocs in SAP (alias %s) failed; going on with the next", alias)
            return 0
        self._failures.pop(alias, None)
        return calls

    def _ask(self, unit: DueUnit, now: datetime) -> int:
        request = RequestContext(unit.transaction_id, 0, unit.service, unit.operation)
        result = self._call(unit.alias, request, "INBOUND_IDOCS_FOR_TID", {"TID": unit.tid}, unit.tid, unit.tid)
        docnums = sorted(str(row.get("DOCNUM", "")).zfill(16) for row in result.get("IDOC_NUMBERS", []) or [])
        again = now + ASK_AGAIN if now - unit.confirmed_at < ASK_UNTIL else None
        self.store.record_idocs(unit, docnums, again)
        return 1

    def _read(self, idoc: SapIDoc, request: RequestContext) -> int:
        result = self._call(idoc.alias, request, "GET_STATUS_FROM_IDOCNR", {"IDOCNR": idoc.docnum}, idoc.tid,
                            idoc.docnum)  # fmt: skip
        status = str(result.get("STATUS", "")).strip()
        history = None
        if status and status != idoc.status:
            try:
                full = self._call(idoc.alias, request, "IDOC_READ_COMPLETELY", {"DOCUMENT_NUMBER": idoc.docnum},
                                  idoc.tid, idoc.docnum)  # fmt: skip
            except ABAPApplicationError as exc:  # gone since (archived, deleted): the status stands without its history
                if exc.key not in ("DOCUMENT_NOT_EXIST", "DOCUMENT_NUMBER_INVALID"):
                    raise
            else:
                history = _history(full.get("INT_EDIDS", []) or [])
        self.store.record_status(idoc, status or (idoc.status or ""), history)
        return 1 if history is None else 2

    def _call(self, alias: str, request: RequestContext, function: str, parameters: dict[str, Any],
              tid: str, detail: str) -> dict[str, Any]:  # fmt: skip
        pool = self.pools.for_alias(alias)

        def action(connector: Connector) -> dict[str, Any]:
            return dict(connector.call(function, parameters))

        return logged_call(pool, self.tlog, request, "IDocStatus", function, detail, action, tid, ONCE)

    def _stop(self, alias: str, why: str) -> None:
        log.warning("%s: the IDocs' status is not followed for it until the service restarts (INBOUND_IDOCS_FOR_TID, "
                    "GET_STATUS_FROM_IDOCNR, IDOC_READ_COMPLETELY); give the user the authorisation and check that the "
                    "functions are remote-enabled, or set followIdocStatus: false on the alias", why)  # fmt: skip
        self._stopped.add(alias)
        self.store.stop_alias(alias)


def status_text(row: Mapping[str, Any]) -> str:
    """A status record's text: STATXT with each ``&`` replaced by the next of STAPA1 to STAPA4, as SAP shows it."""
    text = str(row.get("STATXT", "")).strip()
    pieces = iter(str(row.get(f"STAPA{number}", "")).rstrip() for number in range(1, 5))
    return "".join(next(pieces, "") if char == "&" else char for char in text).strip()


def _history(rows: Iterable[Mapping[str, Any]]) -> list[SapStatus]:
    records = [
        SapStatus(
            int(str(row.get("COUNTR", "0")).strip() or 0),
            str(row.get("STATUS", "")).strip(),
            status_text(row),
            _logged_at(row.get("LOGDAT"), row.get("LOGTIM")),
            str(row.get("UNAME", "")).strip(),
        )
        for row in rows
    ]
    return sorted((record for record in records if record.status), key=lambda record: record.counter)


def _logged_at(day: object, moment: object) -> datetime | None:
    try:
        when = day if isinstance(day, date) else datetime.strptime(str(day), "%Y%m%d").date()
        at = moment if isinstance(moment, time) else datetime.strptime(str(moment), "%H%M%S").time()
    except ValueError:
        return None
    return datetime.combine(when, at, tzinfo=UTC)
