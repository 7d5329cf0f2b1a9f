"""Opening the runtime database from the command line: --state DIR or --db URL, with clear errors."""

from __future__ import annotations

from pathlib import Path

import typer
from sqlalchemy import Engine, inspect
from sqlalchemy.exc import SQLAlchemyError

from idocbridge.cli.console import err
from idocbridge.db.engine import create_engine_for, database_url_for_state, display_url
from idocbridge.db.errors import DatabaseError, DatabaseNotFoundError

__all__ = ["open_runtime_database", "reason"]


def open_runtime_database(state: Path | None, db: str | None, table: str, what: str) -> Engine:
    """The database of a service's ``state`` folder or at URL ``db``; it must hold ``table``."""
    if (state is None) == (db is None):
        err.print("error: say where the log is: --state DIR (the service's state folder) or --db URL")
        raise typer.Exit(2)
    url = database_url_for_state(state) if state is not None else str(db)
    try:
        engine = create_engine_for(url, must_exist=True)
    except DatabaseNotFoundError as exc:
        folder = f"is {state} the service's state folder? " if state is not None else ""
        err.print(f"error: {exc}; {folder}A service creates its database when it starts.", markup=False)
        raise typer.Exit(1) from None
    except DatabaseError as exc:
        err.print(f"error: {exc}", markup=False)
        raise typer.Exit(1) from None
    try:
        present = inspect(engine).has_table(table)
    except SQLAlchemyError as exc:
        engine.dispose()
        err.print(f"error: cannot open {display_url(url)}: {reason(exc)}", markup=False)
        raise typer.Exit(1) from None
    if not present:
        engine.dispose()
        err.print(f"error: {display_url(url)} holds no {what} (a service creates it when it starts)", markup=False)
        raise typer.Exit(1)
    return engine


def reason(exc: SQLAlchemyError) -> str:
    original = getattr(exc, "orig", None) or exc
    return str(original).strip().splitlines()[0] if str(original).strip() else type(original).__name__
