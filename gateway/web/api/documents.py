"""``GET /documents/{id}``: a rendered document's bytes with their media type, scope ``read``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request, Response

from gateway.store.listing import document_invoice_number, get_document
from gateway.web.api.auth import Principal, require_scope
from gateway.web.api.deps import READ_ERRORS, not_found, problem_responses, tenant_store

router = APIRouter(tags=["invoices"])


@router.get(
    "/documents/{document_id}",
    summary="A rendered document (its bytes)",
    response_class=Response,
    responses={
        200: {
            "description": "the document's bytes; Content-Type is its media type",
            "content": {"*/*": {"schema": {"type": "string", "format": "binary"}}},
        },
        **problem_responses(*READ_ERRORS, 404),
    },
)
def document_bytes(
    request: Request,
    principal: Annotated[Principal, Depends(require_scope("read"))],
    document_id: Annotated[int, Path(ge=1, le=2**53)],
) -> Response:
    """The stored bytes, as delivered (Content-Disposition names the file)."""
    store = tenant_store(request, principal)
    document = get_document(store, document_id)
    if document is None:
        raise not_found("document", document_id)
    number = document_invoice_number(store, document_id) or str(document_id)
    safe = "".join(c if c.isalnum() or c in "._-" else "_" for c in number)  # Document.filename
    filename = f"{safe}.{document.format}.{document.extension.lstrip('.')}"
    return Response(
        document.content,
        media_type=document.media_type,
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "ETag": f'"{document.sha256}"',
        },
    )
