"""Inbound for the buyer side: ``POST /inbound`` (a UBL, CII, EDIFACT INVOIC or cXML invoice
as the body, scope ``submit``) is stored and parsed exactly like an AS2 payload
(:func:`gateway.store.inbound.record_inbound`, then
:func:`gateway.inbound.interpret.process_inbound`); ``GET /inbound`` lists, ``GET
/inbound/{id}`` shows one with the parsed invoice, the findings and the original bytes
(``/content``: the bytes with their media type). Scoped by the key's tenant.

The message id is the ``Idempotency-Key`` header, else the document's SHA-256: the same
document posted again is recognised (``duplicate``, 200) and not processed twice.
"""

from __future__ import annotations

import hashlib
from typing import Annotated

from fastapi import APIRouter, Depends, Header, HTTPException, Path, Query, Request, Response
from starlette.concurrency import run_in_threadpool

from gateway.inbound.interpret import DEFAULT_RULE_SETS, interpret, process_inbound
from gateway.store.inbound import STATES, record_inbound
from gateway.store.listing import get_inbound_message, list_inbound_page
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
from gateway.web.api.models import (
    Finding,
    InboundList,
    InboundOut,
    InboundReceived,
    InboundSummaryOut,
)

router = APIRouter(tags=["inbound"])

CHANNEL = "api"
_BINARY = {"schema": {"type": "string", "format": "binary"}}
INBOUND_MEDIA_TYPES = (
    "application/xml",
    "text/xml",
    "application/edifact",
    "text/plain",
    "application/pdf",
)
_BODY = {
    "requestBody": {
        "required": True,
        "description": "the invoice document as it is (UBL, CII, EDIFACT INVOIC, cXML, or a "
        "Factur-X/ZUGFeRD/XRechnung hybrid PDF with its embedded XML)",
        "content": {media: _BINARY for media in (*INBOUND_MEDIA_TYPES, "application/octet-stream")},
    }
}
InboundId = Annotated[int, Path(ge=1, le=2**53)]


def _rule_sets(request: Request) -> tuple[str, ...]:
    return tuple(getattr(request.app.state, "inbound_rule_sets", None) or DEFAULT_RULE_SETS)


@router.post(
    "/inbound",
    response_model=InboundReceived,
    status_code=201,
    summary="Receive an invoice document",
    openapi_extra=_BODY,
    responses={
        200: {
            "description": "already received (same message id): nothing processed again",
            "model": InboundReceived,
        },
        **problem_responses(*READ_ERRORS, 413),
    },
)
async def inbound_post(
    request: Request,
    response: Response,
    principal: Annotated[Principal, Depends(require_scope("submit"))],
    idempotency_key: Annotated[
        str | None,
        Header(max_length=300, description="the message id (default: the body's SHA-256)"),
    ] = None,
    partner: Annotated[
        str | None, Query(max_length=200, description="who sent it (default: the key's name)")
    ] = None,
) -> InboundReceived:
    """Store the document, parse it and run the business rules (like an AS2 arrival)."""
    body = await request.body()
    if not body.strip():
        raise HTTPException(
            400, "request body is empty; accepted: a UBL, CII, EDIFACT INVOIC or cXML invoice"
        )
    store = tenant_store(request, principal)
    message_id = idempotency_key or f"sha256:{hashlib.sha256(body).hexdigest()}"
    media_type = (request.headers.get("content-type") or "application/octet-stream")[:200]
    rule_sets = _rule_sets(request)
    sender = partner or principal.name or CHANNEL

    def work() -> tuple[InboundReceived, bool]:
        row, is_new = record_inbound(
            store,
            channel=CHANNEL,
            partner=sender,
            message_id=message_id,
            media_type=media_type,
            content=body,
            now=now(request),
            detail=f"POST /api/v1/inbound by key {principal.key_id}",
        )
        if is_new or not row.finished:
            row, verdict = process_inbound(store, row, rule_sets=rule_sets)
        else:
            verdict = interpret(row.content, rule_sets=rule_sets, label=f"{sender} {message_id}")
        findings = [Finding.of(p) for p in verdict.problems]
        full = InboundOut.full(row, findings, verdict.scenario)
        return InboundReceived(**full.model_dump(), duplicate=not is_new), is_new

    received, is_new = await run_in_threadpool(work)
    if not is_new:
        response.status_code = 200
    return received


@router.get(
    "/inbound",
    response_model=InboundList,
    summary="List inbound messages",
    responses=problem_responses(*READ_ERRORS),
)
def inbound_list(
    *,
    request: Request,
    principal: Annotated[Principal, Depends(require_scope("read"))],
    state: Annotated[
        str | None, Query(max_length=20, description="one of " + ", ".join(STATES[:-1]))
    ] = None,
    channel: Annotated[str | None, Query(max_length=40, description="as2, api, ...")] = None,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> InboundList:
    """The tenant's inbound messages, oldest first."""
    if state is not None and state not in STATES[:-1]:
        raise HTTPException(
            400, f"state {state[:40]!r}: unknown; accepted: {', '.join(STATES[:-1])}"
        )
    page = list_inbound_page(
        tenant_store(request, principal),
        after=decode_cursor(cursor),
        limit=limit,
        state=state,
        channel=channel,
    )
    following = encode_cursor(page.last) if page.more else None
    return InboundList(
        items=[InboundSummaryOut.of(row) for row in page.rows],
        next_cursor=following,
        next=next_link(request, following),
    )


@router.get(
    "/inbound/{inbound_id}",
    response_model=InboundOut,
    summary="One inbound message: invoice, findings, original bytes",
    responses=problem_responses(*READ_ERRORS, 404),
)
def inbound_detail(
    request: Request,
    principal: Annotated[Principal, Depends(require_scope("read"))],
    inbound_id: InboundId,
) -> InboundOut:
    """The parsed invoice, the in-process rules' findings (run again on the stored bytes) and
    the document as received (base64)."""
    row = get_inbound_message(tenant_store(request, principal), inbound_id)
    if row is None:
        raise not_found("inbound message", inbound_id)
    verdict = interpret(row.content, rule_sets=_rule_sets(request), label=f"inbound {row.id}")
    return InboundOut.full(row, [Finding.of(p) for p in verdict.problems], verdict.scenario)


@router.get(
    "/inbound/{inbound_id}/content",
    summary="The original bytes of an inbound message",
    response_class=Response,
    responses={
        200: {"description": "the document as received", "content": {"*/*": _BINARY}},
        **problem_responses(*READ_ERRORS, 404),
    },
)
def inbound_content(
    request: Request,
    principal: Annotated[Principal, Depends(require_scope("read"))],
    inbound_id: InboundId,
) -> Response:
    """The stored payload with the media type it arrived with."""
    row = get_inbound_message(tenant_store(request, principal), inbound_id)
    if row is None:
        raise not_found("inbound message", inbound_id)
    return Response(row.content, media_type=row.media_type)
