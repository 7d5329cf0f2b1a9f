"""The simulator's network side: TLS WebSocket endpoints for RFC and for control and inspection.

``/sap/bc/rfc`` speaks SAP's WebSocket RFC to clients that offer the subprotocol ``rfc.sap.com``
(:mod:`idocbridge.sapsim.rfc.websocket`) and idocbridge's JSON protocol
(:mod:`idocbridge.sapsim.protocol`) to those that offer none; ``/sim/control`` takes the control
token from the state folder and then fault and inspection commands. There is no plain-text
listener: a client that does not speak TLS fails in the handshake.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import weakref
from collections.abc import Sequence
from dataclasses import asdict
from http import HTTPStatus
from typing import Any

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response
from websockets.typing import Subprotocol

from idocbridge.connectors.errors import ConnectorConfigurationError, ConnectorError
from idocbridge.sapsim.control import ControlCommands
from idocbridge.sapsim.engine import Engine, Session
from idocbridge.sapsim.functions import registry
from idocbridge.sapsim.group_commit import SyncFailed
from idocbridge.sapsim.protocol import CONTROL_PATH, PROTOCOL_VERSION, RFC_PATH, decode, encode, error_body, kind_of
from idocbridge.sapsim.rfc import ddic
from idocbridge.sapsim.rfc.websocket import SUBPROTOCOL, WebSocketRfc, http_logon

__all__ = ["SimulatorServer"]

log = logging.getLogger("idocbridge.sapsim")
_LOGON_TIMEOUT = 30.0


def _malformed(request: dict[str, Any]) -> str | None:
    """What is wrong with the shape of a request, or None."""
    op = request.get("op")
    if op not in ("ping", "call", "get_tid", "submit", "confirm"):
        return f"unknown operation {op!r}"
    if op in ("call", "submit") and not isinstance(request.get("function"), str):
        return "a call names its function as text"
    if op in ("call", "submit") and not isinstance(request.get("params", {}), dict):
        return "the parameters are an object of name: value"
    if op in ("submit", "confirm") and not isinstance(request.get("tid"), str):
        return "a TID is text"
    if op == "submit" and not isinstance(request.get("queue"), str | None):
        return "a queue name is text"
    if op in ("call", "submit"):
        return _parameter_problem(request["function"], request.get("params") or {})
    return None


def _is_structure(type_name: str) -> bool:
    try:
        ddic.layout(type_name)
    except ddic.UnknownTypeError:
        return False
    return True


def _parameter_problem(function: str, params: dict[str, Any]) -> str | None:
    """What is wrong with the shape of the parameters a known function module declares, or None: a table is
    a list, and a structure (or a table's row of a structure) an object of field: value. The RFC wires
    cannot carry anything else; the JSON protocol is held to the same."""
    module = registry.get(function)
    for parameter in module.parameters if module is not None else ():
        value = params.get(parameter.name)
        if value is None:
            continue
        structure = _is_structure(parameter.type)
        fields = f"an object of field: value ({parameter.type})"
        if parameter.param_class == "T":
            if not isinstance(value, list):
                return f"parameter {parameter.name} of {function} is a table: a list of rows"
            if structure and not all(isinstance(row, dict) for row in value):
                return f"each row of table {parameter.name} of {function} is {fields}"
        elif structure and not isinstance(value, dict):
            return f"parameter {parameter.name} of {function} is a structure: {fields}"
    return None


class _Drop(Exception):
    """Drop the connection now, without a reply (fault injection)."""


def _certificate_name(connection: ServerConnection) -> str | None:
    certificate = connection.transport.get_extra_info("peercert")
    if not certificate:
        return None
    for entry in certificate.get("subject", ()):
        for key, value in entry:
            if key == "commonName":
                return str(value)
    return None


def _select_subprotocol(connection: ServerConnection, offered: Sequence[Subprotocol]) -> Subprotocol | None:
    """``rfc.sap.com`` for WebSocket RFC; no subprotocol for the JSON protocol and the control endpoint."""
    return Subprotocol(SUBPROTOCOL) if SUBPROTOCOL in offered else None


class SimulatorServer:
    """Serves one :class:`Engine` on one TLS port."""

    def __init__(self, engine: Engine, control_token: str, system_number: str) -> None:
        self.engine = engine
        self.control = ControlCommands(engine, self.status)
        self._token = control_token
        self._websocket_rfc = WebSocketRfc(engine, system_number)
        # Sessions logged on at the upgrade, until the handler takes them; weak, so that an upgrade that
        # fails after logging on (no handler runs) leaves nothing behind.
        self._rfc_logons: weakref.WeakKeyDictionary[ServerConnection, Session] = weakref.WeakKeyDictionary()
        self.connections = 0

    async def start(self, host: str, port: int, ssl_context: Any) -> Server:
        return await serve(
            self._handle,
            host,
            port,
            ssl=ssl_context,
            process_request=self._process_request,
            select_subprotocol=_select_subprotocol,
            max_size=64 * 1024 * 1024,
            ping_interval=None,
            server_header="idocbridge-sapsim",
        )

    def _process_request(self, connection: ServerConnection, request: Request) -> Response | None:
        path, _, query = request.path.partition("?")
        if path not in (RFC_PATH, CONTROL_PATH):
            return connection.respond(HTTPStatus.NOT_FOUND, f"no endpoint at {path}; RFC is at {RFC_PATH}\n")
        if path == CONTROL_PATH:
            if query:
                return connection.respond(HTTPStatus.BAD_REQUEST, "the control endpoint takes no query\n")
            return None
        if self.engine.faults.take("refuse_connections") is not None:
            return connection.respond(HTTPStatus.SERVICE_UNAVAILABLE, "the system accepts no connections (fault)\n")
        offered = [
            name.strip() for value in request.headers.get_all("Sec-WebSocket-Protocol") for name in value.split(",")
        ]
        if SUBPROTOCOL not in offered:
            if not query:
                return None  # idocbridge's JSON protocol
            return connection.respond(HTTPStatus.BAD_REQUEST, f"WebSocket RFC needs the subprotocol {SUBPROTOCOL}\n")
        headers = {name.lower(): value for name, value in request.headers.raw_items()}
        try:
            self._rfc_logons[connection] = http_logon(
                self.engine, headers, _certificate_name(connection), connection.remote_address
            )
        except ConnectorError as exc:  # logged and counted by the engine
            response = connection.respond(HTTPStatus.UNAUTHORIZED, f"{exc.message}\n")
            response.headers["WWW-Authenticate"] = 'Basic realm="SAP NetWeaver Application Server"'
            return response
        return None

    async def _handle(self, connection: ServerConnection) -> None:
        assert connection.request is not None
        self.connections += 1
        try:
            session = self._rfc_logons.pop(connection, None)
            if session is not None:
                await self._websocket_rfc.serve(connection, session)
            elif connection.request.path == CONTROL_PATH:
                await self._control_session(connection)
            else:
                await self._rfc_session(connection)
        except ConnectionClosed:
            pass
        except _Drop:
            connection.transport.close()  # no WebSocket close frame: to the client, the network broke
        finally:
            self.connections -= 1

    # -- RFC --------------------------------------------------------------------------------------

    async def _rfc_session(self, connection: ServerConnection) -> None:
        try:
            first = decode(await asyncio.wait_for(connection.recv(), _LOGON_TIMEOUT))
        except (TimeoutError, ValueError):
            await connection.close(1008, "expected a logon message")
            return
        if first.get("type") != "logon" or first.get("version") != PROTOCOL_VERSION:
            await connection.send(
                encode(
                    {
                        "type": "error",
                        "error": error_body(
                            "logon", f"expected a logon message of protocol version {PROTOCOL_VERSION}"
                        ),
                    }
                )
            )
            await connection.close(1008, "logon expected")
            return
        try:
            session = self.engine.logon(
                first, _certificate_name(connection), peer=connection.remote_address, transport="json"
            )
        except ConnectorError as exc:
            await connection.send(encode({"type": "error", "error": error_body(kind_of(exc), exc.message, exc.key)}))
            await connection.close(1008, "logon failed")
            return
        system = {
            "system_id": self.engine.config.system_id,
            "client": session.client,
            "user": session.user.name,
            "language": session.language,
            "release": self.engine.config.release,
        }
        await connection.send(encode({"type": "logon_ok", "system": system}))
        async for raw in connection:
            reply = await self._request(session, raw, connection)
            await connection.send(encode(reply))

    async def _request(self, session: Session, raw: str | bytes, connection: ServerConnection) -> dict[str, Any]:
        """The reply to one request, once what it changed is on disk (a fault's hang-up too: what ran is kept)."""
        return await self.engine.commits.answered(self._answer(session, raw, connection), _Drop)

    async def _answer(self, session: Session, raw: str | bytes, connection: ServerConnection) -> dict[str, Any]:
        try:
            request = decode(raw)
        except ValueError:
            return {"id": None, "ok": False, "error": error_body("communication", "the message is not JSON")}
        rid, op = request.get("id"), request.get("op")
        function = request.get("function")
        problem = _malformed(request)
        if problem is not None:
            return {"id": rid, "ok": False, "error": error_body("invalid", problem, "RFC_INVALID_PARAMETER")}
        faults = self.engine.faults
        fault = faults.take("communication_error", function)
        if fault is not None:
            raise _Drop  # the connection breaks; the caller sees a communication error
        if op == "confirm" and self.engine.confirm_dropped(str(request["tid"])):
            raise _Drop  # the TID is not forgotten, and the caller cannot know

        async def before() -> None:
            if faults.take("drop_before", function) is not None:
                raise _Drop
            delay = faults.take("delay", function)
            if delay is not None:
                try:
                    await asyncio.wait_for(connection.wait_closed(), delay.seconds)
                except TimeoutError:
                    return
                raise _Drop  # the caller hung up during the delay: like SAP, abandon the call (nothing ran)

        try:
            if op == "submit":
                state = await self.engine.submit(
                    session,
                    str(request.get("tid", "")),
                    str(function),
                    dict(request.get("params") or {}),
                    request.get("queue"),
                    before,
                )
                result: dict[str, Any] = {"state": state}
            else:
                await before()
                result = self._dispatch(session, op, request)
        except ConnectorError as exc:
            return {"id": rid, "ok": False, "error": error_body(kind_of(exc), exc.message, exc.key)}
        except _Drop:
            raise
        except Exception as exc:  # never leave the client guessing: a clear, non-retryable error
            log.exception("request %r failed", op)
            return {"id": rid, "ok": False, "error": error_body("abap_runtime", f"the simulator failed: {exc}")}
        if faults.take("drop_after", function) is not None:
            raise _Drop  # it ran and committed; the reply is lost
        return {"id": rid, "ok": True, "result": result}

    def _dispatch(self, session: Session, op: object, request: dict[str, Any]) -> dict[str, Any]:
        if op == "ping":
            return {}
        if op == "call":
            return self.engine.call(session, str(request.get("function")), dict(request.get("params") or {}))
        if op == "get_tid":
            return {"tid": self.engine.new_tid()}
        if op == "confirm":
            return {"known": self.engine.confirm(session, str(request.get("tid", "")))}
        raise ConnectorConfigurationError(f"unknown operation {op!r}")

    # -- control ----------------------------------------------------------------------------------

    async def _control_session(self, connection: ServerConnection) -> None:
        try:
            first = decode(await asyncio.wait_for(connection.recv(), _LOGON_TIMEOUT))
        except (TimeoutError, ValueError):
            await connection.close(1008, "expected the control token")
            return
        if not hmac.compare_digest(str(first.get("token", "")).encode(), self._token.encode()):
            await connection.send(encode({"ok": False, "error": "wrong control token"}))
            await connection.close(1008, "wrong control token")
            return
        await connection.send(encode({"ok": True}))
        async for raw in connection:
            try:
                request = decode(raw)
                result = self.control.run(str(request.get("command")), dict(request.get("arguments") or {}))
                reply: dict[str, Any] = {"ok": True, "result": result}
            except (ValueError, KeyError, TypeError) as exc:
                reply = {"ok": False, "error": str(exc)}
            except Exception as exc:  # e.g. a database error from a bad filter value
                log.exception("control command failed")
                reply = {"ok": False, "error": f"the command failed: {exc}"}
            try:  # a restarted queue, a reset, what a failed command wrote: on disk before the answer
                await self.engine.commits.durable()
            except SyncFailed as exc:
                reply = {"ok": False, "error": str(exc)}
            await connection.send(encode(reply))

    def status(self) -> dict[str, Any]:
        return {
            "connections": self.connections,
            "faults": [asdict(f) for f in self.engine.faults.armed()],
            "queue_locks": self.engine.queue_locks,
        }
