"""A small buyer AP portal (FastAPI) for the tests and the demo: the peer of
connectors.http.HttpConnector and connectors.cxml_post.CxmlPostConnector.

Endpoints (``portal.app``; serve it with gateway.peers.serve.serve_in_thread):

* ``POST /invoices`` — upload one invoice (any media type). Auth: whichever of bearer token,
  basic user/password, API key (header ``api_header``) the Portal was built with; any one valid
  credential passes, none configured means open. ``Idempotency-Key`` header: a repeat gets the
  first answer and files no second invoice; the same key with another body is 422. Answer 201
  ``{"id": "inv-000001", "status": "received", "invoice_number": ...}``. The invoice number is
  the ``X-Invoice-Number`` header, else read from the body (UBL ``cbc:ID``, CII document ID,
  cXML ``invoiceID``, JSON ``invoice_number``/``number``).
* ``GET /invoices/status`` — ``{"items": [...]}``: every status change not yet acknowledged,
  oldest first, each ``{"id": "evt-…", "object": "invoice_status", "invoice_id",
  "invoice_number", "status": received|accepted|rejected|paid, "reason", "at"}``.
  ``POST /invoices/status/{id}/ack`` drops one (204). ``GET /invoices/{id}`` shows one invoice.
* ``POST /cxml`` — a cXML InvoiceDetailRequest; answers a cXML Response/Status (200 OK; 406
  for a body that is not one, unless ``cxml_strict=False``; 401 for a wrong SharedSecret when
  ``cxml_shared_secret`` is set). Error codes travel as the HTTP status too (as Coupa does).

Test knobs, each for the next upload (``/invoices`` or ``/cxml``), in order: ``fail_next``
(any status, body, Retry-After), ``malformed_next`` (2xx with a broken JSON body),
``stall_next`` (no answer until released or ``stall_seconds``; ``processed=True`` files the
invoice first, so the answer is what is lost), ``cxml_status_next`` (a cXML Status code).
``set_status`` plays the buyer's AP team: accepted, rejected, paid.

For a demo, ``python -m gateway.peers.portal --port 8085`` runs one in the foreground (bearer
token from environment variable PORTAL_TOKEN, open when unset).
"""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import hashlib
import json
import re
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request, Response
from lxml import etree

STATUSES = ("received", "accepted", "rejected", "paid")
CXML_TEXT = {
    200: "OK",
    201: "Accepted",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    406: "Not Acceptable",
    409: "Conflict",
    417: "Expectation Failed",
    450: "Not Implemented",
    500: "Internal Server Error",
    550: "Unable to reach cXML server",
    551: "Unable to forward request",
    560: "Temporary server error",
}
_SAFE_XML = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
_NUMBER_PATTERNS = (
    rb"<cbc:ID[^>]*>\s*([^<\s]+)\s*</cbc:ID>",
    rb"ExchangedDocument>\s*<ram:ID[^>]*>\s*([^<\s]+)\s*</ram:ID>",
    rb'invoiceID="([^"]+)"',
)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass(frozen=True)
class Fault:
    """One scripted misbehaviour for the next upload."""

    kind: str  # "status", "malformed", "stall", "cxml"
    status: int = 200
    body: bytes = b""
    headers: tuple[tuple[str, str], ...] = ()
    processed: bool = False
    cxml_code: int = 0
    cxml_text: str = ""


@dataclass
class PortalInvoice:
    """One invoice the portal filed."""

    id: str
    invoice_number: str | None
    media_type: str
    content: bytes
    idempotency_key: str | None
    status: str = "received"


@dataclass
class _Answer:
    sha256: str
    status: int
    body: bytes
    media_type: str


