"""uvicorn's HTTP/1.1 protocol (httptools, a C parser) as the service speaks it: no delayed replies, a
deadline and a size limit for a request's headers, and a clean close of a connection whose request was
answered early.

Every accepted connection sets ``TCP_NODELAY``: asyncio sets it only on connections of listeners made
with ``IPPROTO_TCP``, and without it each keep-alive reply waits for the client's delayed ACK (about
40 ms on Linux), which caps one connection at some 23 requests a second.

uvicorn closes a keep-alive connection that stays idle, but not one whose client sends its headers a
byte at a time (slowloris): each byte resets the idle timer. Here every request's headers must be
complete within ``header_timeout`` of the connection opening or of the previous response; otherwise
the client gets HTTP 408 and the connection is closed. The request line and headers may take
``MAX_HEADER_BYTES`` (16 KiB, what uvicorn's h11 protocol allows), counted as the parser hands them over
(and, for a header line that never ends, as they are read); more is answered 431 and the connection closed,
after the answers of requests sent before it on the connection. The body has its own deadline in the app;
a response given before the request's body was read (a fault such as 413, 415 or 503) says
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

import httptools
from uvicorn._types import ASGI3Application, ASGIReceiveCallable, ASGISendCallable, ASGISendEvent, Scope
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol, RequestResponseCycle

__all__ = ["MAX_HEADER_BYTES", "service_http_protocol"]

log = logging.getLogger("idocbridge.soap")
MAX_HEADER_BYTES = 16_384
_LINGER_SECONDS = 2.0
_TIMEOUT_RESPONSE = b"HTTP/1.1 408 Request Timeout\r\nconnection: close\r\ncontent-length: 0\r\n\r\n"
_TOO_LARGE_TEXT = f"the request line and headers exceed {MAX_HEADER_BYTES} bytes\n".encode()
_TOO_LARGE_RESPONSE = (
    b"HTTP/1.1 431 Request Header Fields Too Large\r\nconnection: close\r\ncontent-type: text/plain; charset=utf-8\r\n"
    b"content-length: %d\r\n\r\n%s" % (len(_TOO_LARGE_TEXT), _TOO_LARGE_TEXT)
)


class _HeadersTooLarge(Exception):
    """A request's line and headers passed MAX_HEADER_BYTES (raised in a parser callback to stop the parser)."""


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


class _ServiceHTTPProtocol(HttpToolsProtocol):
    header_timeout: float = 10.0

    _header_timer: asyncio.TimerHandle | None = None
    _reading_headers = True  # between a request's end (or the connection's start) and the next one's headers
    _read_bytes = 0  # bytes read while headers were incomplete: the bound for a header line that never ends
    _header_bytes = 0  # the request line's and the complete headers' bytes, as the parser hands them over
    _too_large = False  # a request's headers passed MAX_HEADER_BYTES (set in a parser callback)
    _unanswered = 0  # requests whose headers are in and whose response is not complete
    _dropping = False  # answered before the request was read (early, or its headers refused): drop the rest
    _deferred: bytes | None = None  # a refusal that waits for the answers of the requests before it

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        connection = transport.get_extra_info("socket")
        if connection is not None and connection.family in (socket.AF_INET, socket.AF_INET6):
            connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        super().connection_made(_LingeringTransport(transport, lambda: self._dropping))
        self._arm()

    def data_received(self, data: bytes) -> None:
        """uvicorn's, with a request whose headers are too large answered 431 instead of 400."""
        if self._dropping:
            return  # the rest of a request that was answered already: read and dropped
        if self._reading_headers:
            self._read_bytes += len(data)
        self._unset_keepalive_if_required()
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError:
            if self._too_large:
                self._refuse(_TOO_LARGE_RESPONSE)
                return
            self.logger.warning("Invalid HTTP request received.")
            self.send_400_response("Invalid HTTP request received.")
            return
        except httptools.HttpParserUpgrade:
            if self._should_upgrade():
                self.handle_websocket_upgrade()
            else:
                self._unsupported_upgrade_warning()
            return
        if self._reading_headers and self._read_bytes > MAX_HEADER_BYTES and not self.transport.is_closing():
            self._refuse(_TOO_LARGE_RESPONSE)  # a header line still open after more than the limit

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._reading_headers = True
        self._header_bytes = len(b"POST  HTTP/1.1\r\n")  # the request line around its URL

    def on_url(self, url: bytes) -> None:
        self._count_header_bytes(len(url))
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._count_header_bytes(len(name) + len(value) + len(b": \r\n"))
        super().on_header(name, value)

    def _count_header_bytes(self, size: int) -> None:
        """Count ``size`` bytes of the request line and headers; stop the parser once they pass the limit."""
        self._header_bytes += size
        if self._header_bytes > MAX_HEADER_BYTES:
            self._too_large = True
            raise _HeadersTooLarge  # httptools stops parsing and raises HttpParserCallbackError in feed_data

    def on_headers_complete(self) -> None:
        self._reading_headers = False
        self._read_bytes = 0
        self._unanswered += 1
        self._disarm()
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self._reading_headers = True

    def _start_asgi_task(self, cycle: RequestResponseCycle, app: ASGI3Application) -> None:
        super()._start_asgi_task(cycle, self._noting_early_answers(cycle, app))

    def _noting_early_answers(self, cycle: RequestResponseCycle, app: ASGI3Application) -> ASGI3Application:
        """``app``, whose response, if it starts before ``cycle``'s body was read, closes the connection."""

        async def noting(scope: Scope, receive: ASGIReceiveCallable, send: ASGISendCallable) -> None:
            async def sending(message: ASGISendEvent) -> None:
                if message["type"] == "http.response.start" and cycle.more_body and not cycle.disconnected:
                    self._dropping = True
                    cycle.keep_alive = False  # uvicorn says Connection: close and closes after the response
                await send(message)

            await app(scope, receive, sending)

        return noting

    def on_response_complete(self) -> None:
        self._unanswered = max(0, self._unanswered - 1)
        super().on_response_complete()
        if self._deferred is not None and self._unanswered == 0:
            self._refuse(self._deferred)  # the requests before it are answered: now the refusal
        elif not self.transport.is_closing() and self._unanswered == 0:
            self._arm()  # the next request's headers have the same deadline

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
        if self.transport.is_closing() or self._unanswered:
            return
        peer = f"{self.client[0]}:{self.client[1]}" if self.client else "?"
        log.info("closing the connection of %s: its request headers did not arrive within %g s", peer,
                 self.header_timeout)  # fmt: skip
        self._refuse(_TIMEOUT_RESPONSE)

    def _refuse(self, answer: bytes) -> None:
        """Answer ``answer`` and close, without reading the request any further (the close lingers). Requests
        before it on the connection (pipelined) are answered first: the refusal waits for them."""
        self._disarm()
        self._dropping = True
        if self.transport.is_closing():
            return
        if self._unanswered:
            self._deferred = answer
            self.flow.pause_reading()
            return
        self._deferred = None
        self.transport.write(answer)
        self.transport.close()


def service_http_protocol(header_timeout: float) -> type[HttpToolsProtocol]:
    """The protocol class to give uvicorn's ``Config(http=...)``: httptools with a ``header_timeout`` for headers."""
    return type("ServiceHTTPProtocol", (_ServiceHTTPProtocol,), {"header_timeout": header_timeout})
