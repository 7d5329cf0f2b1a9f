"""Revisions of the runtime database, numbered 0001, 0002, ...; Alembic loads them by path."""
