"""Alembic environment: run by :func:`idocbridge.db.upgrade` with a connection in ``config.attributes``.

Without one (plain ``alembic`` use), it opens ``sqlalchemy.url``; offline it writes SQL.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection, text

from idocbridge.db.engine import begin_write, create_engine_for
from idocbridge.db.migrate import VERSION_TABLE

_ADVISORY_LOCK = 0x1D0CB41D9E  # pg_advisory_xact_lock key: "idocbridge migrations"


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        version_table=VERSION_TABLE,
        transactional_ddl=True,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _ADVISORY_LOCK})
        context.run_migrations()


def _main() -> None:
    config = context.config
    if context.is_offline_mode():
        context.configure(url=config.get_main_option("sqlalchemy.url"), version_table=VERSION_TABLE, literal_binds=True)
        with context.begin_transaction():
            context.run_migrations()
        return
    connection = config.attributes.get("connection")
    if isinstance(connection, Connection):
        _run(connection)
        return
    url = config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("give the migrations a connection (idocbridge.db.upgrade) or sqlalchemy.url")
    engine = create_engine_for(url)
    try:
        with begin_write(engine) as opened:
            _run(opened)
    finally:
        engine.dispose()


_main()
