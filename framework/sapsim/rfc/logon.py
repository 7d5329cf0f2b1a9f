"""The RFC logon: the client's logon records, its scrambled password, and the accepted/refused replies.

Logon records are single-byte text (the code page is agreed only by this exchange). The password
record (0117) is a 4-byte seed and the password XOR-ed with a key stream derived from the seed and
a fixed 64-byte table; the scramble is its own inverse. The accepted reply carries the system's
identity in UTF-16LE and the result of the RFCPING the logon runs; the refused reply has the shape
SAP sends for a wrong password, which both client libraries understand.
"""

from __future__ import annotations

import struct
import time
from dataclasses import dataclass, field

from idocbridge.sapsim.rfc.tlv import (
    T_CLIENT,
    T_FUNCTION,
    T_LANGUAGE,
    T_PASSWORD,
    T_USER,
    fixed,
    read_text,
    record,
    single_byte,
    text,
    walk,
)

__all__ = ["LogonRequest", "SystemIdentity", "accepted", "parse_logon", "refused", "unscramble"]

_KEY_TABLE = bytes.fromhex(
    "f0ed53b83244f1f876c67959fd4f13a2c15195ec5483c234774943a27de26596"
    "5e5398789a17a33cd383a8b829fbdca555d702778413acddf9b83116610e6dfa"
)
_MASK32 = 0xFFFFFFFF


def unscramble(value: bytes) -> str:
    """The password of a 0117 record (seed, then the scrambled single-byte password)."""
    if len(value) < 4:
        return ""
    (seed,) = struct.unpack_from("<I", value, 0)
    data = bytearray(value[4:])
    key = ((seed >> 5) ^ (seed * 2) ^ seed) & 0x3F
    step = _MASK32
    for index in range(len(data)):
        data[index] ^= (((step * index) & _MASK32) ^ _KEY_TABLE[key]) & 0xFF
        key = (key + 1) & 0x3F
        step = (step + seed) & _MASK32
    return data.decode("latin-1")


@dataclass(frozen=True)
class LogonRequest:
    """What the logon frame asks for. ``password`` is never logged."""

    client: str
    user: str
    password: str = field(repr=False)
    language: str
    function: str

    def as_message(self) -> dict[str, str]:
        """The engine's logon message."""
        return {"client": self.client, "user": self.user, "password": self.password, "language": self.language}


def parse_logon(tlv: bytes) -> LogonRequest:
    """Read client, user, password, language and the function the logon runs (RFCPING)."""
    records: dict[int, bytes] = {}
    for tag, value in walk(tlv, max_records=1000):
        records.setdefault(tag, value)
    return LogonRequest(
        client=read_text(records.get(T_CLIENT, b"")),
        user=read_text(records.get(T_USER, b"")),
        password=unscramble(records.get(T_PASSWORD, b"")),
        language=read_text(records.get(T_LANGUAGE, b"")) or "E",
        function=read_text(records.get(T_FUNCTION, b"")),
    )


@dataclass(frozen=True)
class SystemIdentity:
    """What the accepted logon tells the client about the system."""

    system_id: str
    system_number: str
    host: str
    release: str


_CAPABILITIES = record(0x0103, bytes.fromhex("00000e0b"))


def accepted(system: SystemIdentity, user: str, client: str, language: str, token: bytes) -> bytes:
    """The TLV stream of an accepted logon, with the RFCPING's success reply."""
    host = system.host
    return b"".join(
        [
            record(0x0101, bytes.fromhex("0101010504010003")),
            _CAPABILITIES,
            record(0x0106, bytes.fromhex("0401000300030200000023")),
            record(0x0161, b"\x01"),
            record(0x0016, text("1100")),
            record(0x0450, text(system.system_id)),
            record(0x0451, fixed(f"{host}_{system.system_id}_{system.system_number}", 32)),
            record(0x0452, text(system.system_number)),
            record(0x0453, fixed(host, 32)),
            record(0x0007, fixed("127.0.0.1", 15)),
            record(0x0018, fixed("127.0.0.1", 15)),
            record(0x0008, text(f"{host}_{system.system_id}_{system.system_number}")),
            record(0x0011, text("3")),
            record(0x0013, text("793 ")),
            record(0x0012, text(f"{system.release[:3]:<4}")),
            record(0x0006, text(host)),
            record(0x0130, text("SAPLSYSU")),
            record(0x0150, fixed(user.upper(), 12)),
            record(0x0151, text(client)),
            record(0x0152, text(language[:1])),
            record(0x0500),
            record(0x0503),
            record(0x0514, token),
            record(0x0420, b"\x00\x00\x00\x00"),
            record(0x0512),
            record(0x0130, fixed("SAPLSYSU", 40)),
            record(0x0667, struct.pack("<d", time.time() * 1e6 % 1e9)),
            record(0xFFFF),
        ]
    )


def refused(system: SystemIdentity, message: str) -> bytes:
    """The TLV stream of a refused logon: single-byte records, the reason in 0402, no return code."""
    return b"".join(
        [
            record(0x0101, bytes.fromhex("0101010101010000")),
            _CAPABILITIES,
            record(0x0106, bytes.fromhex("0401000300030200000023")),
            record(0x0161, b"\x00"),
            record(0x0016, b"1100"),
            record(0x0450, single_byte(system.system_id)),
            record(0x0008, single_byte(f"{system.host}_{system.system_id}_{system.system_number}")),
            record(0x0011, b"3"),
            record(0x0130, b"SAPMSSY1"),
            record(0x0500),
            record(0x0402, single_byte(message)),
            record(0xFFFF),
        ]
    )
