"""Transmissions: a delivery's AS2 (or other) sends under one remote message id each.

``deliveries.transmission`` is the number of the transmission the next send of the delivery
uses (1 for the first; one more after a transmission the partner answered with a refusal, or a
forced ``igw resend``). ``events.transmission`` / ``events.message_id`` say which transmission
an attempt belonged to and the id the remote knew it by, so the timeline can list them.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision: str | None = "0005"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    """Add deliveries.transmission (1 for every existing delivery) and events.transmission,
    events.message_id (indexed: a late MDN for an earlier transmission is matched by it)."""
    with op.batch_alter_table("deliveries") as batch:
        batch.add_column(
            sa.Column("transmission", sa.Integer, nullable=False, server_default=sa.text("1"))
        )
    with op.batch_alter_table("events") as batch:
        batch.add_column(sa.Column("transmission", sa.Integer, nullable=True))
        batch.add_column(sa.Column("message_id", sa.String(300), nullable=True))
    op.create_index("ix_events_message_id", "events", ["message_id"])


def downgrade() -> None:
    """Drop the three columns."""
    op.drop_index("ix_events_message_id", "events")
    with op.batch_alter_table("events") as batch:
        batch.drop_column("message_id")
        batch.drop_column("transmission")
    with op.batch_alter_table("deliveries") as batch:
        batch.drop_column("transmission")
