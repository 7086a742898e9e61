"""The AS2 endpoint's work, as plain functions (the FastAPI routes in :mod:`gateway.web.app` call
them in a worker thread): receive a message and answer its MDN; receive an asynchronous MDN.

Receiving (``POST /as2``):

1. :func:`connectors.as2.message.open_message` with the configured partners (decrypt, verify,
   decompress), with the one of our AS2 ids its AS2-To names. A failure is answered with
   ``processed/error: <modifier>`` (decryption-failed, authentication-failed,
   insufficient-message-security, unknown-trading-partner, ...) and stored as a refusal
   (:func:`gateway.store.inbound.record_refusal`: the raw request cut at
   ``Endpoint.refusal_request_cap``, the reason and the answer; ``igw inbound`` lists them).
2. :func:`gateway.store.inbound.record_inbound` stores the payload once per (partner,
   Message-ID) before anything else. A Message-ID already stored is a duplicate: answered
   ``processed/warning: duplicate-document`` (RFC 4130 leaves warning texts free; this is the one
   AS2 products use) with the MIC of what arrived, and not handed on again.
3. :func:`gateway.inbound.interpret.interpret` reads the payload; the verdict and our MDN are stored
   together (``finish_inbound``). The MDN says ``processed``: it proves receipt and integrity,
   not business acceptance (that is a business response), so an invoice that breaks rules is
   still ``processed`` — its verdict is in the MDN's text.
4. The MDN goes back in the HTTP response (sync) or is POSTed to the Receipt-Delivery-Option URL
   after the response (async). An async MDN joins the durable outbox
   (:mod:`gateway.store.mdn_outbox`) in the transaction that stores the answer, claimed by this
   process: :func:`deliver_claimed` tries it at once (a few quick tries), then
   :func:`sweep_mdns` (run by ``igw serve``) retries it with backoff until the partner takes it
   or the retry limits are reached (FAILED, logged) — a process that dies leaves its claim to
   expire and another process sends the MDN.

An async MDN is POSTed only when the message's signature verified and its
``Receipt-Delivery-Option`` URL is one the partner's configuration allows
(``async_mdn_urls``, default the origins of the partner's as2 channel URLs:
:mod:`gateway.as2.urls`); otherwise the sender chose the URL unauthenticated (server-side
request forgery), so the MDN is answered synchronously in the response and one line is logged.
An unknown partner's async MDN request gets ``403`` with the reason. Every MDN names the
AS2-To the message was sent to as its Original-Recipient and is signed by that identity.

Receiving an MDN (``POST /as2/mdn``): :func:`connectors.as2.mdn.parse_mdn` with the sending
partner's certificates, the MIC compared with the ``Expected-MIC`` the connector's receipt
recorded on the delivery's attempt event, then :func:`gateway.delivery.acks_in.receive` with the
Ack of
:func:`connectors.as2.mdn.mdn_ack` (correlated by Original-Message-ID first). A MIC that differs,
or an unsigned MDN where a signed one was requested, makes the Ack ``rejected`` with the reason.
``processed/warning: duplicate-document`` without a MIC (django-pyas2 answers a Message-ID it
holds before decrypting) is proof of receipt. An error disposition or a MIC that differs also
ends the delivery's transmission: the partner will not take that Message-ID again, so a
re-send is a new transmission with a new Message-ID.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import logging
import socket
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import httpx
from sqlalchemy.exc import SQLAlchemyError

from connectors.as2.connector import expected_mic
from connectors.as2.errors import As2Error, As2MessageError, MdnError
from connectors.as2.mdn import BuiltMdn, Disposition, Mdn, build_mdn, mdn_ack, parse_mdn
from connectors.as2.message import MdnRequest, OpenedMessage, open_message
from connectors.base import Clock
from gateway.ack import AckReason, AckStatus
from gateway.as2.config import As2Config, PartnerConfig
from gateway.as2.urls import allowed_url, async_mdn_prefixes
from gateway.delivery.acks_in import receive
from gateway.inbound.interpret import DEFAULT_RULE_SETS, Verdict, finish, interpret
from gateway.logs import log_context
from gateway.profiles.profile import BuyerProfile
from gateway.store import DeliveryRow, Store
from gateway.store.inbound import (
    KEEP_REFUSALS,
    REQUEST_CAP,
    NewRefusal,
    capped_request,
    record_inbound,
    record_refusal,
)
from gateway.store.mdn_outbox import (
    DEFAULT_RETRY,
    AsyncMdnRow,
    MdnPoster,
    MdnRetry,
    MdnSent,
    NewAsyncMdn,
    PostResult,
    claim_token,
    claimed_mdns,
    record_async_mdn,
    record_post,
    sweep_async_mdns,
)

log = logging.getLogger(__name__)

CHANNEL = "as2"
DUPLICATE = Disposition(kind="processed", modifier="duplicate-document", severity="warning")
PROCESSED = Disposition(kind="processed")


@dataclass(frozen=True)
class Endpoint:
    """What the AS2 routes need; read-only, so any number of app instances can share a store."""

    store: Store
    config: As2Config
    clock: Clock
    rule_sets: Sequence[str] = DEFAULT_RULE_SETS
    profiles: Sequence[BuyerProfile] = ()
    mdn_timeout: float = 30.0
    client_factory: Callable[[], httpx.Client] | None = None
    match_wait: float = 2.0
    """How long an async MDN waits for its delivery to appear (the sending worker records the
    Message-ID only after the POST returned, and the MDN may overtake it)."""
    mdn_retry_delays: tuple[float, ...] = (1.0, 5.0, 30.0)
    """Pauses between the in-process tries of a fresh async MDN (then the outbox sweep retries)."""
    mdn_retry: MdnRetry = DEFAULT_RETRY
    """Backoff and give-up limits of async MDNs in the durable outbox."""
    refusal_request_cap: int = REQUEST_CAP
    """Bytes of a refused request kept with the refusal (headers first, then the body)."""
    refusals_kept: int = KEEP_REFUSALS
    """Refusals kept: storing one prunes those older than the newest this many."""
    async_mdn_urls: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    """Per partner name: the URL prefixes its async MDNs may be POSTed to (see
    :func:`mdn_url_policy`); a partner not named here gets none."""
    tenant_profiles: Callable[[str], Sequence[BuyerProfile]] | None = None
    """The buyer profiles of a tenant other than the store's (acks to that tenant's
    deliveries are matched with them); None: ``profiles`` for every tenant."""

    def for_receiver(self, as2_id: str | None) -> Endpoint:
        """This endpoint scoped to the tenant our AS2 id ``as2_id`` belongs to
        (:meth:`gateway.as2.config.As2Config.tenant_of`); itself for the store's tenant."""
        return self.for_receiver_tenant(self.config.tenant_of(as2_id))

    def every_tenant(self) -> list[Endpoint]:
        """This endpoint scoped to each tenant one of our AS2 ids belongs to."""
        return [self.for_receiver_tenant(t) for t in self.config.tenants]

    def for_receiver_tenant(self, tenant: str) -> Endpoint:
        """This endpoint scoped to ``tenant``."""
        if tenant == self.store.tenant:
            return self
        profiles = self.tenant_profiles(tenant) if self.tenant_profiles else self.profiles
        return dataclasses.replace(
            self, store=self.store.for_tenant(tenant), profiles=tuple(profiles)
        )


