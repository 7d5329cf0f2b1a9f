"""Alembic environment and revisions of the runtime database (see :mod:`idocbridge.db.migrate`)."""
