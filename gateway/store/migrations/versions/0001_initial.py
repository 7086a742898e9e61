"""Initial store: invoices, documents, deliveries, events (append-only), control numbers,
unmatched acks.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None

# Events are the proof of delivery: the database itself refuses to change or remove one.
_SQLITE_GUARDS = [
    "CREATE TRIGGER events_no_update BEFORE UPDATE ON events "
    "BEGIN SELECT RAISE(ABORT, 'events are append-only'); END",
    "CREATE TRIGGER events_no_delete BEFORE DELETE ON events "
    "BEGIN SELECT RAISE(ABORT, 'events are append-only'); END",
]
_POSTGRESQL_GUARDS = [
    "CREATE FUNCTION events_append_only() RETURNS trigger LANGUAGE plpgsql AS "
    "$$ BEGIN RAISE EXCEPTION 'events are append-only'; END $$",
    "CREATE TRIGGER events_no_change BEFORE UPDATE OR DELETE ON events "
    "FOR EACH ROW EXECUTE FUNCTION events_append_only()",
]


def upgrade() -> None:
    """Create every table of the store."""
    op.create_table(
        "invoices",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("seller_key", sa.String(200), nullable=False),
        sa.Column("number", sa.String(200), nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("canonical", sa.Text, nullable=False),
        sa.Column("source", sa.LargeBinary, nullable=True),
        sa.Column("accepted_at", sa.DateTime, nullable=False),
        sa.UniqueConstraint("seller_key", "number", name="uq_invoices_seller_number"),
    )
    op.create_table(
        "documents",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("invoice_id", sa.Integer, sa.ForeignKey("invoices.id"), nullable=False),
        sa.Column("syntax", sa.String(40), nullable=False),
        sa.Column("format", sa.String(100), nullable=False),
        sa.Column("media_type", sa.String(100), nullable=False),
        sa.Column("extension", sa.String(20), nullable=False),
        sa.Column("content", sa.LargeBinary, nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
    )
    op.create_index("ix_documents_invoice_id", "documents", ["invoice_id"])
    op.create_table(
        "deliveries",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("invoice_id", sa.Integer, sa.ForeignKey("invoices.id"), nullable=False),
        sa.Column("document_id", sa.Integer, sa.ForeignKey("documents.id"), nullable=True),
        sa.Column("buyer", sa.String(200), nullable=False),
        sa.Column("channel", sa.String(100), nullable=False),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("attempt", sa.Integer, nullable=False),
        sa.Column("next_attempt_at", sa.DateTime, nullable=True),
        sa.Column("idempotency_key", sa.String(300), nullable=False),
        sa.Column("claimed_by", sa.String(200), nullable=True),
        sa.Column("claim_expires_at", sa.DateTime, nullable=True),
        sa.Column("transport_ack", sa.String(20), nullable=True),
        sa.Column("syntax_ack", sa.String(20), nullable=True),
        sa.Column("business_ack", sa.String(20), nullable=True),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("updated_at", sa.DateTime, nullable=False),
        sa.UniqueConstraint("idempotency_key", name="uq_deliveries_idempotency_key"),
    )
    op.create_index("ix_deliveries_invoice_id", "deliveries", ["invoice_id"])
    op.create_index("ix_deliveries_buyer", "deliveries", ["buyer"])
    op.create_index("ix_deliveries_state_next", "deliveries", ["state", "next_attempt_at"])
    op.create_table(
        "events",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("at", sa.DateTime, nullable=False),
        sa.Column("invoice_id", sa.Integer, sa.ForeignKey("invoices.id"), nullable=False),
        sa.Column("delivery_id", sa.Integer, sa.ForeignKey("deliveries.id"), nullable=True),
        sa.Column("kind", sa.String(50), nullable=False),
        sa.Column("level", sa.String(20), nullable=False),
        sa.Column("ack_level", sa.String(20), nullable=True),
        sa.Column("state_from", sa.String(20), nullable=True),
        sa.Column("state_to", sa.String(20), nullable=True),
        sa.Column("detail", sa.Text, nullable=False),
        sa.Column("evidence", sa.LargeBinary, nullable=True),
    )
    op.create_index("ix_events_invoice_id", "events", ["invoice_id"])
    op.create_index("ix_events_delivery_id", "events", ["delivery_id"])
    op.create_table(
        "control_numbers",
        sa.Column("partner", sa.String(200), primary_key=True),
        sa.Column("counter", sa.String(50), primary_key=True),
        sa.Column("last_value", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "unmatched_acks",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("received_at", sa.DateTime, nullable=False),
        sa.Column("kind", sa.String(50), nullable=False),
        sa.Column("ack_level", sa.String(20), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("sender", sa.String(200), nullable=True),
        sa.Column("recipient", sa.String(200), nullable=True),
        sa.Column("interchange_ref", sa.String(100), nullable=True),
        sa.Column("message_ref", sa.String(100), nullable=True),
        sa.Column("document_ref", sa.String(300), nullable=True),
        sa.Column("detail", sa.Text, nullable=False),
        sa.Column("raw", sa.LargeBinary, nullable=False),
    )
    dialect = op.get_bind().dialect.name
    for statement in _POSTGRESQL_GUARDS if dialect == "postgresql" else _SQLITE_GUARDS:
        op.execute(statement)


def downgrade() -> None:
    """Drop every table (the data goes with them)."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS events_no_change ON events")
        op.execute("DROP FUNCTION IF EXISTS events_append_only()")
    for table in (
        "unmatched_acks",
        "control_numbers",
        "events",
        "deliveries",
        "documents",
        "invoices",
    ):
        op.drop_table(table)