def mdn_url_policy(
    config: As2Config, profiles: Iterable[BuyerProfile]
) -> dict[str, tuple[str, ...]]:
    """Per partner name of ``config``: the prefixes its async MDNs may go to — its
    ``async_mdn_urls``, else the origins of the ``profiles``' as2 channel URLs to it."""
    channels = list(profiles)
    return {
        name: async_mdn_prefixes(partner.partner.as2_id, partner.async_mdn_urls, channels)
        for name, partner in config.partners.items()
    }


def _async_url(
    endpoint: Endpoint,
    partner: PartnerConfig | None,
    request: MdnRequest | None,
    *,
    verified: bool,
    message_id: str | None,
) -> str | None:
    """The Receipt-Delivery-Option URL to POST the MDN to, or None to answer synchronously (no
    async MDN asked, signature not verified, or URL not allowed for the partner: logged)."""
    if request is None or not request.async_url:
        return None
    url = request.async_url
    if partner is None:
        return None
    if not verified:
        why = "the message's signature did not verify"
    elif not allowed_url(url, endpoint.async_mdn_urls.get(partner.name, ())):
        allowed = endpoint.async_mdn_urls.get(partner.name, ())
        why = (
            f"the URL is not allowed for partner {partner.name!r} (async_mdn_urls: "
            f"{', '.join(allowed) if allowed else 'none'})"
        )
    else:
        return url
    log.warning(
        "AS2 %s from %s: asynchronous MDN to %.200r not sent (%s); answered synchronously",
        message_id,
        partner.name,
        url,
        why,
        extra={"tenant": endpoint.store.tenant, "partner": partner.name, "message_id": message_id},
    )
    return None


