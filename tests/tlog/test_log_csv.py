"""``idocbridge log --format csv``: a header, one row per entry, every field, UTC unless --timezone."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from sqlalchemy import Engine
from typer.testing import CliRunner

from idocbridge.cli.log import log_app
from idocbridge.tlog import TransactionLog
from idocbridge.tlog.csv_format import CSV_FIELDS
from tests.tlog.conftest import TID, make_entry

SAP_TID = "0A0B0C0D0E0F101112131415"


def _state(engine: Engine, tmp_path: Path) -> Path:
    with TransactionLog(engine) as log:
        log.record(make_entry(service="IDocService", operation="Send"))
        log.record(
            make_entry(seconds=1, domain="SAPRFC", log_type="IO_EXIT", correlation_id=SAP_TID, param2='a, "b"\nc')
        )
    return tmp_path / "state"


def test_csv_has_a_header_and_every_field(engine: Engine, tmp_path: Path) -> None:
    result = CliRunner().invoke(log_app, ["--state", str(_state(engine, tmp_path)), "--format", "csv"])
    assert result.exit_code == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert list(rows[0]) == list(CSV_FIELDS)
    assert len(rows) == 2
    assert rows[0]["at"] == "2015-12-08T15:47:24+00:00", "UTC by default"
    assert (rows[0]["transaction_id"], rows[0]["request_id"], rows[0]["service"]) == (TID, "3", "IDocService")
    assert (rows[0]["correlation_id"], rows[1]["service"]) == ("", "")
    assert rows[1]["param2"] == 'a, "b"\nc' and rows[1]["correlation_id"] == SAP_TID


def test_csv_times_follow_the_timezone_and_an_empty_result_is_just_the_header(engine: Engine, tmp_path: Path) -> None:
    state = _state(engine, tmp_path)
    result = CliRunner().invoke(log_app, ["--state", str(state), "-f", "csv", "--timezone", "Europe/Berlin"])
    assert result.stdout.splitlines()[1].startswith("2015-12-08T16:47:24+01:00,")
    result = CliRunner().invoke(log_app, ["--state", str(state), "-f", "csv", "--service", "none"])
    assert result.exit_code == 0 and result.stdout == ",".join(CSV_FIELDS) + "\n"
