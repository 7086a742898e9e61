"""Limits of ``igw serve`` against slow and large requests.

* **Header timeout** (``WebLimits.header_timeout``): a connection whose request line and
  headers are not complete this many seconds after the connection (or its next request)
  began is closed — slow-header clients (slowloris) cannot hold connections forever.
  :func:`guarded_protocol` is the uvicorn HTTP protocol that does it; it also refuses headers
  over ``max_header_size`` bytes (uvicorn answers 400).
* **Body limit per route** (:meth:`WebLimits.body_limit`): ``POST /as2`` takes at most the AS2
  channel's largest document (``max_size`` in the AS2 ``local.toml``), the REST API's document
  and batch routes (``POST /api/v1/invoices``, ``/inbound``, ``/translate``, ``/validate``)
  ``api_body`` bytes (20 MiB), every other route ``max_body`` bytes. A ``Content-Length`` over
  the limit is answered 413 before a byte of the body is read; a chunked body is counted while
  it arrives and answered 413 when it passes the limit (:func:`read_body`). The API's answers
  are problem details (:func:`send_problem`).
* **Body timeout** (``WebLimits.body_timeout``): a body that stalls (no bytes for this many
  seconds) is answered 408 and the connection closed — a slow body holds no connection forever.
* **Disconnects**: a client that goes away mid-upload is logged as one line, no traceback.
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass
from typing import Any

from starlette.types import Receive, Scope, Send
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

log = logging.getLogger(__name__)

KiB, MiB = 1024, 1024 * 1024


@dataclass(frozen=True)
class WebLimits:
    """How long and how large requests to the web app may be (see the module docstring)."""

    header_timeout: float = 10.0
    """Seconds from a connection's (or request's) start until its headers must be complete."""
    max_header_size: int = 64 * KiB
    """Bytes of request line and headers."""
    max_body: int = 1 * MiB
    """Bytes of a request body on every route but ``POST /as2`` (async MDNs are a few KB)."""
    as2_body: int | None = None
    """Bytes of a ``POST /as2`` body; None: the AS2 configuration's ``max_size``."""
    body_timeout: float = 60.0
    """Seconds a request body may stall (no bytes arriving) before it is answered 408."""
    api_body: int = 20 * MiB
    """Bytes of a body of the API routes that take documents or record batches
    (:data:`API_DOCUMENT_ROUTES`); the API's other routes have ``max_body``."""

    def body_limit(self, method: str, path: str, as2_max: int) -> tuple[int, str]:
        """The body limit of a request, and what sets it (for the 413 text)."""
        if method == "POST" and path == "/as2":
            if self.as2_body is not None:
                return self.as2_body, "the AS2 body limit of igw serve"
            return as2_max, "the AS2 channel's max_size (local.toml)"
        if method == "POST" and path in API_DOCUMENT_ROUTES:
            return self.api_body, "igw serve --api-max-body"
        return self.max_body, "igw serve --max-body"


#: the REST API routes whose bodies are documents or batches of records (``WebLimits.api_body``)
API_DOCUMENT_ROUTES = frozenset(
    {"/api/v1/invoices", "/api/v1/inbound", "/api/v1/translate", "/api/v1/validate"}
)


class BodyTooLarge(Exception):
    """A request body over its route's limit (answered 413)."""

    def __init__(self, size: int, limit: int, origin: str, *, declared: bool) -> None:
        self.size, self.limit, self.origin, self.declared = size, limit, origin, declared
        got = f"{size} bytes (Content-Length)" if declared else f"more than {limit} bytes"
        super().__init__(
            f"request body of {got} is over the limit of {limit} bytes ({origin}); not read"
        )


class BadContentLength(Exception):
    """A Content-Length that is not a number (answered 400)."""


class BodyStalled(Exception):
    """No body bytes arrived for ``WebLimits.body_timeout`` seconds (answered 408)."""

    def __init__(self, received: int, timeout: float) -> None:
        self.received, self.timeout = received, timeout
        super().__init__(f"request body stalled: no bytes for {timeout:g} s after {received} bytes")


class ClientGone(Exception):
    """The client disconnected before its request body was complete."""

    def __init__(self, received: int) -> None:
        self.received = received
        super().__init__(f"client disconnected after {received} bytes of the body")


def declared_length(scope: Scope) -> int | None:
    """The request's Content-Length, None when it has none; :class:`BadContentLength` when it
    is not one non-negative number."""
    values = [v for k, v in scope.get("headers", ()) if k.lower() == b"content-length"]
    if not values:
        return None
    if len(set(values)) != 1 or not values[0].strip().isdigit():
        raise BadContentLength(f"Content-Length {values[0][:40]!r} is not a number of bytes")
    return int(values[0])


