"""``POST /invoices``: ERP records in, one outcome per record out — the same intake, master data,
rules, routing, rendering, validation and store as ``igw submit`` (scope ``submit``).

The body is what ``igw submit`` reads from a file: one JSON record, an array of them or JSON
Lines (``Content-Type: application/json``, as ``igw schema`` describes), or CSV
(``text/csv``, one row per line item; ``charset=`` names its encoding). It goes through
:func:`gateway.cli.inputs.each_input` and :func:`gateway.delivery.submit.submit` exactly as the
CLI's file does, so a record's outcome here is the one ``igw submit`` reports for it:

* ``201`` — no record was rejected (``accepted``: stored with a queued delivery; ``duplicate``:
  the identical invoice was stored before, nothing queued again — re-posting is safe);
* ``207`` — some records were rejected, the others accepted (one status per record);
* ``422`` — no record was accepted: problem details with the same ``records`` member.

Each record names its ``index`` in the body, ``record`` (invoice number or position),
``status``, the stored ``invoice_id`` and ``deliveries``, and every problem with its field path,
BT id, value and what is accepted.

``Idempotency-Key``: the first answer to a request with the key is kept
(:mod:`gateway.store.idempotency`) and a repeat of the same request gets it again byte for byte
with ``Idempotent-Replayed: true``; the key with another body is a 422 naming the key; while
the first request is still being answered a repeat waits for it (up to
``app.state.idempotency_wait`` seconds, default 10), then gets 409. Every submission is in the
audit log (actor: the API key; the invoice ids it stored). Validation (XSD + schematron) runs
as ``igw submit`` runs it; ``app.state.run_validation = False`` is ``igw submit --no-validate``.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Header, Request
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from gateway.delivery.submit import SubmitReport
from gateway.errors import ConfigError, InputError
from gateway.masterdata.load import NO_SELLERS
from gateway.masterdata.sellers import SellerSet
from gateway.profiles.load import ProfileSet
from gateway.store import Store
from gateway.store.idempotency import (
    KeyInProgress,
    KeyReused,
    claim,
    complete,
    release,
    request_sha256,
)
from gateway.web.api.auth import Principal, require_scope
from gateway.web.api.deps import now, problem_responses, tenant_store
from gateway.web.api.models import Finding
from gateway.web.api.problems import PROBLEM_MEDIA_TYPE
from gateway.web.api.problems import Problem as ApiProblem

log = logging.getLogger(__name__)

router = APIRouter(tags=["submit"])

Submitter = Annotated[Principal, Depends(require_scope("submit"))]

JSON_MEDIA_TYPE = "application/json"
#: request media types and the record format ``igw submit`` reads them as
MEDIA_FORMATS = {
    "application/json": "json",
    "application/x-ndjson": "json",
    "application/jsonl": "json",
    "text/csv": "csv",
}
#: how the body is named in a problem of the whole input (``igw submit`` names the file)
BODY_NAME = "request body"
#: seconds a repeat waits for the first request with its key to finish (then 409)
IDEMPOTENCY_WAIT = 10.0
_POLL = 0.05

Status = Literal["accepted", "duplicate", "rejected"]
_STATUS: dict[str, Status] = {
    "stored": "accepted",
    "duplicate": "duplicate",
    "refused": "rejected",
    "rejected": "rejected",
}


class RecordOutcome(BaseModel):
    """What became of one record of the request."""

    model_config = ConfigDict(frozen=True)

    index: int = Field(description="position of the record in the request, from 0")
    record: str = Field(description="the invoice number (BT-1), else the record's position")
    status: Status
    outcome: Literal["stored", "duplicate", "refused", "rejected"] = Field(
        description="igw submit's word: refused = the number was stored with other content"
    )
    invoice: str | None = Field(description="invoice number (BT-1)")
    invoice_id: int | None = Field(description="the stored invoice (GET /invoices/{id})")
    seller: str | None = Field(description="the seller key the number is unique under")
    buyer: str | None = Field(description="the buyer profile it was routed to")
    format: str | None
    channel: str | None
    deliveries: list[int] = Field(description="delivery ids (POST /deliveries/{id}/resend)")
    sha256: str | None = Field(description="hash of the canonical invoice")
    batch: int | None = Field(description="the consolidation batch holding the delivery")
    message: str
    problems: list[Finding]


class SubmitSummary(BaseModel):
    """Counts per status, and igw submit's summary line."""

    model_config = ConfigDict(frozen=True)

    records: int
    accepted: int
    duplicate: int
    rejected: int
    text: str


class SubmitResult(BaseModel):
    """Every record's outcome, in request order."""

    model_config = ConfigDict(frozen=True)

    summary: SubmitSummary
    records: list[RecordOutcome]