@dataclass
class Portal:
    """State and knobs of one simulated portal; ``app`` is its FastAPI application."""

    bearer_token: str | None = None
    basic_username: str | None = None
    basic_password: str | None = None
    api_key: str | None = None
    api_header: str = "X-API-Key"
    cxml_shared_secret: str | None = None
    cxml_strict: bool = True
    stall_seconds: float = 5.0
    clock: Callable[[], dt.datetime] = _now
    invoices: list[PortalInvoice] = field(default_factory=list, init=False, repr=False)
    events: list[dict[str, Any]] = field(default_factory=list, init=False, repr=False)
    requests: int = field(default=0, init=False)
    _acked: set[str] = field(default_factory=set, init=False, repr=False)
    _answers: dict[str, _Answer] = field(default_factory=dict, init=False, repr=False)
    _faults: deque[Fault] = field(default_factory=deque, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)
    _release: threading.Event = field(default_factory=threading.Event, init=False, repr=False)

    # -- knobs ---------------------------------------------------------------------------

    def fail_next(
        self,
        status: int,
        *,
        body: bytes | str | dict[str, Any] | None = None,
        retry_after: str | int | None = None,
        media_type: str = "application/json",
    ) -> None:
        """The next upload answers ``status`` with ``body`` (default ``{"error": reason}``)."""
        if body is None:
            body = {"error": f"scripted {status}"}
        raw = json.dumps(body).encode() if isinstance(body, dict) else _bytes(body)
        headers = [("content-type", media_type)]
        if retry_after is not None:
            headers.append(("retry-after", str(retry_after)))
        self._faults.append(Fault("status", status, raw, tuple(headers)))

    def malformed_next(self, status: int = 200, body: bytes = b'{"id": "inv-') -> None:
        """The next upload answers ``status`` with a body that claims JSON but is not."""
        self._faults.append(
            Fault("malformed", status, body, (("content-type", "application/json"),))
        )

    def stall_next(self, *, processed: bool = False) -> None:
        """The next upload gets no answer until :meth:`release` (or ``stall_seconds``);
        ``processed``: the invoice is filed first, only the answer is late."""
        self._release.clear()
        self._faults.append(Fault("stall", processed=processed))

    def cxml_status_next(
        self, code: int, detail: str = "", *, http_status: int | None = None
    ) -> None:
        """The next cXML upload answers Status ``code`` (HTTP ``http_status``, default 200 for
        2xx codes, else the code itself when it is a valid HTTP status, else 500)."""
        if http_status is None:
            http_status = 200 if code < 300 else (code if code < 600 else 500)
        self._faults.append(Fault("cxml", http_status, detail.encode(), cxml_code=code))

    def release(self) -> None:
        """Let every stalled request go on (call before stopping the server)."""
        self._release.set()

    def set_status(self, invoice_id: str, status: str, reason: str | None = None) -> dict[str, Any]:
        """The buyer's AP team changes an invoice's status; returns the new status event."""
        if status not in STATUSES:
            raise ValueError(f"status {status!r}; accepted: {', '.join(STATUSES)}")
        with self._lock:
            invoice = next((i for i in self.invoices if i.id == invoice_id), None)
            if invoice is None:
                raise KeyError(f"no invoice {invoice_id!r}")
            invoice.status = status
            return self._event(invoice, reason)

    def pending_events(self) -> list[dict[str, Any]]:
        """Status events not yet acknowledged by the supplier, oldest first."""
        with self._lock:
            return [e for e in self.events if e["id"] not in self._acked]

    # -- internals -----------------------------------------------------------------------

    def _event(self, invoice: PortalInvoice, reason: str | None) -> dict[str, Any]:
        event = {
            "id": f"evt-{len(self.events) + 1:06d}",
            "object": "invoice_status",
            "invoice_id": invoice.id,
            "invoice_number": invoice.invoice_number,
            "status": invoice.status,
            "reason": reason,
            "at": self.clock().isoformat(),
        }
        self.events.append(event)
        return event

    def _file(
        self, number: str | None, media_type: str, content: bytes, key: str | None
    ) -> PortalInvoice:
        invoice = PortalInvoice(
            f"inv-{len(self.invoices) + 1:06d}", number, media_type, content, key
        )
        self.invoices.append(invoice)
        self._event(invoice, None)
        return invoice

    def authorized(self, request: Request) -> bool:
        """Whether ``request`` carries one of the configured credentials (True when none)."""
        if not (self.bearer_token or self.basic_username or self.api_key):
            return True
        given = request.headers.get("authorization", "")
        if self.bearer_token and _same(given, f"Bearer {self.bearer_token}"):
            return True
        if self.basic_username is not None and given.startswith("Basic "):
            try:
                user, _, password = base64.b64decode(given[6:]).decode().partition(":")
            except (ValueError, UnicodeDecodeError):
                return False
            if _same(user, self.basic_username) and _same(password, self.basic_password or ""):
                return True
        key = request.headers.get(self.api_header)
        return bool(self.api_key and key is not None and _same(key, self.api_key))

    def _upload(
        self, key: str | None, body: bytes, media_type: str, number: str | None
    ) -> Response:
        """File one JSON-API upload (idempotent per key)."""
        sha = hashlib.sha256(body).hexdigest()
        with self._lock:
            self.requests += 1
            if key is not None and key in self._answers:
                first = self._answers[key]
                if first.sha256 != sha:
                    return _json(
                        422, {"error": f"Idempotency-Key {key!r} was used for a different body"}
                    )
                return Response(first.body, first.status, media_type=first.media_type)
            invoice = self._file(number or sniff_number(body), media_type, body, key)
            answer = {
                "id": invoice.id,
                "status": "received",
                "invoice_number": invoice.invoice_number,
            }
            raw = json.dumps(answer).encode()
            if key is not None:
                self._answers[key] = _Answer(sha, 201, raw, "application/json")
        return Response(raw, 201, media_type="application/json")

    def _cxml(self, key: str | None, body: bytes, fault: Fault | None) -> Response:
        """File one cXML InvoiceDetailRequest (idempotent per key or payloadID)."""
        sha = hashlib.sha256(body).hexdigest()
        root = _read_cxml(body)
        payload_id = root.get("payloadID") if root is not None else None
        dedup = key or payload_id
        with self._lock:
            self.requests += 1
            if dedup is not None and dedup in self._answers:
                first = self._answers[dedup]
                if first.sha256 != sha:
                    return self._cxml_answer(409, "payloadID reused for a different document", 409)
                return Response(first.body, first.status, media_type=first.media_type)
            if fault is not None and fault.kind == "cxml":
                return self._cxml_answer(fault.cxml_code, fault.body.decode(), fault.status)
            if root is None or root.find("Request/InvoiceDetailRequest") is None:
                if self.cxml_strict:
                    return self._cxml_answer(406, "not a cXML InvoiceDetailRequest", 406)
            elif self.cxml_shared_secret is not None:
                secret = root.findtext("Header/Sender/Credential/SharedSecret") or ""
                if not _same(secret, self.cxml_shared_secret):
                    return self._cxml_answer(401, "SharedSecret not recognised", 401)
            number = None
            if root is not None:
                header = root.find("Request/InvoiceDetailRequest/InvoiceDetailRequestHeader")
                number = header.get("invoiceID") if header is not None else None
            invoice = self._file(number or sniff_number(body), "text/xml", body, dedup)
            response = self._cxml_answer(200, f"filed as {invoice.id}", 200)
            if dedup is not None:
                self._answers[dedup] = _Answer(sha, 200, bytes(response.body), "text/xml")
        return response

    def _cxml_answer(self, code: int, detail: str, http_status: int) -> Response:
        stamp = self.clock().isoformat()
        payload = f"{time.time_ns()}.{secrets.token_hex(4)}@portal.example"
        text = CXML_TEXT.get(code, "Status")
        body = (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            '<!DOCTYPE cXML SYSTEM "http://xml.cxml.org/schemas/cXML/1.2.037/cXML.dtd">\n'
            f'<cXML payloadID="{payload}" timestamp="{stamp}" xml:lang="en-US">'
            f'<Response><Status code="{code}" text="{_esc(text)}">{_esc(detail)}</Status>'
            "</Response></cXML>"
        )
        return Response(body.encode(), http_status, media_type="text/xml")

    async def _misbehave(self, fault: Fault) -> Response | None:
        """The scripted answer for ``fault``; None to go on normally (after a stall)."""
        if fault.kind in ("status", "malformed"):
            with self._lock:
                self.requests += 1
            return Response(fault.body, fault.status, headers=dict(fault.headers))
        if fault.kind == "stall":
            deadline = time.monotonic() + self.stall_seconds
            while not self._release.is_set() and time.monotonic() < deadline:
                await asyncio.sleep(0.02)
            if not fault.processed:  # it hung before filing anything: the late answer says so
                return _json(503, {"error": "stalled; nothing filed"})
        return None

    @property
    def app(self) -> FastAPI:
        """The FastAPI application serving this portal."""
        return create_app(self)