@dataclass(frozen=True)
class Answer:
    """The HTTP answer to one request, and an MDN to POST afterwards (async) if any."""

    status: int
    body: bytes
    headers: Mapping[str, str] = field(default_factory=dict)
    mdn_claim: str | None = None
    """The claim on the async MDN(s) this request put in the outbox: POST them after answering."""


def _text(status: int, message: str) -> Answer:
    return Answer(status, message.encode() + b"\n", {"Content-Type": "text/plain; charset=utf-8"})


def _pending(
    endpoint: Endpoint, mdn: BuiltMdn, url: str, partner: str, message_id: str
) -> NewAsyncMdn:
    return NewAsyncMdn(
        partner=partner,
        message_id=message_id,
        url=url,
        headers=dict(mdn.headers),
        body=mdn.body,
        now=endpoint.clock(),
        claimed_by=claim_token("as2"),
        lease=_claim_lease(endpoint),
    )


def _deliver(
    endpoint: Endpoint,
    mdn: BuiltMdn,
    async_url: str | None,
    note: str,
    *,
    partner: str,
    message_id: str,
    inbound_id: int | None = None,
) -> Answer:
    """The HTTP answer for ``mdn``: in the response (sync), or recorded in the async MDN outbox
    and POSTed to ``async_url`` after the response (async)."""
    if async_url:
        pending = _pending(endpoint, mdn, async_url, partner, message_id)
        record_async_mdn(endpoint.store, pending, inbound_id=inbound_id)
        return _accepted(note, pending)
    return Answer(200, mdn.body, mdn.headers)


def _accepted(note: str, pending: NewAsyncMdn) -> Answer:
    headers = {"Content-Type": "text/plain"}
    return Answer(200, note.encode() + b"\n", headers, mdn_claim=pending.claimed_by)


def receive_message(endpoint: Endpoint, headers: Mapping[str, str], body: bytes) -> Answer:
    """Open, store, interpret and answer one inbound AS2 message (see the module docstring);
    every log line meanwhile carries the message's Message-ID (the tenant is known once the
    receiving AS2 id is: the lines below name it)."""
    message_id = (_header(headers, "message-id") or "").strip("<>")[:300] or None
    with log_context(message_id=message_id):
        return _receive_message(endpoint, headers, body)


