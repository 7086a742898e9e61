"""The AS2 endpoint's work, as plain functions (the FastAPI routes in :mod:`gateway.web.app` call
them in a worker thread): receive a message and answer its MDN; receive an asynchronous MDN.

Receiving (``POST /as2``):

1. :func:`connectors.as2.message.open_message` with the configured partners (decrypt, verify,
   decompress). A failure is answered with ``processed/error: <modifier>`` (decryption-failed,
   authentication-failed, insufficient-message-security, unknown-trading-partner, ...).
2. :func:`gateway.store.inbound.record_inbound` stores the payload once per (partner,
   Message-ID) before anything else. A Message-ID already stored is a duplicate: answered
   ``processed/warning: duplicate-document`` (RFC 4130 leaves warning texts free; this is the one
   AS2 products use) with the MIC of what arrived, and not handed on again.
3. :func:`gateway.inbound.interpret` reads the payload; the verdict and our MDN are stored
   together (``finish_inbound``). The MDN says ``processed``: it proves receipt and integrity,
   not business acceptance (that is a business response), so an invoice that breaks rules is
   still ``processed`` — its verdict is in the MDN's text.
4. The MDN goes back in the HTTP response (sync) or is POSTed to the Receipt-Delivery-Option URL
   after the response (async; also kept in the store as the inbound row's ``answer``).

An unknown partner's async MDN request is not followed (we would POST to a URL an
unauthenticated sender chose): it gets ``403`` with the reason instead.

Receiving an MDN (``POST /as2/mdn``): :func:`connectors.as2.mdn.parse_mdn` with the sending
partner's certificates, the MIC compared with the ``Expected-MIC`` the connector's receipt
recorded on the delivery's attempt event, then :func:`gateway.acks_in.receive` with the Ack of
:func:`connectors.as2.mdn.mdn_ack` (correlated by Original-Message-ID first). A MIC that differs,
or an unsigned MDN where a signed one was requested, makes the Ack ``rejected`` with the reason.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import httpx

from connectors.as2.connector import expected_mic
from connectors.as2.errors import As2Error, As2MessageError, MdnError
from connectors.as2.mdn import BuiltMdn, Disposition, Mdn, build_mdn, mdn_ack, parse_mdn
from connectors.as2.message import MdnRequest, OpenedMessage, open_message
from connectors.base import Clock
from gateway.ack import AckReason, AckStatus
from gateway.acks_in import receive
from gateway.as2_config import As2Config
from gateway.inbound import DEFAULT_RULE_SETS, Verdict, finish, interpret
from gateway.profile import BuyerProfile
from gateway.store import DeliveryRow, Store
from gateway.store.inbound import record_inbound

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
    mdn_retry_delays: tuple[float, ...] = (1.0, 5.0, 30.0)
    """How long an async MDN waits for its delivery to appear (the sending worker records the
    Message-ID only after the POST returned, and the MDN may overtake it)."""


@dataclass(frozen=True)
class Answer:
    """The HTTP answer to one request, and an MDN to POST afterwards (async) if any."""

    status: int
    body: bytes
    headers: Mapping[str, str] = field(default_factory=dict)
    post_to: str | None = None
    post_mdn: BuiltMdn | None = None


def _text(status: int, message: str) -> Answer:
    return Answer(status, message.encode() + b"\n", {"Content-Type": "text/plain; charset=utf-8"})


def _deliver(mdn: BuiltMdn, request: MdnRequest | None, note: str) -> Answer:
    """The HTTP answer for ``mdn``: in the response (sync) or POSTed later (async)."""
    if request is not None and request.async_url:
        return Answer(
            200, note.encode() + b"\n", {"Content-Type": "text/plain"}, request.async_url, mdn
        )
    return Answer(200, mdn.body, mdn.headers)


def receive_message(endpoint: Endpoint, headers: Mapping[str, str], body: bytes) -> Answer:
    """Open, store, interpret and answer one inbound AS2 message (see the module docstring)."""
    config = endpoint.config
    try:
        opened = open_message(headers, body, local=config.identity, partner_for=config.partner_for)
    except As2MessageError as exc:
        return _refused(endpoint, exc)
    except As2Error as exc:  # the layer's own base: still an answer, never a 500
        wrapped = As2MessageError("unexpected-processing-error", str(exc))
        return _refused(endpoint, wrapped)
    partner = config.partner_config(opened.sender_id)
    name = partner.name if partner is not None else opened.sender_id
    message_id = opened.message_id.strip().strip("<>")
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
            "AS2 %s from %s: duplicate Message-ID (first at %s)", message_id, name, row.received_at
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
        return _deliver(mdn, opened.mdn_request, "duplicate; MDN follows asynchronously")
    verdict = interpret(opened.payload, rule_sets=endpoint.rule_sets, label=f"{name} {message_id}")
    mdn = _mdn(endpoint, opened, PROCESSED, _mdn_text(opened, verdict))
    verdict = dataclasses.replace(verdict, detail=f"{verdict.detail}\n{_security(opened)}")
    finish(endpoint.store, row, verdict, answer=mdn_bytes(mdn) if opened.mdn_request else None)
    if opened.mdn_request is None:
        return _text(200, f"received {message_id}; no MDN requested")
    return _deliver(mdn, opened.mdn_request, "received; MDN follows asynchronously")


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
        original_recipient=endpoint.config.identity.as2_id,
        sender=endpoint.config.identity,
        receiver_id=opened.sender_id,
        disposition=disposition,
        mic=opened.mic,
        request=opened.mdn_request,
        text=text,
        now=endpoint.clock(),
    )


def _refused(endpoint: Endpoint, exc: As2MessageError) -> Answer:
    """An error MDN for a message we could not open (or a plain HTTP error when none can be
    built: no Message-ID, no MDN requested, or an unknown sender asking for an async one)."""
    log.warning("AS2 message %s from %s refused: %s", exc.message_id, exc.sender_id, exc)
    if not exc.message_id or exc.mdn_request is None:
        return _text(400, f"AS2 message refused: processed/error: {exc.modifier}: {exc.text}")
    known = exc.sender_id is not None and endpoint.config.partner_for(exc.sender_id) is not None
    if exc.mdn_request.async_url and not known:
        return _text(
            403,
            f"AS2 message refused: processed/error: {exc.modifier}: {exc.text} "
            "(no asynchronous MDN is sent to an unknown partner)",
        )
    mdn = build_mdn(
        original_message_id=exc.message_id,
        original_recipient=endpoint.config.identity.as2_id,
        sender=endpoint.config.identity,
        receiver_id=exc.sender_id or "",
        disposition=Disposition(kind="processed", modifier=exc.modifier, severity="error"),
        mic=None,
        request=exc.mdn_request,
        text=f"The AS2 message could not be processed: {exc.text}",
        now=endpoint.clock(),
    )
    return _deliver(mdn, exc.mdn_request, f"refused ({exc.modifier}); MDN follows asynchronously")


def post_mdn(endpoint: Endpoint, url: str, mdn: BuiltMdn) -> bool:
    """POST an asynchronous MDN (runs after the response), trying ``len(mdn_retry_delays) + 1``
    times while the partner's server is unreachable or answers 5xx/429. Failures are logged;
    the MDN stays in the store as the inbound row's answer. True when the partner took it.

    Only http(s) return addresses are followed (RFC 4130 also allows mailto:, which this
    gateway does not send)."""
    if not url.lower().startswith(("http://", "https://")):
        log.warning("async MDN to %r not sent: only http(s) return addresses are supported", url)
        return False
    delays = (*endpoint.mdn_retry_delays, None)
    for attempt, delay in enumerate(delays, start=1):
        client = (
            endpoint.client_factory()
            if endpoint.client_factory is not None
            else httpx.Client(timeout=endpoint.mdn_timeout)
        )
        try:
            with client:
                response = client.post(url, content=mdn.body, headers=mdn.headers)
        except httpx.HTTPError as exc:
            log.warning("async MDN to %s (try %d) failed: %s", url, attempt, exc)
        else:
            if response.status_code < 300:
                return True
            log.warning("async MDN to %s (try %d): HTTP %s", url, attempt, response.status_code)
            if response.status_code < 500 and response.status_code != 429:
                return False
        if delay is not None:
            time.sleep(delay)
    return False


@dataclass(frozen=True)
class MdnOutcome:
    """What became of one received MDN."""

    status: int
    detail: str
    matched: bool = False


def receive_mdn(endpoint: Endpoint, headers: Mapping[str, str], body: bytes) -> MdnOutcome:
    """Verify an asynchronous MDN, check its MIC against the one expected, record it as an Ack."""
    sender = _header(headers, "as2-from")
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
    correlation = receive(endpoint.store, ack, now=endpoint.clock(), profiles=endpoint.profiles)
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
