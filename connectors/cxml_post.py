"""CxmlPostConnector: POST a cXML InvoiceDetailRequest to a buyer's network or portal and read
the synchronous cXML Response/Status as the transport ack.

The document (rendered by mappings.cxml) goes as ``Content-Type: text/xml`` with header
``Idempotency-Key: <key>``; cXML's own duplicate guard is the payloadID, which a re-send of the
same render keeps. The answer is read with :class:`mappings.cxml.acks.CxmlStatusAck` (the same
parser the ack router uses), and the cXML Status code decides, whatever the HTTP status (Coupa
answers an error with the same HTTP status, Ariba-style networks with 200):

=================================  ====================  ========================================
cXML Status code                   outcome               why
=================================  ====================  ========================================
2xx (200 OK, 201 Accepted, 204)    Receipt (DELIVERED)   the network took it; evidence = the
                                                         cXML Response, message_id = payloadID
401 Unauthorized, 403 Forbidden,   AuthenticationFailed  credentials (SharedSecret, network id)
475/476/477 (signature)                                  or the right to invoice refused
450 Not Implemented                ConfigurationInvalid  the portal does not implement this
                                                         request or cXML version: the profile's
                                                         format/channel must change, not the
                                                         invoice
406 Not Acceptable, 417            Rejected              the document itself (406: unparsable
Expectation Failed, 400, 409,                            or invalid against the DTD; 417: a
other 4xx                                                referenced order is unknown; 409: a
                                                         duplicate)
500, 550, 551, 560, other codes    RemoteUnavailable     the network cannot take it now
=================================  ====================  ========================================

Every outcome carries the portal's Status text. Without a readable cXML Response the HTTP answer
is translated as for any portal (:mod:`connectors.http_errors`: 401/403, 404, 408, 429, 5xx,
timeouts, TLS); HTTP 429, and 503 with Retry-After, are rate limits even when a cXML body comes
with them, so Retry-After is honoured. A 2xx HTTP answer whose body is not a cXML Response is
RemoteUnavailable (the outcome is unknown; the re-send carries the same payloadID).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import httpx

from connectors.base import Clock, Receipt, utc_now
from connectors.http_client import (
    HttpAuth,
    OncePerKey,
    channel_of,
    check_url,
    make_client,
    tls_context,
)
from connectors.http_errors import (
    error_for_exception,
    error_for_status,
    evidence,
    portal_text,
    status_line,
)
from gateway.ack import Ack
from gateway.delivery.errors import (
    AuthenticationFailed,
    ConfigurationInvalid,
    DeliveryError,
    RateLimited,
    Rejected,
    RemoteUnavailable,
)
from gateway.document import Document
from gateway.errors import ParseError
from mappings.cxml.acks import CxmlStatusAck

_PAYLOAD_ID = re.compile(rb"<cXML\b[^>]*?\bpayloadID\s*=\s*[\"']([^\"']+)[\"']")
AUTH_CODES = frozenset({401, 403, 475, 476, 477})
CONFIG_CODES = frozenset({450})


def payload_id(content: bytes) -> str | None:
    """The payloadID of a cXML document, None when it has none."""
    found = _PAYLOAD_ID.search(content[:8192])
    return found.group(1).decode("utf-8", "replace") if found else None


def error_for_cxml(code: int, message: str, proof: bytes) -> DeliveryError | None:
    """The delivery error for cXML Status ``code`` (None for 2xx), per the module table."""
    if 200 <= code < 300:
        return None
    if code in AUTH_CODES:
        return AuthenticationFailed(message, evidence=proof)
    if code in CONFIG_CODES:
        return ConfigurationInvalid(message, evidence=proof)
    if 400 <= code < 500:
        return Rejected(message, evidence=proof)
    return RemoteUnavailable(message, evidence=proof)


class CxmlPostConnector:
    """Posts cXML documents and reads the synchronous Status; see the module docstring."""

    name = "cxml-post"

    def __init__(
        self,
        url: str,
        *,
        timeout: float = 10.0,
        basic_username: str | None = None,
        basic_password: str | None = None,
        bearer_token: str | None = None,
        client_cert: str | None = None,
        client_key: str | None = None,
        ca_bundle: str | None = None,
        headers: Mapping[str, str] | None = None,
        clock: Clock = utc_now,
        client: httpx.Client | None = None,
    ) -> None:
        parsed = check_url(url, "cxml-post connector url")
        self.url = str(parsed)
        self.channel = channel_of("cxml-post", parsed)
        self.auth = HttpAuth(
            bearer_token=bearer_token,
            basic_username=basic_username,
            basic_password=basic_password,
            extra=dict(headers or {}),
        )
        self.clock = clock
        tls = tls_context(client_cert, client_key, ca_bundle, self.channel)
        self.client = make_client(client, timeout=timeout, tls=tls)
        self._once = OncePerKey(self.channel)

    def send(self, document: Document, *, delivery_id: str, idempotency_key: str) -> Receipt:
        """POST ``document`` once per ``idempotency_key``; raise only DeliveryErrors."""
        return self._once.run(
            idempotency_key, document.sha256, lambda: self._post(document, idempotency_key)
        )

    def _post(self, document: Document, key: str) -> Receipt:
        what = f"POST {document.filename}"
        ours = payload_id(document.content)
        sent_at = self.clock()
        try:
            response = self.client.post(
                self.url,
                content=document.content,
                headers={
                    **self.auth.headers(),
                    "Content-Type": "text/xml; charset=utf-8",
                    "Idempotency-Key": key,
                },
                auth=self.auth.httpx_auth() or httpx.USE_CLIENT_DEFAULT,
            )
        except httpx.HTTPError as exc:
            raise error_for_exception(exc, channel=self.channel, what=what) from exc
        http_error = error_for_status(response, channel=self.channel, what=what, clock=self.clock)
        if isinstance(http_error, RateLimited):
            raise http_error
        ack = self._status(response, what, ours, http_error)
        code = int(ack.reasons[0].code) if ack.reasons else 200
        said = ack.reasons[0].text if ack.reasons else ""
        failure = error_for_cxml(
            code,
            f"{self.channel}: {what}: {status_line(response)}, cXML Status {code}: {said}",
            evidence(response),
        )
        if failure is not None:
            raise failure
        return Receipt(
            connector=self.name,
            channel=self.channel,
            message_id=ours or key,
            idempotency_key=key,
            sent_at=sent_at,
            transport_proof=True,
            evidence=evidence(response),
            detail=f"{status_line(response)}, cXML Status {ack.status.value}"
            + (f" for payloadID {ours}" if ours else ""),
            remote_name=payload_id(response.content),
        )

    def _status(
        self, response: httpx.Response, what: str, ours: str | None, http_error: Exception | None
    ) -> Ack:
        """The cXML Status ack in ``response``; without one, the HTTP error (or, on 2xx,
        RemoteUnavailable: the answer is unreadable)."""
        problem = "no cXML Response"
        try:
            ack = CxmlStatusAck(in_reply_to=ours).parse(response.content)
        except ParseError as exc:
            ack, problem = None, f"malformed cXML Response ({exc})"
        except Exception as exc:  # the Connector boundary: only DeliveryErrors leave send()
            ack, problem = None, f"unreadable cXML Response ({type(exc).__name__}: {exc})"
        if ack is not None:
            return ack
        if http_error is not None:
            raise http_error
        raise RemoteUnavailable(
            f"{self.channel}: {what}: {status_line(response)} with {problem}: "
            f"{portal_text(response)}; expected a cXML Response/Status",
            evidence=evidence(response),
        )

    def close(self) -> None:
        """Close the HTTP client (its pooled connections)."""
        self.client.close()
