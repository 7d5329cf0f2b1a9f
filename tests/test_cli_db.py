"""idocbridge db current|check|upgrade on a service's state folder and by URL, as before a rollout."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import text

from idocbridge.db import create_engine_for
from idocbridge.db.engine import database_url_for_state
from idocbridge.db.migrate import head_revision, upgrade


def _db(*arguments: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "idocbridge", "db", *arguments]
    return subprocess.run(command, check=False, capture_output=True, text=True, timeout=120)


def test_upgrade_creates_and_migrates_then_check_and_current_say_so(tmp_path: Path) -> None:
    state = tmp_path / "state"
    assert _db("check", "--state", str(state)).returncode == 1  # no database yet
    upgraded = _db("upgrade", "--state", str(state))
    assert upgraded.returncode == 0, upgraded.stderr
    assert upgraded.stdout.strip() == f"migrated from nothing to {head_revision()}"
    assert _db("upgrade", "--state", str(state)).stdout.strip() == f"already up to date: {head_revision()}"
    checked = _db("check", "--state", str(state))
    assert (checked.returncode, checked.stdout.strip()) == (0, f"up to date: {head_revision()}")
    assert _db("current", "--state", str(state)).stdout.strip() == f"at {head_revision()}; newest {head_revision()}"


def test_check_fails_for_a_database_behind_and_says_what_to_run(tmp_path: Path) -> None:
    state = tmp_path / "state"
    state.mkdir()
    engine = create_engine_for(database_url_for_state(state))
    upgrade(engine, "0001")  # the first migration only: an older version's database
    engine.dispose()
    checked = _db("check", "--state", str(state))
    assert checked.returncode == 1
    assert checked.stderr.strip() == (f"error: the database is at 0001, this version needs {head_revision()}: run "
                                      "idocbridge db upgrade with the same --state or --db")  # fmt: skip
    assert _db("upgrade", "--state", str(state)).stdout.strip() == f"migrated from 0001 to {head_revision()}"
    assert _db("check", "--state", str(state)).returncode == 0


def test_a_database_by_url(tmp_path: Path) -> None:
    url = os.environ.get("IDOCBRIDGE_TEST_DATABASE_URL") or f"sqlite:///{tmp_path / 'by-url.db'}"
    if url.startswith("postgresql"):
        engine = create_engine_for(url)
        with engine.begin() as connection:  # a schema of its own, so that other tests' tables stay as they are
            connection.execute(text("DROP SCHEMA IF EXISTS idocbridge_cli_db CASCADE"))
            connection.execute(text("CREATE SCHEMA idocbridge_cli_db"))
        engine.dispose()
        url += ("&" if "?" in url else "?") + "options=-csearch_path%3Didocbridge_cli_db"
    upgraded = _db("upgrade", "--db", url)
    assert upgraded.returncode == 0, upgraded.stderr
    assert _db("check", "--db", url).returncode == 0


@pytest.mark.parametrize("arguments", [["check"], ["current", "--state", "x", "--db", "sqlite://"]])
def test_one_of_state_or_db_is_needed(arguments: list[str]) -> None:
    refused = _db(*arguments)
    assert refused.returncode == 2
    assert refused.stderr.strip() == "error: say which database: --state DIR (the service's state folder) or --db URL"
