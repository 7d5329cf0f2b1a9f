"""uvicorn's HTTP/1.1 protocol (h11) with a deadline for a request's headers.

uvicorn closes a keep-alive connection that stays idle, but not one whose client sends its headers a
byte at a time (slowloris): each byte resets the idle timer. Here every request's headers must be
complete within ``header_timeout`` of the connection opening or of the previous response; otherwise
the client gets HTTP 408 and the connection is closed. The body has its own deadline in the app; a
connection whose request was answered before its body was read (a fault such as 413 or 503) is closed
two seconds later, so that the rest of the body cannot hold it open.
"""

from __future__ import annotations

import asyncio
import logging

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

__all__ = ["header_deadline_protocol"]

log = logging.getLogger("idocbridge.soap")
_LINGER_SECONDS = 2.0
_TIMEOUT_RESPONSE = b"HTTP/1.1 408 Request Timeout\r\nconnection: close\r\ncontent-length: 0\r\n\r\n"


class _HeaderDeadlineProtocol(H11Protocol):
    header_timeout: float = 10.0

    _header_timer: asyncio.TimerHandle | None = None
    _lingering = False

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def handle_events(self) -> None:
        super().handle_events()
        if self.conn.their_state is not h11.IDLE:  # the request's headers are in (or the connection ends)
            self._disarm()

    def on_response_complete(self) -> None:
        unread_body = self.conn.their_state is h11.SEND_BODY
        super().on_response_complete()
        if self.transport.is_closing():
            return
        if unread_body:  # answered before its body was read (413, 415, 401, 503): the rest is never read
            self._linger()
            return
        if self.conn.their_state is h11.IDLE:
            self._arm()  # the next request's headers have the same deadline

    def data_received(self, data: bytes) -> None:
        if self._lingering:
            return  # the rest of a body that was answered already: read and dropped
        super().data_received(data)

    def _linger(self) -> None:
        """Close a connection whose request body is unread, without losing the answer: say that no more comes
        (FIN), drop what the client still sends for a moment, then close. Closing at once, with the body's
        rest still arriving, would reset the connection before the client has read the answer."""
        self._lingering = True
        if self.transport.can_write_eof():
            self.transport.write_eof()
        self.loop.call_later(_LINGER_SECONDS, self.transport.close)

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


def header_deadline_protocol(header_timeout: float) -> type[H11Protocol]:
    """The protocol class to give uvicorn's ``Config(http=...)``: h11 with a ``header_timeout`` for headers."""
    return type("HeaderDeadlineProtocol", (_HeaderDeadlineProtocol,), {"header_timeout": header_timeout})
