"""Tables of API keys and the audit log (migration 0009 creates exactly these).

Both belong to a tenant (``tenant_id``); every query filters on it, except the lookup of a
presented key by its prefix (the key names its tenant: :func:`gateway.store.keys.authenticate`).
"""

from __future__ import annotations

import sqlalchemy as sa

from gateway.store.schema import UtcDateTime, metadata

api_keys = sa.Table(
    "api_keys",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("tenant_id", sa.String(64), nullable=False),
    # the public part of the key (igw_<prefix>_<secret>): found by it, shown in `igw keys list`
    sa.Column("prefix", sa.String(16), nullable=False),
    # hex sha256 of the secret part; the secret itself is never stored
    sa.Column("secret_hash", sa.String(64), nullable=False),
    sa.Column("name", sa.String(200), nullable=False),
    # comma-separated, sorted: submit, read, admin
    sa.Column("scopes", sa.String(100), nullable=False),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("revoked_at", UtcDateTime, nullable=True),
    sa.Column("last_used_at", UtcDateTime, nullable=True),
    sa.UniqueConstraint("prefix", name="uq_api_keys_prefix"),
    sa.Index("ix_api_keys_tenant_id", "tenant_id"),
)

audit_log = sa.Table(
    "audit_log",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("tenant_id", sa.String(64), nullable=False),
    sa.Column("at", UtcDateTime, nullable=False),
    # key:<id>:<name> (the API) or cli:<os user> (igw)
    sa.Column("actor", sa.String(300), nullable=False),
    # submit, resend, cancel, key.create, key.revoke
    sa.Column("action", sa.String(60), nullable=False),
    sa.Column("target_kind", sa.String(60), nullable=False),
    sa.Column("target_id", sa.String(200), nullable=False),
    # JSON object text
    sa.Column("detail", sa.Text, nullable=False),
    sa.Index("ix_audit_log_tenant_at", "tenant_id", "at"),
)
