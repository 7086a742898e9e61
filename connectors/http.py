"""HttpConnector: upload a Document to a buyer's AP portal API with httpx; poll its status list.

One request per new idempotency key: ``method url`` with the document bytes as body (its
``media_type`` as Content-Type), header ``Idempotency-Key: <key>`` (the portal answers a repeat
with its first answer and files no second invoice), auth from the options: ``bearer_token``,
``basic_username``/``basic_password``, ``api_key`` in header ``api_header``, mutual TLS with
``client_cert``/``client_key`` (server trusted through ``ca_bundle``). Secrets arrive resolved
(their option names match gateway.secrets.is_secret_key; ``api_header`` deliberately does not).
In-process, a repeated key returns the first Receipt without a request; other bytes under the
same key are an IdempotencyConflict.

Answers (failures: see the table in :mod:`connectors.http_errors`, shared with cXML):

==========================================  ==============================================
answer                                      outcome
==========================================  ==============================================
2xx, body readable, success_field says yes  Receipt(transport_proof=True, evidence = status
(or no success_field set)                   line + body, message_id = ``id_field`` of the
                                            JSON answer, else the idempotency key)
2xx, success_field holds another value      Rejected with the portal's text: it answered,
                                            and said no
2xx, body unreadable: not JSON though the   RemoteUnavailable (retryable): the portal's
Content-Type says so or success_field is    answer is broken (an HTML error page behind a
set, or success_field absent                proxy, a cut-off body), so the outcome is
                                            unknown; the re-send carries the same
                                            Idempotency-Key, so nothing is filed twice
==========================================  ==============================================

A success value is ``true`` or one of ``success_values`` (default: ok, success, succeeded,
received, accepted, created, true; case-insensitive). ``success_field``/``id_field`` are dotted
paths (``result.id``, ``data.0.id``).

``poll()`` GETs ``status_url`` and yields one :class:`~connectors.base.Inbound` per entry of the
list at ``status_items_field`` (or the top-level list): content = the entry as canonical JSON,
name = its ``status_id_field`` (else a hash of the entry), so a re-polled entry is recognised by
gateway.delivery.sweeps.sweep_poll and correlated once. ``confirm(item)`` POSTs to ``confirm_url``
(with
``{id}`` replaced by the item's name) when set — the portal may then drop the entry — and does
nothing otherwise (the sweep's record keeps re-polled entries from counting twice).
mappings.portal_status reads the entries as Acks.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping, Sequence
from typing import Any
from urllib.parse import quote

import httpx

from connectors.base import Clock, Inbound, Receipt, utc_now
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
from gateway.delivery.errors import ConfigurationInvalid, Rejected, RemoteUnavailable
from gateway.document import Document

SUCCESS_VALUES = ("ok", "success", "succeeded", "received", "accepted", "created", "true")
METHODS = ("POST", "PUT", "PATCH")
_MISSING = object()
JSON_ERRORS = (ValueError, UnicodeDecodeError, RecursionError)
"""What ``json`` raises on a body that is not JSON: ValueError (also for integers of more than
4,300 digits), UnicodeDecodeError, and RecursionError for arrays or objects nested beyond the
interpreter's recursion limit (about 1,000 levels)."""


def json_path(data: Any, path: str) -> Any:
    """The value at dotted ``path`` in ``data`` (list items by index); a sentinel when absent."""
    current = data
    for part in path.split("."):
        if isinstance(current, dict) and part in current:
            current = current[part]
        elif isinstance(current, list) and part.isdigit() and int(part) < len(current):
            current = current[int(part)]
        else:
            return _MISSING
    return current


