"""The transaction log (SAP-FACTS §5): one row per logged event.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None

_TABLE = "transaction_log"


def upgrade() -> None:
    op.create_table(
        _TABLE,
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("transaction_id", sa.String(40), nullable=False),
        sa.Column("request_id", sa.BigInteger(), nullable=False),
        sa.Column("component", sa.String(255), nullable=False),
        sa.Column("elapsed_ms", sa.BigInteger(), nullable=False),
        sa.Column("state", sa.String(5), nullable=False),
        sa.Column("domain", sa.String(40), nullable=False),
        sa.Column("log_type", sa.String(40), nullable=False),
        sa.Column("param1", sa.Text(), nullable=False, server_default=""),
        sa.Column("param2", sa.Text(), nullable=False, server_default=""),
        sa.Column("correlation_id", sa.String(40), nullable=True),
        sa.Column("service", sa.String(255), nullable=True),
        sa.Column("operation", sa.String(255), nullable=True),
    )
    op.create_index("ix_transaction_log_transaction_id", _TABLE, ["transaction_id"])
    op.create_index("ix_transaction_log_correlation_id", _TABLE, ["correlation_id"])
    op.create_index("ix_transaction_log_at", _TABLE, ["at"])
    op.create_index("ix_transaction_log_service_operation", _TABLE, ["service", "operation"])


def downgrade() -> None:
    op.drop_table(_TABLE)
