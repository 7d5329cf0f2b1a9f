"""The outbox records that a confirm goes out before it is sent.

- ``confirm_sent``: a confirm went out for the entry's TID (SAP may have forgotten it): from then on
  the unit is never submitted again, whatever the connection.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | None = None
depends_on: str | None = None

_TABLE = "trfc_outbox"


def upgrade() -> None:
    with op.batch_alter_table(_TABLE) as batch:
        batch.add_column(sa.Column("confirm_sent", sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table(_TABLE) as batch:
        batch.drop_column("confirm_sent")
