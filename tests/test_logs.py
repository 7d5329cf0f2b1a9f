"""The service's own log lines: time, level, logger and the request's transaction ID, as text or JSON."""

from __future__ import annotations

import io
import json
import logging
import re
import time
from collections.abc import Iterator

import pytest

from idocbridge import logs
from idocbridge.tlog.context import RequestContext, request_scope


@pytest.fixture
def captured() -> Iterator[io.StringIO]:
    """The stream the tests configure the log to write to; the root logger as it was afterwards."""
    stream = io.StringIO()
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    yield stream
    root.handlers[:] = saved[0]
    root.setLevel(saved[1])


def test_a_text_line_has_time_level_logger_and_the_transaction(captured: io.StringIO) -> None:
    logs.configure("INFO", "text", captured)
    with request_scope(RequestContext("0" * 40, 7, "Service", "Operation")):
        logging.getLogger("idocbridge.soap").info("inside %s", "a request")
    logging.getLogger("idocbridge.soap").warning("outside")
    logging.getLogger("idocbridge.soap").debug("below the level")
    inside, outside = captured.getvalue().splitlines()
    assert re.fullmatch(rf"\d{{4}}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{{3}}Z INFO idocbridge.soap \[tx {'0' * 40}\] "
                        "inside a request", inside)  # fmt: skip
    assert outside.endswith("Z WARNING idocbridge.soap outside")


def test_json_lines_carry_the_same_as_fields(captured: io.StringIO) -> None:
    logs.configure("debug", "json", captured)
    with request_scope(RequestContext("1" * 40, 8, "Service", "Operation")):
        logging.getLogger("idocbridge.transactions").error("failed: %d", 3)
    (line,) = captured.getvalue().splitlines()
    entry = json.loads(line)
    assert (entry["level"], entry["logger"], entry["message"], entry["transactionId"]) == (
        "ERROR",
        "idocbridge.transactions",
        "failed: 3",
        "1" * 40,
    )
    assert entry["time"].endswith("Z")


def test_the_access_line_names_the_request_without_its_content(captured: io.StringIO) -> None:
    logs.configure("INFO", "text", captured)
    logs.access("POST", "/IDocService", 200, time.perf_counter(), "SendTextIDoc", "ok", "2" * 40)
    (line,) = captured.getvalue().splitlines()
    assert re.search(rf"INFO idocbridge.access \[tx {'2' * 40}\] POST /IDocService 200 \d+\.\d ms SendTextIDoc ok$",
                     line), line  # fmt: skip


def test_the_scheduler_speaks_at_warning_at_the_least(captured: io.StringIO) -> None:
    logs.configure("DEBUG", "text", captured)
    logging.getLogger("apscheduler.scheduler").info("Running job ... (scheduled at ...)")
    logging.getLogger("apscheduler.scheduler").warning("maximum number of running instances reached")
    assert captured.getvalue().count("\n") == 1 and "maximum number" in captured.getvalue()


@pytest.mark.parametrize(("level", "style"), [("LOUD", "text"), ("INFO", "xml")])
def test_an_unknown_level_or_format_is_refused(level: str, style: str) -> None:
    with pytest.raises(ValueError, match="unknown log"):
        logs.configure(level, style)  # type: ignore[arg-type]


def test_a_message_with_line_breaks_stays_one_line(captured: io.StringIO) -> None:
    logs.configure("INFO", "text", captured)
    logging.getLogger("idocbridge.soap").warning("first\n2030-01-01T00:00:00.000Z ERROR forged\r")
    (line,) = captured.getvalue().splitlines()
    assert line.endswith("WARNING idocbridge.soap first\\n2030-01-01T00:00:00.000Z ERROR forged\\r")
