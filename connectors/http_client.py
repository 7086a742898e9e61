"""What both HTTP connectors share besides error translation: the httpx client (auth, TLS,
timeout), the channel name without secrets, and sending once per idempotency key in-process.

Auth is added per request (not baked into the client), so an injected ``httpx.Client`` — a
``MockTransport`` in the tests — sees exactly the headers the real portal gets.
"""

from __future__ import annotations

import ssl
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import httpx

from connectors.base import Receipt
from gateway.delivery.errors import ConfigurationInvalid, IdempotencyConflict


@dataclass(frozen=True)
class HttpAuth:
    """Credentials for a portal (secrets arrive resolved, see gateway/secrets.py): a bearer
    token, HTTP basic user/password, or an API key in header ``api_header``; ``extra`` are the
    channel's fixed headers (not secrets: credentials belong in the options above)."""

    bearer_token: str | None = None
    basic_username: str | None = None
    basic_password: str | None = None
    api_key: str | None = None
    api_header: str = "X-API-Key"
    extra: Mapping[str, str] = field(default_factory=dict)

    def headers(self) -> dict[str, str]:
        """The channel's extra headers plus the auth headers for one request (basic auth goes
        through :meth:`httpx_auth`)."""
        found: dict[str, str] = dict(self.extra)
        if self.bearer_token:
            found["Authorization"] = f"Bearer {self.bearer_token}"
        if self.api_key:
            found[self.api_header] = self.api_key
        return found

    def httpx_auth(self) -> httpx.Auth | None:
        """HTTP basic auth when a user name is set, else None."""
        if self.basic_username is None:
            return None
        return httpx.BasicAuth(self.basic_username, self.basic_password or "")


def check_url(url: str, what: str) -> httpx.URL:
    """``url`` parsed; ConfigurationInvalid unless it is an absolute http(s) URL."""
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError) as exc:
        raise ConfigurationInvalid(f"{what}: {url!r} is not a URL ({exc})") from exc
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise ConfigurationInvalid(
            f"{what}: {url!r}; accepted: an absolute http:// or https:// URL"
        )
    return parsed


def channel_of(prefix: str, url: httpx.URL) -> str:
    """``prefix:scheme://host:port/path``: no user info, no query (either may hold a secret)."""
    return f"{prefix}:{url.copy_with(username=None, password=None, query=None, fragment=None)}"


def tls_context(
    client_cert: str | None, client_key: str | None, ca_bundle: str | None, what: str
) -> ssl.SSLContext | None:
    """An SSL context trusting ``ca_bundle`` (else the system store) and presenting the client
    certificate for mutual TLS; None when none of the three is set (httpx's default)."""
    if client_cert is None and client_key is None and ca_bundle is None:
        return None
    if client_key is not None and client_cert is None:
        raise ConfigurationInvalid(f"{what}: client_key without client_cert; set both or neither")
    try:
        context = ssl.create_default_context(cafile=ca_bundle)
        if client_cert is not None:
            context.load_cert_chain(client_cert, client_key)
    except (OSError, ssl.SSLError) as exc:
        raise ConfigurationInvalid(
            f"{what}: cannot load TLS files (client_cert={client_cert!r}, "
            f"client_key={client_key!r}, ca_bundle={ca_bundle!r}): {exc}; accepted: readable PEM "
            "files"
        ) from exc
    return context


def make_client(
    client: httpx.Client | None, *, timeout: float, tls: ssl.SSLContext | None
) -> httpx.Client:
    """``client`` when injected (tests; it brings its own timeout and TLS), else a new client
    with ``timeout`` and ``tls``; redirects are never followed (a 3xx is a configuration error,
    see http_errors)."""
    if client is not None:
        return client
    return httpx.Client(
        timeout=httpx.Timeout(timeout),
        verify=tls if tls is not None else True,
        follow_redirects=False,
    )


@dataclass
class _Slot:
    lock: threading.Lock = field(default_factory=threading.Lock)
    sha256: str | None = None
    receipt: Receipt | None = None


class OncePerKey:
    """Sends once per idempotency key in this process: a repeated key returns the first
    Receipt, the same key with other bytes is an IdempotencyConflict, and racing sends of one
    key wait for the first (different keys do not wait for each other)."""

    def __init__(self, channel: str) -> None:
        self.channel = channel
        self._slots: dict[str, _Slot] = {}
        self._lock = threading.Lock()

    def run(self, key: str, sha256: str, send: Callable[[], Receipt]) -> Receipt:
        """The Receipt for ``key``: the stored one, or ``send()``'s (stored when it succeeds)."""
        with self._lock:
            slot = self._slots.setdefault(key, _Slot())
        with slot.lock:
            if slot.receipt is not None:
                if slot.sha256 != sha256:
                    raise IdempotencyConflict(
                        f"{self.channel}: idempotency key {key!r} was sent with different "
                        f"content (sha256 {slot.sha256}, now {sha256}); a re-send must be "
                        "identical"
                    )
                return slot.receipt
            receipt = send()
            slot.sha256, slot.receipt = sha256, receipt
            return receipt
