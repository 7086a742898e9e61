"""Our own AS2 endpoint on loopback as the peer of As2Connector tests.

The partner "ACME" (AS2 id ``ACME``) sends with As2Connector to the gateway "IGW" (``IGW``), whose
endpoint (gateway.web.create_app) knows ACME. :class:`Stallable` wraps the ASGI app so a test
can make it hang (the connector's timeout fires) or answer a fixed status.

``running_endpoint(..., behave_as="django-pyas2")`` puts :class:`DjangoPyas2` in front of the
endpoint: the same peer (it still decrypts, verifies, stores and answers new messages) with the
habits of django-pyas2 1.2.3 on pyas2lib that matter to a sender: a Message-ID it has seen
before — processed or failed — is answered ``processed/warning: duplicate-document`` before
decrypting, so without a Received-Content-MIC, and never processed again.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import socket
import threading
import zlib
from collections.abc import Awaitable, Callable, Iterator, MutableMapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from as2_keys import identity, write_identity

from connectors.as2.connector import As2Connector
from connectors.as2.errors import As2Error
from connectors.as2.mdn import BuiltMdn, Disposition, build_mdn, parse_mdn
from connectors.as2.message import (
    As2Identity,
    As2Partner,
    MdnRequest,
    as2_name,
    parse_mdn_request,
    strip_id,
)
from gateway.as2.config import As2Config, PartnerConfig
from gateway.peers.serve import serve_in_thread
from gateway.registry import resolve_mapping
from gateway.store import Store
from gateway.web import create_app

US, PARTNER = "IGW", "ACME"
STALL_LIMIT = 10.0
"""A stalled request is released at the latest after this many seconds (or when the test ends)."""


def endpoint_config(
    *,
    require_signed: bool = True,
    require_encrypted: bool = True,
    buyer: str | None = "acme",
    async_mdn_urls: tuple[str, ...] | None = None,
    max_size: int | None = None,
) -> As2Config:
    """The gateway's AS2 configuration: identity IGW, one partner ACME (its async MDNs may go
    to ``async_mdn_urls``; None: to none, as it has no as2 channel here)."""
    key, cert = identity(US)
    partner = As2Partner(
        as2_id=PARTNER,
        certs=(identity(PARTNER)[1],),
        require_signed=require_signed,
        require_encrypted=require_encrypted,
    )
    acme = PartnerConfig("acme", partner, buyer, async_mdn_urls)
    config = As2Config(As2Identity(US, key, cert), {"acme": acme})
    return config if max_size is None else dataclasses.replace(config, max_size=max_size)


def allow_mdn_urls(config: As2Config, *urls: str) -> As2Config:
    """``config`` with every partner's async MDNs allowed to go to ``urls`` (prefixes)."""
    partners = {
        name: dataclasses.replace(partner, async_mdn_urls=tuple(urls))
        for name, partner in config.partners.items()
    }
    return dataclasses.replace(config, partners=partners)


Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

DUPLICATE = Disposition(kind="processed", modifier="duplicate-document", severity="warning")
PYAS2_DUPLICATE_TEXT = "Duplicate message received, message with this ID already processed."


