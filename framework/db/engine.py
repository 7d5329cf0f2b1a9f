"""Engines for the runtime database: SQLite (the embedded default) or PostgreSQL through psycopg 3.

SQLite connections get WAL mode (readers never block the writer), foreign keys, a busy timeout and
``synchronous=FULL``: every commit is synced to disk before it returns, so an accepted request
survives a power loss, not only a crash of the process (WAL's ``NORMAL`` would lose the last commits
on power loss). The cost is one fsync per commit; see docs/outbox-storage.md.
SQLAlchemy, not the ``sqlite3`` module, opens SQLite transactions (the recipe of the SQLAlchemy
SQLite documentation), so that DDL is transactional and a transaction sees one snapshot.
Transactions start ``DEFERRED``; :func:`begin_write` starts one ``IMMEDIATE``, taking SQLite's
single write lock up front (waiting up to the busy timeout for it) instead of failing midway.

Any error the database driver raises, but a constraint violation, drops the connection it came from
(SQLAlchemy invalidates it instead of returning it to the pool): a SQLite connection opened while its
folder was read-only, or a PostgreSQL session that lost its server to a fail-over, never serves again.
A new SQLite file is created readable by its owner only (0600; SQLite gives its WAL files the same
mode), and a looser existing one is tightened: it holds business data.

In-memory SQLite (``sqlite://``) has no WAL and is one database per connection (per thread): use a file.
PostgreSQL URLs are ``postgresql+psycopg://user@host/db``; ``postgresql://`` and ``postgres://`` mean
the same. psycopg is imported only when such a URL is used.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import stat
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import URL, ExceptionContext, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError

from idocbridge.db.errors import DatabaseError, DatabaseNotFoundError

__all__ = [
    "DATABASE_FILE",
    "begin_write",
    "create_engine_for",
    "database_url_for_state",
    "display_url",
    "sqlite_path",
]

DATABASE_FILE = "runtime.db"
"""The SQLite file in a service's state folder."""

log = logging.getLogger("idocbridge.db")
_SQLITE_BEGIN = "idocbridge_sqlite_begin"
_FILE_MODE = 0o600
"""The runtime database holds business data: its owner alone reads it."""
_POSTGRES_NAMES = {"postgresql", "postgres", "postgresql+psycopg"}
_SQLITE_NAMES = {"sqlite", "sqlite+pysqlite"}


def database_url_for_state(state_dir: Path) -> str:
    """The URL of the SQLite database ``runtime.db`` in the service state folder ``state_dir``."""
    return URL.create("sqlite", database=str(state_dir.resolve() / DATABASE_FILE)).render_as_string()


