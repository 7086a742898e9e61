"""The response bodies of the read side of the REST API, as pydantic models (they are the
OpenAPI schemas a generated client is built from).

Every model converts from the store's values with one ``of(...)`` class method, so a route is
one call: ``InvoiceOut.of(detail)``.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from gateway.errors import Problem
from gateway.store.inbound import InboundRow
from gateway.store.listing import (
    DeliveryInfo,
    DocumentInfo,
    InvoiceDetail,
    InvoiceSummary,
    TimelineEvent,
)

API_PREFIX = "/api/v1"


class _Out(BaseModel):
    model_config = ConfigDict(frozen=True)


class ProblemOut(BaseModel):
    """RFC 9457 problem details (``application/problem+json``); extension members (``errors``,
    ``required_scope``, ...) may follow."""

    type: str = Field(description="a URI naming the kind of problem, or about:blank")
    title: str
    status: int
    detail: str | None = Field(default=None, description="what, which value, what is accepted")
    instance: str | None = None


class Finding(_Out):
    """One problem found in a record or document: record, field path, BT id, value, rule,
    message, what is accepted, and the flag (fatal, warning, info)."""

    record: str
    path: str
    bt: str | None
    value: Any = Field(description="what the rule tested, JSON-typed (amounts as text)")
    rule: str
    message: str
    accepted: str
    flag: str

    @classmethod
    def of(cls, problem: Problem) -> Finding:
        """The finding of a gateway :class:`~gateway.errors.Problem`."""
        return cls.model_validate(problem.as_dict())


class InvoiceSummaryOut(_Out):
    """One invoice in a list."""

    id: int
    number: str = Field(description="invoice number (BT-1)")
    seller_key: str = Field(description="the seller's VAT id (BT-31), else registration or name")
    accepted_at: dt.datetime
    issue_date: str | None = Field(description="BT-2, YYYY-MM-DD")
    due_date: str | None = Field(description="BT-9, YYYY-MM-DD")
    currency: str | None = Field(description="BT-5")
    buyer_name: str | None = Field(description="BT-44")
    total: str | None = Field(description="amount due (BT-115), else total with VAT (BT-112)")
    state: str | None = Field(description="state of the latest delivery (None: no delivery)")
    buyers: list[str] = Field(description="the buyer profiles the invoice is delivered to")
    link: str

    @classmethod
    def of(cls, row: InvoiceSummary) -> InvoiceSummaryOut:
        """From a store summary."""
        return cls(
            id=row.id,
            number=row.number,
            seller_key=row.seller_key,
            accepted_at=row.accepted_at,
            issue_date=row.issue_date,
            due_date=row.due_date,
            currency=row.currency,
            buyer_name=row.buyer_name,
            total=row.total,
            state=row.state,
            buyers=list(row.buyers),
            link=f"{API_PREFIX}/invoices/{row.id}",
        )


class InvoiceList(_Out):
    """A page of invoices, oldest first; ``next`` continues after the last one."""

    items: list[InvoiceSummaryOut]
    next_cursor: str | None = Field(description="opaque; pass as ?cursor= for the next page")
    next: str | None = Field(description="the next page's URL (same filters), None at the end")


class DocumentOut(_Out):
    """A rendered document of an invoice (the bytes are at ``link``)."""

    id: int
    syntax: str
    format: str = Field(description="format alias, e.g. peppol-bis3")
    media_type: str
    sha256: str
    size: int = Field(description="bytes")
    link: str

    @classmethod
    def of(cls, doc: DocumentInfo) -> DocumentOut:
        """From a store document."""
        return cls(
            id=doc.id,
            syntax=doc.syntax,
            format=doc.format,
            media_type=doc.media_type,
            sha256=doc.sha256,
            size=doc.size,
            link=f"{API_PREFIX}/documents/{doc.id}",
        )


class Acks(_Out):
    """The latest ack status at each of the three levels (None: none received)."""

    transport: str | None
    syntax: str | None
    business: str | None


class DeliveryOut(_Out):
    """One delivery of an invoice to one buyer over one channel."""

    id: int
    buyer: str = Field(description="buyer profile name")
    channel: str = Field(description="connector alias")
    state: str
    attempts: int
    transmission: int
    document_id: int | None
    next_attempt_at: dt.datetime | None = Field(
        description="QUEUED: next send; SENT/DELIVERED: when the awaited proof is overdue"
    )
    acks: Acks
    created_at: dt.datetime
    updated_at: dt.datetime

    @classmethod
    def of(cls, row: DeliveryInfo) -> DeliveryOut:
        """From a store delivery."""
        return cls(
            id=row.id,
            buyer=row.buyer,
            channel=row.channel,
            state=row.state,
            attempts=row.attempts,
            transmission=row.transmission,
            document_id=row.document_id,
            next_attempt_at=row.next_attempt_at,
            acks=Acks(
                transport=row.transport_ack, syntax=row.syntax_ack, business=row.business_ack
            ),
            created_at=row.created_at,
            updated_at=row.updated_at,
        )


class EventOut(_Out):
    """One event of the timeline (append order)."""

    id: int
    at: dt.datetime
    kind: str
    level: str
    ack_level: str | None
    state_from: str | None
    state_to: str | None
    detail: str
    delivery_id: int | None
    has_evidence: bool = Field(description="raw evidence (MDN, CONTRL, ...) is kept with it")

    @classmethod
    def of(cls, row: TimelineEvent) -> EventOut:
        """From a store event."""
        return cls(**row.__dict__)


class InvoiceOut(_Out):
    """One invoice: canonical model as stored, documents, deliveries and merged timeline."""

    id: int
    number: str
    seller_key: str
    accepted_at: dt.datetime
    invoice: dict[str, Any] = Field(description="the canonical invoice (EN 16931 terms) as stored")
    documents: list[DocumentOut]
    deliveries: list[DeliveryOut]
    timeline: list[EventOut]

    @classmethod
    def of(cls, detail: InvoiceDetail) -> InvoiceOut:
        """From a store invoice."""
        return cls(
            id=detail.id,
            number=detail.number,
            seller_key=detail.seller_key,
            accepted_at=detail.accepted_at,
            invoice=json.loads(detail.canonical),
            documents=[DocumentOut.of(d) for d in detail.documents],
            deliveries=[DeliveryOut.of(d) for d in detail.deliveries],
            timeline=[EventOut.of(e) for e in detail.timeline],
        )


class InboundSummaryOut(_Out):
    """One stored inbound message."""

    id: int
    received_at: dt.datetime
    channel: str = Field(description="as2, api, sftp, ...")
    partner: str
    message_id: str
    media_type: str
    filename: str | None
    size: int
    state: str = Field(description="RECEIVED, PARSED, REJECTED, UNREADABLE, RECORDED")
    syntax: str | None
    invoice_number: str | None
    detail: str
    link: str

    @classmethod
    def of(cls, row: InboundRow) -> InboundSummaryOut:
        """From a stored inbound message."""
        return cls(
            id=row.id,
            received_at=row.received_at,
            channel=row.channel,
            partner=row.partner,
            message_id=row.message_id,
            media_type=row.media_type,
            filename=row.filename,
            size=len(row.content),
            state=row.state,
            syntax=row.syntax,
            invoice_number=row.invoice_number,
            detail=row.detail,
            link=f"{API_PREFIX}/inbound/{row.id}",
        )


class InboundList(_Out):
    """A page of inbound messages, oldest first."""

    items: list[InboundSummaryOut]
    next_cursor: str | None
    next: str | None


class InboundOut(InboundSummaryOut):
    """One inbound message in full: the parsed invoice, the findings, the original bytes."""

    invoice: dict[str, Any] | None = Field(description="the canonical invoice, when it parsed")
    findings: list[Finding] = Field(description="the in-process rules' findings on the document")
    scenario: str | None = Field(description="the validation scenario its BT-24 selected")
    content_base64: str = Field(description="the document as received, base64")
    content_link: str = Field(description="the document as received, with its media type")

    @classmethod
    def full(cls, row: InboundRow, findings: list[Finding], scenario: str | None) -> InboundOut:
        """From a stored inbound message and the findings on it."""
        summary = InboundSummaryOut.of(row)
        return cls(
            **summary.model_dump(),
            invoice=json.loads(row.canonical) if row.canonical else None,
            findings=findings,
            scenario=scenario,
            content_base64=base64.b64encode(row.content).decode("ascii"),
            content_link=f"{API_PREFIX}/inbound/{row.id}/content",
        )


class InboundReceived(InboundOut):
    """What ``POST /inbound`` stored; ``duplicate``: the same message id was stored before
    (nothing was processed again)."""

    duplicate: bool


class TranslatedDocument(_Out):
    """One record translated into one format."""

    record: str
    format: str
    ok: bool = Field(description="a document was produced and nothing fatal was found")
    filename: str | None
    media_type: str | None
    sha256: str | None
    content_base64: str | None = Field(description="the rendered document, base64")
    findings: list[Finding]


class TranslateResult(_Out):
    """Every record in every requested format, in input order."""

    outcomes: list[TranslatedDocument]
    summary: str


class ValidationOut(_Out):
    """The verdict on one document (the same report as ``igw validate --json``)."""

    name: str
    record: str
    syntax: str
    rules: list[str]
    scenario: str
    scenario_title: str
    specification_id: str | None
    rules_from: str
    passed: bool
    seconds: float
    notes: list[str]
    findings: list[Finding]
