"""Pages of the store for the REST API: invoices with filters, one invoice with its documents,
deliveries and timeline, stored documents, inbound messages.

Every function takes a :class:`gateway.store.Store` and reads only the rows of that store's
tenant (``store.tenant``, on every table read): an id of another tenant is answered exactly
like an id that does not exist (None). Pages are keyset pages over the row id, oldest first:
``after`` is the last id of the previous page, so a page never repeats or skips a row while
new rows are inserted (they get larger ids and appear at the end). Example::

    page = list_invoices(store, InvoiceFilter(state="QUEUED"), after=None, limit=50)
    if page.more:
        page = list_invoices(store, InvoiceFilter(state="QUEUED"), after=page.last, limit=50)
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import RowMapping

from gateway.store.inbound import InboundRow
from gateway.store.records import StoredDocument
from gateway.store.schema import deliveries, documents, events, inbound_messages, invoices
from gateway.store.states import DeliveryState
from gateway.store.store import Store

#: latest delivery states in which an invoice with a passed due date is not overdue: paid, or
#: never payable (cancelled by the supplier, rejected by the buyer)
SETTLED_STATES: frozenset[DeliveryState] = frozenset(
    {DeliveryState.PAID, DeliveryState.CANCELLED, DeliveryState.REJECTED}
)


def _tenant(store: Store, table: sa.Table) -> sa.ColumnElement[bool]:
    """The tenant condition on ``table``: the store's tenant."""
    condition: sa.ColumnElement[bool] = table.c.tenant_id == store.tenant
    return condition


def _json_text(store: Store, column: sa.ColumnElement[Any], key: str) -> sa.ColumnElement[str]:
    """The top-level text value ``key`` of a JSON text column (SQLite json_extract, PostgreSQL
    json_extract_path_text), NULL when absent."""
    if store.engine.dialect.name == "postgresql":
        return sa.func.json_extract_path_text(
            sa.cast(column, postgresql.JSON), key, type_=sa.String
        )
    return sa.func.json_extract(column, f"$.{key}", type_=sa.String)


@dataclass(frozen=True)
class InvoiceFilter:
    """What ``GET /invoices`` filters by (every field given must hold).

    ``buyer``: a delivery of the invoice goes to that buyer profile; ``state``: the state of
    the invoice's latest delivery; ``issued_from``/``issued_to``: the issue date (BT-2), both
    ends included; ``overdue_on``: the due date (BT-9) is before that day and the latest
    delivery is not settled (:data:`SETTLED_STATES`)."""

    buyer: str | None = None
    state: DeliveryState | None = None
    issued_from: dt.date | None = None
    issued_to: dt.date | None = None
    overdue_on: dt.date | None = None


@dataclass(frozen=True)
class InvoiceSummary:
    """One line of the invoice list."""

    id: int
    number: str
    seller_key: str
    accepted_at: dt.datetime
    issue_date: str | None
    due_date: str | None
    currency: str | None
    buyer_name: str | None
    total: str | None
    state: str | None
    buyers: tuple[str, ...]


@dataclass(frozen=True)
class Page:
    """A page of rows (``rows``), ``more`` when rows follow the last one (id ``last``)."""

    rows: tuple[Any, ...]
    more: bool

    @property
    def last(self) -> int | None:
        """The id of the last row (the next page's ``after``), None when empty."""
        return int(self.rows[-1].id) if self.rows else None


def _latest_state() -> sa.ScalarSelect[Any]:
    return (
        sa.select(deliveries.c.state)
        .where(deliveries.c.invoice_id == invoices.c.id)
        .order_by(deliveries.c.id.desc())
        .limit(1)
        .scalar_subquery()
    )


def list_invoices(store: Store, where: InvoiceFilter, *, after: int | None, limit: int) -> Page:
    """A page of the tenant's invoices matching ``where``, oldest first (see the module
    docstring for the keyset)."""
    state = _latest_state().label("state")
    issue = _json_text(store, invoices.c.canonical, "issue_date")
    due = _json_text(store, invoices.c.canonical, "due_date")
    query = (
        sa.select(
            invoices.c.id,
            invoices.c.number,
            invoices.c.seller_key,
            invoices.c.accepted_at,
            invoices.c.canonical,
            state,
        )
        .where(_tenant(store, invoices))
        .order_by(invoices.c.id)
        .limit(limit + 1)
    )
    if after is not None:
        query = query.where(invoices.c.id > after)
    if where.buyer is not None:
        query = query.where(
            sa.exists().where(
                deliveries.c.invoice_id == invoices.c.id, deliveries.c.buyer == where.buyer
            )
        )
    if where.state is not None:
        query = query.where(_latest_state() == where.state.value)
    if where.issued_from is not None:
        query = query.where(issue >= where.issued_from.isoformat())
    if where.issued_to is not None:
        query = query.where(issue <= where.issued_to.isoformat())
    if where.overdue_on is not None:
        settled = sorted(s.value for s in SETTLED_STATES)
        query = query.where(
            due.is_not(None),
            due < where.overdue_on.isoformat(),
            sa.or_(_latest_state().is_(None), _latest_state().not_in(settled)),
        )
    with store._read() as db:
        rows = list(db.execute(query).mappings())
        shown = rows[:limit]
        buyers = _buyers(store, db, [r["id"] for r in shown])
    return Page(tuple(_summary(r, buyers.get(r["id"], ())) for r in shown), len(rows) > limit)


