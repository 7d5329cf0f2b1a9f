"""The web monitor: Starlette routes and jinja2 pages, served by ``idocbridge serve`` at /monitor.

Pages: the overview (health, counts by group, the filtered list, search), one request (its sequence
diagram, IDoc tree, fate in SAP, actions) and the requests of one transaction ID. Everything a page shows
comes from :mod:`idocbridge.monitor.queries` and the stores; actions are POSTs checked by
:class:`~idocbridge.monitor.auth.Gate`. Business data (order numbers, partners) travels in POST bodies only,
never in URLs, so neither the access log nor the browser's history holds it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlalchemy import Engine
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from idocbridge.monitor.auth import Gate, Viewer
from idocbridge.monitor.idoc_tree import idoc_views
from idocbridge.monitor.queries import COUNTED, PERIODS, Filters, health, list_requests
from idocbridge.monitor.sequence import MONITOR_COMPONENT, diagram
from idocbridge.tlog.context import RequestContext
from idocbridge.tlog.entry import LogType
from idocbridge.tlog.queries import query
from idocbridge.tlog.sap_calls import log_event
from idocbridge.tlog.trace import story
from idocbridge.tlog.writer import TransactionLog
from idocbridge.transactions.fate import STATUS_TEXTS, FateStore
from idocbridge.transactions.fate_tables import SapIDoc
from idocbridge.transactions.keys import KEYS_OF
from idocbridge.transactions.search import find_requests
from idocbridge.transactions.states import InvalidTransition, OutboxError
from idocbridge.transactions.store import EntryBusy, EntryNotFound, OutboxStore
from idocbridge.transactions.tables import OutboxEntry

__all__ = ["MONITOR_PATH", "MonitorContext", "monitor_routes"]

MONITOR_PATH = "/monitor"

log = logging.getLogger("idocbridge.monitor")

_HERE = Path(__file__).parent
_LOG_ROWS = 2000
"""The most log entries a request page reads for its diagram."""


@dataclass
class MonitorContext:
    """What the monitor reads and acts on."""

    engine: Engine
    store: OutboxStore
    tlog: TransactionLog | None
    gate: Gate
    circuits: Callable[[], dict[str, str]]
    """Per alias, closed or open."""
    metadata: Callable[[str, str | None, str | None], Any] | None = None
    """IDoc metadata by basic type, extension and alias (for the IDoc tree)."""
    wake: Callable[[], None] | None = None
    """Tells the outbox's worker that an entry is due now (after a retry)."""
    choices: dict[str, list[str]] | None = None
    """The services, operations and aliases the filters offer (None: those of the newest entries)."""


def monitor_routes(context: MonitorContext) -> list[BaseRoute]:
    """The monitor's routes, to mount at :data:`MONITOR_PATH`."""
    pages = _Pages(context)
    return [
        Route("/", pages.overview, methods=["GET", "POST"]),
        Route("/health", pages.health_fragment, methods=["GET"]),
        Route("/search", pages.search, methods=["POST"]),
        Route("/request/{entry_id}", pages.request_page, methods=["GET"]),
        Route("/request/{entry_id}/{action}", pages.act, methods=["POST"]),
        Route("/transaction/{transaction_id}", pages.transaction_page, methods=["GET"]),
        Mount("/static", app=StaticFiles(directory=_HERE / "static"), name="static"),
    ]


def _templates() -> Environment:
    environment = Environment(
        loader=FileSystemLoader(_HERE / "templates"), autoescape=select_autoescape(["html", "svg"]),
        trim_blocks=True, lstrip_blocks=True,
    )  # fmt: skip
    environment.filters["when"] = _when
    environment.filters["age"] = _age
    environment.globals["status_texts"] = STATUS_TEXTS
    environment.globals["base"] = MONITOR_PATH
    return environment


def _when(value: datetime | None) -> str:
    return "" if value is None else value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


def _age(value: datetime | None) -> str:
    if value is None:
        return ""
    seconds = int((datetime.now(UTC) - value).total_seconds())
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 7200:
        return f"{seconds // 60} min"
    return f"{seconds // 3600} h" if seconds < 172800 else f"{seconds // 86400} d"


Handler = Callable[[Request, Viewer], Awaitable[Response]]


