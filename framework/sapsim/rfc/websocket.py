"""WebSocket RFC: SAP's RFC protocol in binary WebSocket messages over TLS at ``/sap/bc/rfc``.

There is no NI framing and no gateway handshake. The client offers the subprotocol ``rfc.sap.com``
and authenticates on the HTTP upgrade (Basic with user and password, or its TLS client
certificate), naming the SAP client in ``sap-client`` and the language in ``sap-language``. A
failed authentication is answered as SAP's ICF answers it: HTTP 401, no WebSocket. Its first
message is a LOGON (single-byte records; the function to run named in 0102), answered like the
classic logon; each later message is one call's TLV stream, answered in one message.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import logging
import socket
from collections.abc import Mapping

from websockets.asyncio.server import ServerConnection
from websockets.exceptions import ConnectionClosed

from idocbridge.connectors.errors import LogonError
from idocbridge.sapsim.engine import MAX_FUNCTION_NAME, Engine, Session
from idocbridge.sapsim.rfc import logon
from idocbridge.sapsim.rfc.dispatcher import Drop, RfcSession
from idocbridge.sapsim.rfc.tlv import ProtocolError

__all__ = ["SUBPROTOCOL", "TRANSPORT", "WebSocketRfc", "http_logon"]

log = logging.getLogger("idocbridge.sapsim.rfc")

SUBPROTOCOL = "rfc.sap.com"
"""The WebSocket subprotocol of RFC (``Sec-WebSocket-Protocol``), sent by both client libraries."""
TRANSPORT = "wrfc"
"""How the simulator's counters name this transport (``rfc:wrfc:FUNCTION``)."""


def _basic_credentials(authorization: str) -> tuple[str, str] | None:
    """User and password of an ``Authorization: Basic`` header, or None for any other scheme."""
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(token.strip(), validate=True).decode("latin-1")
    except (binascii.Error, ValueError):
        raise LogonError("the Authorization header is not valid Basic credentials") from None
    user, separator, password = decoded.partition(":")
    if not separator:
        raise LogonError("the Authorization header is not valid Basic credentials") from None
    return user, password


def http_logon(
    engine: Engine, headers: Mapping[str, str], certificate_name: str | None, peer: object = None
) -> Session:
    """The session an upgrade request authenticates: Basic credentials, else the client certificate.

    Raises :class:`LogonError` (answered with HTTP 401) when neither logs on.
    """
    client = headers.get("sap-client", "")
    language = headers.get("sap-language", "") or "E"
    try:
        credentials = _basic_credentials(headers.get("authorization", ""))
    except LogonError as exc:
        engine.logon_refused(TRANSPORT, peer, client, "", exc.message)
        raise
    if credentials is not None:
        user, password = credentials
        by_password = {"client": client, "user": user, "password": password, "language": language}
        return engine.logon(by_password, None, peer=peer, transport=TRANSPORT)
    if certificate_name is not None:
        by_certificate = {"client": client, "language": language, "certificate": True}
        return engine.logon(by_certificate, certificate_name, peer=peer, transport=TRANSPORT)
    reason = "WebSocket RFC needs a user and password (Basic) or a client certificate the system trusts"
    engine.logon_refused(TRANSPORT, peer, client, "", reason)
    raise LogonError(reason)


class WebSocketRfc:
    """Serves one :class:`Engine` by WebSocket RFC, one logged-on connection at a time."""

    def __init__(self, engine: Engine, system_number: str, logon_timeout: float = 30.0) -> None:
        self.engine = engine
        self.logon_timeout = logon_timeout
        self._identity = logon.SystemIdentity(
            engine.config.system_id, system_number, socket.gethostname()[:32], engine.config.release
        )

    async def serve(self, connection: ServerConnection, session: Session) -> None:
        """The LOGON, then calls until the client closes; a fault or a bad frame drops the connection."""
        peer = connection.remote_address
        try:
            first = await asyncio.wait_for(connection.recv(), self.logon_timeout)
            if not isinstance(first, bytes):
                raise ProtocolError("WebSocket RFC travels in binary messages, not text")
            request = logon.parse_logon(first)
            self._check_logon(request, session, peer)
            self._count("logons")
            rfc = RfcSession(self.engine, session, TRANSPORT)
            await connection.send(
                logon.accepted(self._identity, session.user.name, session.client, session.language, bytes(16))
            )
            async for message in connection:
                if not isinstance(message, bytes):
                    raise ProtocolError("WebSocket RFC travels in binary messages, not text")
                reply = await rfc.handle(message)
                await connection.send(reply.tlv)
        except LogonError as exc:  # logged and counted by the engine
            await connection.send(logon.refused(self._identity, exc.message))
            await connection.close(1008, "logon refused")
        except TimeoutError:
            log.warning("closing WebSocket RFC connection from %s: no logon within %s s", peer, self.logon_timeout)
            await connection.close(1008, "no logon")
        except ProtocolError as exc:
            log.warning("closing WebSocket RFC connection from %s: %s", peer, exc)
            await connection.close(1002, str(exc)[:120])
        except Drop:
            connection.transport.abort()  # no close frame: to the client, the network broke
        except ConnectionClosed:
            pass
        except Exception as exc:  # a bug must not end in a traceback of client bytes: close this connection
            log.error("closing WebSocket RFC connection from %s: %s", peer, type(exc).__name__)
            await connection.close(1011, "internal error")

    def _check_logon(self, request: logon.LogonRequest, session: Session, peer: object) -> None:
        """The LOGON runs RFCPING; its client and user, where it names them, are the upgrade's."""
        reason = None
        if request.function != "RFCPING":
            function = request.function[:MAX_FUNCTION_NAME] or "no function"
            reason = f"the simulator runs only RFCPING in a WebSocket RFC LOGON, not {function}"
        elif request.client and request.client != session.client:
            reason = f"the LOGON names client {request.client[:3]}, the connection is logged on to {session.client}"
        elif request.user and request.user.upper() != session.user.name.upper() and not session.by_certificate:
            named = request.user.upper()[:12]
            reason = f"the LOGON names user {named}, the connection is logged on as {session.user.name}"
        if reason is not None:
            self.engine.logon_refused(TRANSPORT, peer, request.client, request.user, reason)
            raise LogonError(reason)
        if request.password and not session.by_certificate:  # the upgrade took them
            self.engine.logon(request.as_message(), None, take_faults=False, peer=peer, transport=TRANSPORT)

    def _count(self, name: str) -> None:
        with self.engine.store.transaction():
            self.engine.store.next_counter(f"rfc:{TRANSPORT}:{name}")