def _receive_message(endpoint: Endpoint, headers: Mapping[str, str], body: bytes) -> Answer:
    config = endpoint.config
    try:
        opened = open_message(
            headers,
            body,
            local=config.identity,
            partner_for=config.partner_for,
            also=config.also,
            max_size=config.max_size,
        )
    except As2MessageError as exc:
        return _refused(endpoint, exc, headers, body)
    except As2Error as exc:  # the layer's own base: still an answer, never a 500
        wrapped = As2MessageError("unexpected-processing-error", str(exc))
        return _refused(endpoint, wrapped, headers, body)
    endpoint = endpoint.for_receiver(opened.receiver_id)
    partner = config.partner_config(opened.sender_id)
    name = partner.name if partner is not None else opened.sender_id
    message_id = opened.message_id.strip().strip("<>")
    async_url = _async_url(
        endpoint, partner, opened.mdn_request, verified=opened.signed, message_id=message_id
    )
    now = endpoint.clock()
    row, is_new = record_inbound(
        endpoint.store,
        channel=CHANNEL,
        partner=name,
        message_id=message_id,
        media_type=opened.content_type,
        content=opened.payload,
        now=now,
        filename=opened.filename,
        detail=_security(opened),
    )
    if not is_new:
        log.info(
            "AS2 %s from %s: duplicate Message-ID (first at %s)",
            message_id,
            name,
            row.received_at,
            extra={
                "tenant": endpoint.store.tenant,
                "partner": name,
                "message_id": message_id,
                "inbound": row.id,
                "invoice": row.invoice_number,
            },
        )
        text = (
            f"Message <{message_id}> from {opened.sender_id} was already received at "
            f"{row.received_at.isoformat()}; not processed again."
        )
        mdn = _mdn(endpoint, opened, DUPLICATE, text)
        if not row.finished:  # a crash between storing and finishing: finish it now
            verdict = interpret(
                row.content, rule_sets=endpoint.rule_sets, label=f"{name} {message_id}"
            )
            finish(endpoint.store, row, verdict)
        return _deliver(
            endpoint,
            mdn,
            async_url,
            "duplicate; MDN follows asynchronously",
            partner=name,
            message_id=message_id,
            inbound_id=row.id,
        )
    verdict = interpret(opened.payload, rule_sets=endpoint.rule_sets, label=f"{name} {message_id}")
    mdn = _mdn(endpoint, opened, PROCESSED, _mdn_text(opened, verdict))
    verdict = dataclasses.replace(verdict, detail=f"{verdict.detail}\n{_security(opened)}")
    request = opened.mdn_request
    pending = _pending(endpoint, mdn, async_url, name, message_id) if async_url else None
    finish(  # the answer and, when async, its place in the outbox: one transaction
        endpoint.store,
        row,
        verdict,
        answer=mdn_bytes(mdn) if request is not None else None,
        async_mdn=pending,
    )
    if request is None:
        return _text(200, f"received {message_id}; no MDN requested")
    if pending is not None:
        return _accepted("received; MDN follows asynchronously", pending)
    return Answer(200, mdn.body, mdn.headers)


def mdn_bytes(mdn: BuiltMdn) -> bytes:
    """The MDN as one self-contained MIME entity (headers, blank line, body) for the store."""
    head = "".join(f"{name}: {value}\r\n" for name, value in mdn.headers.items())
    return head.encode("utf-8") + b"\r\n" + mdn.body


def _security(opened: OpenedMessage) -> str:
    parts = [
        "signed" if opened.signed else "unsigned",
        "encrypted" if opened.encrypted else "unencrypted",
    ] + (["compressed"] if opened.compressed else [])
    return f"AS2 from {opened.sender_id} to {opened.receiver_id}: {', '.join(parts)}"


def _mdn_text(opened: OpenedMessage, verdict: Verdict) -> str:
    first = verdict.detail.splitlines()[0] if verdict.detail else verdict.state
    return (
        f"The AS2 message <{opened.message_id.strip('<>')}> was received and its integrity "
        f"checked ({_security(opened)}). Gateway verdict: {verdict.state}: {first}"
    )


def _mdn(
    endpoint: Endpoint, opened: OpenedMessage, disposition: Disposition, text: str
) -> BuiltMdn:
    return build_mdn(
        original_message_id=opened.message_id,
        original_recipient=opened.receiver_id,
        sender=endpoint.config.identity_for(opened.receiver_id) or endpoint.config.identity,
        receiver_id=opened.sender_id,
        disposition=disposition,
        mic=opened.mic,
        request=opened.mdn_request,
        text=text,
        now=endpoint.clock(),
    )


