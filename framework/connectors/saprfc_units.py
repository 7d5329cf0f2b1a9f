"""tRFC/qRFC units as the SAP NW RFC SDK ships them, built on saprfclib's public codec.

saprfclib 0.1.8 ships a unit without its call (ARFC_DEST_SHIP with ARFCTID, ARFCFNAM and ARFCQUEUE
only), so an SAP system has nothing to run. This module builds what the SDK's clients send instead,
as observed on the wire from erpl-pyrfc 2026.9.3 against the simulator:

- ARFC_DEST_SHIP with table STATE, one ARFCSSTATE row (TID in its four parts, destination
  ``EXTERNAL`` for tRFC or the queue name for qRFC, LUW counter 1, function name), and table DATA,
  ARFCSDATA rows of a 132-byte header (the TID's parts, destination, block counter ARFCBLCNT from
  00000001, ARFCLEN) and 1786 bytes of the serialised call;
- the serialised call is the invoke TLV stream of the call (0502, release, 0102 function, 0201/0203
  values, 03xx tables, FFFF) without the reply declarations (0512, 0205): a unit returns nothing.

Observed: one DATA row, ARFCLEN 1 (erpl-pyrfc refuses calls longer than one row). Assumed: a longer
call continues in the next rows in ARFCBLCNT order, the last row padded with zeros, and ARFCLEN holds
the number of rows. The seam is this one module: drop it when saprfclib ships units with their call.
"""

from __future__ import annotations

import socket
import struct
from collections.abc import Iterator, Mapping
from typing import Any

from saprfclib.invoke import build_invoke_request
from saprfclib.types import FunctionDesc

__all__ = ["DATA_BLOCK", "TRFC_DESTINATION", "serialised_call", "ship_tables", "tid_parts"]

DATA_BLOCK = 1786
"""Bytes of the serialised call per ARFCSDATA row (RAW 1786)."""
TRFC_DESTINATION = "EXTERNAL"
"""ARFCDEST of a tRFC unit; a qRFC unit names its queue there."""
_REPLY_DECLARATIONS = frozenset({0x0512, 0x0205})
_EXTENDED_LENGTH = 0xFFFF


def _records(stream: bytes) -> Iterator[tuple[int, bytes]]:
    """(tag, whole record) of a TLV stream: ``tag len data tag``, long data as ``tag FFFF len32 data tag``."""
    position = 0
    while position + 4 <= len(stream):
        start = position
        tag, length = struct.unpack_from(">HH", stream, position)
        position += 4
        if tag == 0xFFFF:
            yield tag, stream[start:]
            return
        if length == _EXTENDED_LENGTH:
            (length,) = struct.unpack_from(">I", stream, position)
            position += 4
        position += length
        if stream[position : position + 2] == stream[start : start + 2]:
            position += 2  # the closing tag
        if position > len(stream):
            raise ValueError(f"the TLV record {tag:04x} at byte {start} runs past the end of the stream")
        yield tag, stream[start:position]
    raise ValueError("the TLV stream has no end record (FFFF)")


def serialised_call(function: str, description: FunctionDesc, parameters: Mapping[str, Any]) -> bytes:
    """The call's invoke TLV stream without reply declarations: what a unit's DATA rows carry."""
    stream = build_invoke_request(function, description, dict(parameters))
    return b"".join(record for tag, record in _records(stream) if tag not in _REPLY_DECLARATIONS)


def tid_parts(tid: str) -> dict[str, str]:
    """A 24-character TID as ARFCSSTATE/ARFCSDATA hold it: IP 8, process 4, time 8, counter 4."""
    if len(tid) != 24:
        raise ValueError(f"a TID has 24 characters, not {len(tid)}")
    return {"ARFCIPID": tid[:8], "ARFCPID": tid[8:12], "ARFCTIME": tid[12:20], "ARFCTIDCNT": tid[20:]}


def ship_tables(tid: str, function: str, call: bytes, queue: str | None, user: str) -> dict[str, list[dict[str, Any]]]:
    """The STATE and DATA tables of ARFC_DEST_SHIP for one call under ``tid``."""
    destination = queue or TRFC_DESTINATION
    parts = tid_parts(tid)
    state = parts | {
        "ARFCDEST": destination,
        "ARFCLUWCNT": "00000001",
        "ARFCFNAM": function,
        "ARFCUSER": user[:12],
        "ARFCRHOST": socket.gethostname()[:32],
        "ARFCREPORT": "IDOCBRIDGE",
    }
    blocks = [call[offset : offset + DATA_BLOCK] for offset in range(0, len(call), DATA_BLOCK)] or [b""]
    count = struct.pack(">I", len(blocks))
    data = [
        parts
        | {
            "ARFCDEST": destination,
            "ARFCBLCNT": f"{number:08d}",
            "ARFCLEN": count,
            "ARFCDATA": block.ljust(DATA_BLOCK, b"\x00"),
        }
        for number, block in enumerate(blocks, start=1)
    ]
    return {"STATE": [state], "DATA": data}
