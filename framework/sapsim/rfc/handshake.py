"""The classic RFC handshake before the logon: NI version, gateway connect, gateway info, gateway done.

The client sends, in order: the NI version (64 bytes, answered with the server's code page 4103,
UTF-16LE), GW_CONNECT (answered with the connection handle at offset 40), GW_INFO (never
answered) and GW_DONE (answered). Then come RFC data frames, the first being the logon.
"""

from __future__ import annotations

import struct

from idocbridge.sapsim.rfc.framing import DATA_TYPE, HANDLE_SLICE
from idocbridge.sapsim.rfc.tlv import ProtocolError

__all__ = ["GW_CONNECT", "GW_DONE", "GW_INFO", "NI_VERSION", "answer", "frame_type"]

NI_VERSION = 0x0203
GW_CONNECT = 0x0601
GW_INFO = 0x060F
GW_DONE = 0x0605

_NI_VERSION_SIZE = 64
_GW_REPLY_SIZE = 80


def frame_type(payload: bytes) -> int:
    """The first two bytes of a payload: NI version, a gateway message type, or 06cb for RFC data."""
    if len(payload) < 2:
        raise ProtocolError(f"a frame of {len(payload)} bytes has no type")
    return int(struct.unpack_from(">H", payload, 0)[0])


def _ni_version(request: bytes) -> bytes:
    if len(request) != _NI_VERSION_SIZE:
        raise ProtocolError(f"an NI version message has {_NI_VERSION_SIZE} bytes, not {len(request)}")
    reply = bytearray(request)
    reply[20:24] = b"4103"  # the server's code page: UTF-16LE
    struct.pack_into(">H", reply, 28, 0x000F)
    struct.pack_into(">H", reply, 54, 0x06FB)
    return bytes(reply)


def _gw_connect(request: bytes, handle: bytes) -> bytes:
    if len(request) < 72:
        raise ProtocolError(f"a gateway connect message of {len(request)} bytes is too short")
    reply = bytearray(_GW_REPLY_SIZE)
    struct.pack_into(">HHI", reply, 0, GW_CONNECT, 0x0200, 0xFFFF0000)
    reply[8:28] = bytes.fromhex("0000010000000000c00000000006000000000175")
    reply[28:32] = bytes.fromhex("00000500")
    reply[HANDLE_SLICE] = handle
    reply[48:56] = b"NWRFC   "
    reply[56:72] = request[56:72]  # the gateway host and service the client asked for
    reply[72:80] = bytes.fromhex("4901000000000001")
    return bytes(reply)


def _gw_done(handle: bytes) -> bytes:
    reply = bytearray(_GW_REPLY_SIZE)
    struct.pack_into(">HHI", reply, 0, GW_DONE, 0x0200, 0xFFFF0000)
    reply[16] = 1
    reply[20] = 2
    reply[28:32] = bytes.fromhex("00000100")
    reply[HANDLE_SLICE] = handle
    reply[69:73] = b"4103"
    reply[76:80] = bytes.fromhex("00000001")
    return bytes(reply)


def answer(payload: bytes, handle: bytes) -> bytes | None:
    """The reply to one handshake message (None for GW_INFO); ProtocolError for anything else."""
    kind = frame_type(payload)
    if kind == NI_VERSION:
        return _ni_version(payload)
    if kind == GW_CONNECT:
        return _gw_connect(payload, handle)
    if kind == GW_INFO:
        return None
    if kind == GW_DONE:
        return _gw_done(handle)
    if kind == DATA_TYPE:
        raise ProtocolError("an RFC data frame arrived before the handshake was complete")
    raise ProtocolError(f"unknown handshake message type {kind:04x}")