def _refused(
    endpoint: Endpoint, exc: As2MessageError, headers: Mapping[str, str], body: bytes
) -> Answer:
    """Answer a message we could not open — an error MDN (sync, or async to a known partner),
    or a plain HTTP error when none can be built (no Message-ID, no MDN requested, or an unknown
    sender asking for an async one) — and store the refusal with the raw request (cut at
    ``endpoint.refusal_request_cap``), the reason and that answer."""
    endpoint = endpoint.for_receiver(exc.receiver_id)
    log.warning(
        "AS2 message %s from %s refused: %s",
        exc.message_id,
        exc.sender_id,
        exc,
        extra={
            "tenant": endpoint.store.tenant,
            "partner": exc.sender_id,
            "message_id": exc.message_id,
        },
    )
    config = endpoint.config
    partner = config.partner_config(exc.sender_id) if exc.sender_id else None
    name = partner.name if partner is not None else (exc.sender_id or "")
    refusal = functools.partial(_refusal, endpoint, exc, headers, body, name)
    if not exc.message_id or exc.mdn_request is None:
        answer = _text(400, f"AS2 message refused: processed/error: {exc.modifier}: {exc.text}")
        return _store_refusal(
            endpoint, refusal(answer=answer, kind="none", answered=answer.body), answer
        )
    if exc.mdn_request.async_url and partner is None:
        answer = _text(
            403,
            f"AS2 message refused: processed/error: {exc.modifier}: {exc.text} "
            "(no asynchronous MDN is sent to an unknown partner)",
        )
        return _store_refusal(
            endpoint, refusal(answer=answer, kind="none", answered=answer.body), answer
        )
    ours = config.identity_for(exc.receiver_id) if exc.receiver_id else None
    mdn = build_mdn(
        original_message_id=exc.message_id,
        original_recipient=exc.receiver_id or config.identity.as2_id,
        sender=ours or config.identity,
        receiver_id=exc.sender_id or "",
        disposition=Disposition(kind="processed", modifier=exc.modifier, severity="error"),
        mic=None,
        request=exc.mdn_request,
        text=f"The AS2 message could not be processed: {exc.text}",
        now=endpoint.clock(),
    )
    message_id = exc.message_id.strip().strip("<>")
    async_url = _async_url(
        endpoint, partner, exc.mdn_request, verified=exc.verified, message_id=message_id
    )
    if async_url:
        pending = _pending(endpoint, mdn, async_url, name, message_id)
        answer = _accepted(f"refused ({exc.modifier}); MDN follows asynchronously", pending)
        record_refusal(
            endpoint.store,
            refusal(answer=answer, kind="async", answered=mdn_bytes(mdn)),
            keep=endpoint.refusals_kept,
            async_mdn=pending,
        )
        return answer
    answer = Answer(200, mdn.body, mdn.headers)
    return _store_refusal(
        endpoint, refusal(answer=answer, kind="sync", answered=mdn_bytes(mdn)), answer
    )


def _refusal(
    endpoint: Endpoint,
    exc: As2MessageError,
    headers: Mapping[str, str],
    body: bytes,
    partner: str,
    *,
    answer: Answer,
    kind: str,
    answered: bytes,
) -> NewRefusal:
    head = "".join(f"{key}: {value}\r\n" for key, value in headers.items()).encode("utf-8")
    request, size = capped_request(head, body, endpoint.refusal_request_cap)
    return NewRefusal(
        received_at=endpoint.clock(),
        channel=CHANNEL,
        partner=partner[:200],
        sender=exc.sender_id[:200] if exc.sender_id else None,
        recipient=exc.receiver_id[:200] if exc.receiver_id else None,
        message_id=exc.message_id.strip().strip("<>")[:300] if exc.message_id else None,
        reason=exc.modifier[:60],
        detail=exc.text,
        request=request,
        request_size=size,
        http_status=answer.status,
        answer_kind=kind,
        answer=answered,
    )


def _store_refusal(endpoint: Endpoint, refusal: NewRefusal, answer: Answer) -> Answer:
    """Store a refusal answered in the response; a store that fails does not change the answer
    (the refusal is logged instead)."""
    try:
        record_refusal(endpoint.store, refusal, keep=endpoint.refusals_kept)
    except SQLAlchemyError as exc:
        log.error(
            "AS2 refusal of %s from %s not stored (%s): %s",
            refusal.message_id,
            refusal.sender,
            refusal.reason,
            exc,
            extra={
                "tenant": endpoint.store.tenant,
                "partner": refusal.sender,
                "message_id": refusal.message_id,
            },
        )
    return answer


def http_poster(
    timeout: float = 30.0, client_factory: Callable[[], httpx.Client] | None = None
) -> MdnPoster:
    """One-try POSTer of async MDNs over httpx (``client_factory`` makes the client; default
    ``httpx.Client(timeout=timeout)`` with TCP_NODELAY, so the body does not wait behind the
    headers for the partner's delayed ACK). Unreachable, 5xx, 408 and 429 are worth retrying;
    other answers and non-http(s) addresses are final (RFC 4130 also allows mailto:, which this
    gateway does not send)."""

    def post(url: str, headers: Mapping[str, str], body: bytes) -> PostResult:
        if not url.lower().startswith(("http://", "https://")):
            return PostResult(
                False, f"return address {url!r}: only http(s) addresses are supported", True
            )
        client = client_factory() if client_factory is not None else _client(timeout)
        try:
            with client:
                response = client.post(url, content=body, headers=dict(headers))
        except httpx.HTTPError as exc:
            return PostResult(False, f"POST to {url} failed: {type(exc).__name__}: {exc}")
        if response.status_code < 300:
            return PostResult(True, f"POST to {url}: HTTP {response.status_code}")
        final = response.status_code < 500 and response.status_code not in (408, 429)
        text = response.text[:200].strip()
        return PostResult(False, f"POST to {url}: HTTP {response.status_code} {text}", final)

    return post


