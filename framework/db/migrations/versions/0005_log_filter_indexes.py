"""An index for every filter of the transaction log, in the order the log is read.

``idocbridge log`` (and every reader of the log) shows entries in the order they happened: ``ORDER BY
at, id`` with a limit. An index on (filter column, at, id) gives the first matching entries without
reading or sorting the others, however many rows the log holds: status, domain, log type, service and
operation each get one. The time index gains ``id``, so that entries of the same instant come in the
order they were written without a sort (PostgreSQL; SQLite keeps the row ID in every index). The
index on (service, operation) goes: the service and the operation indexes answer both filters.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | None = None
depends_on: str | None = None

_TABLE = "transaction_log"
_FILTERS = ("state", "domain", "log_type", "service", "operation")


def upgrade() -> None:
    op.drop_index("ix_transaction_log_service_operation", _TABLE)
    op.drop_index("ix_transaction_log_at", _TABLE)
    op.create_index("ix_transaction_log_at", _TABLE, ["at", "id"])
    for column in _FILTERS:
        op.create_index(f"ix_transaction_log_{column}_at", _TABLE, [column, "at", "id"])


def downgrade() -> None:
    for column in _FILTERS:
        op.drop_index(f"ix_transaction_log_{column}_at", _TABLE)
    op.drop_index("ix_transaction_log_at", _TABLE)
    op.create_index("ix_transaction_log_at", _TABLE, ["at"])
    op.create_index("ix_transaction_log_service_operation", _TABLE, ["service", "operation"])
