"""The simulated system's RFC semantics, independent of the wire: logon, calls, tRFC and qRFC.

tRFC follows SAP-FACTS §3 from the server's side: a TID that is being executed elsewhere is refused
for now (retryable); a TID already executed is skipped and reported as success; a new TID is
executed, and the function's effects commit together with the TID; an ABAP exception rolls both
back; confirm forgets the TID. Calls of one qRFC queue execute one after another in arrival order.

A qRFC call whose function fails (an ABAP exception or a short dump) stops its queue, as SAP's
SYSFAIL does: the call is rolled back and kept as the queue's failed head, and the calls of the queue
that come after it are stored under their TIDs (the caller gets "queued") but not executed until the
failed call is restarted (the caller submits its TID again, or :meth:`Engine.restart_queue`) and
succeeds, or is deleted (:meth:`Engine.delete_failed_call`); then the stored calls run in order.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import itertools
import logging
import re
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from idocbridge.connectors.errors import (
    ABAPApplicationError,
    ABAPRuntimeError,
    AuthorizationError,
    ConnectorConfigurationError,
    LogonError,
    TransactionBusyError,
)
from idocbridge.idoc.registry import IDocTypeRegistry
from idocbridge.sapsim.config import SimulatorConfig, SimulatorUser
from idocbridge.sapsim.faults import FaultPlan
from idocbridge.sapsim.functions import AbapError, CallContext, registry
from idocbridge.sapsim.group_commit import GroupCommit
from idocbridge.sapsim.store import QueuedCall, SimulatorStore

__all__ = [
    "LOGON_LIMITS",
    "MAX_FUNCTION_NAME",
    "MAX_QUEUE_NAME",
    "READY",
    "SYSFAIL",
    "Engine",
    "QueueBusy",
    "Session",
    "check_queue",
    "check_tid",
    "shown",
]

SYSFAIL = "SYSFAIL"
"""State of a queue's failed call: it stops the queue."""
READY = "READY"
"""State of a call stored behind a stopped queue's failed call."""

log = logging.getLogger("idocbridge.sapsim")

_TID = re.compile("[0-9A-F]{24}")
_BAD_LOGON = "Name or password is incorrect (repeat logon)"
MAX_QUEUE_NAME = 24
"""Characters of a qRFC queue name (TRFCQNAM, QNAME CHAR 24)."""
MAX_FUNCTION_NAME = 30
"""Characters of a function module's name (RS38L_FNAM, FUNCNAME CHAR 30)."""
LOGON_LIMITS = {"client": 3, "user": 12, "alias_user": 40, "password": 40, "language": 2}
"""Characters of each logon field: MANDT 3, XUBNAME 12, USERALIAS 40, a password at most 40, a language key 2."""
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_SHOWN = 40


def shown(value: object) -> str:
    """``value`` for a log line or a message: quoted, control characters escaped, cut at 40 characters."""
    text = str(value)
    return repr(text[:_SHOWN]) + ("..." if len(text) > _SHOWN else "")


def check_tid(tid: object) -> str:
    """``tid`` if it is a TID (ARFCTID: 24 hexadecimal characters); else ConnectorConfigurationError."""
    if not isinstance(tid, str) or not _TID.fullmatch(tid):
        length = len(tid) if isinstance(tid, str) else 0
        raise ConnectorConfigurationError(
            f"{shown(tid)} ({length} characters) is not a TID (24 hexadecimal characters)", key="RFC_INVALID_PARAMETER"
        )
    return tid


def check_queue(queue: object) -> str | None:
    """A qRFC queue name (1 to 24 characters, no control characters) or None; else ConnectorConfigurationError."""
    if queue is None or queue == "":
        return None
    if not isinstance(queue, str) or len(queue) > MAX_QUEUE_NAME or _CONTROL.search(queue):
        raise ConnectorConfigurationError(
            f"{shown(queue)} is not a qRFC queue name (1 to {MAX_QUEUE_NAME} characters, no control characters)",
            key="RFC_INVALID_PARAMETER",
        )
    return queue