def _buyers(
    store: Store, db: sa.Connection, invoice_ids: Sequence[int]
) -> dict[int, tuple[str, ...]]:
    if not invoice_ids:
        return {}
    found: dict[int, list[str]] = {}
    query = (
        sa.select(deliveries.c.invoice_id, deliveries.c.buyer)
        .where(deliveries.c.invoice_id.in_(list(invoice_ids)))
        .order_by(deliveries.c.id)
    )
    for invoice_id, buyer in db.execute(query.where(_tenant(store, deliveries))):
        names = found.setdefault(invoice_id, [])
        if buyer not in names:
            names.append(buyer)
    return {k: tuple(v) for k, v in found.items()}


def _summary(row: RowMapping, buyers: tuple[str, ...]) -> InvoiceSummary:
    data = json.loads(row["canonical"])
    totals = data.get("totals") or {}
    buyer = data.get("buyer") or {}
    total = totals.get("due") or totals.get("with_vat")
    return InvoiceSummary(
        id=row["id"],
        number=row["number"],
        seller_key=row["seller_key"],
        accepted_at=row["accepted_at"],
        issue_date=data.get("issue_date"),
        due_date=data.get("due_date"),
        currency=data.get("currency"),
        buyer_name=buyer.get("name"),
        total=None if total is None else str(total),
        state=row["state"],
        buyers=buyers,
    )


@dataclass(frozen=True)
class DocumentInfo:
    """A stored document without its bytes."""

    id: int
    syntax: str
    format: str
    media_type: str
    extension: str
    sha256: str
    size: int


@dataclass(frozen=True)
class DeliveryInfo:
    """One delivery of an invoice as the API shows it."""

    id: int
    buyer: str
    channel: str
    state: str
    attempts: int
    transmission: int
    document_id: int | None
    next_attempt_at: dt.datetime | None
    transport_ack: str | None
    syntax_ack: str | None
    business_ack: str | None
    created_at: dt.datetime
    updated_at: dt.datetime


@dataclass(frozen=True)
class TimelineEvent:
    """One event of an invoice's timeline."""

    id: int
    at: dt.datetime
    kind: str
    level: str
    ack_level: str | None
    state_from: str | None
    state_to: str | None
    detail: str
    delivery_id: int | None
    has_evidence: bool


@dataclass(frozen=True)
class InvoiceDetail:
    """One invoice: the stored canonical JSON, its documents, deliveries and timeline."""

    id: int
    number: str
    seller_key: str
    accepted_at: dt.datetime
    canonical: str
    documents: tuple[DocumentInfo, ...] = field(default=())
    deliveries: tuple[DeliveryInfo, ...] = field(default=())
    timeline: tuple[TimelineEvent, ...] = field(default=())


def get_invoice(store: Store, invoice_id: int) -> InvoiceDetail | None:
    """The tenant's invoice ``invoice_id`` in full, or None (missing or another tenant's)."""
    head = sa.select(
        invoices.c.id,
        invoices.c.number,
        invoices.c.seller_key,
        invoices.c.accepted_at,
        invoices.c.canonical,
    ).where(invoices.c.id == invoice_id, _tenant(store, invoices))
    docs = (
        sa.select(
            documents.c.id,
            documents.c.syntax,
            documents.c.format,
            documents.c.media_type,
            documents.c.extension,
            documents.c.sha256,
            sa.func.length(documents.c.content).label("size"),
        )
        .where(documents.c.invoice_id == invoice_id, _tenant(store, documents))
        .order_by(documents.c.id)
    )
    runs = (
        sa.select(deliveries)
        .where(deliveries.c.invoice_id == invoice_id, _tenant(store, deliveries))
        .order_by(deliveries.c.id)
    )
    log = (
        sa.select(
            *(c for c in events.c if c.name != "evidence"),
            events.c.evidence.is_not(None).label("has_evidence"),
        )
        .where(events.c.invoice_id == invoice_id, _tenant(store, events))
        .order_by(events.c.id)
    )
    with store._read() as db:
        found = db.execute(head).mappings().first()
        if found is None:
            return None
        doc_rows = [DocumentInfo(**dict(r)) for r in db.execute(docs).mappings()]
        delivery_rows = [_delivery(r) for r in db.execute(runs).mappings()]
        event_rows = [_event(r) for r in db.execute(log).mappings()]
    return InvoiceDetail(
        id=found["id"],
        number=found["number"],
        seller_key=found["seller_key"],
        accepted_at=found["accepted_at"],
        canonical=found["canonical"],
        documents=tuple(doc_rows),
        deliveries=tuple(delivery_rows),
        timeline=tuple(event_rows),
    )