def _client(timeout: float) -> httpx.Client:
    nodelay = [(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)]
    return httpx.Client(timeout=timeout, transport=httpx.HTTPTransport(socket_options=nodelay))


def endpoint_poster(endpoint: Endpoint) -> MdnPoster:
    """The endpoint's POSTer (its timeout and client factory)."""
    return http_poster(endpoint.mdn_timeout, endpoint.client_factory)


def _claim_lease(endpoint: Endpoint) -> float:
    """How long the receiving process holds its fresh MDN: every in-process try and pause fits."""
    tries = len(endpoint.mdn_retry_delays) + 1
    needed = sum(endpoint.mdn_retry_delays) + tries * endpoint.mdn_timeout + 60.0
    return max(endpoint.mdn_retry.lease, needed)


def deliver_claimed(endpoint: Endpoint, token: str) -> list[MdnSent]:
    """POST the async MDNs the request that made ``token`` claimed (runs after the response),
    trying ``len(mdn_retry_delays) + 1`` times in this process while the partner is unreachable
    or busy; the outcome is recorded in the outbox, where :func:`sweep_mdns` takes over."""
    post = endpoint_poster(endpoint)
    sent = []
    claimed = [(e, row) for e in endpoint.every_tenant() for row in claimed_mdns(e.store, token)]
    for scoped, row in claimed:
        tries = 0
        for delay in (*endpoint.mdn_retry_delays, None):
            tries += 1
            result = post(row.url, row.headers, row.body)
            if result.ok or result.permanent or delay is None:
                break
            log.info(
                "async MDN for <%s> (try %d): %s",
                row.message_id,
                tries,
                result.detail,
                extra={
                    "tenant": endpoint.store.tenant,
                    "partner": row.partner,
                    "message_id": row.message_id,
                },
            )
            time.sleep(delay)
        sent.append(
            record_post(
                scoped.store,
                row,
                token,
                result,
                now=endpoint.clock(),
                retry=endpoint.mdn_retry,
                tries=tries,
            )
        )
    return sent


def sweep_mdns(endpoint: Endpoint, now: dt.datetime | None = None) -> list[MdnSent]:
    """:func:`gateway.store.mdn_outbox.sweep_async_mdns` with the endpoint's POSTer and retry
    policy, at ``now`` (default the endpoint's clock), for every tenant of our AS2 ids."""
    sent: list[MdnSent] = []
    for scoped in endpoint.every_tenant():
        sent += sweep_async_mdns(
            scoped.store,
            now or endpoint.clock(),
            post=endpoint_poster(endpoint),
            retry=endpoint.mdn_retry,
            refuse=functools.partial(_refused_url, endpoint),
        )
    return sent


def _refused_url(endpoint: Endpoint, row: AsyncMdnRow) -> str | None:
    """Why the outbox row must not be POSTed: its URL is not (or no longer) allowed for its
    partner (a row stored before the policy, or after the configuration changed)."""
    allowed = endpoint.async_mdn_urls.get(row.partner, ())
    if allowed_url(row.url, allowed):
        return None
    return (  # the outbox logs the give-up with this reason
        f"not sent: {row.url[:200]!r} is not allowed for partner {row.partner!r} "
        f"(async_mdn_urls: {', '.join(allowed) if allowed else 'none'})"
    )


@dataclass(frozen=True)
class MdnOutcome:
    """What became of one received MDN."""

    status: int
    detail: str
    matched: bool = False