_RECORD_JSON = {
    "description": "one ERP record, an array of them, or JSON Lines (igw schema)",
    "oneOf": [{"type": "object"}, {"type": "array", "items": {"type": "object"}}],
}
_BODY = {
    "requestBody": {
        "required": True,
        "description": "ERP records as igw submit reads them: JSON (one record, an array, or "
        "JSON Lines; the record format `igw schema` prints) or CSV (one row per line item)",
        "content": {
            "application/json": {"schema": _RECORD_JSON},
            "application/x-ndjson": {"schema": {"type": "string"}},
            "text/csv": {"schema": {"type": "string"}},
        },
    }
}
_MULTI = {
    "description": "some records rejected, the others accepted: one status per record",
    "content": {JSON_MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/SubmitResult"}}},
}


@router.post(
    "/invoices",
    status_code=201,
    response_model=SubmitResult,
    summary="Submit ERP records (as igw submit)",
    openapi_extra=_BODY,
    responses={207: _MULTI, **problem_responses(400, 401, 403, 409, 413, 415, 422, 503)},
)
async def submit_invoices(
    request: Request,
    principal: Submitter,
    idempotency_key: Annotated[
        str | None,
        Header(
            alias="Idempotency-Key",
            min_length=1,
            max_length=255,
            description="a repeat of the same request with this key gets the first answer",
        ),
    ] = None,
) -> Response:
    """Route, render, validate and store every record of the body; one outcome per record."""
    media_type, record_format, encoding = body_format(request.headers.get("content-type"))
    body = Body(await request.body(), media_type, record_format, encoding)
    return await run_in_threadpool(_answer, request, principal, body, idempotency_key)


@dataclass(frozen=True)
class Body:
    """A request body and how intake reads it."""

    data: bytes
    media_type: str
    format: str  # the intake format: json or csv
    encoding: str | None  # the charset parameter


def body_format(content_type: str | None) -> tuple[str, str, str | None]:
    """(media type, intake format, charset) of a request; 415 naming what is accepted."""
    from gateway.intake.encoding import check_encoding

    accepted = ", ".join(MEDIA_FORMATS)
    if not content_type:
        raise ApiProblem(
            415,
            "Unsupported Media Type",
            f"no Content-Type; accepted: {accepted}",
            kind="unsupported-media-type",
        )
    media, *params = (part.strip() for part in content_type.split(";"))
    media = media.lower()
    if media not in MEDIA_FORMATS:
        raise ApiProblem(
            415,
            "Unsupported Media Type",
            f"Content-Type {content_type[:100]!r}: accepted: {accepted}",
            kind="unsupported-media-type",
        )
    charset = None
    for param in params:
        name, _, value = param.partition("=")
        if name.strip().lower() == "charset":
            charset = value.strip().strip('"') or None
    try:
        check_encoding(charset)
    except InputError:
        raise ApiProblem(
            415,
            "Unsupported Media Type",
            f"Content-Type charset {charset!r}: unknown encoding; accepted: a codec name such "
            "as utf-8, cp1252, latin-1 or utf-16",
            kind="unsupported-media-type",
        ) from None
    return media, MEDIA_FORMATS[media], charset


def _answer(request: Request, principal: Principal, body: Body, key: str | None) -> Response:
    """The response, through the idempotency key when there is one (runs in a worker thread)."""
    store = tenant_store(request, principal)
    when = now(request)
    if key is None:
        status, data, media = _submit(request, principal, store, body)
        return Response(data, status, media_type=media)
    sha = request_sha256(body.media_type, body.data)
    wait = float(getattr(request.app.state, "idempotency_wait", IDEMPOTENCY_WAIT))
    deadline = time.monotonic() + wait
    while True:
        try:
            stored = claim(store, key, sha, now=when)
            break
        except KeyReused as exc:
            raise ApiProblem(
                422, "Idempotency-Key reused", str(exc), kind="idempotency-key-reused", key=key
            ) from None
        except KeyInProgress as exc:
            if time.monotonic() >= deadline:
                raise ApiProblem(
                    409,
                    "Request in progress",
                    str(exc),
                    kind="idempotency-key-in-progress",
                    headers={"Retry-After": "1"},
                    key=key,
                ) from None
            time.sleep(_POLL)
    if stored is not None:
        return Response(
            stored.body,
            stored.status,
            media_type=stored.media_type,
            headers={"Idempotent-Replayed": "true"},
        )
    try:
        status, data, media = _submit(request, principal, store, body)
    except BaseException:
        release(store, key)
        raise
    complete(store, key, status=status, body=data, media_type=media, now=when)
    return Response(data, status, media_type=media)


def _submit(
    request: Request, principal: Principal, store: Store, body: Body
) -> tuple[int, bytes, str]:
    """Submit the body as igw submit submits a file; (status, response bytes, media type)."""
    from gateway.cli.inputs import each_input, unread_record
    from gateway.delivery.submit import submit
    from gateway.intake import RecordResult, read_records

    records: Iterable[RecordResult] = each_input(
        [BODY_NAME],
        lambda _name: read_records(body.data, body.format, encoding=body.encoding),
        unread_record,
    )
    when = now(request)
    try:
        profiles = tenant_profiles(request, principal.tenant)
        sellers = tenant_sellers(request, principal.tenant)
    except ConfigError as exc:
        log.error("POST /invoices for tenant %s: %s", principal.tenant, exc)
        raise ApiProblem(
            503,
            "Tenant configuration unusable",
            f"the buyer profiles or seller master data of tenant {principal.tenant!r} cannot "
            f"be loaded: {exc}; nothing was stored (the operator must fix the configuration)",
            kind="tenant-configuration",
        ) from None
    report = submit(
        records,
        store,
        profiles,
        now=when,
        run_validation=bool(getattr(request.app.state, "run_validation", True)),
        sellers=sellers,
    )
    result = submit_result(report)
    _audit(store, principal, result, when, request.headers.get("idempotency-key"))
    counts = result.summary
    data = result.model_dump(mode="json")
    if counts.rejected == 0:
        return 201, _dumps(data), JSON_MEDIA_TYPE
    if counts.rejected < counts.records:
        return 207, _dumps(data), JSON_MEDIA_TYPE
    first = next((p for r in result.records for p in r.problems if p.flag == "fatal"), None)
    said = (
        first.message
        if first and first.message.startswith(f"{first.record}:")
        else f"{first.record}: {first.message}"
        if first
        else ""
    )
    why = f"; first problem: {said}" if first else ""
    if first is None:
        why = next((f"; {r.record}: {r.message}" for r in result.records if r.message), "")
    problem = ApiProblem(
        422,
        "No record accepted",
        f"{counts.records} record(s), none accepted{why}",
        kind="records-rejected",
        **data,
    )
    return 422, _dumps(problem.body()), PROBLEM_MEDIA_TYPE


def _dumps(data: dict[str, Any]) -> bytes:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def tenant_profiles(request: Request, tenant: str) -> ProfileSet:
    """The buyer profiles of ``tenant``: ``app.state.tenants`` (a
    :class:`gateway.tenants.directory.TenantDirectory`) when the app has one, else the app's
    one profile set (``app.state.profile_set`` / ``app.state.profiles``), else none."""
    state = request.app.state
    tenants = getattr(state, "tenants", None)
    if tenants is not None:
        found: ProfileSet = tenants.profiles(tenant)
        return found
    for name in ("profile_set", "profiles"):
        candidate = getattr(state, name, None)
        if isinstance(candidate, ProfileSet):
            return candidate
    return ProfileSet(())


def tenant_sellers(request: Request, tenant: str) -> SellerSet:
    """The seller master data of ``tenant``: its configuration's sellers folder (loaded once per
    app), else ``app.state.sellers``, else none."""
    from gateway.masterdata.load import load_sellers

    state = request.app.state
    tenants = getattr(state, "tenants", None)
    config = getattr(tenants, "config", None)
    if config is not None:
        cache: dict[str, SellerSet] | None = getattr(state, "api_sellers", None)
        if cache is None:
            cache = state.api_sellers = {}
        if tenant not in cache:
            cache[tenant] = load_sellers(config(tenant).sellers_dir, required=False)
        return cache[tenant]
    sellers = getattr(state, "sellers", None)
    return sellers if isinstance(sellers, SellerSet) else NO_SELLERS


def submit_result(report: SubmitReport) -> SubmitResult:
    """The API's view of ``igw submit``'s report."""
    records = [
        RecordOutcome(
            index=index,
            record=o.record,
            status=_STATUS[o.status],
            outcome=o.status,
            invoice=o.invoice_number,
            invoice_id=o.invoice_id,
            seller=o.seller_key,
            buyer=o.buyer,
            format=o.format,
            channel=o.channel,
            deliveries=list(o.delivery_ids),
            sha256=o.content_hash,
            batch=o.batch_id,
            message=o.message,
            problems=[Finding.of(p) for p in o.problems],
        )
        for index, o in enumerate(report.outcomes)
    ]
    summary = SubmitSummary(
        records=len(records),
        accepted=sum(1 for r in records if r.status == "accepted"),
        duplicate=sum(1 for r in records if r.status == "duplicate"),
        rejected=sum(1 for r in records if r.status == "rejected"),
        text=report.summary(),
    )
    return SubmitResult(summary=summary, records=records)


def _audit(
    store: Store,
    principal: Principal,
    result: SubmitResult,
    when: dt.datetime,
    key: str | None,
) -> None:
    """One audit entry per submission: the key, the invoice ids it stored, the counts."""
    from gateway.store.audit import record_audit

    stored = [r.invoice_id for r in result.records if r.outcome == "stored" and r.invoice_id]
    counts = result.summary
    detail: dict[str, object] = {
        "invoice_ids": stored,
        "records": counts.records,
        "accepted": counts.accepted,
        "duplicate": counts.duplicate,
        "rejected": counts.rejected,
        "idempotency_key": key,
    }
    record_audit(
        store,
        actor=principal.actor,
        action="submit",
        target_kind="invoice",
        target_id=",".join(map(str, stored)),
        detail=detail,
        now=when,
    )
