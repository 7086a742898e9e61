"""The durable outbox of asynchronous AS2 MDNs (async_mdns).

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision: str | None = "0004"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    """Create async_mdns (indexed by state and next attempt, and by inbound message)."""
    op.create_table(
        "async_mdns",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column(
            "inbound_id",
            sa.Integer,
            sa.ForeignKey("inbound_messages.id", name="fk_async_mdns_inbound_id"),
            nullable=True,
        ),
        sa.Column("partner", sa.String(200), nullable=False),
        sa.Column("message_id", sa.String(300), nullable=False),
        sa.Column("url", sa.String(2000), nullable=False),
        sa.Column("headers", sa.Text, nullable=False),
        sa.Column("body", sa.LargeBinary, nullable=False),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("next_attempt_at", sa.DateTime, nullable=True),
        sa.Column("claimed_by", sa.String(200), nullable=True),
        sa.Column("claim_expires_at", sa.DateTime, nullable=True),
        sa.Column("delivered_at", sa.DateTime, nullable=True),
        sa.Column("last_error", sa.Text, nullable=True),
    )
    op.create_index("ix_async_mdns_state_next", "async_mdns", ["state", "next_attempt_at"])
    op.create_index("ix_async_mdns_inbound_id", "async_mdns", ["inbound_id"])


def downgrade() -> None:
    """Drop async_mdns."""
    op.drop_index("ix_async_mdns_inbound_id", "async_mdns")
    op.drop_index("ix_async_mdns_state_next", "async_mdns")
    op.drop_table("async_mdns")
