"""The runtime database: engines (SQLite in WAL mode, or PostgreSQL), and its Alembic migrations.

One database holds the runtime's state (transaction log, tRFC outbox). Typical start-up::

    engine = create_engine_for(database_url_for_state(state_dir))  # or a postgresql+psycopg:// URL
    upgrade(engine)
"""

from __future__ import annotations

from idocbridge.db.engine import (
    DATABASE_FILE,
    begin_write,
    create_engine_for,
    database_url_for_state,
    display_url,
    sqlite_path,
)
from idocbridge.db.errors import DatabaseError, DatabaseNotFoundError
from idocbridge.db.migrate import VERSION_TABLE, alembic_config, current_revision, head_revision, upgrade
from idocbridge.db.writer import SerialWriter, serial_writer, write

__all__ = [
    "DATABASE_FILE",
    "VERSION_TABLE",
    "DatabaseError",
    "DatabaseNotFoundError",
    "SerialWriter",
    "alembic_config",
    "begin_write",
    "create_engine_for",
    "current_revision",
    "database_url_for_state",
    "display_url",
    "head_revision",
    "serial_writer",
    "sqlite_path",
    "upgrade",
    "write",
]
