"""The store's tables as SQLAlchemy Core metadata (migrations 0001-0008 create exactly these).

Every table but ``tenants`` belongs to one tenant (``tenant_id``, migration 0008): the store
scopes every query by it (:attr:`gateway.store.Store.tenant`).

Times are stored as naive UTC (``UtcDateTime``) so SQLite and PostgreSQL return the same values;
the API takes and returns timezone-aware datetimes.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect

metadata = sa.MetaData()

# rows written before migration 0008 belong to the default tenant
_DEFAULT = sa.text("'default'")


class UtcDateTime(sa.types.TypeDecorator[dt.datetime]):
    """Aware datetimes in, naive UTC stored, aware UTC out; a naive input is refused."""

    impl = sa.DateTime
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if not isinstance(value, dt.datetime) or value.tzinfo is None:
            raise ValueError(f"store times must be timezone-aware datetimes, got {value!r}")
        return value.astimezone(dt.UTC).replace(tzinfo=None)

    def process_result_value(self, value: Any, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        assert isinstance(value, dt.datetime)
        return value.replace(tzinfo=dt.UTC)


invoices = sa.Table(
    "invoices",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("tenant_id", sa.String(64), nullable=False, server_default=_DEFAULT),
    sa.Column("seller_key", sa.String(200), nullable=False),
    sa.Column("number", sa.String(200), nullable=False),
    sa.Column("content_hash", sa.String(64), nullable=False),
    sa.Column("canonical", sa.Text, nullable=False),
    sa.Column("source", sa.LargeBinary, nullable=True),
    sa.Column("accepted_at", UtcDateTime, nullable=False),
    sa.UniqueConstraint(
        "tenant_id", "seller_key", "number", name="uq_invoices_tenant_seller_number"
    ),
)

documents = sa.Table(
    "documents",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("tenant_id", sa.String(64), nullable=False, server_default=_DEFAULT),
    sa.Column("invoice_id", sa.Integer, sa.ForeignKey("invoices.id"), nullable=False, index=True),
    sa.Column("syntax", sa.String(40), nullable=False),
    sa.Column("format", sa.String(100), nullable=False),
    sa.Column("media_type", sa.String(100), nullable=False),
    sa.Column("extension", sa.String(20), nullable=False),
    sa.Column("content", sa.LargeBinary, nullable=False),
    sa.Column("sha256", sa.String(64), nullable=False),
)

deliveries = sa.Table(
    "deliveries",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("tenant_id", sa.String(64), nullable=False, server_default=_DEFAULT),
    sa.Column("invoice_id", sa.Integer, sa.ForeignKey("invoices.id"), nullable=False, index=True),
    sa.Column("document_id", sa.Integer, sa.ForeignKey("documents.id"), nullable=True),
    sa.Column("buyer", sa.String(200), nullable=False, index=True),
    sa.Column("channel", sa.String(100), nullable=False),
    sa.Column("state", sa.String(20), nullable=False),
    sa.Column("attempt", sa.Integer, nullable=False),
    # QUEUED: when to send next; SENT/DELIVERED: when the awaited proof is overdue.
    sa.Column("next_attempt_at", UtcDateTime, nullable=True),
    sa.Column("idempotency_key", sa.String(300), nullable=False),
    sa.Column("claimed_by", sa.String(200), nullable=True),
    sa.Column("claim_expires_at", UtcDateTime, nullable=True),
    # the three ack levels, kept apart: AckStatus text of the latest ack at each level
    sa.Column("transport_ack", sa.String(20), nullable=True),
    sa.Column("syntax_ack", sa.String(20), nullable=True),
    sa.Column("business_ack", sa.String(20), nullable=True),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("updated_at", UtcDateTime, nullable=False),
    # control references set when the worker sends (migration 0002), for ack correlation
    sa.Column("interchange_ref", sa.String(100), nullable=True, index=True),
    sa.Column("message_ref", sa.String(100), nullable=True, index=True),
    sa.Column("message_id", sa.String(300), nullable=True, index=True),
    sa.UniqueConstraint("idempotency_key", name="uq_deliveries_idempotency_key"),
    sa.Index("ix_deliveries_state_next", "state", "next_attempt_at"),
)

events = sa.Table(
    "events",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("tenant_id", sa.String(64), nullable=False, server_default=_DEFAULT),
    sa.Column("at", UtcDateTime, nullable=False),
    sa.Column("invoice_id", sa.Integer, sa.ForeignKey("invoices.id"), nullable=False, index=True),
    sa.Column("delivery_id", sa.Integer, sa.ForeignKey("deliveries.id"), nullable=True, index=True),
    sa.Column("kind", sa.String(50), nullable=False),
    # level: severity (info, warning, error); ack_level: transport, syntax or business (acks)
    sa.Column("level", sa.String(20), nullable=False),
    sa.Column("ack_level", sa.String(20), nullable=True),
    sa.Column("state_from", sa.String(20), nullable=True),
    sa.Column("state_to", sa.String(20), nullable=True),
    sa.Column("detail", sa.Text, nullable=False),
    sa.Column("evidence", sa.LargeBinary, nullable=True),
)

control_numbers = sa.Table(
    "control_numbers",
    metadata,
    sa.Column("tenant_id", sa.String(64), primary_key=True, server_default=_DEFAULT),
    sa.Column("partner", sa.String(200), primary_key=True),
    sa.Column("counter", sa.String(50), primary_key=True),
    sa.Column("last_value", sa.BigInteger, nullable=False),
)

unmatched_acks = sa.Table(
    "unmatched_acks",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("tenant_id", sa.String(64), nullable=False, server_default=_DEFAULT),
    sa.Column("received_at", UtcDateTime, nullable=False),
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

# migration 0003: what arrived from partners (AS2 and other inbound channels), before and after
# parsing; (partner, message_id) unique = duplicate detection by Message-ID.
inbound_messages = sa.Table(
    "inbound_messages",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("tenant_id", sa.String(64), nullable=False, server_default=_DEFAULT),
    sa.Column("received_at", UtcDateTime, nullable=False),
    sa.Column("channel", sa.String(40), nullable=False),
    sa.Column("partner", sa.String(200), nullable=False),
    sa.Column("message_id", sa.String(300), nullable=False),
    sa.Column("media_type", sa.String(200), nullable=False),
    sa.Column("filename", sa.String(300), nullable=True),
    sa.Column("content", sa.LargeBinary, nullable=False),
    # RECEIVED (stored, not parsed), PARSED (canonical filled), UNREADABLE (detail says why)
    sa.Column("state", sa.String(20), nullable=False),
    sa.Column("syntax", sa.String(40), nullable=True),
    sa.Column("invoice_number", sa.String(200), nullable=True),
    sa.Column("canonical", sa.Text, nullable=True),
    sa.Column("detail", sa.Text, nullable=False),
    # the receipt we answered with (AS2 MDN bytes), kept as evidence
    sa.Column("answer", sa.LargeBinary, nullable=True),
    sa.UniqueConstraint(
        "tenant_id", "partner", "message_id", name="uq_inbound_tenant_partner_message"
    ),
)

# migration 0004: consolidation. A batch gathers the deliveries of one buyer and channel that
# travel in ONE document (EDIFACT: one interchange, one message per invoice). OPEN while members
# join (their deliveries are QUEUED but held: no next-attempt time); closing stores the rendered
# document here and makes every member due at once. ``due_at``: when the batch must close at the
# latest (per-day: the cut-off; per-interchange: a safety net for a submit run that died).
batches = sa.Table(
    "batches",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("tenant_id", sa.String(64), nullable=False, server_default=_DEFAULT),
    sa.Column("buyer", sa.String(200), nullable=False),
    sa.Column("channel", sa.String(100), nullable=False),
    sa.Column("consolidation", sa.String(20), nullable=False),
    # members share one envelope: sha256 of the sender/recipient ids their document carries
    sa.Column("envelope_key", sa.String(64), nullable=False),
    sa.Column("state", sa.String(20), nullable=False),
    sa.Column("size", sa.Integer, nullable=False),
    sa.Column("capacity", sa.Integer, nullable=False),
    sa.Column("opened_at", UtcDateTime, nullable=False),
    sa.Column("due_at", UtcDateTime, nullable=False),
    sa.Column("closed_at", UtcDateTime, nullable=True),
    sa.Column("interchange_ref", sa.String(100), nullable=True),
    sa.Column("syntax", sa.String(40), nullable=True),
    sa.Column("format", sa.String(100), nullable=True),
    sa.Column("media_type", sa.String(100), nullable=True),
    sa.Column("extension", sa.String(20), nullable=True),
    sa.Column("content", sa.LargeBinary, nullable=True),
    sa.Column("sha256", sa.String(64), nullable=True),
    # a batch re-sent on a fallback channel: the batch whose document it carries again
    sa.Column("follows_id", sa.Integer, nullable=True),
    sa.Index("ix_batches_open", "buyer", "channel", "state"),
    sa.Index("ix_batches_state_due", "state", "due_at"),
)

deliveries.append_column(
    sa.Column(
        "batch_id",
        sa.Integer,
        sa.ForeignKey("batches.id", name="fk_deliveries_batch_id"),
        nullable=True,
    )
)
sa.Index("ix_deliveries_batch_id", deliveries.c.batch_id)

# migration 0005: the durable outbox of asynchronous AS2 MDNs we owe partners. A row is written in
# the same transaction as the inbound message's answer; PENDING until the partner's
# Receipt-Delivery-Option URL took it (DELIVERED) or we gave up (FAILED, ``last_error`` says why).
# ``claimed_by``/``claim_expires_at``: the process POSTing it now (a dead one's claim expires).
async_mdns = sa.Table(
    "async_mdns",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("tenant_id", sa.String(64), nullable=False, server_default=_DEFAULT),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column(
        "inbound_id",
        sa.Integer,
        sa.ForeignKey("inbound_messages.id", name="fk_async_mdns_inbound_id"),
        nullable=True,
    ),
    sa.Column("partner", sa.String(200), nullable=False),
    # the Message-ID the MDN answers
    sa.Column("message_id", sa.String(300), nullable=False),
    sa.Column("url", sa.String(2000), nullable=False),
    # the MDN's HTTP headers (JSON object) and body, POSTed as they are
    sa.Column("headers", sa.Text, nullable=False),
    sa.Column("body", sa.LargeBinary, nullable=False),
    sa.Column("state", sa.String(20), nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("next_attempt_at", UtcDateTime, nullable=True),
    sa.Column("claimed_by", sa.String(200), nullable=True),
    sa.Column("claim_expires_at", UtcDateTime, nullable=True),
    sa.Column("delivered_at", UtcDateTime, nullable=True),
    sa.Column("last_error", sa.Text, nullable=True),
    sa.Index("ix_async_mdns_state_next", "state", "next_attempt_at"),
    sa.Index("ix_async_mdns_inbound_id", "inbound_id"),
)

# migration 0006: transmissions. ``deliveries.transmission``: the number of the transmission the
# next send uses (1 first; +1 after a transmission the partner refused, or a forced re-send) -
# the connector's idempotency key, hence the AS2 Message-ID, includes it from 2 on. An attempt
# event names the transmission it belonged to and the remote's id for it (the Message-ID).
deliveries.append_column(
    sa.Column("transmission", sa.Integer, nullable=False, server_default=sa.text("1"))
)
events.append_column(sa.Column("transmission", sa.Integer, nullable=True))
events.append_column(sa.Column("message_id", sa.String(300), nullable=True))
sa.Index("ix_events_message_id", events.c.message_id)

# migration 0007: inbound requests we refused (the message could not be opened: unknown partner,
# decryption-failed, authentication-failed, insufficient security, not AS2 at all). Kept apart
# from inbound_messages so a refusal never holds the (partner, message_id) slot a corrected
# re-send needs. ``request``: the raw request (header lines, blank line, body) as received, cut
# at the endpoint's cap (``request_size`` is the size as received); ``answer``: what we answered
# (the error MDN, sync or async, or the plain HTTP text when no MDN could be addressed).
inbound_refusals = sa.Table(
    "inbound_refusals",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("tenant_id", sa.String(64), nullable=False, server_default=_DEFAULT),
    sa.Column("received_at", UtcDateTime, nullable=False),
    sa.Column("channel", sa.String(40), nullable=False),
    # the configured partner's name when AS2-From names one, else the AS2-From as sent ("")
    sa.Column("partner", sa.String(200), nullable=False),
    sa.Column("sender", sa.String(200), nullable=True),
    sa.Column("recipient", sa.String(200), nullable=True),
    sa.Column("message_id", sa.String(300), nullable=True),
    # the RFC 4130 disposition modifier (decryption-failed, authentication-failed, ...)
    sa.Column("reason", sa.String(60), nullable=False),
    sa.Column("detail", sa.Text, nullable=False),
    sa.Column("request", sa.LargeBinary, nullable=False),
    sa.Column("request_size", sa.Integer, nullable=False),
    sa.Column("http_status", sa.Integer, nullable=False),
    # sync (in the response), async (POSTed; the outbox row is async_mdns), none (HTTP text)
    sa.Column("answer_kind", sa.String(20), nullable=False),
    sa.Column("answer", sa.LargeBinary, nullable=True),
    sa.Index("ix_inbound_refusals_partner_message", "partner", "message_id"),
)

# migration 0008: tenants. Every other table carries ``tenant_id``; the default tenant's row is
# created by the migration (the embedded default needs no set-up).
tenants = sa.Table(
    "tenants",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("created_at", UtcDateTime, nullable=False),
)
sa.Index("ix_invoices_tenant_accepted", invoices.c.tenant_id, invoices.c.accepted_at)
sa.Index("ix_deliveries_tenant_state", deliveries.c.tenant_id, deliveries.c.state)
sa.Index(
    "ix_inbound_messages_tenant_received",
    inbound_messages.c.tenant_id,
    inbound_messages.c.received_at,
)

# tables of other concerns, on the same metadata (their modules import UtcDateTime from here)
import gateway.store.schema_idempotency  # noqa: E402
import gateway.store.schema_keys  # noqa: E402
import gateway.store.schema_webhooks  # noqa: E402
