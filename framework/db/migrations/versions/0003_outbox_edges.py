"""The outbox at its edges: request digests for MessageId reuse, qRFC order, one entry per TID.

- ``request_digest``: SHA-256 of operation and parameters; a MessageId sent again with another
  request is refused by comparing it.
- ``queue_seq``: the acceptance order of an entry within its qRFC queue (1, 2, 3, ... per queue);
  entries without a queue have none.
- ``tid`` becomes unique: one TID is never shared by two entries.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | None = None
depends_on: str | None = None

_TABLE = "trfc_outbox"


def upgrade() -> None:
    with op.batch_alter_table(_TABLE) as batch:
        batch.add_column(sa.Column("request_digest", sa.String(64), nullable=True))
        batch.add_column(sa.Column("queue_seq", sa.BigInteger(), nullable=True))
        batch.drop_index("ix_trfc_outbox_tid")
        batch.create_index("ux_trfc_outbox_tid", ["tid"], unique=True)
        batch.create_index("ux_trfc_outbox_queue_seq", ["alias", "queue", "queue_seq"], unique=True)


def downgrade() -> None:
    with op.batch_alter_table(_TABLE) as batch:
        batch.drop_index("ux_trfc_outbox_queue_seq")
        batch.drop_index("ux_trfc_outbox_tid")
        batch.create_index("ix_trfc_outbox_tid", ["tid"])
        batch.drop_column("queue_seq")
        batch.drop_column("request_digest")