def _delivery(r: RowMapping) -> DeliveryInfo:
    return DeliveryInfo(
        id=r["id"],
        buyer=r["buyer"],
        channel=r["channel"],
        state=r["state"],
        attempts=r["attempt"],
        transmission=r["transmission"],
        document_id=r["document_id"],
        next_attempt_at=r["next_attempt_at"],
        transport_ack=r["transport_ack"],
        syntax_ack=r["syntax_ack"],
        business_ack=r["business_ack"],
        created_at=r["created_at"],
        updated_at=r["updated_at"],
    )


def _event(r: RowMapping) -> TimelineEvent:
    return TimelineEvent(
        id=r["id"],
        at=r["at"],
        kind=r["kind"],
        level=r["level"],
        ack_level=r["ack_level"],
        state_from=r["state_from"],
        state_to=r["state_to"],
        detail=r["detail"],
        delivery_id=r["delivery_id"],
        has_evidence=bool(r["has_evidence"]),
    )


def get_document(store: Store, document_id: int) -> StoredDocument | None:
    """The tenant's stored document ``document_id`` with its bytes, or None."""
    query = (
        sa.select(
            documents.c.id,
            documents.c.invoice_id,
            documents.c.syntax,
            documents.c.format,
            documents.c.media_type,
            documents.c.extension,
            documents.c.content,
            documents.c.sha256,
            invoices.c.number,
        )
        .join(invoices, invoices.c.id == documents.c.invoice_id)
        .where(documents.c.id == document_id, _tenant(store, invoices), _tenant(store, documents))
    )
    with store._read() as db:
        row = db.execute(query).mappings().first()
    if row is None:
        return None
    return StoredDocument(
        id=row["id"],
        invoice_id=row["invoice_id"],
        syntax=row["syntax"],
        format=row["format"],
        media_type=row["media_type"],
        extension=row["extension"],
        content=row["content"],
        sha256=row["sha256"],
    )


def document_invoice_number(store: Store, document_id: int) -> str | None:
    """The invoice number (BT-1) of the tenant's document ``document_id`` (its file name)."""
    query = (
        sa.select(invoices.c.number)
        .join(documents, documents.c.invoice_id == invoices.c.id)
        .where(documents.c.id == document_id, _tenant(store, invoices), _tenant(store, documents))
    )
    with store._read() as db:
        return db.execute(query).scalar_one_or_none()


_INBOUND_COLUMNS = tuple(c for c in inbound_messages.c if c.name in InboundRow.__dataclass_fields__)


def _inbound(found: RowMapping) -> InboundRow:
    return InboundRow(**{c.name: found[c.name] for c in _INBOUND_COLUMNS})


def list_inbound_page(
    store: Store,
    *,
    after: int | None,
    limit: int,
    state: str | None = None,
    channel: str | None = None,
) -> Page:
    """A page of the tenant's inbound messages (oldest first), of one state or channel."""
    table = inbound_messages
    query = (
        sa.select(*_INBOUND_COLUMNS)
        .where(_tenant(store, table))
        .order_by(table.c.id)
        .limit(limit + 1)
    )
    if after is not None:
        query = query.where(table.c.id > after)
    if state is not None:
        query = query.where(table.c.state == state)
    if channel is not None:
        query = query.where(table.c.channel == channel)
    with store._read() as db:
        rows = [_inbound(r) for r in db.execute(query).mappings()]
    return Page(tuple(rows[:limit]), len(rows) > limit)


def get_inbound_message(store: Store, inbound_id: int) -> InboundRow | None:
    """The tenant's inbound message ``inbound_id``, or None."""
    query = sa.select(*_INBOUND_COLUMNS).where(
        inbound_messages.c.id == inbound_id, _tenant(store, inbound_messages)
    )
    with store._read() as db:
        found = db.execute(query).mappings().first()
    return _inbound(found) if found is not None else None
