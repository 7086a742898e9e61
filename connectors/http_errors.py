"""HTTP answers and httpx failures as delivery errors: the one translation both HTTP connectors
(:mod:`connectors.http`, :mod:`connectors.cxml_post`) use.

=====================================  ======================  ===============================
what happened                          raised                  why
=====================================  ======================  ===============================
2xx                                    (a Receipt)             the portal took the document
3xx                                    ConfigurationInvalid    redirects are not followed: a
                                                               POST must go to the real URL
400, 409, 422 (any other 4xx)          Rejected                the portal refused the document;
                                                               its text is in the message
401, 403                               AuthenticationFailed    credentials refused / no right
400/495/496 naming the SSL certificate AuthenticationFailed    nginx's answer to a missing or
                                                               refused client certificate
404, 405                               ConfigurationInvalid    the URL or method is wrong
408, 504                               Timeout                 no answer in time (re-send safe)
429                                    RateLimited             ``retry_after`` from Retry-After
503 with Retry-After                   RateLimited             see below
503 without Retry-After, other 5xx     RemoteUnavailable       the portal cannot take it now
timeout reading / writing              Timeout                 outcome unknown, re-send is safe
connect timeout, refused, reset, DNS   ConnectionFailed        nothing reached the portal
TLS: server certificate not trusted    HostKeyMismatch         wrong or untrusted server cert
TLS: our client certificate refused    AuthenticationFailed    mutual TLS: no / unknown cert
(an alert, or the handshake cut off)                           (see below)
TLS: closed after the handshake, no    ConnectionFailed        cannot be told from a dropped
alert, no answer                                               connection
bad URL, unsupported scheme            ConfigurationInvalid    fix the channel options
=====================================  ======================  ===============================

Retry-After is read as delta-seconds or an HTTP-date (RFC 9110 10.2.3), the date measured
against the connector's clock; a date in the past is 0. A 503 that names a Retry-After is raised
as :class:`RateLimited` (retryable, QUEUED, like RemoteUnavailable) because the worker honours
``retry_after`` only on RateLimited; the message still says 503.

Mutual TLS refusals: OpenSSL-based servers (nginx, Apache, Go, Java) send an alert
(``certificate required``, ``bad certificate``, ``unknown CA``), read here as
AuthenticationFailed. A server that cuts the TLS handshake off without an alert (TLS 1.2 on
asyncio/uvicorn) is AuthenticationFailed too: it accepted the TCP connection and refused the TLS
session, which a retry with the same certificate cannot change. With TLS 1.3 the client's side of
the handshake is over before the server checks the certificate; a server that then hangs up
without an alert (TLS 1.3 on asyncio/uvicorn) looks exactly like a dropped connection, so it is
ConnectionFailed (retried until the attempt limit; the message says to check the certificate).

Every error carries the status line and body as ``evidence`` and the portal's own text (JSON
``error``/``message``/``detail``/``errors``, else the body's start) in its message.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import json
import re
import ssl
from collections.abc import Iterator
from typing import Any

import httpx

from connectors.base import Clock
from gateway.delivery.errors import (
    AuthenticationFailed,
    ConfigurationInvalid,
    ConnectionFailed,
    DeliveryError,
    HostKeyMismatch,
    RateLimited,
    Rejected,
    RemoteUnavailable,
    Timeout,
    from_os_error,
)

TEXT_LIMIT = 300
# nginx (ssl_verify_client on) answers "400 No required SSL certificate was sent" / "400 The SSL
# certificate error" after the handshake: a refused client certificate, not a refused document.
_NGINX_CERT = re.compile(r"SSL certificate", re.IGNORECASE)
EVIDENCE_LIMIT = 64 * 1024
# TLS alerts a server sends when it refuses (or did not get) our client certificate.
_CLIENT_CERT_ALERTS = (
    "CERTIFICATE_REQUIRED",
    "BAD_CERTIFICATE",
    "CERTIFICATE_UNKNOWN",
    "UNKNOWN_CA",
    "ACCESS_DENIED",
    "HANDSHAKE_FAILURE",
)


def status_line(response: httpx.Response) -> str:
    """``HTTP/1.1 201 Created`` for ``response``."""
    return f"{response.http_version} {response.status_code} {response.reason_phrase}".strip()


def evidence(response: httpx.Response) -> bytes:
    """Status line, a blank line and the body (at most 64 KiB): what the event log keeps."""
    return f"{status_line(response)}\r\n\r\n".encode() + response.content[:EVIDENCE_LIMIT]


def portal_text(response: httpx.Response) -> str:
    """The portal's own words: JSON error/message/detail/errors fields, else the body's start."""
    body = response.content
    try:
        data = json.loads(body) if body.strip() else None
    except (ValueError, UnicodeDecodeError, RecursionError):  # RecursionError: nested ~1,000 deep
        data = None
    if isinstance(data, dict):
        parts = [_flat(data[k]) for k in ("error", "message", "detail", "errors") if k in data]
        found = "; ".join(p for p in parts if p)
        if found:
            return found[:TEXT_LIMIT]
    text = " ".join(body.decode("utf-8", "replace").split())
    return text[:TEXT_LIMIT] or "(empty body)"


def _flat(value: Any, depth: int = 0) -> str:
    if depth > _FLAT_DEPTH:  # the portal's words are near the top; deeper is noise (or attack)
        return "..."
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return "; ".join(_flat(v, depth + 1) for v in value)
    if isinstance(value, dict):
        inner = [
            _flat(value[k], depth + 1) for k in ("message", "detail", "error", "msg") if k in value
        ]
        if inner:
            return "; ".join(inner)
        try:
            return json.dumps(value, sort_keys=True)[:TEXT_LIMIT]
        except (ValueError, RecursionError):
            return "..."
    return "" if value is None else str(value)


_FLAT_DEPTH = 8


def parse_retry_after(value: str | None, now: dt.datetime) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP-date); None when absent
    or unreadable."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return max(0.0, (when - now).total_seconds())


def error_for_status(
    response: httpx.Response, *, channel: str, what: str, clock: Clock
) -> DeliveryError | None:
    """The delivery error for a non-2xx ``response`` (None for 2xx), per the module table."""
    code = response.status_code
    if 200 <= code < 300:
        return None
    proof = evidence(response)
    said = f"{channel}: {what}: {status_line(response)}: {portal_text(response)}"
    retry = parse_retry_after(response.headers.get("retry-after"), clock())
    if code == 429 or (code == 503 and retry is not None):
        wait = f"; retry after {retry:.0f}s" if retry is not None else ""
        return RateLimited(said + wait, retry_after=retry, evidence=proof)
    if code in (401, 403) or (code in (400, 495, 496) and _NGINX_CERT.search(said)):
        return AuthenticationFailed(said + "; check the channel's credentials", evidence=proof)
    if code in (404, 405) or 300 <= code < 400:
        where = response.headers.get("location")
        hint = f"; the portal points to {where}" if where else "; check the channel's url/method"
        return ConfigurationInvalid(said + hint, evidence=proof)
    if code in (408, 504):
        return Timeout(said, evidence=proof)
    if 400 <= code < 500:
        return Rejected(said, evidence=proof)
    return RemoteUnavailable(said, evidence=proof)


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def _tls_error(exc: BaseException, text: str) -> DeliveryError | None:
    links = list(_chain(exc))
    for link in links:
        if isinstance(link, ssl.SSLCertVerificationError):
            return HostKeyMismatch(
                f"{text}: the server's TLS certificate is not trusted "
                f"({getattr(link, 'verify_message', None) or link}); accepted: a certificate "
                "from ca_bundle"
            )
        if isinstance(link, ssl.SSLError):
            reason = str(getattr(link, "reason", None) or "").upper()
            message = str(link).upper()
            if any(alert in reason or alert in message for alert in _CLIENT_CERT_ALERTS):
                return AuthenticationFailed(
                    f"{text}: the server refused our TLS client certificate ({reason or link}); "
                    "accepted: client_cert/client_key the portal trusts"
                )
    if isinstance(exc, httpx.ConnectError) and any(
        isinstance(link, ssl.SSLEOFError) for link in links
    ):
        return AuthenticationFailed(
            f"{text}: the server cut the TLS handshake off without saying why; a server "
            "requiring a client certificate does this when it refuses ours (none sent, or one it "
            "does not trust); accepted: client_cert/client_key the portal trusts"
        )
    return None


def _scheme(exc: httpx.HTTPError) -> str:
    try:
        return exc.request.url.scheme
    except RuntimeError:  # an exception raised without its request
        return ""


def error_for_exception(exc: Exception, *, channel: str, what: str) -> DeliveryError:
    """The delivery error for an httpx (or OS) failure met while doing ``what``; raise it
    ``from exc``."""
    text = f"{channel}: {what}"
    tls = _tls_error(exc, text)
    if tls is not None:
        return tls
    if isinstance(exc, httpx.ConnectTimeout):
        return ConnectionFailed(f"{text}: no connection in time ({exc})")
    if isinstance(exc, httpx.TimeoutException):
        return Timeout(f"{text}: no answer in time ({type(exc).__name__}); outcome unknown")
    if isinstance(exc, (httpx.UnsupportedProtocol, httpx.InvalidURL, httpx.LocalProtocolError)):
        return ConfigurationInvalid(f"{text}: {exc}; accepted: an http:// or https:// URL")
    if isinstance(exc, httpx.TooManyRedirects):
        return ConfigurationInvalid(f"{text}: {exc}")
    if isinstance(exc, httpx.DecodingError):
        return RemoteUnavailable(f"{text}: undecodable answer: {exc}")
    if isinstance(exc, httpx.RemoteProtocolError) and "without sending a response" in str(exc):
        hint = (
            "; a TLS server refusing our client certificate without an alert does this too: "
            "check client_cert/client_key"
            if _scheme(exc) == "https"
            else ""
        )
        return ConnectionFailed(f"{text}: the server closed the connection unanswered{hint}")
    if isinstance(exc, httpx.HTTPError):
        return ConnectionFailed(f"{text}: {type(exc).__name__}: {exc or 'connection lost'}")
    if isinstance(exc, OSError):
        return from_os_error(exc, text)
    return ConnectionFailed(f"{text}: {exc!r}")
