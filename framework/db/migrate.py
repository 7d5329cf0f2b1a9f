"""Schema migrations of the runtime database: Alembic, configured in code, revisions in this package.

The revisions live in ``idocbridge/db/migrations/versions/``, numbered ``0001``, ``0002``, ... (each
names its predecessor in ``down_revision``). They are written by hand with ``op.*`` calls, never
generated from the live table classes, so that an old revision means the same forever. A new one::

    from alembic import command
    from idocbridge.db import alembic_config
    command.revision(alembic_config(), "tRFC outbox", rev_id="0002")

Alembic's version table is ``idocbridge_schema_version``, so a PostgreSQL database shared with other
Alembic users keeps their history apart. On PostgreSQL, an upgrade holds an advisory lock, so that
instances starting together migrate one after the other; on SQLite it holds the write lock. Within
one process, upgrades run one at a time (Alembic's ``context`` is global).
"""

from __future__ import annotations

import threading
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError

from idocbridge.db.engine import begin_write, display_url
from idocbridge.db.errors import DatabaseError

__all__ = ["VERSION_TABLE", "alembic_config", "current_revision", "head_revision", "upgrade"]

VERSION_TABLE = "idocbridge_schema_version"
"""Alembic's version table in the runtime database."""

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
_ALEMBIC = threading.Lock()  # Alembic's ``context`` is one global per process


def alembic_config() -> Config:
    """An Alembic configuration for the packaged migrations (no alembic.ini needed)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("version_locations", str(MIGRATIONS / "versions"))
    config.set_main_option("path_separator", "os")
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Migrate the database of ``engine`` to ``revision`` (the newest by default); idempotent.

    A database that cannot be reached, opened or written raises DatabaseError saying which and why."""
    config = alembic_config()
    try:
        with _ALEMBIC, begin_write(engine) as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, revision)
    except DBAPIError as exc:
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig is not None else type(exc).__name__
        raise DatabaseError(f"the runtime database {display_url(str(engine.url))} cannot be used: {reason}") from None


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at; None for a database that was never migrated."""
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"version_table": VERSION_TABLE})
        return context.get_current_revision()


def head_revision() -> str:
    """The newest revision in the package."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:  # pragma: no cover - the package always holds revisions
        raise RuntimeError("the package holds no migrations")
    return head
