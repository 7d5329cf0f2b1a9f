"""Write statements compiled once per dialect and run as driver SQL: the outbox's and the log's hot path.

SQLAlchemy compiles a Core statement once and caches it, yet every execution still builds its
parameters through the execution context (cache key, bind processors per value, result setup): on
SQLite several times what running a short UPDATE or INSERT takes, and the writer runs a dozen of them
per IDoc. A :class:`Prepared` statement is compiled once per dialect and set of parameter names,
converts its parameters with the column types' own bind processors (so values are stored exactly as
SQLAlchemy stores them), and runs through :meth:`Connection.exec_driver_sql`: SQLAlchemy's events,
error translation and handling of lost connections still apply.

Only statements without expanding (``IN``) parameters and without RETURNING qualify; :class:`Prepared`
refuses the others when it first compiles them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.engine import Dialect
from sqlalchemy.sql.dml import UpdateBase

__all__ = ["Prepared"]


@dataclass(frozen=True, slots=True)
class _Plan:
    """One statement compiled for one dialect and one set of parameter names."""

    sql: str
    names: tuple[str, ...]
    """The parameters in the order the driver takes them (positional) or their names (named)."""
    processors: tuple[Callable[[Any], Any] | None, ...]
    sql_names: tuple[str, ...] | None
    """With named parameters, each one's name in the SQL; None for positional ones."""

    def convert(self, parameters: Mapping[str, Any]) -> tuple[Any, ...] | dict[str, Any]:
        values = [
            value if process is None else process(value)
            for value, process in zip((parameters[name] for name in self.names), self.processors, strict=True)
        ]
        return tuple(values) if self.sql_names is None else dict(zip(self.sql_names, values, strict=True))


class Prepared:
    """An INSERT, UPDATE or DELETE compiled once per dialect and parameter names, run as driver SQL.

    The parameters name the statement's bound parameters and, for INSERT and UPDATE, the columns to set
    (as ``Connection.execute(statement, parameters)`` takes them).
    """

    def __init__(self, statement: UpdateBase) -> None:
        self._statement = statement
        self._plans: dict[tuple[type[Dialect], str, tuple[str, ...]], _Plan] = {}

    def execute(self, connection: Connection, parameters: Mapping[str, Any]) -> int:
        """Run the statement once with ``parameters``; how many rows it changed."""
        plan = self._plan(connection.dialect, tuple(parameters))
        return connection.exec_driver_sql(plan.sql, plan.convert(parameters)).rowcount

    def execute_many(self, connection: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
        """Run the statement for each of ``rows`` (which name the same parameters) in one driver call."""
        if not rows:
            return
        plan = self._plan(connection.dialect, tuple(rows[0]))
        connection.exec_driver_sql(plan.sql, [plan.convert(row) for row in rows])

    def _plan(self, dialect: Dialect, names: tuple[str, ...]) -> _Plan:
        # the dialect's class: psycopg and psycopg2 render PostgreSQL differently; an engine may set its paramstyle
        key = (type(dialect), str(dialect.paramstyle), names)
        plan = self._plans.get(key)
        if plan is None:  # two threads may both compile it once: the same plan, the last one kept
            plan = self._plans[key] = self._compile(dialect, names)
        return plan

    def _compile(self, dialect: Dialect, names: tuple[str, ...]) -> _Plan:
        # for_executemany: no implicit RETURNING of the new primary key (PostgreSQL adds it for one row)
        compiled: Any = self._statement.compile(dialect=dialect, column_keys=list(names), for_executemany=True)
        if compiled.post_compile_params or compiled.literal_execute_params:
            raise ValueError(f"{self._statement}: a statement with expanding parameters cannot be prepared")
        if compiled.effective_returning:
            raise ValueError(f"{self._statement}: a statement with RETURNING cannot be prepared")
        order = tuple(compiled.positiontup) if compiled.positional else tuple(compiled.binds)
        missing = [name for name in order if name not in names]
        if missing:
            raise ValueError(f"{self._statement}: no value for {', '.join(missing)}")
        processors = tuple(compiled.binds[name].type.dialect_impl(dialect).bind_processor(dialect) for name in order)
        if compiled.positional:
            return _Plan(compiled.string, order, processors, None)
        escaped = compiled.escaped_bind_names  # a name the SQL spells differently (quoted characters)
        return _Plan(compiled.string, order, processors, tuple(escaped.get(name, name) for name in order))