def display_url(url: str) -> str:
    """``url`` with any password masked, for messages."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<unparsable database URL>"


def sqlite_path(url: str) -> Path | None:
    """The file of a SQLite URL; None for other databases and for in-memory SQLite."""
    parsed = _parse(url)
    if parsed.get_backend_name() != "sqlite":
        return None
    database = parsed.database or ""
    if database in ("", ":memory:") or parsed.query.get("mode") == "memory":
        return None
    if database.startswith("file:"):
        database = database[len("file:") :]
    return Path(database)


def create_engine_for(url: str, *, must_exist: bool = False, busy_timeout_ms: int = 10_000) -> Engine:
    """An engine for ``url`` (SQLite or PostgreSQL), configured for the runtime.

    With ``must_exist`` a missing SQLite file raises DatabaseNotFoundError (for readers such as the
    CLI); otherwise the file's folder is created and SQLite creates the file on first use.
    """
    parsed = _parse(url)
    name = parsed.drivername
    if name in _SQLITE_NAMES:
        return _sqlite_engine(url, must_exist, busy_timeout_ms)
    if name in _POSTGRES_NAMES:
        return _postgres_engine(parsed.set(drivername="postgresql+psycopg"))
    raise DatabaseError(
        f"unsupported database URL {display_url(url)}: use sqlite:///PATH or postgresql+psycopg://USER@HOST/DB"
    )


@contextmanager
def begin_write(engine: Engine) -> Iterator[Connection]:
    """A transaction that will write: on SQLite it takes the write lock at BEGIN (``BEGIN IMMEDIATE``)."""
    with engine.connect() as connection:
        connection.execution_options(**{_SQLITE_BEGIN: "IMMEDIATE"})
        with connection.begin():
            yield connection


def _parse(url: str) -> URL:
    try:
        return make_url(url)
    except ArgumentError as exc:
        raise DatabaseError(f"not a database URL: {display_url(url)} ({exc})") from None


def _sqlite_engine(url: str, must_exist: bool, busy_timeout_ms: int) -> Engine:
    path = sqlite_path(url)
    if path is not None:
        if must_exist and not path.is_file():
            raise DatabaseNotFoundError(f"no database at {path}")
        if not must_exist:
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise DatabaseError(f"the folder of the database {path} cannot be made: {exc.strerror}") from None
            _private_file(path)
    # hide_parameters: an error's text (logged) never carries the values bound to it: business data, a filter
    engine = create_engine(url, connect_args={"timeout": busy_timeout_ms / 1000, "check_same_thread": False},
                           hide_parameters=True)  # fmt: skip
    _drop_connections_on_error(engine)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: sqlite3.Connection, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # SQLAlchemy emits BEGIN (see _on_begin)
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
            cursor.execute("PRAGMA foreign_keys=ON")
            if path is not None:
                _enable_wal(cursor, busy_timeout_ms)
                cursor.execute("PRAGMA synchronous=FULL")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        mode = connection.get_execution_options().get(_SQLITE_BEGIN, "DEFERRED")
        connection.exec_driver_sql(f"BEGIN {'IMMEDIATE' if mode == 'IMMEDIATE' else 'DEFERRED'}")

    return engine


def _private_file(path: Path) -> None:
    """Create the database file with mode 0600, or tighten an existing one that others may read."""
    try:
        descriptor = os.open(path, os.O_CREAT | os.O_WRONLY, _FILE_MODE)
    except OSError:
        return  # SQLite says what is wrong when it opens the file
    try:
        mode = stat.S_IMODE(os.fstat(descriptor).st_mode)
        if mode & 0o077:
            log.warning("the database %s was readable by others (mode %o): it is now %o", path, mode, _FILE_MODE)
            os.fchmod(descriptor, _FILE_MODE)
    except OSError as exc:
        log.warning("the database %s cannot be made private: %s", path, exc)
    finally:
        os.close(descriptor)


def _drop_connections_on_error(engine: Engine) -> None:
    """Invalidate a connection whenever the driver raises an error on it, so the pool never hands it out again;
    a constraint violation excepted (it is an answer about the data, and a savepoint may go on after it)."""
    dbapi = engine.dialect.loaded_dbapi

    @event.listens_for(engine, "handle_error")
    def _on_error(context: ExceptionContext) -> None:
        error = context.original_exception
        if isinstance(error, dbapi.Error) and not isinstance(error, dbapi.IntegrityError) and not context.is_disconnect:
            context.is_disconnect = True
            context.invalidate_pool_on_disconnect = False  # the other connections are not suspect


def _enable_wal(cursor: sqlite3.Cursor, busy_timeout_ms: int) -> None:
    """Switch the file to WAL (once: the mode is persistent). SQLite refuses the switch at once,
    without its busy handler, while another connection holds a lock: retry up to the busy timeout."""
    deadline = time.monotonic() + busy_timeout_ms / 1000
    while True:
        try:
            if cursor.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() >= deadline:
                raise
            time.sleep(0.02)


def _postgres_engine(url: URL) -> Engine:
    try:
        engine = create_engine(url, pool_pre_ping=True, hide_parameters=True)  # no bound values in error texts
    except (ImportError, NoSuchModuleError) as exc:
        raise DatabaseError(f"PostgreSQL needs psycopg 3: pip install 'psycopg[binary]' ({exc})") from None
    _drop_connections_on_error(engine)
    return engine
