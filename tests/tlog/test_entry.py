"""Log entries check their fields; transaction IDs; which log types each level records."""

from __future__ import annotations

import re
from dataclasses import fields
from datetime import datetime
from typing import Any

import pytest

from idocbridge.models.composite import LOG_LEVELS
from idocbridge.tlog import LogType, level_of, new_transaction_id, records
from tests.tlog.conftest import make_entry


def test_new_transaction_ids_are_40_hex_digits_unique_and_ordered_by_time() -> None:
    ids = [new_transaction_id() for _ in range(10_000)]
    assert all(re.fullmatch(r"[0-9a-f]{40}", tid) for tid in ids)
    assert len(set(ids)) == len(ids)
    assert ids == sorted(ids), "the first 24 digits (time, counter) order them"


@pytest.mark.parametrize(
    ("level", "expected"),
    [
        ("None", set()),
        ("Custom", {"CUSTOM", "MY_EVENT"}),
        ("Service", {"CUSTOM", "MY_EVENT", "SERVICE_ENTER", "SERVICE_EXIT", "TRANSITION_ENTER", "TRANSITION_EXIT"}),
        ("IO", {*LogType, "MY_EVENT"}),
    ],
)
def test_levels_are_cumulative(level: Any, expected: set[str]) -> None:
    assert {t for t in [*LogType, "MY_EVENT"] if records(level, t)} == expected


def test_each_log_type_has_a_level_and_user_types_count_as_custom() -> None:
    assert [level_of(t) for t in LogType] == ["Service", "Service", "IO", "IO", "Service", "Service", "Custom"]
    assert level_of("ORDER_RECEIVED") == "Custom"
    assert LOG_LEVELS == ("None", "Custom", "Service", "IO")


def test_an_entry_normalises_enum_members_to_plain_strings() -> None:
    entry = make_entry(log_type=LogType.IO_EXIT)
    assert type(entry.log_type) is str and entry.log_type == "IO_EXIT"
    assert entry == make_entry(log_type="IO_EXIT")


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("at", datetime(2015, 12, 8, 16, 47, 24), "timezone-aware"),
        ("transaction_id", "", "transaction ID"),
        ("transaction_id", "a" * 41, "transaction ID"),
        ("transaction_id", "has blank", "transaction ID"),
        ("transaction_id", "äöü", "transaction ID"),
        ("request_id", -1, "request ID"),
        ("request_id", True, "request ID"),
        ("elapsed_ms", 1.5, "elapsed time"),
        ("state", "WARN", "OK or ERROR"),
        ("component", "two words", "component"),
        ("component", "", "component"),
        ("domain", "tab\there", "domain"),
        ("log_type", "x" * 41, "log type"),
        ("correlation_id", "", "correlation ID"),
        ("correlation_id", "line\nbreak", "correlation ID"),
        ("service", "", "service"),
        ("operation", "nul\x00", "operation"),
    ],
)
def test_a_bad_field_is_refused_with_its_name(field: str, value: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        make_entry(**{field: value})


def test_parameters_are_free_text_and_as_dict_is_json_ready() -> None:
    entry = make_entry(param1="Pool exhausted\n", param2="\x00", correlation_id="0A0B0C0D0E0F101112131415")
    data = entry.as_dict()
    assert data["at"] == "2015-12-08T15:47:24+00:00"
    assert data["param1"] == "Pool exhausted\n" and data["correlation_id"] == "0A0B0C0D0E0F101112131415"
    assert set(data) == {field.name for field in fields(entry)}