class _Pages:
    def __init__(self, context: MonitorContext) -> None:
        self.context = context
        self.templates = _templates()
        self.fate = FateStore(context.engine)

    # -- plumbing ---------------------------------------------------------------------------------------------

    def _viewer(self, request: Request) -> Viewer | None:
        return self.context.gate.viewer(request)

    def _challenge(self, request: Request) -> Response:
        wait = self.context.gate.locked_out(request)
        if wait:
            return Response(f"too many wrong logons from this address: try again in {wait} s", status_code=429,
                            headers={"Retry-After": str(wait)})  # fmt: skip
        return Response("the monitor needs a user name and password", status_code=401,
                        headers={"WWW-Authenticate": 'Basic realm="idocbridge monitor", charset="UTF-8"'})  # fmt: skip

    def _page(self, name: str, viewer: Viewer, status: int = 200, **values: Any) -> HTMLResponse:
        html = self.templates.get_template(name).render(viewer=viewer, token=self.context.gate.token(viewer),
                                                        open_gate=self.context.gate.open, **values)  # fmt: skip
        return HTMLResponse(html, status_code=status, headers=_NO_STORE)

    async def _run[T](self, work: Callable[[], T]) -> T:
        return await asyncio.to_thread(work)

    # -- the overview -----------------------------------------------------------------------------------------

    async def overview(self, request: Request) -> Response:
        viewer = self._viewer(request)
        if viewer is None:
            return self._challenge(request)
        form = dict(await request.form()) if request.method == "POST" else {}
        values = {**dict(request.query_params), **{key: str(value) for key, value in form.items()}}
        filters = Filters(**{name: _clean(values[name]) for name in _FILTER_NAMES if values.get(name)})
        after = values.get("after") or None
        page = await self._run(
            lambda: list_requests(self.context.engine, filters, after=after, choices=self.context.choices)
        )
        figures = await self._run(lambda: health(self.context.engine, self.context.circuits()))
        query = {name: getattr(filters, name) for name in _GET_FILTERS if getattr(filters, name)}
        live = request.method == "GET" and after is None
        return self._page("overview.html", viewer, page=page, health=figures, filters=filters, periods=list(PERIODS),
                          query=urlencode(query), live=live, counted_limit=COUNTED)  # fmt: skip

    async def health_fragment(self, request: Request) -> Response:
        viewer = self._viewer(request)
        if viewer is None:
            return self._challenge(request)
        figures = await self._run(lambda: health(self.context.engine, self.context.circuits()))
        return self._page("_health.html", viewer, health=figures)

    async def search(self, request: Request) -> Response:
        viewer = self._viewer(request)
        if viewer is None:
            return self._challenge(request)
        text = _clean(str((await request.form()).get("q", "")), 255)
        if not text:
            return RedirectResponse(f"{MONITOR_PATH}/", status_code=303)
        match = await self._run(lambda: find_requests(self.context.engine, text, limit=100))
        if len(match.outbox_ids) == 1:
            return RedirectResponse(f"{MONITOR_PATH}/request/{match.outbox_ids[0]}", status_code=303)
        if not match.outbox_ids and len(match.transaction_ids) == 1:
            return RedirectResponse(f"{MONITOR_PATH}/transaction/{match.transaction_ids[0]}", status_code=303)
        entries = await self._run(lambda: self._entries(list(match.outbox_ids)))
        return self._page("results.html", viewer, text=text, match=match, entries=entries,
                          status=200 if match.matched else 404)  # fmt: skip

    def _entries(self, ids: list[str]) -> list[OutboxEntry]:
        states = self.context.store.states(ids)
        return [states[entry_id] for entry_id in ids if entry_id in states]

    # -- one request --------------------------------------------------------------------------------------------

    async def request_page(self, request: Request) -> Response:
        viewer = self._viewer(request)
        if viewer is None:
            return self._challenge(request)
        entry_id = request.path_params["entry_id"]
        details = await self._run(lambda: self._details(entry_id))
        if details is None:
            return self._page("missing.html", viewer, status=404, what=f"outbox entry {entry_id}")
        notice = _NOTICES.get(request.query_params.get("done", ""), "")
        return self._page("request.html", viewer, notice=notice, **details)

    def _details(self, entry_id: str) -> dict[str, Any] | None:
        store = self.context.store
        entry = store.get(entry_id)
        if entry is None:
            return None
        packet = store.get(entry.packet_id) if entry.packet_id else None
        ids = [entry.id] + ([packet.id] if packet is not None else [])
        with self.context.engine.connect() as connection:
            keys = [(name, value) for _, name, value in connection.execute(KEYS_OF, {"b_ids": [entry.id]})]
        log_entries = query(self.context.engine, transaction_id=entry.transaction_id, limit=_LOG_ROWS)
        trace = story(entry.transaction_id, log_entries)
        fate = self.fate.idocs_of(ids)
        idocs: list[SapIDoc] = fate.get(entry.id, []) or (fate.get(packet.id, []) if packet is not None else [])
        lookup = self._lookup(entry.alias)
        return {
            "entry": entry,
            "packet": packet,
            "keys": keys,
            "trace": trace,
            "diagram": diagram(trace, entry.next_attempt_at if entry.state.value == "RETRY_WAIT" else None),
            "idocs": idocs,
            "views": idoc_views(entry.function, entry.parameters, lookup),
            "followed": entry.fate_due_at is not None,
            "log_cut": len(log_entries) >= _LOG_ROWS,
        }

    def _lookup(self, alias: str) -> Callable[[str, str | None], Any] | None:
        metadata = self.context.metadata
        if metadata is None:
            return None
        return lambda basic, extension: metadata(basic, extension, alias)

    async def transaction_page(self, request: Request) -> Response:
        viewer = self._viewer(request)
        if viewer is None:
            return self._challenge(request)
        transaction_id = request.path_params["transaction_id"]
        match = await self._run(lambda: find_requests(self.context.engine, transaction_id, limit=200))
        entries = await self._run(lambda: self._entries(list(match.outbox_ids)))
        if len(entries) == 1:
            return RedirectResponse(f"{MONITOR_PATH}/request/{entries[0].id}", status_code=303)

        logged = await self._run(lambda: query(self.context.engine, transaction_id=transaction_id, limit=_LOG_ROWS))
        trace = story(transaction_id, logged)
        if not entries and not trace.steps:
            return self._page("missing.html", viewer, status=404, what=f"transaction {transaction_id}")
        return self._page("transaction.html", viewer, trace=trace, diagram=diagram(trace), entries=entries)

    # -- actions ----------------------------------------------------------------------------------------------

    async def act(self, request: Request) -> Response:
        viewer = self._viewer(request)
        if viewer is None:
            return self._challenge(request)
        entry_id, action = request.path_params["entry_id"], request.path_params["action"]
        if action not in _ACTIONS:
            return self._page("missing.html", viewer, status=404, what=f"action {action}")
        token = str((await request.form()).get("token", ""))
        refused = self.context.gate.action_allowed(request, viewer, token)
        if refused is not None:
            log.warning("monitor: %s refused to %s (entry %r): %s", action, viewer.name, entry_id[:64], refused)
            return self._page("refused.html", viewer, status=403, reason=refused, entry_id=entry_id)
        try:
            entry = await self._run(lambda: self._do(action, entry_id, viewer))
        except EntryNotFound:
            return self._page("missing.html", viewer, status=404, what=f"outbox entry {entry_id}")
        except (EntryBusy, InvalidTransition, OutboxError) as exc:
            return self._page("refused.html", viewer, status=409, reason=str(exc), entry_id=entry_id)
        return RedirectResponse(f"{MONITOR_PATH}/request/{entry.id}?done={_ACTIONS[action]}", status_code=303)

    def _do(self, action: str, entry_id: str, viewer: Viewer) -> OutboxEntry:
        store = self.context.store
        if action == "retry":
            entry = store.retry_now(entry_id)
            if self.context.wake is not None:
                self.context.wake()
        elif action == "cancel":
            entry = store.cancel(entry_id)
            if entry.queue is not None and self.context.wake is not None:  # its qRFC queue may go on now
                self.context.wake()
        else:
            found = store.get(entry_id)
            if found is None:
                raise EntryNotFound(f"no outbox entry {entry_id}")
            self.fate.read_again([entry_id, *([found.packet_id] if found.packet_id else [])])
            entry = found
        log.info("monitor: %s by %s: outbox entry %s (transaction %s)", action, viewer.name, entry.id,
                 entry.transaction_id)  # fmt: skip
        context = RequestContext(entry.transaction_id, 0, entry.service, entry.operation)
        log_event(self.context.tlog, context, LogType.CUSTOM, MONITOR_COMPONENT, 0, True, f"{action} by {viewer.name}",
                  "", entry.delivery_tid, domain="MONITOR")  # fmt: skip
        return entry


