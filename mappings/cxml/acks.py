"""cXML acknowledgements: the synchronous Response/Status and Ariba's StatusUpdateRequest.

Two levels, kept apart (see gateway/ack.py):

* ``CxmlStatusAck`` reads the synchronous ``<cXML><Response><Status code text/>`` answered on the
  HTTP exchange that posted the invoice. It is TRANSPORT level: a 2xx status (200 OK, 201
  Accepted, 202, 204 No Content) says the network took the document for processing, nothing
  about the buyer's approval, so it is RECEIVED; 200 is not ACCEPTED. Any other code (400 Bad
  Request, 401 Unauthorized, 403 Forbidden, 406 Not Acceptable, 409 Conflict, 417 Expectation
  Failed, 450, 475, 500 Internal Server Error, ...) is REJECTED with the code and text as reason.
* ``CxmlStatusUpdateAck`` reads a ``StatusUpdateRequest`` (Ariba/Coupa push later): BUSINESS
  level. ``InvoiceStatus type`` ``processing`` -> RECEIVED; ``reconciled``, ``paying``, ``paid``
  -> ACCEPTED; ``rejected``, ``canceled`` -> REJECTED, with each Comments as a reason (code: the
  type; without Comments one reason with the Status text, so ``paid`` stays visible). Without
  InvoiceStatus, a 2xx Status is RECEIVED and any other REJECTED.

Correlation: ``refers_to.interchange`` is the payloadID answered (what the Envelope gave as
``payload_id`` or ``interchange_ref``): ``DocumentReference/@payloadID`` in a StatusUpdateRequest,
``cXML/@inReplyTo`` on a Response when present, else the ``in_reply_to`` the connector that
made the exchange passes to the parser. ``refers_to.document`` is the invoiceID (BT-1) when named.
"""

from __future__ import annotations

import datetime as dt
import re

from gateway.ack import Ack, AckLevel, AckReason, AckReference, AckStatus
from gateway.errors import ParseError
from mappings.cxml.parse import where
from mappings.numbers import shown
from mappings.xmlsafe import Element, read_xml

_CODE = re.compile(r"[0-9]{3}")  # ASCII only: str.isdigit() takes '²' and int() refuses it

INVOICE_STATUS = {
    "processing": AckStatus.RECEIVED,
    "reconciled": AckStatus.ACCEPTED,
    "paying": AckStatus.ACCEPTED,
    "paid": AckStatus.ACCEPTED,
    "rejected": AckStatus.REJECTED,
    "canceled": AckStatus.REJECTED,
}


def _cxml_root(inbound: bytes) -> Element | None:
    """The cXML root, None when ``inbound`` is not cXML; ParseError when it is but malformed."""
    if b"<cXML" not in inbound[:4096]:
        return None
    root = read_xml(inbound, "cXML", allow_doctype=True)
    return root if root.tag == "cXML" else None


def _status(el: Element) -> tuple[int, str]:
    code = el.get("code", "")
    if _CODE.fullmatch(code.strip()) is None:
        raise ParseError(
            f"Status code {shown(code)} is not a number: expected a three-digit cXML status "
            "code such as 200, 201 or 400",
            where(el),
        )
    text = el.get("text", "")
    detail = (el.text or "").strip()
    return int(code), f"{text}: {detail}" if detail else text


def _timestamp(root: Element) -> dt.datetime | None:
    value = root.get("timestamp")
    if value is None:
        return None
    try:
        return dt.datetime.fromisoformat(value)
    except ValueError:
        raise ParseError(
            f"timestamp {shown(value)} is not ISO 8601: expected e.g. 2026-11-24T12:30:05+00:00",
            where(root),
        ) from None


def _identity(root: Element, path: str) -> str | None:
    found = root.find(f"Header/{path}/Credential/Identity")
    return (found.text or "").strip() or None if found is not None else None


class CxmlStatusAck:
    """The synchronous cXML Response (transport level); see the module docstring."""

    def __init__(self, in_reply_to: str | None = None) -> None:
        self.in_reply_to = in_reply_to

    def parse(self, inbound: bytes) -> Ack | None:
        """The Ack in a cXML Response, None for anything else."""
        root = _cxml_root(inbound)
        if root is None or root.find("Response") is None:
            return None
        status = root.find("Response/Status")
        if status is None:
            raise ParseError("Response without Status", where(root))
        code, text = _status(status)
        ok = 200 <= code < 300
        return Ack(
            kind="cXML-Status",
            level=AckLevel.TRANSPORT,
            status=AckStatus.RECEIVED if ok else AckStatus.REJECTED,
            refers_to=AckReference(interchange=root.get("inReplyTo") or self.in_reply_to),
            raw=bytes(inbound),
            issued_at=_timestamp(root),
            reasons=() if ok else (AckReason(str(code), text, where(status)),),
        )


class CxmlStatusUpdateAck:
    """An Ariba-style StatusUpdateRequest (business level); see the module docstring."""

    def parse(self, inbound: bytes) -> Ack | None:
        """The Ack in a StatusUpdateRequest, None for anything else."""
        root = _cxml_root(inbound)
        if root is None:
            return None
        update = root.find("Request/StatusUpdateRequest")
        if update is None:
            return None
        reference = update.find("DocumentReference")
        payload = reference.get("payloadID") if reference is not None else None
        if not payload:
            raise ParseError(
                "StatusUpdateRequest without DocumentReference/@payloadID", where(update)
            )
        status_el = update.find("Status")
        if status_el is None:
            raise ParseError("StatusUpdateRequest without Status", where(update))
        code, text = _status(status_el)
        invoice_status = update.find("InvoiceStatus")
        reasons: list[AckReason] = []
        invoice_id = None
        if invoice_status is not None:
            kind = invoice_status.get("type", "")
            if kind not in INVOICE_STATUS:
                raise ParseError(
                    f"InvoiceStatus type {kind!r}; expected one of {', '.join(INVOICE_STATUS)}",
                    where(invoice_status),
                )
            status = INVOICE_STATUS[kind]
            info = invoice_status.find("InvoiceIDInfo")
            invoice_id = info.get("invoiceID") if info is not None else None
            for comment in invoice_status.findall("Comments"):
                words = " ".join("".join(str(t) for t in comment.itertext()).split())
                if words:
                    reasons.append(AckReason(kind, words, where(comment)))
            if not reasons:
                # Keep the InvoiceStatus type (paying/paid...) visible: AckStatus has 3 values.
                reasons.append(AckReason(kind, text, where(invoice_status)))
        else:
            status = AckStatus.RECEIVED if 200 <= code < 300 else AckStatus.REJECTED
            if status is AckStatus.REJECTED:
                reasons.append(AckReason(str(code), text, where(status_el)))
        return Ack(
            kind="cXML-StatusUpdate",
            level=AckLevel.BUSINESS,
            status=status,
            refers_to=AckReference(interchange=payload, document=invoice_id),
            raw=bytes(inbound),
            sender=_identity(root, "From"),
            recipient=_identity(root, "To"),
            issued_at=_timestamp(root),
            reasons=tuple(reasons),
        )