class QueueBusy(ValueError):
    """An operator action on a queue met a call of that queue in progress; try again."""


@dataclass(frozen=True)
class Session:
    """A logged-on connection: who, in which client, in which language."""

    user: SimulatorUser
    client: str
    language: str
    by_certificate: bool = False


class Engine:
    """One simulated SAP system."""

    def __init__(
        self, config: SimulatorConfig, store: SimulatorStore, idoc_types: IDocTypeRegistry, faults: FaultPlan
    ) -> None:
        self.config = config
        self.store = store
        self.idoc_types = idoc_types
        self.faults = faults
        self.commits = GroupCommit(store)
        """Syncs the store before a call is answered: ``await engine.commits.durable()``."""
        self._executing: set[str] = set()
        self._queues: dict[str, asyncio.Lock] = {}
        self._queue_calls: dict[str, int] = {}  # calls holding or awaiting each queue's lock
        self._ip = "7F000001"
        # ARFCPID and the counter start at random values: TIDs cannot be guessed, and a simulator
        # restarted within the same second never hands out a TID it gave out before.
        self._pid = f"{secrets.randbits(16):04X}"
        self._tids = itertools.count(secrets.randbits(16))

    # -- logon ------------------------------------------------------------------------------------

    def logon(
        self,
        message: dict[str, Any],
        certificate_name: str | None,
        *,
        take_faults: bool = True,
        peer: object = None,
        transport: str = "json",
    ) -> Session:
        """Check a logon message (and the TLS client certificate's CN, if any); ``take_faults``: as a new logon.

        A refused logon is logged at WARNING (client, user, ``peer``, reason; never the password) and
        counted in ``logon_failures:TRANSPORT``.
        """
        try:
            return self._logon(message, certificate_name, take_faults)
        except LogonError as exc:
            user = message.get("user") or message.get("alias_user") or (certificate_name and f"CN={certificate_name}")
            self.logon_refused(transport, peer, message.get("client"), user, exc.message)
            raise

    def logon_refused(self, transport: str, peer: object, client: object, user: object, reason: str) -> None:
        """Log a refused logon at WARNING (never the password) and count it in ``logon_failures:TRANSPORT``."""
        if isinstance(peer, tuple) and len(peer) >= 2:
            peer = f"{peer[0]}:{peer[1]}"
        log.warning(
            "logon refused (%s) from %s: client %s, user %s: %s",
            transport,
            shown(peer if peer is not None else "?"),
            shown(client or ""),
            shown(user or ""),
            reason,
        )
        with self.store.transaction():
            self.store.next_counter(f"logon_failures:{transport}")

    def _logon(self, message: dict[str, Any], certificate_name: str | None, take_faults: bool) -> Session:
        if take_faults and self.faults.take("refuse_logon") is not None:
            raise LogonError("logon refused by the simulator (fault injection)")
        fields = {name: message.get(name) for name in LOGON_LIMITS}
        if any(value is not None and not isinstance(value, str) for value in fields.values()):
            raise LogonError("the logon's client, user, alias, password and language are text")
        too_long = [name for name, value in fields.items() if len(value or "") > LOGON_LIMITS[name]]
        if "client" in too_long:
            raise LogonError(f"a client has {LOGON_LIMITS['client']} characters")
        if "language" in too_long:
            raise LogonError("a logon language is a 1- or 2-character language key")
        if too_long:  # a longer user, alias or password cannot match: SAP says no more than that
            raise LogonError(_BAD_LOGON)
        client = str(message.get("client") or "")
        language = str(message.get("language") or "E").upper()
        if client not in self.config.clients():
            raise LogonError(f"client {client or '(none)'} is not available in this system")
        if message.get("certificate"):
            return self._certificate_logon(client, language, certificate_name)
        name = str(message.get("user") or "").upper()
        alias = str(message.get("alias_user") or "").upper()
        password = str(message.get("password") or "").encode()
        for user in self.config.users:
            if user.client != client or user.password is None:
                continue
            if (name and user.name.upper() == name) or (alias and (user.alias_user or "").upper() == alias):
                if message.get("password") is not None and hmac.compare_digest(password, user.password.encode()):
                    return Session(user, client, language)
                break
        raise LogonError(_BAD_LOGON)

    def _certificate_logon(self, client: str, language: str, certificate_name: str | None) -> Session:
        if certificate_name is None:
            raise LogonError("logon by certificate needs a client certificate the system trusts")
        for user in self.config.users:
            if user.client == client and certificate_name in user.certificates:
                return Session(user, client, language, by_certificate=True)
        raise LogonError(f"no user of client {client} is mapped to certificate CN={certificate_name}")

    # -- calls ------------------------------------------------------------------------------------

    def _authorize(self, session: Session, function: str) -> None:
        if function not in self.config.allowlist(session.user):
            raise AuthorizationError(
                f"function module {function} is not on the allowlist of user {session.user.name} (UCON, WebSocket RFC)",
                key="RFC_NO_AUTHORITY",
                function=function,
            )
        if function not in registry:
            raise ABAPRuntimeError(
                f"function module {function} does not exist", key="CALL_FUNCTION_NOT_FOUND", function=function
            )

    def _context(self, who: tuple[str, str, str], tid: str | None, queue: str | None) -> CallContext:
        client, user, language = who
        return CallContext(self.config, self.store, self.idoc_types, self.faults, client, user, language, tid, queue)

    @staticmethod
    def _who(session: Session) -> tuple[str, str, str]:
        return session.client, session.user.name, session.language

    def _run(
        self,
        who: tuple[str, str, str],
        function: str,
        params: dict[str, Any],
        tid: str | None,
        queue: str | None = None,
    ) -> dict[str, Any]:
        fault = self.faults.take("abap_exception", function)
        if fault is not None:
            key = fault.key or "SYSTEM_FAILURE"
            raise ABAPApplicationError(
                fault.message or f"exception {key} raised (fault injection)", key=key, function=function, tid=tid
            )
        try:
            return registry[function].handler(self._context(who, tid, queue), params)
        except AbapError as exc:
            raise ABAPApplicationError(exc.message, key=exc.key, function=function, tid=tid) from exc
        except Exception as exc:  # a bug or a malformed parameter: SAP would write a short dump
            log.exception("function module %s failed", function)
            raise ABAPRuntimeError(f"short dump in {function}: {type(exc).__name__}: {exc}", key="SYSTEM_FAILURE",
                                   function=function, tid=tid) from exc  # fmt: skip

    def call(self, session: Session, function: str, params: dict[str, Any]) -> dict[str, Any]:
        """A synchronous RFC call: runs in one database transaction."""
        self._authorize(session, function)
        with self.store.transaction():
            result = self._run(self._who(session), function, params, None)
            self.store.next_counter(f"calls:{function}")
        return result

    # -- tRFC -------------------------------------------------------------------------------------

    def new_tid(self) -> str:
        """A 24-character TID: IP address, process, time and a counter, in hex (ARFCIPID...ARFCTIDCNT)."""
        return f"{self._ip}{self._pid}{int(time.time()) & 0xFFFFFFFF:08X}{next(self._tids) & 0xFFFF:04X}"

    async def submit(
        self,
        session: Session,
        tid: str,
        function: str,
        params: dict[str, Any],
        queue: str | None,
        before: Callable[[], Awaitable[None]] | None = None,
    ) -> str:
        """Execute ``function`` under ``tid`` at most once; return "executed" or "skipped"."""
        check_tid(tid)
        queue = check_queue(queue)
        self._authorize(session, function)
        if tid in self._executing:
            self.store.log_event(tid, "BUSY", function, queue)
            raise TransactionBusyError("the TID is being executed on another connection", function=function, tid=tid)
        self._executing.add(tid)
        if queue is not None:
            self._queue_calls[queue] = self._queue_calls.get(queue, 0) + 1
        try:
            lock = self._queues.setdefault(queue, asyncio.Lock()) if queue else contextlib.nullcontext()
            async with lock:
                if before is not None:
                    await before()
                return self._execute_once(session, tid, function, params, queue)
        finally:
            self._executing.discard(tid)
            if queue is not None:
                self._release_queue(queue)

    def _release_queue(self, queue: str) -> None:
        """Forget the lock of ``queue`` when no call holds or awaits it: a client naming ever new queues
        must not make the simulator keep a lock for each."""
        self._queue_calls[queue] -= 1
        if self._queue_calls[queue] == 0:
            del self._queue_calls[queue]
            del self._queues[queue]

    @property
    def queue_locks(self) -> int:
        """How many qRFC queues have a call running or waiting right now."""
        return len(self._queues)

    def _execute_once(
        self, session: Session, tid: str, function: str, params: dict[str, Any], queue: str | None
    ) -> str:
        if queue is not None:
            self._drain(queue)  # calls a restart left stored (e.g. when the simulator stopped half-way)
        restarted: QueuedCall | None = None
        try:
            with self.store.transaction():
                owner = self.store.owner(tid)
                if owner is not None:
                    self._check_owner(session, tid, owner, function)
                    self.store.log_event(tid, "SKIPPED", function, queue, "already executed")
                    return "skipped"
                waiting = self.store.waiting_calls(queue) if queue is not None else []
                if waiting and waiting[0].tid != tid:
                    assert queue is not None
                    self.store.hold_call(queue, tid, function, params, self._who(session), READY)
                    self.store.mark_executed(tid, function, queue, session.client, session.user.name)
                    detail = f"queue stopped at TID {waiting[0].tid} ({SYSFAIL}); the call waits"
                    self.store.log_event(tid, "QUEUED", function, queue, detail)
                    return "queued"
                self._run(self._who(session), function, params, tid, queue)
                self.store.mark_executed(tid, function, queue, session.client, session.user.name)
                self._log_executed(tid, function, queue)
                if waiting:  # the caller sent the failed call again, and now it ran: the queue goes on
                    assert queue is not None
                    restarted = waiting[0]
                    self.store.remove_call(queue, restarted.seq)
        except (ABAPApplicationError, ABAPRuntimeError) as exc:
            with self.store.transaction():
                self.store.log_event(tid, "ROLLED_BACK", function, queue, exc.key)
                if queue is not None:
                    self._stop_queue(queue, tid, function, params, self._who(session), exc)
            raise
        if restarted is not None and queue is not None:
            self._drain(queue)
        return "executed"

    def _log_executed(self, tid: str, function: str, queue: str | None) -> None:
        position = self.store.log_queue(queue, tid, function) if queue else None
        self.store.log_event(tid, "EXECUTED", function, queue, f"queue position {position}" if position else None)
        self.store.next_counter(f"calls:{function}")

    def _stop_queue(
        self,
        queue: str,
        tid: str,
        function: str,
        params: dict[str, Any],
        who: tuple[str, str, str],
        exc: ABAPApplicationError | ABAPRuntimeError,
    ) -> None:
        """Keep the failed call as its queue's head (SYSFAIL): later calls of the queue wait for it."""
        error = f"{exc.key}: {exc.message}" if exc.key else exc.message
        waiting = self.store.waiting_calls(queue)
        if waiting and waiting[0].tid == tid:
            self.store.set_call_state(queue, waiting[0].seq, SYSFAIL, error)
        else:
            self.store.hold_call(queue, tid, function, params, who, SYSFAIL, error)
        self.store.log_event(tid, SYSFAIL, function, queue, error)

    def _drain(self, queue: str) -> None:
        """Run the stored calls of ``queue`` in order, until one fails (the queue stops again) or none is left."""
        while True:
            waiting = self.store.waiting_calls(queue)
            if not waiting or waiting[0].state == SYSFAIL:
                return
            call = waiting[0]
            who = (call.client, call.user, call.language)
            try:
                with self.store.transaction():
                    self._run(who, call.function, call.params, call.tid, queue)
                    self._log_executed(call.tid, call.function, queue)
                    self.store.remove_call(queue, call.seq)
            except (ABAPApplicationError, ABAPRuntimeError) as exc:
                with self.store.transaction():
                    self.store.log_event(call.tid, "ROLLED_BACK", call.function, queue, exc.key)
                    self._stop_queue(queue, call.tid, call.function, call.params, who, exc)
                return

    # -- inbound queue operations (SMQ2) ----------------------------------------------------------

    def _failed_head(self, queue: str) -> QueuedCall:
        if queue in self._queues and self._queues[queue].locked():
            raise QueueBusy(f"a call of queue {queue} is running; try again in a moment")
        waiting = self.store.waiting_calls(queue)
        if not waiting or waiting[0].state != SYSFAIL:
            raise QueueBusy(f"queue {queue} is not stopped: no call of it failed")
        return waiting[0]

    def restart_queue(self, queue: str) -> str:
        """Run the failed call of ``queue`` again; if it succeeds, run the calls stored behind it in order.

        Returns the TID of the restarted call; raises the call's ABAP error if it fails again."""
        call = self._failed_head(queue)
        who = (call.client, call.user, call.language)
        with self.store.transaction():
            self.store.log_event(call.tid, "RESTARTED", call.function, queue, "restarted by an operator")
        try:
            with self.store.transaction():
                self._run(who, call.function, call.params, call.tid, queue)
                if not self.store.executed(call.tid):
                    self.store.mark_executed(call.tid, call.function, queue, call.client, call.user)
                self._log_executed(call.tid, call.function, queue)
                self.store.remove_call(queue, call.seq)
        except (ABAPApplicationError, ABAPRuntimeError) as exc:
            with self.store.transaction():
                self.store.log_event(call.tid, "ROLLED_BACK", call.function, queue, exc.key)
                self._stop_queue(queue, call.tid, call.function, call.params, who, exc)
            raise
        self._drain(queue)
        return call.tid

    def delete_failed_call(self, queue: str) -> str:
        """Delete the failed call of ``queue`` (it never runs), then run the calls stored behind it in order.

        Returns the deleted call's TID."""
        call = self._failed_head(queue)
        with self.store.transaction():
            self.store.remove_call(queue, call.seq)
            self.store.log_event(call.tid, "DELETED", call.function, queue, "deleted from the queue by an operator")
        self._drain(queue)
        return call.tid

    def confirm_dropped(self, tid: str) -> bool:
        """Whether a ``drop_on_confirm`` fault takes this confirm of ``tid`` (aimed at the TID's function)."""
        if not _TID.fullmatch(tid):
            return False  # not a TID: the confirm itself is refused
        return self.faults.take("drop_on_confirm", self.tid_function(tid)) is not None

    def tid_function(self, tid: str) -> str | None:
        """The function a known TID was executed (or stored) for, or None."""
        owner = self.store.owner(tid)
        return owner[2] if owner else None

    def _check_owner(self, session: Session, tid: str, owner: tuple[str, str, str], function: str | None) -> None:
        client, user, executed = owner
        if (client, user) != (session.client, session.user.name):
            raise AuthorizationError(f"TID {tid} belongs to another user or client", key="RFC_NO_AUTHORITY", tid=tid)
        if function is not None and executed != function:
            raise ConnectorConfigurationError(
                f"TID {tid} was executed for {executed}, not {function}: a TID holds one call",
                function=function,
                tid=tid,
            )

    def confirm(self, session: Session, tid: str) -> bool:
        """Forget ``tid`` (may be repeated); True if it was still known. Only its owner may confirm it."""
        check_tid(tid)
        with self.store.transaction():
            owner = self.store.owner(tid)
            if owner is not None:
                self._check_owner(session, tid, owner, None)
            known = self.store.forget(tid)
            self.store.log_event(tid, "CONFIRMED" if known else "CONFIRMED_UNKNOWN")
        return known
