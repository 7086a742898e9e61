"""Tenants: the ``tenants`` table (with the default tenant) and ``tenant_id`` on every table.

Existing rows belong to the default tenant. Uniqueness becomes per tenant: an invoice number per
(tenant, seller), an inbound Message-ID per (tenant, partner), control numbers per (tenant,
partner, counter). On SQLite the tables whose constraints change are rebuilt (batch mode;
``Store.migrate`` runs with foreign keys off and checks them before committing).

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision: str | None = "0007"
branch_labels: str | None = None
depends_on: str | None = None

TABLES = (
    "invoices",
    "documents",
    "deliveries",
    "events",
    "control_numbers",
    "unmatched_acks",
    "inbound_messages",
    "batches",
    "async_mdns",
    "inbound_refusals",
)


def _tenant_column() -> sa.Column[str]:
    return sa.Column(
        "tenant_id", sa.String(64), nullable=False, server_default=sa.text("'default'")
    )


def _rebuild() -> Literal["auto", "always"]:
    """SQLite cannot drop a unique constraint in place: rebuild; PostgreSQL alters in place."""
    return "always" if op.get_bind().dialect.name == "sqlite" else "auto"


def upgrade() -> None:
    """Create tenants (with 'default'), add tenant_id everywhere, scope the unique keys."""
    tenants = op.create_table(
        "tenants",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
    )
    op.bulk_insert(
        tenants,
        [
            {
                "id": "default",
                "name": "Default tenant",
                "created_at": dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0),
            }
        ],
    )
    for table in TABLES:
        if table == "control_numbers":
            continue
        # plain ALTER TABLE ADD COLUMN on both backends (no rebuild: the events table's
        # append-only triggers stay)
        op.add_column(table, _tenant_column())
    with op.batch_alter_table("invoices", recreate=_rebuild()) as batch:
        batch.drop_constraint("uq_invoices_seller_number", type_="unique")
        batch.create_unique_constraint(
            "uq_invoices_tenant_seller_number", ["tenant_id", "seller_key", "number"]
        )
    with op.batch_alter_table("inbound_messages", recreate=_rebuild()) as batch:
        batch.drop_constraint("uq_inbound_partner_message", type_="unique")
        batch.create_unique_constraint(
            "uq_inbound_tenant_partner_message", ["tenant_id", "partner", "message_id"]
        )
    # control numbers: the tenant joins the primary key (rebuilt, rows copied)
    op.rename_table("control_numbers", "control_numbers_0007")
    op.create_table(
        "control_numbers",
        sa.Column(
            "tenant_id",
            sa.String(64),
            primary_key=True,
            server_default=sa.text("'default'"),
        ),
        sa.Column("partner", sa.String(200), primary_key=True),
        sa.Column("counter", sa.String(50), primary_key=True),
        sa.Column("last_value", sa.BigInteger, nullable=False),
    )
    op.execute(
        "INSERT INTO control_numbers (tenant_id, partner, counter, last_value) "
        "SELECT 'default', partner, counter, last_value FROM control_numbers_0007"
    )
    op.drop_table("control_numbers_0007")
    op.create_index("ix_invoices_tenant_accepted", "invoices", ["tenant_id", "accepted_at"])
    op.create_index("ix_deliveries_tenant_state", "deliveries", ["tenant_id", "state"])
    op.create_index(
        "ix_inbound_messages_tenant_received", "inbound_messages", ["tenant_id", "received_at"]
    )


def downgrade() -> None:
    """Back to one tenant: rows of other tenants are refused (delete them first)."""
    bind = op.get_bind()
    others = bind.execute(sa.text("SELECT count(*) FROM invoices WHERE tenant_id <> 'default'"))
    if others.scalar():
        raise RuntimeError("downgrade below 0008: the store holds invoices of other tenants")
    op.drop_index("ix_inbound_messages_tenant_received", "inbound_messages")
    op.drop_index("ix_deliveries_tenant_state", "deliveries")
    op.drop_index("ix_invoices_tenant_accepted", "invoices")
    op.rename_table("control_numbers", "control_numbers_0008")
    op.create_table(
        "control_numbers",
        sa.Column("partner", sa.String(200), primary_key=True),
        sa.Column("counter", sa.String(50), primary_key=True),
        sa.Column("last_value", sa.BigInteger, nullable=False),
    )
    op.execute(
        "INSERT INTO control_numbers (partner, counter, last_value) "
        "SELECT partner, counter, last_value FROM control_numbers_0008"
    )
    op.drop_table("control_numbers_0008")
    with op.batch_alter_table("inbound_messages", recreate=_rebuild()) as batch:
        batch.drop_constraint("uq_inbound_tenant_partner_message", type_="unique")
        batch.create_unique_constraint("uq_inbound_partner_message", ["partner", "message_id"])
    with op.batch_alter_table("invoices", recreate=_rebuild()) as batch:
        batch.drop_constraint("uq_invoices_tenant_seller_number", type_="unique")
        batch.create_unique_constraint("uq_invoices_seller_number", ["seller_key", "number"])
    for table in TABLES:
        if table == "control_numbers":
            continue
        # SQLite >= 3.35 drops a column in place (a rebuild would lose the events triggers)
        op.execute(f"ALTER TABLE {table} DROP COLUMN tenant_id")
    op.drop_table("tenants")
