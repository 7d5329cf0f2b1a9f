"""The reference runtime's line format: exact strings (SAP-FACTS §1) and a parser that reads it back."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from idocbridge.tlog import LogEntry, format_classic, parse_classic
from tests.tlog.conftest import TID, make_entry

CET = timezone(timedelta(hours=1))


def _pool(elapsed: int, log_type: str, seconds: int) -> LogEntry:
    return make_entry(
        component="SAPConnectionPool",
        elapsed_ms=elapsed,
        domain="SAPRFC",
        log_type=log_type,
        param1="PoolExhausted",
        seconds=seconds,
    )


def test_pool_waits_print_exactly_as_the_reference_runtime() -> None:
    assert format_classic(_pool(0, "IO_ENTER", 0), CET) == (
        "2015-12-08 16:47:24 +0100 0000000182469dcd0001612899fea700e3d869aa 3 SAPConnectionPool 0    OK "
        "SAPRFC IO_ENTER PoolExhausted"
    )
    assert format_classic(_pool(1000, "IO_EXIT", 1), CET) == (
        "2015-12-08 16:47:25 +0100 0000000182469dcd0001612899fea700e3d869aa 3 SAPConnectionPool 1000 OK "
        "SAPRFC IO_EXIT  PoolExhausted"
    )


def test_layout_of_optional_columns_padding_and_time_zones() -> None:
    head = f"2015-12-08 15:47:24 +0000 {TID} 3 urn:IDocInterface.SendAnyIDoc"
    assert format_classic(make_entry(), UTC) == f"{head} 0    OK INTERFACE SERVICE_ENTER"
    assert format_classic(make_entry(log_type="CUSTOM"), UTC) == f"{head} 0    OK INTERFACE CUSTOM"
    assert format_classic(make_entry(elapsed_ms=123456, state="ERROR"), UTC) == (
        f"{head} 123456 ERROR INTERFACE SERVICE_ENTER"
    )
    tid = "0A0B0C0D0E0F101112131415"
    sap = make_entry(domain="SAPRFC", log_type="IO_EXIT", correlation_id=tid)
    assert format_classic(sap, UTC) == f'{head} 0    OK SAPRFC IO_EXIT  "" "" {tid}'
    assert format_classic(replace(sap, param1="IDOC_INBOUND_ASYNCHRONOUS"), UTC).endswith(
        f'IO_EXIT  IDOC_INBOUND_ASYNCHRONOUS "" {tid}'
    )
    assert format_classic(replace(sap, param2="TXTRAW01", correlation_id=None), UTC).endswith('IO_EXIT  "" TXTRAW01')
    berlin = format_classic(make_entry(seconds=200 * 86400), ZoneInfo("Europe/Berlin"))
    assert berlin.startswith("2016-06-25 17:47:24 +0200 "), "summer time"


@pytest.mark.parametrize(
    ("value", "written"),
    [
        ("Pool exhausted", '"Pool exhausted"'),
        ('"quoted"', '"\\"quoted\\""'),
        ('in"side', 'in"side'),
        ("back\\slash", "back\\slash"),
        ("two\nlines\r\tand\x00nul", '"two\\nlines\\r\\tand\\u0000nul"'),
        ("nbsp\u00a0and\u2028sep\x7f", '"nbsp\\u00a0and\\u2028sep\\u007f"'),
        ("Müller✓", "Müller✓"),
    ],
)
def test_parameters_with_blanks_or_control_characters_are_json_strings(value: str, written: str) -> None:
    line = format_classic(make_entry(param1=value), UTC)
    assert line.endswith(f" SERVICE_ENTER {written}")
    assert "\n" not in line and "\r" not in line and "\u2028" not in line
    assert parse_classic(line).param1 == value


def _seconds(entry: LogEntry) -> LogEntry:
    return replace(entry, at=entry.at.replace(microsecond=0), service=None, operation=None)


_text = st.text(st.characters(codec="utf-8"), max_size=30)
_word = st.text(st.characters(min_codepoint=33, max_codepoint=126), min_size=1, max_size=40)


@given(
    param1=_text, param2=_text, correlation=st.none() | _word, elapsed=st.integers(0, 10**9), hours=st.integers(-12, 14)
)
def test_every_entry_reads_back(param1: str, param2: str, correlation: str | None, elapsed: int, hours: int) -> None:
    zone = timezone(timedelta(hours=hours))
    entry = make_entry(
        param1=param1, param2=param2, correlation_id=correlation, elapsed_ms=elapsed, service="S", operation="O"
    )
    line = format_classic(entry, zone)
    assert len(line.splitlines()) == 1
    parsed = parse_classic(line)
    assert parsed == _seconds(entry)
    assert parsed.at.utcoffset() == timedelta(hours=hours)


def test_the_reference_lines_parse() -> None:
    line = (
        "2015-12-08 16:47:25 +0100 0000000182469dcd0001612899fea700e3d869aa 3 SAPConnectionPool 1000 OK "
        "SAPRFC IO_EXIT  PoolExhausted\n"
    )
    assert parse_classic(line) == replace(_pool(1000, "IO_EXIT", 1), at=_pool(0, "IO_EXIT", 1).at.astimezone(CET))


@pytest.mark.parametrize(
    "line",
    [
        "",
        "2015-12-08 16:47:25 +0100 tid 3 C 1 MAYBE SAPRFC IO_EXIT",
        "2015-12-08 16:47:25 tid 3 C 1 OK SAPRFC IO_EXIT",
        "2015-12-08 16:47:25 +0100 tid 3 C 1 OK SAPRFC IO_EXIT a b c d",
        '2015-12-08 16:47:25 +0100 tid 3 C 1 OK SAPRFC IO_EXIT "unterminated',
        '2015-12-08 16:47:25 +0100 tid 3 C 1 OK SAPRFC IO_EXIT "a"b',
    ],
)
def test_other_lines_are_refused(line: str) -> None:
    with pytest.raises(ValueError, match="not a transaction-log line"):
        parse_classic(line)
