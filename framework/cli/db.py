"""``idocbridge db``: the runtime database's migrations, for a rollout (upgrade before the new version starts).

    idocbridge db current --state DIR | --db URL    the revision the database is at, and the package's newest
    idocbridge db check   --state DIR | --db URL    exit 0 if it is at the newest, 1 if it needs an upgrade
    idocbridge db upgrade --state DIR | --db URL    migrate it to the newest (creating it where it is new)

A service migrates its database when it starts; with several instances, or before a rollout, ``db upgrade``
does it once, ahead of them. Heavy imports happen inside the commands: ``--help`` must not load alembic.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from idocbridge.cli.console import err, out

if TYPE_CHECKING:
    from sqlalchemy import Engine

__all__ = ["db_app"]

db_app = typer.Typer(help="The runtime database's migrations: current, check, upgrade (before a rollout).")

StateDir = Annotated[Path | None, typer.Option("--state", "-d", help="The service's state folder (runtime.db).")]
Url = Annotated[
    str | None,
    typer.Option("--db", envvar="IDOCBRIDGE_DATABASE_URL", show_envvar=True,
                 help="Database URL instead of --state (server.database); from the environment, it stays out of ps."),
]  # fmt: skip


def _engine(state: Path | None, db: str | None, *, must_exist: bool) -> Engine:
    """The database of ``state`` or at ``db``; exit 2 without one of them, 1 when it cannot be opened."""
    from idocbridge.db.engine import create_engine_for, database_url_for_state  # noqa: PLC0415 - see the module
    from idocbridge.db.errors import DatabaseError  # noqa: PLC0415

    if (state is None) == (db is None):
        err.print("error: say which database: --state DIR (the service's state folder) or --db URL")
        raise typer.Exit(2)
    if state is not None and not must_exist:
        state.mkdir(parents=True, exist_ok=True)
    url = database_url_for_state(state) if state is not None else str(db)
    try:
        return create_engine_for(url, must_exist=must_exist)
    except DatabaseError as exc:
        err.print(f"error: {exc}", markup=False)
        raise typer.Exit(1) from None


def _revisions(engine: Engine) -> tuple[str | None, str]:
    from sqlalchemy.exc import SQLAlchemyError  # noqa: PLC0415 - see the module

    from idocbridge.cli.db_options import reason  # noqa: PLC0415
    from idocbridge.db.migrate import current_revision, head_revision  # noqa: PLC0415

    try:
        return current_revision(engine), head_revision()
    except SQLAlchemyError as exc:
        err.print(f"error: the database's migration cannot be read: {reason(exc)}", markup=False)
        raise typer.Exit(1) from None


def _existing_revisions(state: Path | None, db: str | None) -> tuple[str | None, str]:
    """The revisions (see :func:`_revisions`) of an existing database; the engine disposed of again."""
    engine = _engine(state, db, must_exist=True)
    try:
        return _revisions(engine)
    finally:
        engine.dispose()


@db_app.command()
def current(state: StateDir = None, db: Url = None) -> None:
    """The migration the database is at, and the package's newest."""
    at, head = _existing_revisions(state, db)
    out.print(f"at {at or 'nothing (never migrated)'}; newest {head}", markup=False)


@db_app.command()
def check(state: StateDir = None, db: Url = None) -> None:
    """Exit 0 if the database is at the package's newest migration, 1 (saying so) if it needs ``db upgrade``."""
    at, head = _existing_revisions(state, db)
    if at != head:
        err.print(f"error: the database is at {at or 'nothing (never migrated)'}, this version needs {head}: run "
                  "idocbridge db upgrade with the same --state or --db", markup=False)  # fmt: skip
        raise typer.Exit(1)
    out.print(f"up to date: {head}", markup=False)


@db_app.command()
def upgrade(state: StateDir = None, db: Url = None) -> None:
    """Migrate the database to the package's newest migration (a new one is created)."""
    from idocbridge.db.errors import DatabaseError  # noqa: PLC0415 - see the module
    from idocbridge.db.migrate import upgrade as migrate  # noqa: PLC0415

    engine = _engine(state, db, must_exist=False)
    try:
        before, head = _revisions(engine)
        if before == head:
            out.print(f"already up to date: {head}", markup=False)
            return
        try:
            migrate(engine)
        except DatabaseError as exc:
            err.print(f"error: {exc}", markup=False)
            raise typer.Exit(1) from None
    finally:
        engine.dispose()
    out.print(f"migrated from {before or 'nothing'} to {head}", markup=False)
