"""TLV records of SAP's RFC wire format: tag constants, a bounded reader, and text helpers.

A record is ``[tag BE16][length BE16][data][tag BE16]``; data of 65535 bytes or more is written
``[tag][FF FF][length BE32][data][tag]``. A stream ends with the record of tag ``FFFF``. Readers
tolerate a missing closing tag, as real streams have them. Records are written with saprfclib's
public :func:`saprfclib.invoke.tlv_record`.
"""

from __future__ import annotations

import struct

from saprfclib.invoke import tlv_record

__all__ = ["ProtocolError", "fixed", "read_text", "record", "single_byte", "text", "walk"]

# Calls and their parameters.
T_CALL_BEGIN = 0x0502
T_RELEASE = 0x000B
T_FUNCTION = 0x0102
T_PARAMETERS = 0x0512
T_DECLARE = 0x0205
T_PARAM_NAME = 0x0201
T_PARAM_VALUE = 0x0203
T_TABLE_NAME = 0x0301
T_TABLE_ID = 0x0330
T_TABLE_SHAPE = 0x0302
T_ROW = 0x0303
T_ROW_LAST = 0x0304
T_ROWS_COMPRESSED = 0x0305
T_TABLE_END = 0x0306
# Replies.
T_REPLY_BEGIN = 0x0500
T_SUCCESS = 0x0503
T_TOKEN = 0x0514
T_RETURN_CODE = 0x0420
T_PROGRAM = 0x0130
T_SERVER_TIME = 0x0667
T_EXCEPTION_KEY = 0x0401
T_MESSAGE = 0x0402
T_MESSAGE_V1 = 0x0411
T_MESSAGE_CLASS = 0x0415
T_MESSAGE_TYPE = 0x0416
T_MESSAGE_NUMBER = 0x0417
T_CALL_STACK = 0x0418
# Logon.
T_CLIENT = 0x0114
T_USER = 0x0111
T_PASSWORD = 0x0117
T_LANGUAGE = 0x0115
T_END = 0xFFFF

_EXTENDED = 0xFFFF


class ProtocolError(ValueError):
    """A frame or record that does not follow the RFC wire format; the connection is closed."""


def record(tag: int, data: bytes = b"") -> bytes:
    """One TLV record (extended length when the data needs it)."""
    return tlv_record(tag, data)


def walk(buffer: bytes, *, max_records: int = 1_000_000) -> list[tuple[int, bytes]]:
    """The records of a TLV stream up to its terminator (excluded); what follows it is ignored.

    Every length is checked against the buffer before it is used, so a hostile length cannot make
    the reader allocate or read past the frame. Raises :class:`ProtocolError` on a record that
    overruns the buffer, on a stream without terminator and past ``max_records`` records.
    """
    records: list[tuple[int, bytes]] = []
    view = memoryview(buffer)
    position, size = 0, len(buffer)
    while True:
        if position + 4 > size:
            raise ProtocolError(f"the TLV stream ends at byte {position} without its terminator")
        start = position
        tag, length = struct.unpack_from(">HH", buffer, position)
        position += 4
        if tag == T_END:
            return records
        if length == _EXTENDED:
            if position + 4 > size:
                raise ProtocolError(f"record {tag:04x} at byte {start}: its extended length is cut off")
            (length,) = struct.unpack_from(">I", buffer, position)
            position += 4
        if position + length > size:
            raise ProtocolError(
                f"record {tag:04x} at byte {start} claims {length} bytes; only {size - position} follow"
            )
        records.append((tag, bytes(view[position : position + length])))
        position += length
        if position + 2 <= size and struct.unpack_from(">H", buffer, position)[0] == tag:
            position += 2
        if len(records) > max_records:
            raise ProtocolError(f"more than {max_records} records in one message")


def text(value: str) -> bytes:
    """A character value as the wire carries it after logon: UTF-16LE."""
    return value.encode("utf-16-le")


def fixed(value: str, width: int) -> bytes:
    """A CHAR(width) value: blank-padded (or cut) to ``width`` characters, UTF-16LE."""
    return value.ljust(width)[:width].encode("utf-16-le")


def single_byte(value: str) -> bytes:
    """A character value in the single-byte form of logon records (Latin-1; others become '?')."""
    return value.encode("latin-1", errors="replace")


def read_text(value: bytes) -> str:
    """A name or text from a record: UTF-16LE when it looks like it, else single-byte; trailing blanks cut."""
    if len(value) >= 2 and len(value) % 2 == 0 and not any(value[1::2]):
        return value.decode("utf-16-le").rstrip(" \x00")
    return value.decode("latin-1").rstrip(" \x00")