def receive_mdn(endpoint: Endpoint, headers: Mapping[str, str], body: bytes) -> MdnOutcome:
    """Verify an asynchronous MDN, check its MIC against the one expected, record it as an Ack."""
    sender = _header(headers, "as2-from")
    endpoint = endpoint.for_receiver(_header(headers, "as2-to"))
    partner = endpoint.config.partner_config(sender) if sender else None
    if partner is None:
        return MdnOutcome(403, f"MDN refused: AS2-From {sender!r} is not a configured partner")
    try:
        mdn = parse_mdn(headers, body, partner=partner.partner)
    except MdnError as exc:
        return MdnOutcome(400, f"MDN from {partner.name} refused: {exc}")
    except As2Error as exc:
        return MdnOutcome(400, f"MDN from {partner.name} unreadable: {exc}")
    ack = mdn_ack(mdn)
    message_id = mdn.original_message_id.strip().strip("<>")
    row = _wait_for_delivery(endpoint, message_id)
    reasons = _mdn_problems(endpoint.store, row, mdn) if row is not None else []
    if row is not None and partner.buyer is not None and row.buyer != partner.buyer:
        reasons.append(
            (
                "wrong-partner",
                f"the MDN comes from partner {partner.name!r} (buyer {partner.buyer!r}) but "
                f"<{message_id}> was sent to buyer {row.buyer!r}",
            )
        )
    if reasons:
        ack = dataclasses.replace(
            ack,
            status=AckStatus.REJECTED,
            reasons=(*ack.reasons, *(AckReason(code, text) for code, text in reasons)),
        )
    # the partner will not take this Message-ID again: it answered with an error, or holds
    # other bytes under it (an MDN from the wrong partner says nothing about ours)
    spent = not mdn.disposition.ok or any(code == "mic-mismatch" for code, _ in reasons)
    correlation = receive(
        endpoint.store,
        ack,
        now=endpoint.clock(),
        profiles=endpoint.profiles,
        ends_transmission=spent,
    )
    detail = f"MDN for <{message_id}> from {partner.name}: {mdn.disposition}; {correlation.detail}"
    if reasons:
        detail += "; " + "; ".join(text for _, text in reasons)
    return MdnOutcome(200, detail, correlation.matched)


def _wait_for_delivery(endpoint: Endpoint, message_id: str) -> DeliveryRow | None:
    deadline = time.monotonic() + endpoint.match_wait
    while True:
        row = endpoint.store.find_delivery(message_id=message_id)
        if row is not None or time.monotonic() >= deadline:
            return row
        time.sleep(0.05)


def _header(headers: Mapping[str, str], name: str) -> str | None:
    for key, value in headers.items():
        if key.lower() == name:
            return value.strip().strip('"')
    return None


def _attempt_evidence(store: Store, row: DeliveryRow) -> Iterable[bytes]:
    """Evidence of the delivery's attempt events, newest first."""
    events = store.timeline(row.invoice_number, row.seller_key)
    for event in reversed(events):
        if event.delivery_id == row.id and event.kind == "attempt" and event.evidence:
            yield event.evidence


def _mdn_problems(store: Store, row: DeliveryRow, mdn: Mdn) -> list[tuple[str, str]]:
    """Why an MDN for ``row`` proves nothing: MIC differs / unsigned where signed was asked."""
    for evidence in _attempt_evidence(store, row):
        expected = expected_mic(evidence)
        if expected is None:
            continue
        problems: list[tuple[str, str]] = []
        if b"MDN-Signed: yes" in evidence and not mdn.signed:
            problems.append(("unsigned-mdn", "a signed MDN was requested, this one is unsigned"))
        positive = mdn.disposition.kind == "processed" and mdn.disposition.severity != "error"
        if mdn.disposition.duplicate and mdn.mic is None:
            positive = False  # django-pyas2 answers a Message-ID it holds without a MIC
        if positive and not _same_mic(expected, None if mdn.mic is None else str(mdn.mic)):
            problems.append(
                (
                    "mic-mismatch",
                    f"Received-Content-MIC {mdn.mic} differs from the MIC sent {expected} "
                    "(the partner did not receive the bytes we sent)",
                )
            )
        return problems
    return []


def _same_mic(expected: str, got: str | None) -> bool:
    if got is None:
        return False
    want_value, _, want_alg = expected.partition(",")
    got_value, _, got_alg = got.partition(",")
    return want_value.strip() == got_value.strip() and want_alg.strip().lower().replace(
        "-", ""
    ) == got_alg.strip().lower().replace("-", "")
