"""idocbridge tx as an operator uses it on a service's state folder: states in any case, many entries retried
at once by state (and since when), each one's fate said."""

from __future__ import annotations

import subprocess
import sys
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from idocbridge.db import create_engine_for
from idocbridge.db.engine import database_url_for_state
from idocbridge.db.migrate import upgrade
from idocbridge.transactions import OutboxState, OutboxStore
from tests.transactions.conftest import new_entry

LEASE = timedelta(seconds=60)


def _failed_entries(state: Path, count: int) -> list[str]:
    """``count`` entries that ended FAILED in the outbox of the state folder ``state`` (made and migrated)."""
    state.mkdir(parents=True, exist_ok=True)
    engine = create_engine_for(database_url_for_state(state))
    upgrade(engine)
    store = OutboxStore(engine)
    ids = []
    for _ in range(count):
        entry_id = store.accept(new_entry()).entry.id
        store.claim("w1", datetime.now(UTC), 1, LEASE)
        store.assign_tid(entry_id, "w1", uuid.uuid4().hex[:24].upper())
        store.mark_failed(entry_id, "w1", "function not found", "FUNCTION_NOT_FOUND")
        ids.append(entry_id)
    engine.dispose()
    return ids


def _tx(state: Path, *arguments: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "idocbridge", "tx", *arguments, "--state", str(state)]
    return subprocess.run(command, check=False, capture_output=True, text=True, timeout=120)


def _states(state: Path) -> list[OutboxState]:
    engine = create_engine_for(database_url_for_state(state))
    try:
        return [entry.state for entry in OutboxStore(engine).list(limit=100)]
    finally:
        engine.dispose()


def test_list_takes_a_state_in_any_case(tmp_path: Path) -> None:
    (entry_id,) = _failed_entries(tmp_path / "state", 1)
    for spelled in ("FAILED", "failed", "Failed"):
        listed = _tx(tmp_path / "state", "list", "--status", spelled, "--json")
        assert listed.returncode == 0, listed.stderr
        assert entry_id in listed.stdout


def test_retry_by_state_retries_every_failed_entry_and_counts_them(tmp_path: Path) -> None:
    state = tmp_path / "state"
    ids = _failed_entries(state, 3)
    retried = _tx(state, "retry", "--status", "failed")
    assert retried.returncode == 0, retried.stderr
    assert all(f"{entry_id}: RETRY_WAIT, due now" in retried.stdout for entry_id in ids)
    assert "3 of 3 FAILED entries retried" in retried.stdout
    assert _states(state) == [OutboxState.RETRY_WAIT] * 3


def test_retry_by_state_since_a_time_to_come_retries_nothing(tmp_path: Path) -> None:
    state = tmp_path / "state"
    _failed_entries(state, 2)
    later = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    retried = _tx(state, "retry", "--status", "FAILED", "--since", later)
    assert retried.returncode == 0, retried.stderr
    assert "0 of 0 FAILED entries retried" in retried.stdout
    assert _states(state) == [OutboxState.FAILED] * 2


def test_retry_takes_several_ids_at_once(tmp_path: Path) -> None:
    state = tmp_path / "state"
    ids = _failed_entries(state, 2)
    retried = _tx(state, "retry", *ids)
    assert retried.returncode == 0, retried.stderr
    assert _states(state) == [OutboxState.RETRY_WAIT] * 2


def test_retry_says_how_to_name_what_to_retry(tmp_path: Path) -> None:
    state = tmp_path / "state"
    (entry_id,) = _failed_entries(state, 1)
    for arguments in ([], [entry_id, "--status", "FAILED"], ["--since", "2026-01-01"]):
        refused = _tx(state, "retry", *arguments)
        assert refused.returncode == 2
        assert (
            refused.stderr.strip()
            == "error: name the entries (IDs or TIDs), or give --status STATE [--since TIME]; not both"
        )
    unreadable = _tx(state, "retry", "--status", "FAILED", "--since", "yesterday")
    assert unreadable.returncode == 2 and "--since 'yesterday' is no ISO time" in unreadable.stderr
