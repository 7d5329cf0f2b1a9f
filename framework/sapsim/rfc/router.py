"""A SAProuter in front of the simulator's gateway: NI_ROUTE in, NI_PONG, then bytes both ways.

The client's first NI frame is the route: ``NI_ROUTE\\0``, talk mode, 0x28, route version, the hop
count and total length (BE32), each hop as a length (BE32) and three NUL-terminated fields (host,
service, password), then the destination's three fields. This router accepts a route whose one hop
is itself and whose destination is the simulator's gateway; it answers ``NI_PONG\\0`` and relays the
connection. Any other route is refused with ``NI_RTERR`` carrying SAProuter's message ("route
permission denied (...)"), as a SAProuter refuses a route its permission table does not allow.
Shapes from saprfclib's captures of SAProuter 40.4 (``tests/golden/router/``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import struct
from dataclasses import dataclass

from idocbridge.sapsim.rfc.framing import NI_PONG, read_ni, write_ni
from idocbridge.sapsim.rfc.tlv import ProtocolError

__all__ = ["Route", "RouterConfig", "SapRouter", "parse_route"]

log = logging.getLogger("idocbridge.sapsim.rfc")

_MAGIC = b"NI_ROUTE\x00"
_HEAD = struct.Struct(">BBBII")  # talk mode, 0x28, route version, hop count, total length
_MAX_HOPS = 16
_ROUTE_LIMIT = 4096
_ROUTE_DENIED = -94  # NIEROUT_PERM_DENIED, as SAProuter reports it


@dataclass(frozen=True)
class Route:
    """The hops (host, service) a client routes through, and where it wants to end up."""

    hops: tuple[tuple[str, str], ...]
    host: str
    service: str


def _fields(data: bytes, position: int, count: int) -> tuple[list[str], int]:
    values = []
    for _ in range(count):
        end = data.find(b"\x00", position)
        if end < 0:
            raise ProtocolError("an NI_ROUTE field is not NUL-terminated")
        values.append(data[position:end].decode("latin-1"))
        position = end + 1
    return values, position


def parse_route(payload: bytes) -> Route:
    """The route of an NI_ROUTE payload; ProtocolError for anything else."""
    if not payload.startswith(_MAGIC) or len(payload) < len(_MAGIC) + _HEAD.size:
        raise ProtocolError("the first frame to SAProuter is not an NI_ROUTE")
    _, _, _, count, _ = _HEAD.unpack_from(payload, len(_MAGIC))
    if not 1 <= count <= _MAX_HOPS:
        raise ProtocolError(f"an NI_ROUTE with {count} hops")
    position = len(_MAGIC) + _HEAD.size
    hops = []
    for _ in range(count):
        position += 4  # the entry's length: its fields say the same
        (host, service, _password), position = _fields(payload, position, 3)
        hops.append((host, service))
    (host, service, _password), _ = _fields(payload, position, 3)
    return Route(tuple(hops), host, service)


def _refusal(message: str) -> bytes:
    """SAProuter's NI_RTERR with its *ERR* block (the shape of ``ni_rterr_route_denied.bin``)."""
    block = b"\x00".join(
        [b"*ERR*", b"1", message.encode("latin-1", "replace"), str(_ROUTE_DENIED).encode(), b"NI (network interface)",
         b"753", b"40", b"", b"", b"", b"", b"SAProuter (idocbridge simulator)", b"", b"", b"*ERR*", b""]
    )  # fmt: skip
    return b"NI_RTERR\x00\x28\x00\x00" + struct.pack(">iI", _ROUTE_DENIED, len(block)) + block


@dataclass(frozen=True)
class RouterConfig:
    """Where the router listens and the one destination it permits."""

    host: str
    port: int
    gateway_host: str
    gateway_port: int


class SapRouter:
    """Relays routed connections to the simulator's gateway."""

    def __init__(self, config: RouterConfig) -> None:
        self.config = config
        self._open: set[asyncio.StreamWriter] = set()

    async def start(self) -> asyncio.Server:
        return await asyncio.start_server(self._serve, self.config.host, self.config.port)

    def close_connections(self) -> None:
        for writer in list(self._open):
            writer.transport.abort()

    def _permitted(self, route: Route) -> bool:
        local = {self.config.gateway_host, "localhost", "127.0.0.1", "::1"}
        return len(route.hops) == 1 and route.host in local and route.service == str(self.config.gateway_port)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = writer.get_extra_info("peername")
        self._open.add(writer)
        try:
            route = parse_route(await asyncio.wait_for(read_ni(reader, _ROUTE_LIMIT), 30))
            if any(not host for host, _ in route.hops):
                write_ni(writer, _refusal("NiRRouteRepl: invalid route received (a hop without a host)"))
                await writer.drain()
                return
            if not self._permitted(route):
                source = peer[0] if peer else "?"
                message = f"saprouter: route permission denied ({source} to {route.host}, {route.service})"
                log.info("%s", message)
                write_ni(writer, _refusal(message))
                await writer.drain()
                return
            target_reader, target_writer = await asyncio.open_connection(
                self.config.gateway_host, self.config.gateway_port
            )
            self._open.add(target_writer)
            write_ni(writer, NI_PONG)
            await writer.drain()
            try:
                await asyncio.gather(_pipe(reader, target_writer), _pipe(target_reader, writer))
            finally:
                self._open.discard(target_writer)
                target_writer.close()
        except (ProtocolError, TimeoutError) as exc:
            log.warning("closing routed connection from %s: %s", peer, exc)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            self._open.discard(writer)
            writer.close()


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Copy until end of stream, then end the other side's writing."""
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except ConnectionError:
        pass
    finally:
        with contextlib.suppress(OSError, RuntimeError):
            writer.write_eof()