@dataclass
class DjangoPyas2:
    """django-pyas2 1.2.3 behaviour in front of the gateway's AS2 endpoint ``app``.

    * It remembers every Message-ID a sender used, per sender, whatever became of the message
      (``seen``: Message-ID -> "processed" | "error"). One it knows is answered
      ``processed/warning: duplicate-document`` at once — pyas2lib checks before decrypting,
      so the MDN has no Received-Content-MIC — and the message is not handed on.
    * ``fail_next(modifier, text)``: the next new message is answered ``processed/error:
      <modifier>`` with that text (a partner-side failure) and remembered as failed.
    * ``lose_next_answer()``: the next new message is processed and stored, but its answer is
      never sent (the sender's timeout fires: a lost response).

    MDNs it answers itself are signed as requested with ``identity`` and POSTed to the
    Receipt-Delivery-Option URL after the HTTP answer when the sender asked for an async one.
    ``answers`` lists (Message-ID, what it answered) in order.
    """

    app: Any
    identity: As2Identity
    seen: dict[tuple[str, str], str] = field(default_factory=dict)
    failures: list[tuple[str, str]] = field(default_factory=list)
    lose: int = 0
    released: threading.Event = field(default_factory=threading.Event)
    answers: list[tuple[str, str]] = field(default_factory=list)
    posts: list[threading.Thread] = field(default_factory=list)

    def fail_next(self, modifier: str, text: str) -> None:
        self.failures.append((modifier, text))

    def lose_next_answer(self) -> None:
        self.lose += 1

    def wait_for_posts(self, timeout: float = 10.0) -> None:
        """Wait until the async MDNs this peer POSTed itself were taken (or failed)."""
        for thread in self.posts:
            thread.join(timeout)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or scope["path"] != "/as2":
            await self.app(scope, receive, send)
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        message_id = strip_id(headers.get("message-id", ""))
        sender = as2_name(headers.get("as2-from", ""))
        known = (sender, message_id)
        if message_id and known in self.seen:
            self.answers.append((message_id, "duplicate-document"))
            await self._answer(send, headers, DUPLICATE, PYAS2_DUPLICATE_TEXT)
            return
        if message_id and self.failures:
            modifier, text = self.failures.pop(0)
            self.seen[known] = "error"
            self.answers.append((message_id, f"error: {modifier}"))
            error = Disposition(kind="processed", modifier=modifier, severity="error")
            await self._answer(send, headers, error, text)
            return
        await self._forward(scope, (body, receive), send, known)

    async def _forward(
        self, scope: Scope, request: tuple[bytes, Receive], send: Send, known: tuple[str, str]
    ) -> None:
        """Hand a new message to the endpoint; remember how it ended; pass its answer on (or,
        for a lost answer, hold it until the sender gave up)."""
        body, receive = request
        replayed = False
        start: Message = {}
        chunks: list[bytes] = []

        async def replay() -> Message:
            nonlocal replayed
            if replayed:
                return await receive()  # the body was read: only a disconnect can come
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        async def relay(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                start = message
                return
            chunks.append(message.get("body", b""))
            if message.get("more_body"):
                return
            answer = b"".join(chunks)
            outcome = _outcome(start, answer)
            if known[1]:
                self.seen[known] = outcome
                self.answers.append((known[1], outcome))
            if self.lose:
                self.lose -= 1
                waited = 0.0
                while not self.released.is_set() and waited < STALL_LIMIT:
                    await asyncio.sleep(0.02)
                    waited += 0.02
                return
            await send(start)
            await send({"type": "http.response.body", "body": answer})

        await self.app(scope, replay, relay)

    async def _answer(
        self, send: Send, headers: dict[str, str], disposition: Disposition, text: str
    ) -> None:
        request = parse_mdn_request(headers)
        if request is None:
            await _respond(send, 200, {"Content-Type": "text/plain"}, b"AS2 message received\n")
            return
        mdn = build_mdn(
            original_message_id=headers.get("message-id", ""),
            original_recipient=self.identity.as2_id,
            sender=self.identity,
            receiver_id=as2_name(headers.get("as2-from", "")),
            disposition=disposition,
            mic=None,
            request=request,
            text=text,
        )
        if request.async_url:
            await _respond(
                send, 200, {"Content-Type": "text/plain"}, b"AS2 message has been received\n"
            )
            self._post_later(request, mdn)
            return
        await _respond(send, 200, mdn.headers, mdn.body)

    def _post_later(self, request: MdnRequest, mdn: BuiltMdn) -> None:
        url = request.async_url
        assert url is not None

        def post() -> None:
            # a sender's gateway that is gone: the test says what it missed
            with contextlib.suppress(httpx.HTTPError):
                httpx.post(url, content=mdn.body, headers=mdn.headers, timeout=10.0)

        thread = threading.Thread(target=post, name="pyas2-async-mdn", daemon=True)
        self.posts.append(thread)
        thread.start()


def _outcome(start: Message, answer: bytes) -> str:
    """How the endpoint ended a new message: "processed" or "error" (from its MDN, or from the
    text it answers an async request with)."""
    if start.get("status", 500) != 200:
        return "error"
    headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in start.get("headers", [])}
    try:
        mdn = parse_mdn(headers, answer, partner=None)
    except As2Error:
        return "error" if answer.startswith(b"refused") else "processed"
    return "processed" if mdn.disposition.ok else "error"


async def _respond(send: Send, status: int, headers: dict[str, str], body: bytes) -> None:
    raw = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})


@dataclass
class Stallable:
    """ASGI wrapper: ``stall()`` makes the next request hang until released (``release()`` or
    STALL_LIMIT); ``answer_next(status, headers)`` answers the next request with that status."""

    app: Any
    stalls: int = 0
    canned: list[tuple[int, dict[str, str], bytes]] = field(default_factory=list)
    released: threading.Event = field(default_factory=threading.Event)
    requests: int = 0
    partner: DjangoPyas2 | None = None
    """The django-pyas2 behaviour in front of the endpoint, when asked for."""

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


