"""``POST /translate`` and ``POST /validate``: stateless (nothing is stored), scope ``read`` or
``submit``; the same functions as ``igw translate`` and ``igw validate``.

* ``/translate?format=peppol-bis3`` — the body is ERP records (JSON as ``igw schema``, JSON
  Lines or CSV) or an invoice document (UBL, CII, EDIFACT INVOIC, cXML); every record is
  translated into every format named (comma list, ``all``: the EN 16931 formats, the aliases
  ``igw formats`` lists), with ``option=KEY=VALUE`` for the formats' options. Master data: the
  ``[defaults]`` of the tenant's buyer profile each invoice routes to.
* ``/validate`` — the body is a document; XSD + schematron with the rule sets of its scenario
  (BT-24), or ``rules=en16931,peppol``; or ``format=BUYER_FORMAT`` for a buyer format's schema.
"""

from __future__ import annotations

import base64
import datetime as dt
import difflib
import hashlib
import itertools
from collections.abc import Sequence
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from starlette.concurrency import run_in_threadpool

from gateway.envelope import default_envelope
from gateway.errors import ConfigError, InputError
from gateway.profiles.load import ProfileSet
from gateway.profiles.profile import BuyerProfile
from gateway.registry import resolve_mapping
from gateway.tenants.directory import TenantDirectory
from gateway.web.api.auth import Principal
from gateway.web.api.deps import READ_ERRORS, problem_responses, require_any_scope
from gateway.web.api.models import Finding, TranslatedDocument, TranslateResult, ValidationOut

router = APIRouter(tags=["stateless"])

_BINARY = {"schema": {"type": "string", "format": "binary"}}
_RECORDS_BODY = {
    "requestBody": {
        "required": True,
        "description": "ERP records (JSON object/array/lines as `igw schema`, or CSV) or an "
        "invoice document (UBL, CII, EDIFACT INVOIC, cXML)",
        "content": {
            # any JSON: intake judges each record and reports its problems (200, not ok)
            "application/json": {"schema": {}},
            "text/csv": _BINARY,
            "application/xml": _BINARY,
            "application/edifact": _BINARY,
            "application/octet-stream": _BINARY,
        },
    }
}
_DOCUMENT_BODY = {
    "requestBody": {
        "required": True,
        "description": "the document to validate",
        "content": {
            "application/xml": _BINARY,
            "application/edifact": _BINARY,
            "application/json": {"schema": {}},  # a buyer format's JSON: any JSON value
            "text/csv": _BINARY,
            "application/octet-stream": _BINARY,
        },
    }
}
Caller = Annotated[Principal, Depends(require_any_scope("read", "submit"))]


async def _body(request: Request, what: str) -> bytes:
    body = await request.body()
    if not body.strip():
        raise HTTPException(400, f"request body is empty; accepted: {what}")
    return body


def _format_names(value: str) -> list[str]:
    """The format aliases of ``format`` (``all``: every EN 16931 format). Only the aliases
    ``igw formats`` lists: an API caller never names a ``package.module:Class`` to import or
    a path to read."""
    from gateway.cli.main import ALL_FORMATS
    from gateway.registry import mapping_names

    names: list[str] = []
    for item in (v.strip() for v in value.split(",") if v.strip()):
        names.extend(ALL_FORMATS if item == "all" else (item,))
    known = mapping_names()
    for name in names:
        if name not in known:
            close = difflib.get_close_matches(name, known, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise ConfigError(
                f"format {name[:80]!r}: unknown{hint}; accepted: {', '.join(known)}, all"
            )
    if not names:
        raise ConfigError(f"format {value[:80]!r}: accepted: a format alias, e.g. peppol-bis3")
    return names


def _buyer_format(value: str) -> str:
    """``format`` of /validate: one of the buyer formats found (config/formats)."""
    from gateway.validation.buyer_format import buyer_formats

    known = buyer_formats()
    if value not in known:
        raise ConfigError(
            f"format {value[:80]!r}: not a buyer format; accepted: {', '.join(known) or 'none'}"
            " (the official formats are validated without format=)"
        )
    return value


def _options(pairs: Sequence[str]) -> dict[str, str]:
    options: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"option {pair[:80]!r}: accepted: KEY=VALUE")
        options[key.strip()] = value
    return options


def _buyers(request: Request, principal: Principal) -> ProfileSet | None:
    """The buyer profiles of the caller's tenant (``app.state.tenants``, set by create_app)."""
    tenants: TenantDirectory | None = getattr(request.app.state, "tenants", None)
    return tenants.profiles(principal.tenant) if tenants is not None else None


