"""The ``api_idempotency`` table (migration 0011): the first answer of an API request sent with
an ``Idempotency-Key`` header, per tenant and key, replayed for a repeat of that request.

``status``/``body`` are NULL while the first request is still being answered (the row is its
claim on the key, written before any work); ``request_sha256`` is the hash of what was asked
(media type and body), so a repeat with the same key but other content is recognised.
"""

from __future__ import annotations

import sqlalchemy as sa

from gateway.store.schema import UtcDateTime, metadata

api_idempotency = sa.Table(
    "api_idempotency",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("tenant_id", sa.String(64), nullable=False),
    sa.Column("key", sa.String(255), nullable=False),
    sa.Column("request_sha256", sa.String(64), nullable=False),
    # NULL while the first request is in progress; then the HTTP status it was answered with
    sa.Column("status", sa.Integer, nullable=True),
    sa.Column("media_type", sa.String(100), nullable=True),
    sa.Column("body", sa.LargeBinary, nullable=True),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("completed_at", UtcDateTime, nullable=True),
    sa.UniqueConstraint("tenant_id", "key", name="uq_api_idempotency_tenant_key"),
    sa.Index("ix_api_idempotency_created_at", "created_at"),
)