BEHAVIOURS = ("igw", "django-pyas2")


@contextmanager
def running_endpoint(
    store: Store,
    config: As2Config | None = None,
    *,
    behave_as: str = "igw",
    mdn_urls: tuple[str, ...] = (),
    **app_options: Any,
) -> Iterator[tuple[str, Stallable]]:
    """The gateway app over ``store`` on loopback; yields (base URL, its Stallable wrapper).
    ``mdn_urls``: URL prefixes every partner's async MDNs may go to (instead of
    the partner's own ``async_mdn_urls``).

    ``behave_as="django-pyas2"``: the endpoint answers like django-pyas2 1.2.3 (see
    :class:`DjangoPyas2`, reachable as ``Stallable.partner``).
    """
    assert behave_as in BEHAVIOURS, behave_as
    resolve_mapping("ubl")  # import the parsers before the first request's timeout runs
    config = config or endpoint_config()
    if mdn_urls:
        config = allow_mdn_urls(config, *mdn_urls)
    inner: Any = create_app(store=store, as2=config, **app_options)
    partner = None
    if behave_as == "django-pyas2":
        partner = DjangoPyas2(inner, config.identity)
        inner = partner
    app = Stallable(inner, partner=partner)
    with serve_in_thread(app) as base_url:
        try:
            yield base_url, app
        finally:
            app.release()  # before the server stops: it waits for open requests
            if partner is not None:
                partner.released.set()
                partner.wait_for_posts()


def compression_bomb(inflated_mib: int) -> bytes:
    """A zlib stream that inflates to ``inflated_mib`` MiB of zeros (about 1 KB per MiB: 1,024
    MiB in 1 MB), made without holding the inflated bytes: one fully flushed deflate block of
    1 MiB of zeros repeated, then the final block and the Adler-32 of the zeros."""
    chunk = bytes(1 << 20)
    packer = zlib.compressobj(9)
    first = packer.compress(chunk) + packer.flush(zlib.Z_FULL_FLUSH)
    block = packer.compress(chunk) + packer.flush(zlib.Z_FULL_FLUSH)
    size = inflated_mib << 20
    adler = ((size % 65521) << 16) | 1  # Adler-32 of zeros: a = 1, b = size mod 65521
    return first + block * (inflated_mib - 1) + b"\x03\x00" + adler.to_bytes(4, "big")


def compressed_message(
    message_id: str,
    packed: bytes,
    *,
    sender: str = PARTNER,
    to: str = US,
    async_url: str | None = None,
) -> tuple[dict[str, str], bytes]:
    """An unsigned, unencrypted AS2 message whose body is a CMS CompressedData around the zlib
    stream ``packed`` (headers, body), asking for a signed MDN (async at ``async_url``)."""
    from asn1crypto import cms as asn1_cms

    body = asn1_cms.ContentInfo(
        {
            "content_type": "compressed_data",
            "content": asn1_cms.CompressedData(
                {
                    "version": "v0",
                    "compression_algorithm": {"algorithm": "zlib"},
                    "encap_content_info": {"content_type": "data", "content": packed},
                }
            ),
        }
    ).dump()
    headers = {
        "AS2-Version": "1.2",
        "AS2-From": sender,
        "AS2-To": to,
        "Message-ID": f"<{message_id}>",
        "MIME-Version": "1.0",
        "Content-Type": 'application/pkcs7-mime; smime-type=compressed-data; name="smime.p7z"',
        "Content-Transfer-Encoding": "binary",
        "Disposition-Notification-To": sender,
        "Disposition-Notification-Options": "signed-receipt-protocol=required, pkcs7-signature; "
        "signed-receipt-micalg=required, sha-256",
    }
    if async_url is not None:
        headers["Receipt-Delivery-Option"] = async_url
    return headers, body


class Listener:
    """A TCP listener on 127.0.0.1 that records every connection (and answers HTTP 200, so a
    permitted MDN POST succeeds)."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.sock.settimeout(0.1)
        self.port = self.sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.requests: list[bytes] = []
        self.arrived = threading.Event()
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while not self.stopping.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            with conn:
                conn.settimeout(2)
                data = b""
                try:
                    while b"\r\n\r\n" not in data:
                        piece = conn.recv(65536)
                        if not piece:
                            break
                        data += piece
                    conn.sendall(
                        b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
                    )
                except OSError:
                    pass
            self.requests.append(data)
            self.arrived.set()

    def close(self) -> None:
        """Stop listening."""
        self.stopping.set()
        self.thread.join(5)
        self.sock.close()
