"""Consolidation: batches of deliveries sent as one document (one EDIFACT interchange).

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision: str | None = "0003"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    """Create batches; add deliveries.batch_id (indexed, references batches)."""
    op.create_table(
        "batches",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("buyer", sa.String(200), nullable=False),
        sa.Column("channel", sa.String(100), nullable=False),
        sa.Column("consolidation", sa.String(20), nullable=False),
        sa.Column("envelope_key", sa.String(64), nullable=False),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("size", sa.Integer, nullable=False),
        sa.Column("capacity", sa.Integer, nullable=False),
        sa.Column("opened_at", sa.DateTime, nullable=False),
        sa.Column("due_at", sa.DateTime, nullable=False),
        sa.Column("closed_at", sa.DateTime, nullable=True),
        sa.Column("interchange_ref", sa.String(100), nullable=True),
        sa.Column("syntax", sa.String(40), nullable=True),
        sa.Column("format", sa.String(100), nullable=True),
        sa.Column("media_type", sa.String(100), nullable=True),
        sa.Column("extension", sa.String(20), nullable=True),
        sa.Column("content", sa.LargeBinary, nullable=True),
        sa.Column("sha256", sa.String(64), nullable=True),
        sa.Column("follows_id", sa.Integer, nullable=True),
    )
    op.create_index("ix_batches_open", "batches", ["buyer", "channel", "state"])
    op.create_index("ix_batches_state_due", "batches", ["state", "due_at"])
    with op.batch_alter_table("deliveries") as batch:
        batch.add_column(sa.Column("batch_id", sa.Integer, nullable=True))
        batch.create_foreign_key("fk_deliveries_batch_id", "batches", ["batch_id"], ["id"])
    op.create_index("ix_deliveries_batch_id", "deliveries", ["batch_id"])


def downgrade() -> None:
    """Drop deliveries.batch_id and the batches table."""
    op.drop_index("ix_deliveries_batch_id", "deliveries")
    with op.batch_alter_table("deliveries") as batch:
        batch.drop_constraint("fk_deliveries_batch_id", type_="foreignkey")
        batch.drop_column("batch_id")
    op.drop_index("ix_batches_state_due", "batches")
    op.drop_index("ix_batches_open", "batches")
    op.drop_table("batches")