def _clean(value: str, length: int = 64) -> str:
    """A form value as the queries take it: trimmed, cut to ``length``, without control characters (a NUL, which
    PostgreSQL refuses, or a line break)."""
    return "".join(char for char in value if char.isprintable()).strip()[:length]


_FILTER_NAMES = ("state", "sap_status", "service", "operation", "alias", "message_type", "partner", "period")
_GET_FILTERS = ("state", "sap_status", "service", "operation", "alias", "message_type", "period")
"""Filters that may appear in a URL: none of them business data (the partner filter is sent by POST)."""
_ACTIONS = {"retry": "retried", "cancel": "cancelled", "read-status": "read"}
_NOTICES = {
    "retried": "Retried: the entry is due now, with its TID.",
    "cancelled": "Cancelled: it will not be delivered.",
    "read": "The IDocs' status in SAP is read again now.",
}
# Referrer-Policy same-origin, not no-referrer: under no-referrer a browser sends "Origin: null" with the pages' own
# forms, which the action check refuses (another site's page can send null too)
_NO_STORE = {"Cache-Control": "no-store", "X-Frame-Options": "DENY", "Referrer-Policy": "same-origin",
             "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self'; "
                                        "script-src 'self'; frame-ancestors 'none'; form-action 'self'"}  # fmt: skip