class HttpConnector:
    """Uploads documents to a portal API; see the module docstring for the answers."""

    name = "http"

    def __init__(
        self,
        url: str,
        method: str = "POST",
        *,
        bearer_token: str | None = None,
        basic_username: str | None = None,
        basic_password: str | None = None,
        api_key: str | None = None,
        api_header: str = "X-API-Key",
        client_cert: str | None = None,
        client_key: str | None = None,
        ca_bundle: str | None = None,
        headers: Mapping[str, str] | None = None,
        success_field: str | None = None,
        success_values: Sequence[str] = SUCCESS_VALUES,
        id_field: str = "id",
        invoice_number_header: str | None = None,
        status_url: str | None = None,
        status_items_field: str | None = "items",
        status_id_field: str = "id",
        confirm_url: str | None = None,
        timeout: float = 10.0,
        clock: Clock = utc_now,
        client: httpx.Client | None = None,
    ) -> None:
        parsed = check_url(url, "http connector url")
        self.url = str(parsed)
        self.channel = channel_of("http", parsed)
        self.method = method.upper()
        if self.method not in METHODS:
            raise ConfigurationInvalid(
                f"{self.channel}: method {method!r}; accepted: {', '.join(METHODS)}"
            )
        self.auth = HttpAuth(
            bearer_token, basic_username, basic_password, api_key, api_header, dict(headers or {})
        )
        self.success_field = success_field
        self.success_values = frozenset(v.lower() for v in success_values)
        self.id_field = id_field
        self.invoice_number_header = invoice_number_header
        self.status_url = (
            str(check_url(status_url, f"{self.channel}: status_url")) if (status_url) else None
        )
        self.status_items_field = status_items_field
        self.status_id_field = status_id_field
        self.confirm_url = confirm_url
        self.clock = clock
        tls = tls_context(client_cert, client_key, ca_bundle, self.channel)
        self.client = make_client(client, timeout=timeout, tls=tls)
        self._once = OncePerKey(self.channel)

    # -- send ----------------------------------------------------------------------------

    def send(self, document: Document, *, delivery_id: str, idempotency_key: str) -> Receipt:
        """Upload ``document`` once per ``idempotency_key``; raise only DeliveryErrors."""
        return self._once.run(
            idempotency_key, document.sha256, lambda: self._upload(document, idempotency_key)
        )

    def _upload(self, document: Document, key: str) -> Receipt:
        what = f"{self.method} {document.filename}"
        headers = {
            **self.auth.headers(),
            "Content-Type": document.media_type,
            "Idempotency-Key": key,
        }
        if self.invoice_number_header:
            headers[self.invoice_number_header] = document.invoice_number
        sent_at = self.clock()
        try:
            response = self.client.request(
                self.method,
                self.url,
                content=document.content,
                headers=headers,
                auth=self.auth.httpx_auth() or httpx.USE_CLIENT_DEFAULT,
            )
        except httpx.HTTPError as exc:
            raise error_for_exception(exc, channel=self.channel, what=what) from exc
        failure = error_for_status(response, channel=self.channel, what=what, clock=self.clock)
        if failure is not None:
            raise failure
        remote_id = self._read_answer(response, what)
        return Receipt(
            connector=self.name,
            channel=self.channel,
            message_id=remote_id or key,
            idempotency_key=key,
            sent_at=sent_at,
            transport_proof=True,
            evidence=evidence(response),
            detail=f"{status_line(response)}"
            + (f"; portal id {remote_id}" if remote_id else "; no portal id in the answer"),
            remote_name=remote_id,
        )

    def _read_answer(self, response: httpx.Response, what: str) -> str | None:
        """The remote id of a 2xx answer; Rejected / RemoteUnavailable per the module table."""
        body = response.content
        says_json = "json" in response.headers.get("content-type", "").lower()
        must_read = says_json or self.success_field is not None
        data: Any = None
        if body.strip():
            try:
                data = json.loads(body)
            except JSON_ERRORS as exc:
                if must_read:
                    raise RemoteUnavailable(
                        f"{self.channel}: {what}: {status_line(response)} with an unreadable "
                        f"body ({exc}): {portal_text(response)}; expected JSON",
                        evidence=evidence(response),
                    ) from exc
        if self.success_field is not None:
            value = json_path(data, self.success_field)
            if value is _MISSING:
                raise RemoteUnavailable(
                    f"{self.channel}: {what}: {status_line(response)} without "
                    f"{self.success_field!r} in the answer: {portal_text(response)}",
                    evidence=evidence(response),
                )
            if not self._is_success(value):
                raise Rejected(
                    f"{self.channel}: {what}: {status_line(response)} but {self.success_field}="
                    f"{value!r}: {portal_text(response)}",
                    evidence=evidence(response),
                )
        found = json_path(data, self.id_field)
        if found is _MISSING or found is None or isinstance(found, (dict, list)):
            return None
        return str(found)

    def _is_success(self, value: Any) -> bool:
        if value is True:
            return True
        return isinstance(value, str) and value.strip().lower() in self.success_values

    # -- poll ----------------------------------------------------------------------------

    def poll(self) -> Iterator[Inbound]:
        """One Inbound per status entry at ``status_url`` (nothing when it is not set)."""
        if self.status_url is None:
            return
        what = f"GET {self.status_url}"
        try:
            response = self.client.get(
                self.status_url,
                headers=self.auth.headers(),
                auth=self.auth.httpx_auth() or httpx.USE_CLIENT_DEFAULT,
            )
        except httpx.HTTPError as exc:
            raise error_for_exception(exc, channel=self.channel, what=what) from exc
        failure = error_for_status(response, channel=self.channel, what=what, clock=self.clock)
        if failure is not None:
            raise failure
        received_at = self.clock()
        for entry in self._entries(response, what):
            try:
                content = json.dumps(entry, sort_keys=True, separators=(",", ":")).encode()
            except JSON_ERRORS as exc:  # nested nearly as deep as the reader allows
                raise RemoteUnavailable(
                    f"{self.channel}: {what}: a status entry cannot be kept ({exc!r}): "
                    f"{portal_text(response)}; expected entries as JSON objects",
                    evidence=evidence(response),
                ) from exc
            ident = entry.get(self.status_id_field) if isinstance(entry, dict) else None
            name = str(ident) if ident not in (None, "") else hashlib.sha256(content).hexdigest()
            yield Inbound(self.name, self.channel, content, received_at, name)

    def _entries(self, response: httpx.Response, what: str) -> list[Any]:
        try:
            data = json.loads(response.content)
        except JSON_ERRORS as exc:
            raise RemoteUnavailable(
                f"{self.channel}: {what}: unreadable status list ({exc}): "
                f"{portal_text(response)}; expected JSON",
                evidence=evidence(response),
            ) from exc
        items = data
        if isinstance(data, dict) and self.status_items_field:
            items = json_path(data, self.status_items_field)
        if not isinstance(items, list):
            raise RemoteUnavailable(
                f"{self.channel}: {what}: no list at {self.status_items_field!r} in the status "
                f"answer: {portal_text(response)}",
                evidence=evidence(response),
            )
        return items

    def confirm(self, item: Inbound) -> None:
        """Tell the portal ``item`` is recorded (POST to ``confirm_url``), or nothing if unset."""
        if self.confirm_url is None:
            return
        url = self.confirm_url.replace("{id}", quote(item.name, safe=""))
        what = f"POST {url}"
        try:
            response = self.client.post(
                url,
                headers=self.auth.headers(),
                auth=self.auth.httpx_auth() or httpx.USE_CLIENT_DEFAULT,
            )
        except httpx.HTTPError as exc:
            raise error_for_exception(exc, channel=self.channel, what=what) from exc
        failure = error_for_status(response, channel=self.channel, what=what, clock=self.clock)
        if failure is not None:
            raise failure

    def close(self) -> None:
        """Close the HTTP client (its pooled connections)."""
        self.client.close()