def create_app(portal: Portal) -> FastAPI:
    """The portal's FastAPI application (state and knobs on ``portal``)."""
    app = FastAPI(title="buyer AP portal (simulated)", openapi_url=None, docs_url=None)

    def unauthorized() -> Response:
        return _json(
            401,
            {"error": "missing or invalid credentials"},
            headers={"www-authenticate": 'Bearer realm="portal", Basic realm="portal"'},
        )

    @app.post("/invoices")
    async def upload(request: Request) -> Response:
        fault = portal._faults.popleft() if portal._faults else None
        if fault is not None and not (fault.kind == "stall" and fault.processed):
            scripted = await portal._misbehave(fault)
            if scripted is not None:
                return scripted
        if not portal.authorized(request):
            return unauthorized()
        body = await request.body()
        answer = portal._upload(
            request.headers.get("idempotency-key"),
            body,
            request.headers.get("content-type", "application/octet-stream"),
            request.headers.get("x-invoice-number"),
        )
        if fault is not None and fault.kind == "stall" and fault.processed:
            await portal._misbehave(fault)
        return answer

    @app.post("/cxml")
    async def cxml(request: Request) -> Response:
        fault = portal._faults.popleft() if portal._faults else None
        if (
            fault is not None
            and fault.kind != "cxml"
            and not (fault.kind == "stall" and fault.processed)
        ):
            scripted = await portal._misbehave(fault)
            if scripted is not None:
                return scripted
        body = await request.body()
        answer = portal._cxml(request.headers.get("idempotency-key"), body, fault)
        if fault is not None and fault.kind == "stall" and fault.processed:
            await portal._misbehave(fault)
        return answer

    @app.get("/invoices/status")
    async def status_list(request: Request) -> Response:
        if not portal.authorized(request):
            return unauthorized()
        return _json(200, {"items": portal.pending_events()})

    @app.post("/invoices/status/{event_id}/ack")
    async def ack(event_id: str, request: Request) -> Response:
        if not portal.authorized(request):
            return unauthorized()
        with portal._lock:
            if not any(e["id"] == event_id for e in portal.events):
                return _json(404, {"error": f"no status event {event_id!r}"})
            portal._acked.add(event_id)
        return Response(status_code=204)

    @app.get("/invoices/{invoice_id}")
    async def show(invoice_id: str, request: Request) -> Response:
        if not portal.authorized(request):
            return unauthorized()
        with portal._lock:
            found = next((i for i in portal.invoices if i.id == invoice_id), None)
        if found is None:
            return _json(404, {"error": f"no invoice {invoice_id!r}"})
        return _json(
            200,
            {"id": found.id, "invoice_number": found.invoice_number, "status": found.status},
        )

    return app