@router.post(
    "/translate",
    response_model=TranslateResult,
    summary="Translate ERP records or a document into formats (nothing stored)",
    openapi_extra=_RECORDS_BODY,
    responses=problem_responses(*READ_ERRORS, 413),
)
async def translate_post(
    request: Request,
    principal: Caller,
    format: Annotated[
        str,
        Query(min_length=1, max_length=500, description="format alias(es), comma list, or all"),
    ],
    option: Annotated[
        list[str] | None,
        Query(max_length=50, description="format option KEY=VALUE (e.g. EDIFACT sender_id)"),
    ] = None,
    validate: Annotated[bool, Query(description="XSD + schematron on each document")] = True,
) -> TranslateResult:
    """Every record in every format, with each one's findings (record, field, BT id, value)."""
    from gateway.cli.options import check_option_keys
    from gateway.translation.pipeline import read_content, translate

    body = await _body(request, "ERP records (JSON, CSV) or a UBL/CII/EDIFACT/cXML invoice")
    buyers = _buyers(request, principal)

    def work() -> TranslateResult:
        mappings = [resolve_mapping(name) for name in _format_names(format)]
        options = _options(option or ())
        check_option_keys(options, mappings)
        prepared_at = dt.datetime.now(dt.UTC).replace(microsecond=0)
        sequence = itertools.count(1)
        outcomes: list[TranslatedDocument] = []
        for outcome in translate(
            read_content(body, "request body"),
            mappings,
            BuyerProfile(name="api", options=options),
            envelopes=lambda: default_envelope(next(sequence), prepared_at),
            run_validation=validate,
            buyers=buyers,
        ):
            document = outcome.document if outcome.ok else None
            outcomes.append(
                TranslatedDocument(
                    record=outcome.record,
                    format=outcome.format,
                    ok=outcome.ok,
                    filename=document.filename if document else None,
                    media_type=document.media_type if document else None,
                    sha256=hashlib.sha256(document.content).hexdigest() if document else None,
                    content_base64=base64.b64encode(document.content).decode("ascii")
                    if document
                    else None,
                    findings=[Finding.of(p) for p in outcome.problems],
                )
            )
        bad = {o.record for o in outcomes if not o.ok}
        records = {o.record for o in outcomes}
        written = sum(1 for o in outcomes if o.ok)
        summary = (
            f"{len(records) - len(bad)} records ok, {len(bad)} rejected; {written} documents, "
            f"{len(outcomes) - written} not produced"
        )
        return TranslateResult(outcomes=outcomes, summary=summary)

    return await run_in_threadpool(_translated, work)


def _translated(work: Any) -> Any:
    """Run ``work``; the caller's mistakes (format, option, unreadable input) become 400."""
    try:
        return work()
    except (ConfigError, InputError) as exc:
        raise HTTPException(400, str(exc)) from exc


@router.post(
    "/validate",
    response_model=ValidationOut,
    summary="Validate a document (nothing stored)",
    openapi_extra=_DOCUMENT_BODY,
    responses=problem_responses(*READ_ERRORS, 413),
)
async def validate_post(
    request: Request,
    principal: Caller,
    rules: Annotated[
        str | None,
        Query(
            max_length=200,
            description="en16931,peppol,xrechnung,facturx instead of the "
            "document's scenario (BT-24)",
        ),
    ] = None,
    format: Annotated[
        str | None,
        Query(max_length=100, description="a buyer format: check against its schema"),
    ] = None,
    name: Annotated[str, Query(max_length=200, description="the document's name")] = "document",
) -> ValidationOut:
    """The report ``igw validate --json`` gives: scenario, rule sets, every finding."""
    from gateway.validation import rule_names, validate
    from gateway.validation.buyer_format import check_buyer_format

    if format and rules:
        raise HTTPException(
            400,
            "format (a buyer format's schema) and rules (official rule sets) exclude each "
            "other; accepted: one of them, or neither",
        )
    body = await _body(request, "a UBL, CII, EDIFACT INVOIC or cXML document")

    def work() -> ValidationOut:
        if format:
            report = check_buyer_format(body, _buyer_format(format), name)
        else:
            report = validate(body, rule_names(rules.split(",")) if rules else None, name=name)
        return ValidationOut.model_validate(report.as_dict())

    result: ValidationOut = await run_in_threadpool(_translated, work)
    return result