async def read_body(
    scope: Scope, receive: Receive, limit: int, origin: str, timeout: float | None = None
) -> bytes:
    """The request body, refused (:class:`BodyTooLarge`) by its Content-Length before reading
    or, for a chunked one, as soon as it passes ``limit``; :class:`ClientGone` when the client
    disconnects first; :class:`BodyStalled` when no bytes come for ``timeout`` seconds."""
    declared = declared_length(scope)
    if declared is not None and declared > limit:
        raise BodyTooLarge(declared, limit, origin, declared=True)
    chunks: list[bytes] = []
    size = 0
    while True:
        try:
            message = await asyncio.wait_for(receive(), timeout)
        except TimeoutError:
            raise BodyStalled(size, timeout or 0.0) from None
        if message["type"] == "http.disconnect":
            raise ClientGone(size)
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge(size, limit, origin, declared=False)
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def replay(body: bytes, receive: Receive) -> Receive:
    """A ``receive`` that hands the app ``body`` (read already), then waits on ``receive``
    (which tells of a disconnect)."""
    sent = False

    async def again() -> Any:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return again


async def send_text(send: Send, status: int, text: str, *, close: bool = False) -> None:
    """Answer ``status`` with a one-line plain-text body (``close``: and end the connection,
    for an answer given before the request body was read)."""
    body = text.encode("utf-8") + b"\n"
    headers = [
        (b"content-type", b"text/plain; charset=utf-8"),
        (b"content-length", str(len(body)).encode("ascii")),
    ] + ([(b"connection", b"close")] if close else [])
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def send_problem(send: Send, status: int, title: str, detail: str) -> None:
    """Answer ``status`` with RFC 9457 problem details (the API's errors) and close the
    connection (for an answer given before the request body was read)."""
    body = json.dumps({"type": "about:blank", "title": title, "status": status, "detail": detail})
    data = body.encode("utf-8")
    headers = [
        (b"content-type", b"application/problem+json"),
        (b"content-length", str(len(data)).encode("ascii")),
        (b"connection", b"close"),
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": data})


def client_label(scope: Scope) -> str:
    """``host:port`` of the client, ``?`` when unknown."""
    client = scope.get("client")
    return f"{client[0]}:{client[1]}" if client else "?"


def guarded_protocol(limits: WebLimits) -> type[asyncio.Protocol]:
    """uvicorn's httptools HTTP protocol with the header timeout and header size limit of
    ``limits`` (``uvicorn.run(app, http=guarded_protocol(limits))``)."""
    timeout, max_size = limits.header_timeout, limits.max_header_size

    class GuardedHttpToolsProtocol(HttpToolsProtocol):
        """Closes a connection whose headers are not complete in time; refuses huge headers."""

        _header_clock: asyncio.TimerHandle | None = None
        _header_bytes = 0

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self._start_header_clock()

        def connection_lost(self, exc: Exception | None) -> None:
            self._stop_header_clock()
            super().connection_lost(exc)

        def on_message_begin(self) -> None:
            super().on_message_begin()
            self._header_bytes = 0
            self._start_header_clock()

        def on_url(self, url: bytes) -> None:
            self._count_header_bytes(len(url))
            super().on_url(url)

        def on_header(self, name: bytes, value: bytes) -> None:
            self._count_header_bytes(len(name) + len(value) + 4)
            super().on_header(name, value)

        def on_headers_complete(self) -> None:
            self._stop_header_clock()
            super().on_headers_complete()

        def _count_header_bytes(self, size: int) -> None:
            self._header_bytes += size
            if self._header_bytes > max_size:
                self._stop_header_clock()
                log.warning(
                    "connection from %s refused: request headers over %d bytes",
                    self._peer(),
                    max_size,
                )
                raise ValueError("request headers too large")  # uvicorn answers 400, closes

        def _peer(self) -> str:
            return f"{self.client[0]}:{self.client[1]}" if self.client else "?"

        def _start_header_clock(self) -> None:
            if self._header_clock is None:
                self._header_clock = self.loop.call_later(timeout, self._headers_too_slow)

        def _stop_header_clock(self) -> None:
            if self._header_clock is not None:
                self._header_clock.cancel()
                self._header_clock = None

        def _headers_too_slow(self) -> None:
            self._header_clock = None
            if self.transport.is_closing():
                return
            log.info(
                "connection from %s closed: request headers not complete within %g s",
                self._peer(),
                timeout,
            )
            self.transport.close()

    return GuardedHttpToolsProtocol
