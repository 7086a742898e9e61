"""Inbound requests we refused, with the raw request, the reason and our answer.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision: str | None = "0006"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    """Create inbound_refusals (indexed by partner and Message-ID)."""
    op.create_table(
        "inbound_refusals",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("received_at", sa.DateTime, nullable=False),
        sa.Column("channel", sa.String(40), nullable=False),
        sa.Column("partner", sa.String(200), nullable=False),
        sa.Column("sender", sa.String(200), nullable=True),
        sa.Column("recipient", sa.String(200), nullable=True),
        sa.Column("message_id", sa.String(300), nullable=True),
        sa.Column("reason", sa.String(60), nullable=False),
        sa.Column("detail", sa.Text, nullable=False),
        sa.Column("request", sa.LargeBinary, nullable=False),
        sa.Column("request_size", sa.Integer, nullable=False),
        sa.Column("http_status", sa.Integer, nullable=False),
        sa.Column("answer_kind", sa.String(20), nullable=False),
        sa.Column("answer", sa.LargeBinary, nullable=True),
    )
    op.create_index(
        "ix_inbound_refusals_partner_message", "inbound_refusals", ["partner", "message_id"]
    )


def downgrade() -> None:
    """Drop inbound_refusals."""
    op.drop_index("ix_inbound_refusals_partner_message", "inbound_refusals")
    op.drop_table("inbound_refusals")
