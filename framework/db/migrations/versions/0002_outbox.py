"""The tRFC outbox: one row per tRFC call to deliver to SAP exactly once (SAP-FACTS §3).

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | None = None
depends_on: str | None = None

_TABLE = "trfc_outbox"


def upgrade() -> None:
    op.create_table(
        _TABLE,
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("service", sa.String(255), nullable=False),
        sa.Column("operation", sa.String(255), nullable=False),
        sa.Column("alias", sa.String(255), nullable=False),
        sa.Column("function", sa.String(255), nullable=False),
        sa.Column("queue", sa.String(255), nullable=True),
        sa.Column("parameters", sa.Text(), nullable=False),
        sa.Column("message_id", sa.String(255), nullable=True),
        sa.Column("transaction_id", sa.String(40), nullable=False),
        sa.Column("tid", sa.String(24), nullable=True),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("executed", sa.Boolean(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("last_error_key", sa.String(255), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("lease_owner", sa.String(255), nullable=True),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("receipt", sa.Text(), nullable=True),
    )
    op.create_index("ix_trfc_outbox_claim", _TABLE, ["state", "next_attempt_at"])
    op.create_index("ix_trfc_outbox_tid", _TABLE, ["tid"])
    op.create_index("ux_trfc_outbox_message", _TABLE, ["service", "operation", "message_id"], unique=True)
    op.create_index("ix_trfc_outbox_created_at", _TABLE, ["created_at"])
    op.create_index("ix_trfc_outbox_transaction_id", _TABLE, ["transaction_id"])


def downgrade() -> None:
    op.drop_table(_TABLE)
