"""``GET /invoices`` (filters, cursor pages) and ``GET /invoices/{id}`` (canonical invoice,
documents, deliveries, timeline), scope ``read``, scoped by the key's tenant."""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request
from pydantic import BeforeValidator

from gateway.store.listing import InvoiceFilter, get_invoice, list_invoices
from gateway.store.states import DeliveryState
from gateway.web.api.auth import Principal, require_scope
from gateway.web.api.deps import (
    READ_ERRORS,
    decode_cursor,
    encode_cursor,
    next_link,
    not_found,
    now,
    problem_responses,
    tenant_store,
)
from gateway.web.api.models import InvoiceList, InvoiceOut, InvoiceSummaryOut

router = APIRouter(tags=["invoices"])

DEFAULT_LIMIT, MAX_LIMIT = 50, 500
Reader = Annotated[Principal, Depends(require_scope("read"))]
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _iso_date(value: object) -> object:
    """Only YYYY-MM-DD (pydantic alone would also take a number as a Unix time)."""
    if isinstance(value, str) and not _ISO_DATE.fullmatch(value):
        raise ValueError(f"{value[:40]!r} is not a date; accepted: YYYY-MM-DD")
    return value


IsoDate = Annotated[dt.date, BeforeValidator(_iso_date)]


@router.get(
    "/invoices",
    response_model=InvoiceList,
    summary="List invoices",
    responses=problem_responses(*READ_ERRORS),
)
def invoices_list(
    *,
    request: Request,
    principal: Reader,
    buyer: Annotated[str | None, Query(max_length=200, description="buyer profile name")] = None,
    state: Annotated[
        DeliveryState | None, Query(description="state of the latest delivery")
    ] = None,
    issued_from: Annotated[
        IsoDate | None, Query(alias="from", description="issue date (BT-2) on or after")
    ] = None,
    issued_to: Annotated[
        IsoDate | None, Query(alias="to", description="issue date (BT-2) on or before")
    ] = None,
    overdue: Annotated[
        bool,
        Query(
            description="only invoices whose due date (BT-9) passed and are not paid, "
            "cancelled or rejected"
        ),
    ] = False,
    cursor: Annotated[str | None, Query(max_length=200, description="next_cursor")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
) -> InvoiceList:
    """The tenant's invoices, oldest first, filtered by every parameter given."""
    if issued_from is not None and issued_to is not None and issued_from > issued_to:
        raise HTTPException(
            400,
            f"from {issued_from.isoformat()} is after to {issued_to.isoformat()}; accepted: "
            "from on or before to",
        )
    where = InvoiceFilter(
        buyer=buyer,
        state=state,
        issued_from=issued_from,
        issued_to=issued_to,
        overdue_on=now(request).date() if overdue else None,
    )
    page = list_invoices(
        tenant_store(request, principal), where, after=decode_cursor(cursor), limit=limit
    )
    following = encode_cursor(page.last) if page.more else None
    return InvoiceList(
        items=[InvoiceSummaryOut.of(row) for row in page.rows],
        next_cursor=following,
        next=next_link(request, following),
    )


@router.get(
    "/invoices/{invoice_id}",
    response_model=InvoiceOut,
    summary="One invoice with documents, deliveries and timeline",
    responses=problem_responses(*READ_ERRORS, 404),
)
def invoice_detail(
    request: Request,
    principal: Reader,
    invoice_id: Annotated[int, Path(ge=1, le=2**53)],
) -> InvoiceOut:
    """The canonical invoice as stored, its documents, deliveries and merged timeline."""
    detail = get_invoice(tenant_store(request, principal), invoice_id)
    if detail is None:
        raise not_found("invoice", invoice_id)
    return InvoiceOut.of(detail)
