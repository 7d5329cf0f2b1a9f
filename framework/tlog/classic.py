"""The reference runtime's one-line format of a log entry (SAP-FACTS §1, §5), and a parser for it.

Layout, fields separated by one blank::

    DATE TIME OFFSET TRANSACTION_ID REQUEST_ID COMPONENT ELAPSED STATE DOMAIN LOG_TYPE [PARAM1 [PARAM2 [CORRELATION]]]

- DATE TIME OFFSET: ``2015-12-08 16:47:24 +0100``, whole seconds, in the time zone asked for;
- ELAPSED is left-aligned in 4 columns and LOG_TYPE in 8 (longer values take the room they need):
  ``0    OK`` and ``IO_EXIT  PoolExhausted``, as the reference prints them;
- the optional columns are positional: trailing empty ones are left out, an empty one before a
  present one is written ``""`` (a correlation ID without parameters: ``IO_EXIT  "" "" 0A1B...``);
- a parameter that is empty, holds a blank or a non-printable character, or starts with ``"`` is
  written as a JSON string (``"Pool exhausted"``, ``"line\\nbreak"``), so that one entry is always
  one line and every line reads back;
- a line without optional columns has no trailing blanks.

The service and operation are not part of the line; the parser leaves them None.
"""

from __future__ import annotations

import json
import re
from datetime import datetime, tzinfo
from typing import cast

from idocbridge.tlog.entry import LogEntry, LogState

__all__ = ["format_classic", "parse_classic"]

_HEAD = re.compile(
    r"(?P<date>\d{4}-\d{2}-\d{2})[ \t]+(?P<time>\d{2}:\d{2}:\d{2})[ \t]+(?P<offset>[+-]\d{4}(?:\d{2})?)[ \t]+"
    r"(?P<transaction_id>\S+)[ \t]+(?P<request_id>\d+)[ \t]+(?P<component>\S+)[ \t]+(?P<elapsed_ms>\d+)[ \t]+"
    r"(?P<state>OK|ERROR)[ \t]+(?P<domain>\S+)[ \t]+(?P<log_type>\S+)(?:[ \t]+(?P<rest>.*))?"
)
_COLUMN = re.compile(r'"(?:[^"\\]|\\.)*"|[^\s"]\S*')
_GAP = re.compile(r"[ \t]+")


def format_classic(entry: LogEntry, tz: tzinfo | None = None) -> str:
    """``entry`` as one line of the reference runtime's transaction log, its time in ``tz`` (None: local)."""
    at = entry.at.astimezone(tz)
    head = (
        f"{at:%Y-%m-%d %H:%M:%S %z} {entry.transaction_id} {entry.request_id} {entry.component} "
        f"{entry.elapsed_ms:<4} {entry.state} {entry.domain} {entry.log_type:<8}"
    )
    optional = [entry.param1, entry.param2, entry.correlation_id or ""]
    while optional and not optional[-1]:
        optional.pop()
    if not optional:
        return head.rstrip(" ")
    return f"{head} {' '.join(_column(value) for value in optional)}"


def parse_classic(line: str) -> LogEntry:
    """The entry of a line written by :func:`format_classic`; ValueError if it is not such a line."""
    match = _HEAD.fullmatch(line.rstrip("\r\n"))
    if match is None:
        raise ValueError(f"not a transaction-log line: {line!r}")
    fields = match.groupdict()
    optional = _columns(fields["rest"] or "", line)
    param1, param2, correlation_id = [*optional, "", "", ""][:3]
    at = datetime.strptime(f"{fields['date']} {fields['time']} {fields['offset']}", "%Y-%m-%d %H:%M:%S %z")
    return LogEntry(
        at=at,
        transaction_id=fields["transaction_id"],
        request_id=int(fields["request_id"]),
        component=fields["component"],
        elapsed_ms=int(fields["elapsed_ms"]),
        state=cast(LogState, fields["state"]),
        domain=fields["domain"],
        log_type=fields["log_type"],
        param1=param1,
        param2=param2,
        correlation_id=correlation_id or None,
    )


def _column(value: str) -> str:
    if value and value.isprintable() and " " not in value and not value.startswith('"'):
        return value
    return '"' + "".join(_escape(char) for char in value) + '"'


_SHORT_ESCAPES = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape(char: str) -> str:
    """A character inside a JSON string, in ASCII unless it is printable."""
    if char in _SHORT_ESCAPES:
        return _SHORT_ESCAPES[char]
    if char.isprintable():
        return char
    code = ord(char)
    if code > 0xFFFF:  # a surrogate pair, as JSON writes it
        code -= 0x10000
        return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"
    return f"\\u{code:04x}"


def _columns(rest: str, line: str) -> list[str]:
    values: list[str] = []
    position = 0
    rest = rest.rstrip(" \t")
    while position < len(rest):
        match = _COLUMN.match(rest, position)
        if match is None or len(values) == 3:
            raise ValueError(f"not a transaction-log line (after the log type): {line!r}")
        token = match.group()
        values.append(json.loads(token) if token.startswith('"') else token)
        position = match.end()
        gap = _GAP.match(rest, position)
        if gap is None and position < len(rest):
            raise ValueError(f"not a transaction-log line (columns run together): {line!r}")
        position = gap.end() if gap else position
    return values
