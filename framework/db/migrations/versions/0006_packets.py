"""IDoc packets: the outbox gathers IDoc entries into packets, one tRFC unit each.

- ``packable``: the entry is one IDoc for an alias that gathers packets;
- ``packet_id``, ``packet_position``: on a gathered IDoc, its packet entry and its place there;
- ``packet_size``: on a packet entry, how many IDocs it carries;
- ``packet_tid``: on a gathered IDoc, its packet's TID.

Every instance sharing the database must run a version that knows packets: an older one would neither
deliver packets nor hold a qRFC queue behind PACKED entries. The downgrade refuses while packets are open,
and deletes the packets SAP refused (REFUSED, a state older versions do not know).

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | None = None
depends_on: str | None = None

_TABLE = "trfc_outbox"


def upgrade() -> None:
    with op.batch_alter_table(_TABLE) as batch:
        batch.add_column(sa.Column("packable", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch.add_column(sa.Column("packet_id", sa.String(32), nullable=True))
        batch.add_column(sa.Column("packet_position", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("packet_size", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("packet_tid", sa.String(24), nullable=True))
    op.create_index("ix_trfc_outbox_packet", _TABLE, ["packet_id"])


def downgrade() -> None:
    open_packets = (
        op.get_bind()
        .execute(
            sa.text(
                "SELECT count(*) FROM trfc_outbox WHERE state = 'PACKED' "
                "OR (packet_size IS NOT NULL AND state NOT IN ('CONFIRMED', 'CANCELLED', 'REFUSED'))"
            )
        )
        .scalar_one()
    )
    if open_packets:
        raise RuntimeError(
            f"{open_packets} outbox entries are IDoc packets or IDocs in one that are not delivered yet: an older "
            "version cannot deliver them. Let the service deliver them (or cancel them) before downgrading"
        )
    # packets SAP refused are history an older version cannot read (its IDocs are entries of their own)
    op.get_bind().execute(sa.text("DELETE FROM trfc_outbox WHERE state = 'REFUSED'"))
    op.drop_index("ix_trfc_outbox_packet", table_name=_TABLE)
    with op.batch_alter_table(_TABLE) as batch:
        for column in ("packet_tid", "packet_size", "packet_position", "packet_id", "packable"):
            batch.drop_column(column)
