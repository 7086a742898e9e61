"""Control references on deliveries (interchange, message, AS2/cXML payload id) for ack
correlation.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision: str | None = "0001"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    """Add the three reference columns to deliveries, each indexed for ack look-ups."""
    with op.batch_alter_table("deliveries") as batch:
        batch.add_column(sa.Column("interchange_ref", sa.String(100), nullable=True))
        batch.add_column(sa.Column("message_ref", sa.String(100), nullable=True))
        batch.add_column(sa.Column("message_id", sa.String(300), nullable=True))
    op.create_index("ix_deliveries_interchange_ref", "deliveries", ["interchange_ref"])
    op.create_index("ix_deliveries_message_ref", "deliveries", ["message_ref"])
    op.create_index("ix_deliveries_message_id", "deliveries", ["message_id"])


def downgrade() -> None:
    """Drop the reference columns and their indexes."""
    op.drop_index("ix_deliveries_message_id", "deliveries")
    op.drop_index("ix_deliveries_message_ref", "deliveries")
    op.drop_index("ix_deliveries_interchange_ref", "deliveries")
    with op.batch_alter_table("deliveries") as batch:
        batch.drop_column("message_id")
        batch.drop_column("message_ref")
        batch.drop_column("interchange_ref")
