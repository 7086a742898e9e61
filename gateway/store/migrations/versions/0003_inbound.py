"""Inbound messages (AS2 and other channels): payload, parse result, our answer (MDN).

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision: str | None = "0002"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    """Create inbound_messages, unique per (partner, message_id)."""
    op.create_table(
        "inbound_messages",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("received_at", sa.DateTime, nullable=False),
        sa.Column("channel", sa.String(40), nullable=False),
        sa.Column("partner", sa.String(200), nullable=False),
        sa.Column("message_id", sa.String(300), nullable=False),
        sa.Column("media_type", sa.String(200), nullable=False),
        sa.Column("filename", sa.String(300), nullable=True),
        sa.Column("content", sa.LargeBinary, nullable=False),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("syntax", sa.String(40), nullable=True),
        sa.Column("invoice_number", sa.String(200), nullable=True),
        sa.Column("canonical", sa.Text, nullable=True),
        sa.Column("detail", sa.Text, nullable=False),
        sa.Column("answer", sa.LargeBinary, nullable=True),
        sa.UniqueConstraint("partner", "message_id", name="uq_inbound_partner_message"),
    )


def downgrade() -> None:
    """Drop inbound_messages."""
    op.drop_table("inbound_messages")
