"""Fixtures: a migrated SQLite runtime database, and entries with sensible defaults."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from idocbridge.db import create_engine_for, database_url_for_state, upgrade
from idocbridge.tlog import LogEntry

T0 = datetime(2015, 12, 8, 15, 47, 24, tzinfo=UTC)
TID = "0000000182469dcd0001612899fea700e3d869aa"


def make_entry(**fields: Any) -> LogEntry:
    """An entry of a service request; ``seconds`` shifts its time from T0."""
    seconds = fields.pop("seconds", 0)
    values: dict[str, Any] = {
        "at": T0 + timedelta(seconds=seconds),
        "transaction_id": TID,
        "request_id": 3,
        "component": "urn:IDocInterface.SendAnyIDoc",
        "elapsed_ms": 0,
        "state": "OK",
        "domain": "INTERFACE",
        "log_type": "SERVICE_ENTER",
    }
    values.update(fields)
    return LogEntry(**values)


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    """A migrated SQLite database in a fresh state folder."""
    created = create_engine_for(database_url_for_state(tmp_path / "state"))
    upgrade(created)
    yield created
    created.dispose()


def upgrade_in_processes(url: str, processes: int = 4) -> list[str]:
    """Run ``upgrade`` in several fresh processes that start it at the same instant; their stderr."""
    start = time.time() + 2.0
    script = (
        "import sys, time; from idocbridge.db import create_engine_for, upgrade; "
        "engine = create_engine_for(sys.argv[1]); time.sleep(max(0.0, float(sys.argv[2]) - time.time())); "
        "upgrade(engine)"
    )
    children = [
        subprocess.Popen([sys.executable, "-c", script, url, str(start)], stderr=subprocess.PIPE, text=True)
        for _ in range(processes)
    ]
    outcomes = [(child.communicate(timeout=60)[1], child.returncode) for child in children]
    return [stderr for stderr, code in outcomes if code != 0]