def sniff_number(body: bytes) -> str | None:
    """The invoice number in a UBL, CII, cXML or JSON body, None when none is found."""
    stripped = body.lstrip()
    if stripped.startswith(b"{"):
        try:
            data = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            return None
        if isinstance(data, dict):
            for key in ("invoice_number", "invoiceNumber", "number"):
                if isinstance(data.get(key), (str, int)):
                    return str(data[key])
        return None
    for pattern in _NUMBER_PATTERNS:
        found = re.search(pattern, body)
        if found:
            return found.group(1).decode("utf-8", "replace")
    return None


def _read_cxml(body: bytes) -> Any:
    if b"<cXML" not in body[:4096]:
        return None
    try:
        root = etree.fromstring(body, _SAFE_XML)
    except etree.XMLSyntaxError:
        return None
    return root if root is not None and root.tag == "cXML" else None


def _same(given: str, expected: str) -> bool:
    return secrets.compare_digest(given.encode(), expected.encode())


def _bytes(value: bytes | str) -> bytes:
    return value.encode() if isinstance(value, str) else value


def _esc(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace('"', "&quot;")


def _json(status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> Response:
    return Response(
        json.dumps(body).encode(), status, headers=headers, media_type="application/json"
    )


def main(argv: list[str] | None = None) -> None:
    """Run the portal in the foreground for a demo: ``python -m gateway.peers.portal --port
    8085``; the bearer token (if any) comes from environment variable PORTAL_TOKEN."""
    import argparse
    import os

    import uvicorn

    parser = argparse.ArgumentParser(description="simulated buyer AP portal (loopback)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8085)
    args = parser.parse_args(argv)
    portal = Portal(bearer_token=os.environ.get("PORTAL_TOKEN") or None)
    uvicorn.run(portal.app, host=args.host, port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
