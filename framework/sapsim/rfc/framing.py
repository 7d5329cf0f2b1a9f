"""NI frames and the gateway header of RFC data frames (classic RFC over TCP).

Every message on the connection is an NI frame: a big-endian 32-bit length, then that many bytes.
After the handshake, RFC messages are NI frames holding a 76-byte gateway header, a 4-byte marker
and the TLV stream (requests also carry an 8-byte footer after the stream). Replies longer than
28000 TLV bytes are cut into several frames; the stream simply continues in the next one.
"""

from __future__ import annotations

import asyncio
import struct
from dataclasses import dataclass

from idocbridge.sapsim.rfc.tlv import ProtocolError

__all__ = [
    "CHUNK_SIZE",
    "DATA_TYPE",
    "DEFAULT_MAX_FRAME",
    "HANDLE_SLICE",
    "LAST_PIECE_TYPE",
    "PIECE_TYPE",
    "REQUEST_TYPES",
    "RequestFrame",
    "read_ni",
    "reply_frames",
    "split_request",
    "write_ni",
]

DEFAULT_MAX_FRAME = 64 * 1024 * 1024
"""The largest NI frame the server reads; a larger declared length closes the connection."""
CHUNK_SIZE = 28000
"""TLV bytes per reply frame, as SAP's gateway cuts them."""
DATA_TYPE = 0x06CB
"""Gateway message type of RFC data frames."""
PIECE_TYPE = 0x0608
"""A piece of a long request; more pieces follow, the last one (often empty) has type 0609."""
LAST_PIECE_TYPE = 0x0609
REQUEST_TYPES = frozenset({DATA_TYPE, PIECE_TYPE, LAST_PIECE_TYPE})
"""Gateway types a client's request frames carry."""
HANDLE_SLICE = slice(40, 48)
"""Where the gateway header carries the connection handle (8 ASCII digits)."""
NI_PING = b"NI_PING\x00"
NI_PONG = b"NI_PONG\x00"

_GW_HEADER = 76
_MARKER = 4
_COM_HEAD = bytes([0xD9, 0xC6, 0xC3]) + bytes([0xF0]) * 9  # EBCDIC "RFC000000000": only in the logon frame
_FINAL = 500
_NOT_FINAL = -1


async def read_ni(reader: asyncio.StreamReader, max_frame: int = DEFAULT_MAX_FRAME) -> bytes:
    """The payload of the next NI frame; raises ProtocolError before reading a frame above ``max_frame``.

    Raises :class:`asyncio.IncompleteReadError` when the peer closes the connection.
    """
    (length,) = struct.unpack(">I", await reader.readexactly(4))
    if length > max_frame:
        raise ProtocolError(f"an NI frame of {length} bytes is larger than the {max_frame} bytes allowed")
    return await reader.readexactly(length)


def write_ni(writer: asyncio.StreamWriter, payload: bytes) -> None:
    """Queue ``payload`` as one NI frame."""
    writer.write(struct.pack(">I", len(payload)) + payload)


@dataclass(frozen=True)
class RequestFrame:
    """An RFC data frame from the client: its handle, whether it is the logon, and the TLV bytes."""

    handle: bytes
    is_logon: bool
    body: bytes
    more: bool = False
    """A piece of a long request (type 0608): the request continues in the next frame."""


def split_request(payload: bytes) -> RequestFrame:
    """Split a client's RFC data frame into handle, logon flag and TLV bytes (footer included)."""
    start = _GW_HEADER + _MARKER
    if len(payload) < start:
        raise ProtocolError(f"an RFC data frame of {len(payload)} bytes is shorter than its {start}-byte header")
    (kind,) = struct.unpack_from(">H", payload, 0)
    if kind not in REQUEST_TYPES:
        raise ProtocolError(f"expected an RFC data frame (gateway type 06cb, 0608 or 0609), got type {kind:04x}")
    if payload[_GW_HEADER : _GW_HEADER + 2] != b"\xff\xff":
        raise ProtocolError("the RFC marker after the gateway header is missing")
    body = payload[start:]
    if body.startswith(_COM_HEAD):
        return RequestFrame(payload[HANDLE_SLICE], True, body[len(_COM_HEAD) :])
    return RequestFrame(payload[HANDLE_SLICE], False, body, more=kind == PIECE_TYPE)


def _header(handle: bytes, sequence: int, size: int, *, final: bool, first: bool, refused: bool) -> bytes:
    header = bytearray(_GW_HEADER)
    struct.pack_into(">HHI", header, 0, DATA_TYPE, 0x0200, 0xFFFF0000)
    header[13] = sequence & 0xFF
    header[16] = 1  # server to client
    struct.pack_into(">i", header, 17, _FINAL if final else _NOT_FINAL)
    header[21] = 2
    struct.pack_into(">I", header, 24, 0x00010008 if final else 0x00010000)
    position = 0x050C if final else (0x0108 if first else 0x0100)
    struct.pack_into(">I", header, 28, 0x0108 if refused else position)
    if refused:
        header[35] = 0x12
    header[HANDLE_SLICE] = handle
    struct.pack_into(">IIII", header, 48, CHUNK_SIZE, 2, size, 1 if final and not refused else 0)
    header[69:73] = b"4103"
    return bytes(header) + struct.pack(">I", 4)


def reply_frames(handle: bytes, tlv: bytes, *, refused: bool = False, whole: bool = False) -> list[bytes]:
    """The NI payloads that carry one reply: CHUNK_SIZE pieces of the TLV stream (one piece if ``whole``)."""
    if refused:
        return [_header(handle, 1, len(tlv), final=False, first=True, refused=True) + tlv]
    size = max(len(tlv), 1) if whole else CHUNK_SIZE
    chunks = [tlv[start : start + size] for start in range(0, len(tlv), size)] or [b""]
    frames = []
    for index, chunk in enumerate(chunks):
        final = index == len(chunks) - 1
        frames.append(_header(handle, index + 1, len(chunk), final=final, first=index == 0, refused=False) + chunk)
    return frames
