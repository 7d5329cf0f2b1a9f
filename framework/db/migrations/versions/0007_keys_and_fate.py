"""Business keys of requests, and the fate in SAP of the IDocs they delivered.

- ``business_keys``: what identifies an accepted call to people (MessageId, IDoc type, message type,
  partners, the sender's DOCNUM, keys the model names such as ``E1EDK01-BELNR``), one row per key and
  value, indexed by value (a search by any key) and by name and value;
- ``sap_idocs``: the IDocs SAP created for a delivered TID (its DOCNUM there) and their latest status,
  with when to read it again until it is final;
- ``sap_idoc_status``: each IDoc's status history as SAP keeps it (its status records);
- ``trfc_outbox.fate_due_at``: when to ask SAP which IDocs a confirmed TID created (None: not to ask).

Older versions ignore the new tables and column. The downgrade drops them.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | None = None
depends_on: str | None = None


def _utc() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "business_keys",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True),
        sa.Column("outbox_id", sa.String(32), nullable=True),
        sa.Column("transaction_id", sa.String(40), nullable=False),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("value", sa.String(255), nullable=False),
        sa.Column("at", _utc(), nullable=False),
    )
    op.create_index("ix_business_keys_value", "business_keys", ["value"])
    op.create_index("ix_business_keys_name_value", "business_keys", ["name", "value"])
    op.create_index("ix_business_keys_outbox_id", "business_keys", ["outbox_id", "name", "value"])
    op.create_index("ix_business_keys_transaction_id", "business_keys", ["transaction_id"])
    op.create_index("ix_business_keys_at", "business_keys", ["at"])
    op.create_table(
        "sap_idocs",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True),
        sa.Column("alias", sa.String(255), nullable=False),
        sa.Column("docnum", sa.String(16), nullable=False),
        sa.Column("tid", sa.String(24), nullable=False),
        sa.Column("outbox_id", sa.String(32), nullable=False),
        sa.Column("status", sa.String(2), nullable=True),
        sa.Column("status_text", sa.Text(), nullable=True),
        sa.Column("status_at", _utc(), nullable=True),
        sa.Column("final", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("reads", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("next_read_at", _utc(), nullable=True),
        sa.Column("created_at", _utc(), nullable=False),
        sa.Column("updated_at", _utc(), nullable=False),
    )
    op.create_index("ux_sap_idocs_docnum", "sap_idocs", ["alias", "docnum"], unique=True)
    op.create_index("ix_sap_idocs_tid", "sap_idocs", ["tid"])
    op.create_index("ix_sap_idocs_outbox_id", "sap_idocs", ["outbox_id", "status"])
    op.create_index("ix_sap_idocs_docnum_only", "sap_idocs", ["docnum"])
    op.create_index("ix_sap_idocs_due", "sap_idocs", ["next_read_at"])
    op.create_index("ix_sap_idocs_created_at", "sap_idocs", ["created_at"])
    op.create_index("ix_sap_idocs_status", "sap_idocs", ["status", "outbox_id"])
    op.create_table(
        "sap_idoc_status",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True),
        sa.Column("alias", sa.String(255), nullable=False),
        sa.Column("docnum", sa.String(16), nullable=False),
        sa.Column("counter", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(2), nullable=False),
        sa.Column("text", sa.Text(), nullable=False, server_default=""),
        sa.Column("logged_at", _utc(), nullable=True),
        sa.Column("uname", sa.String(12), nullable=False, server_default=""),
    )
    op.create_index("ux_sap_idoc_status", "sap_idoc_status", ["alias", "docnum", "counter"], unique=True)
    with op.batch_alter_table("trfc_outbox") as batch:
        batch.add_column(sa.Column("fate_due_at", _utc(), nullable=True))
    op.create_index("ix_trfc_outbox_fate_due", "trfc_outbox", ["fate_due_at"])


def downgrade() -> None:
    op.drop_index("ix_trfc_outbox_fate_due", table_name="trfc_outbox")
    with op.batch_alter_table("trfc_outbox") as batch:
        batch.drop_column("fate_due_at")
    op.drop_table("sap_idoc_status")
    op.drop_table("sap_idocs")
    op.drop_table("business_keys")
