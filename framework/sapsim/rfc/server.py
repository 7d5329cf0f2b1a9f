"""The gateway listener: classic RFC (CPIC) over TCP on port 33NN of the system number.

Per connection: the handshake, the logon (refused as SAP refuses a wrong password, and then
closed), then calls until the client closes. A malformed frame, a length above the limit or a
stalled handshake closes that connection with a log line; the server itself carries on.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import socket
import struct
from dataclasses import dataclass

from saprfclib.invoke import tlv_stream_status

from idocbridge.connectors.errors import ConnectorError
from idocbridge.sapsim.engine import Engine
from idocbridge.sapsim.rfc import handshake, logon
from idocbridge.sapsim.rfc.dispatcher import Drop, RfcSession
from idocbridge.sapsim.rfc.framing import (
    DATA_TYPE,
    DEFAULT_MAX_FRAME,
    NI_PING,
    NI_PONG,
    RequestFrame,
    read_ni,
    reply_frames,
    split_request,
    write_ni,
)
from idocbridge.sapsim.rfc.tlv import ProtocolError

__all__ = ["GatewayConfig", "GatewayServer", "gateway_port"]

log = logging.getLogger("idocbridge.sapsim.rfc")

_TRANSPORT = "cpic"


GW_DISCONNECT = 0x060B
"""The gateway message a client sends when it closes the conversation (erpl-pyrfc does)."""


class _Disconnected(Exception):
    """The client ended the conversation."""


def _reset(writer: asyncio.StreamWriter) -> None:
    """Close with a TCP reset (SO_LINGER 0), as a refused or broken connection looks to the client."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


def gateway_port(system_number: str) -> int:
    """SAP's gateway port of a system number: 3300 + NN."""
    return 3300 + int(system_number)


@dataclass(frozen=True)
class GatewayConfig:
    """Where and how the gateway listens."""

    host: str
    port: int
    system_number: str
    max_frame: int = DEFAULT_MAX_FRAME
    logon_timeout: float = 30.0


class GatewayServer:
    """Serves one :class:`Engine` by classic RFC."""

    def __init__(self, engine: Engine, config: GatewayConfig) -> None:
        self.engine = engine
        self.config = config
        self.connections = 0
        self._handles = itertools.count(40000001)
        self._open_writers: set[asyncio.StreamWriter] = set()
        self._identity = logon.SystemIdentity(
            engine.config.system_id, config.system_number, socket.gethostname()[:32], engine.config.release
        )

    async def start(self) -> asyncio.Server:
        return await asyncio.start_server(self._serve_connection, self.config.host, self.config.port)

    async def _serve_connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = writer.get_extra_info("peername")
        self.connections += 1
        self._open_writers.add(writer)
        try:
            if self.engine.faults.take("refuse_connections") is not None:
                _reset(writer)  # to the client, the system is not there
                return
            handle = f"{next(self._handles) % 100_000_000:08d}".encode()
            session = await asyncio.wait_for(self._open(reader, writer, handle), self.config.logon_timeout)
            if session is not None:
                await self._calls(reader, writer, handle, session)
        except (asyncio.IncompleteReadError, ConnectionError, _Disconnected):
            pass  # the client went away
        except TimeoutError:
            log.warning("closing RFC connection from %s: no logon within %s s", peer, self.config.logon_timeout)
        except ProtocolError as exc:
            log.warning("closing RFC connection from %s: %s", peer, exc)
        except Drop:
            writer.transport.abort()
        except Exception:  # a bug must not take the listener down: close this connection, log it
            log.exception("RFC connection from %s failed", peer)
        finally:
            self.connections -= 1
            self._open_writers.discard(writer)
            writer.close()

    def close_connections(self) -> None:
        """Drop every open connection (on shutdown: the listener waits for them to end)."""
        for writer in list(self._open_writers):
            writer.transport.abort()

    async def _open(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, handle: bytes
    ) -> RfcSession | None:
        """Handshake and logon; the session, or None after a refused logon."""
        while True:
            payload = await read_ni(reader, self.config.max_frame)
            if handshake.frame_type(payload) == DATA_TYPE:
                break
            answer = handshake.answer(payload, handle)
            if answer is not None:
                write_ni(writer, answer)
                await writer.drain()
        frame = split_request(payload)
        if not frame.is_logon:
            raise ProtocolError("the first RFC frame is not a logon")
        request = logon.parse_logon(frame.body)
        try:
            session = self.engine.logon(
                request.as_message(), None, peer=writer.get_extra_info("peername"), transport=_TRANSPORT
            )
        except ConnectorError as exc:  # logged and counted by the engine
            await self._send(writer, handle, logon.refused(self._identity, exc.message), refused=True)
            return None
        with self.engine.store.transaction():
            self.engine.store.next_counter(f"rfc:{_TRANSPORT}:logons")
        token = bytes(16)
        reply = logon.accepted(self._identity, session.user.name, session.client, session.language, token)
        await self._send(writer, handle, reply)
        return RfcSession(self.engine, session, _TRANSPORT)

    async def _calls(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, handle: bytes, session: RfcSession
    ) -> None:
        while True:
            body = await self._request(reader, writer)
            if body is None:
                continue
            reply = await session.handle(body)
            await self._send(writer, handle, reply.tlv, whole=reply.one_frame)

    async def _request(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bytes | None:
        """One call's TLV stream, over as many frames as it takes (None after an NI ping).

        erpl-pyrfc sends a long request in 28000-byte pieces (gateway type 0608) and ends it with a
        last, empty piece (0609); a request in 06cb frames is complete when its TLV stream is.
        """
        body = b""
        while True:
            payload = await read_ni(reader, self.config.max_frame)
            if payload == NI_PING:
                write_ni(writer, NI_PONG)
                await writer.drain()
                return None
            if handshake.frame_type(payload) == GW_DISCONNECT:
                raise _Disconnected
            frame: RequestFrame = split_request(payload)
            if frame.is_logon:
                raise ProtocolError("a second logon on a logged-on connection")
            body += frame.body
            if len(body) > self.config.max_frame:
                raise ProtocolError(f"a request longer than {self.config.max_frame} bytes")
            if frame.more:
                continue  # pieces of a long request (0608) end with a last piece (0609)
            status = tlv_stream_status(body)
            if status == "complete":
                return body
            if status != "truncated":
                raise ProtocolError("the request is not a TLV stream")

    async def _send(
        self, writer: asyncio.StreamWriter, handle: bytes, tlv: bytes, *, refused: bool = False, whole: bool = False
    ) -> None:
        for frame in reply_frames(handle, tlv, refused=refused, whole=whole):
            write_ni(writer, frame)
        await writer.drain()
