"""The state store keeps each IDoc status record's user (EDIDS-UNAME), also in a database an older simulator wrote."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from idocbridge.sapsim.store import SCHEMA_VERSION, SimulatorStore, StatusRecord, private_folder

_VERSION_1 = """
CREATE TABLE meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE idocs (
    docnum TEXT PRIMARY KEY, tid TEXT, client TEXT NOT NULL, idoctyp TEXT NOT NULL, cimtyp TEXT NOT NULL,
    mestyp TEXT NOT NULL, sndprn TEXT NOT NULL, rcvprn TEXT NOT NULL, control TEXT NOT NULL,
    data TEXT NOT NULL, created_at TEXT NOT NULL);
CREATE TABLE idoc_status (
    docnum TEXT NOT NULL, position INTEGER NOT NULL, status TEXT NOT NULL, text TEXT NOT NULL,
    at TEXT NOT NULL, PRIMARY KEY (docnum, position));
INSERT INTO meta VALUES ('schema', '1');
INSERT INTO idocs VALUES ('0000000000000007', NULL, '100', 'TXTRAW01', '', 'TXTRAW', 'LEGACY', 'SIMCLNT100',
    '{}', '[]', '2025-01-01T00:00:00+00:00');
INSERT INTO idoc_status VALUES ('0000000000000007', 1, '50', 'IDoc added', '2025-01-01T00:00:00+00:00');
INSERT INTO idoc_status VALUES ('0000000000000007', 2, '64', 'IDoc ready to be transferred to application',
    '2025-01-01T00:00:01+00:00');
"""


def test_an_older_database_is_upgraded_and_keeps_its_idocs(tmp_path: Path) -> None:
    private_folder(tmp_path / "state")
    path = tmp_path / "state" / "sim.db"
    with sqlite3.connect(path) as old:
        old.executescript(_VERSION_1)
    old.close()
    path.chmod(0o600)
    store = SimulatorStore(path)
    try:
        waiting = store.idocs_at_status("64")
        with store.transaction():
            store.add_status("0000000000000007", "62", "IDoc passed to application", "IDOCUSER")
        record = store.idoc("7")
        version = store._db.execute("SELECT value FROM meta WHERE name = 'schema'").fetchone()[0]
    finally:
        store.close()
    assert waiting == [("0000000000000007", "TXTRAW", "2025-01-01T00:00:01+00:00", "")]
    assert record is not None and record.statuses[0] == StatusRecord("50", "IDoc added", "2025-01-01T00:00:00+00:00")
    assert (record.status, record.statuses[-1].uname, int(version)) == ("62", "IDOCUSER", SCHEMA_VERSION)
