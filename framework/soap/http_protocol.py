"""uvicorn's HTTP/1.1 protocol (h11) as the service speaks it: no delayed replies, a deadline for a
request's headers, and a clean close of a connection whose request was answered early.

Every accepted connection sets ``TCP_NODELAY``: asyncio sets it only on connections of listeners made
with ``IPPROTO_TCP``, and without it each keep-alive reply waits for the client's delayed ACK (about
40 ms on Linux), which caps one connection at some 23 requests a second.

uvicorn closes a keep-alive connection that stays idle, but not one whose client sends its headers a
byte at a time (slowloris): each byte resets the idle timer. Here every request's headers must be
complete within ``header_timeout`` of the connection opening or of the previous response; otherwise
the client gets HTTP 408 and the connection is closed. The body has its own deadline in the app; a
response given before the request's body was read (a fault such as 413, 415 or 503) says
``Connection: close``, so that no client sends its next request down a connection about to close, and the
connection closes two seconds later, so that the rest of the body can neither hold it open nor reset it
before the client has read the answer.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import Callable, Iterable
from typing import Any

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

__all__ = ["service_http_protocol"]

log = logging.getLogger("idocbridge.soap")
_LINGER_SECONDS = 2.0
_TIMEOUT_RESPONSE = b"HTTP/1.1 408 Request Timeout\r\nconnection: close\r\ncontent-length: 0\r\n\r\n"


class _EarlyAnswerConnection(h11.Connection):
    """h11's server side, saying ``Connection: close`` on a response given before the request's body was read."""

    answered_early = False

    def send(self, event: h11.Event) -> bytes | None:  # type: ignore[override]
        if isinstance(event, h11.Response) and self.their_state is h11.SEND_BODY:
            self.answered_early = True
            if not any(name == b"connection" and b"close" in value.lower() for name, value in event.headers):
                event = h11.Response(
                    status_code=event.status_code,
                    headers=[*event.headers, (b"connection", b"close")],
                    reason=event.reason,
                    http_version=event.http_version,
                )
        return super().send(event)


class _LingeringTransport(asyncio.Transport):
    """The connection's transport, whose ``close`` lingers while ``should_linger()`` says a request body is
    unread: it says that no more comes (FIN), drops what the client still sends for a moment, then closes.
    Closing at once, with the body's rest still arriving, would reset the connection before the client has
    read the answer."""

    def __init__(self, transport: asyncio.Transport, should_linger: Callable[[], bool]) -> None:
        super().__init__()
        self._transport = transport
        self._should_linger = should_linger
        self.lingering = False

    def close(self) -> None:
        if self.lingering or self._transport.is_closing():
            return
        if not self._should_linger():
            self._transport.close()
            return
        self.lingering = True
        if self._transport.can_write_eof():
            self._transport.write_eof()
        self._transport.resume_reading()  # uvicorn paused it if the body piled up: drain it, or the client stalls
        asyncio.get_running_loop().call_later(_LINGER_SECONDS, self._transport.close)

    def is_closing(self) -> bool:
        return self.lingering or self._transport.is_closing()

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return self._transport.get_extra_info(name, default)

    def set_protocol(self, protocol: asyncio.BaseProtocol) -> None:
        self._transport.set_protocol(protocol)

    def get_protocol(self) -> asyncio.BaseProtocol:
        return self._transport.get_protocol()

    def is_reading(self) -> bool:
        return self._transport.is_reading()

    def pause_reading(self) -> None:
        self._transport.pause_reading()

    def resume_reading(self) -> None:
        self._transport.resume_reading()

    def set_write_buffer_limits(self, high: int | None = None, low: int | None = None) -> None:
        self._transport.set_write_buffer_limits(high, low)

    def get_write_buffer_size(self) -> int:
        return self._transport.get_write_buffer_size()

    def get_write_buffer_limits(self) -> tuple[int, int]:
        return self._transport.get_write_buffer_limits()

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self._transport.write(data)

    def writelines(self, list_of_data: Iterable[bytes | bytearray | memoryview]) -> None:
        self._transport.writelines(list_of_data)

    def write_eof(self) -> None:
        self._transport.write_eof()

    def can_write_eof(self) -> bool:
        return self._transport.can_write_eof()

    def abort(self) -> None:
        self._transport.abort()


class _ServiceHTTPProtocol(H11Protocol):
    header_timeout: float = 10.0

    _header_timer: asyncio.TimerHandle | None = None
    conn: _EarlyAnswerConnection

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        limit = self.config.h11_max_incomplete_event_size
        self.conn = _EarlyAnswerConnection(h11.SERVER) if limit is None else _EarlyAnswerConnection(h11.SERVER, limit)

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        connection = transport.get_extra_info("socket")
        if connection is not None and connection.family in (socket.AF_INET, socket.AF_INET6):
            connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        super().connection_made(_LingeringTransport(transport, lambda: self.conn.answered_early))
        self._arm()

    def handle_events(self) -> None:
        super().handle_events()
        if self.conn.their_state is not h11.IDLE:  # the request's headers are in (or the connection ends)
            self._disarm()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing() and self.conn.their_state is h11.IDLE:
            self._arm()  # the next request's headers have the same deadline

    def data_received(self, data: bytes) -> None:
        if self.conn.answered_early:
            return  # the rest of a body that was answered already: read and dropped
        super().data_received(data)

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _arm(self) -> None:
        self._disarm()
        self._header_timer = self.loop.call_later(self.header_timeout, self._headers_late)

    def _disarm(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _headers_late(self) -> None:
        self._header_timer = None
        if self.transport.is_closing() or self.conn.their_state is not h11.IDLE:
            return
        peer = f"{self.client[0]}:{self.client[1]}" if self.client else "?"
        log.info("closing the connection of %s: its request headers did not arrive within %g s", peer,
                 self.header_timeout)  # fmt: skip
        self.transport.write(_TIMEOUT_RESPONSE)
        self.transport.close()


def service_http_protocol(header_timeout: float) -> type[H11Protocol]:
    """The protocol class to give uvicorn's ``Config(http=...)``: h11 with a ``header_timeout`` for headers."""
    return type("ServiceHTTPProtocol", (_ServiceHTTPProtocol,), {"header_timeout": header_timeout})
