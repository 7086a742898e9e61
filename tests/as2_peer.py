"""Our own AS2 endpoint on loopback as the peer of As2Connector tests.

The partner "ACME" (AS2 id ``ACME``) sends with As2Connector to the gateway "IGW" (``IGW``), whose
endpoint (gateway.web.create_app) knows ACME. :class:`Stallable` wraps the ASGI app so a test
can make it hang (the connector's timeout fires) or answer a fixed status.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from as2_keys import identity, write_identity

from connectors.as2.connector import As2Connector
from connectors.as2.message import As2Identity, As2Partner
from gateway.as2_config import As2Config, PartnerConfig
from gateway.peers.serve import serve_in_thread
from gateway.registry import resolve_mapping
from gateway.store import Store
from gateway.web import create_app

US, PARTNER = "IGW", "ACME"
STALL_LIMIT = 10.0
"""A stalled request is released at the latest after this many seconds (or when the test ends)."""


def endpoint_config(
    *, require_signed: bool = True, require_encrypted: bool = True, buyer: str | None = "acme"
) -> As2Config:
    """The gateway's AS2 configuration: identity IGW, one partner ACME."""
    key, cert = identity(US)
    partner = As2Partner(
        as2_id=PARTNER,
        certs=(identity(PARTNER)[1],),
        require_signed=require_signed,
        require_encrypted=require_encrypted,
    )
    return As2Config(As2Identity(US, key, cert), {"acme": PartnerConfig("acme", partner, buyer)})


@dataclass
class Stallable:
    """ASGI wrapper: ``stall()`` makes the next request hang until released (``release()`` or
    STALL_LIMIT); ``answer_next(status, headers)`` answers the next request with that status."""

    app: Any
    stalls: int = 0
    canned: list[tuple[int, dict[str, str], bytes]] = field(default_factory=list)
    released: threading.Event = field(default_factory=threading.Event)
    requests: int = 0

    def stall(self) -> None:
        self.stalls += 1

    def release(self) -> None:
        self.released.set()

    def answer_next(
        self, status: int, headers: dict[str, str] | None = None, body: bytes = b""
    ) -> None:
        self.canned.append((status, headers or {}, body))

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            self.requests += 1
            if self.stalls:
                self.stalls -= 1
                waited = 0.0
                while not self.released.is_set() and waited < STALL_LIMIT:
                    await asyncio.sleep(0.02)
                    waited += 0.02
                return
            if self.canned:
                status, headers, body = self.canned.pop(0)
                raw = [(k.lower().encode(), v.encode()) for k, v in headers.items()]
                await send({"type": "http.response.start", "status": status, "headers": raw})
                await send({"type": "http.response.body", "body": body})
                return
        await self.app(scope, receive, send)


class BreakableTransport(httpx.HTTPTransport):
    """A real HTTP transport whose next request, after ``break_next()``, goes to a closed port
    (a genuine connection refused underneath the connector)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.broken = False

    def break_next(self) -> None:
        self.broken = True

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if self.broken:
            self.broken = False
            request.url = request.url.copy_with(port=closed_port())
        return super().handle_request(request)


def closed_port() -> int:
    """A loopback port nobody listens on (bound, then released)."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def write_partner_files(folder: Path) -> dict[str, str]:
    """ACME's key and certificate and IGW's certificate as files; the connector's path options."""
    acme_key, acme_cert = write_identity(folder, PARTNER)
    _, igw_cert = write_identity(folder, US)
    return {
        "key_file": str(acme_key),
        "cert_file": str(acme_cert),
        "partner_cert_file": str(igw_cert),
    }


def make_connector(base_url: str, folder: Path, **options: Any) -> As2Connector:
    """As2Connector from ACME to IGW's endpoint at ``base_url`` (options override defaults)."""
    settings: dict[str, Any] = {
        "url": f"{base_url}/as2",
        "as2_from": PARTNER,
        "as2_to": US,
        "timeout": 2.0,
        **write_partner_files(folder),
    }
    settings.update(options)
    return As2Connector(**settings)


@contextmanager
def running_endpoint(
    store: Store, config: As2Config | None = None, **app_options: Any
) -> Iterator[tuple[str, Stallable]]:
    """The gateway app over ``store`` on loopback; yields (base URL, its Stallable wrapper)."""
    resolve_mapping("ubl")  # import the parsers before the first request's timeout runs
    app = Stallable(create_app(store=store, as2=config or endpoint_config(), **app_options))
    with serve_in_thread(app) as base_url:
        try:
            yield base_url, app
        finally:
            app.release()  # before the server stops: it waits for open requests
