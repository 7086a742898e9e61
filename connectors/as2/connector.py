"""As2Connector: send a document to a trading partner over AS2 (RFC 4130) with httpx.

The message is built by :func:`connectors.as2.message.build_message` (compress, sign, encrypt as
configured) and POSTed to the partner's URL. Its Message-ID is derived from the idempotency key
(and both AS2 ids), so a re-send after a crash carries the same Message-ID and the partner's
duplicate detection answers it (``processed/warning: duplicate-document`` counts as received).
Within one process the same key returns the first Receipt; the same key with different bytes is
an :class:`~gateway.delivery.errors.IdempotencyConflict`.

A synchronous MDN is verified (signature against the partner's certificates, Original-Message-ID,
the returned MIC against the one computed when sending) and becomes a Receipt with
``transport_proof=True`` and the MDN bytes as evidence. With ``mdn = "async"`` the Receipt has
``transport_proof=False`` and names the expected MIC in its evidence and detail; the MDN arrives
later at the gateway's ``/as2/mdn`` endpoint (:mod:`gateway.web`), which checks it against that.

What each answer becomes:

====================================  =====================  ======================================
answer                                error                  why
====================================  =====================  ======================================
HTTP answers and httpx failures       (see the table in      one translation for every HTTP
                                      connectors.http_errors) connector, e.g.:
connect refused / DNS / reset         ConnectionFailed       the partner may come back
read / write timeout, HTTP 408, 504   Timeout                outcome unknown; re-send is safe
HTTP 429, 503 with Retry-After        RateLimited            ``retry_after`` from Retry-After
other HTTP 5xx                        RemoteUnavailable      the partner's server is in trouble
HTTP 401 / 403                        AuthenticationFailed   HTTP credentials refused
HTTP 3xx, 404, 405                    ConfigurationInvalid   url is not the AS2 endpoint
other HTTP 4xx                        Rejected               the partner refused the request
TLS server certificate not trusted    HostKeyMismatch        wrong CA / certificate on their side
TLS client certificate refused        AuthenticationFailed   mutual TLS: client_cert not trusted
MDN not readable, signature invalid   Rejected               no proof; a person must look
unsigned MDN when a signed one asked  Rejected               no non-repudiation proof
MDN for another Message-ID            Rejected               not an answer to this message
MIC differs from ours                 Rejected               the partner got other bytes
processed/error: authentication-      AuthenticationFailed   they cannot verify our signature (our
failed                                                       certificate unknown to them)
processed/error: decryption-failed    ConfigurationInvalid   we encrypted to a certificate they
                                                             have no key for: partner_cert_file
processed/error: insufficient-        ConfigurationInvalid   our sign/encrypt options are below
message-security                                             what the partner requires
processed/error: unknown-trading-     ConfigurationInvalid   as2_from / as2_to not known to them
partner
processed/error: integrity-check-     Rejected               the message was damaged
failed, decompression-failed, other
failed/..., denied, other             Rejected               the partner refused the message
processed/warning: duplicate-        Receipt                the partner already holds this
document                                                     Message-ID; its MIC, when the MDN has
                                                             one, must be ours
processed, processed/warning          Receipt                (warning text kept in the detail)
====================================  =====================  ======================================

Transmissions: the Message-ID is derived from the idempotency key, and the worker gives each
transmission of a delivery its own key (:func:`connectors.base.transmission_key`), so retries
after a transport failure (no answer: the partner may hold the message) repeat the Message-ID,
and a partner that does answers ``duplicate-document`` — proof that it holds the message (a
django-pyas2 partner sends that MDN without a Received-Content-MIC; when a MIC is there it is
compared). A refusal the partner remembers (an error MDN, a 4xx, a MIC that differs) ends the
transmission (``ends_transmission`` on the error): partners such as django-pyas2 keep failed
Message-IDs and answer any re-send of one as a duplicate, so the next send must be a new
transmission. An MDN we cannot read or verify says nothing sure about what the partner holds,
so it ends the transmission only when, read unverified, it is an error MDN.

decryption-failed and insufficient-message-security are ConfigurationInvalid rather than Rejected
because nothing about the document is wrong: the channel's settings are, and re-sending the
same bytes cannot help until a person fixes them (both are permanent: FAILED, then fallback).
"""

from __future__ import annotations

import base64
import hashlib
import re
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from connectors import http_errors
from connectors.as2 import certs
from connectors.as2.errors import As2Error, CertificateError, MdnError
from connectors.as2.mdn import Mdn, parse_mdn
from connectors.as2.message import (
    As2Identity,
    As2Partner,
    OutboundMessage,
    SendOptions,
    build_message,
)
from connectors.base import Clock, Receipt, utc_now
from connectors.http_client import tls_context
from connectors.http_errors import error_for_exception, error_for_status
from gateway.delivery.errors import (
    AuthenticationFailed,
    ConfigurationInvalid,
    IdempotencyConflict,
    Rejected,
)
from gateway.document import Document

SIGN_ALGORITHMS = ("sha1", "sha256", "sha384", "sha512")
ENCRYPT_ALGORITHMS = ("aes128-cbc", "aes192-cbc", "aes256-cbc", "3des")
PADDINGS = ("pkcs1v15", "pss")
KEY_TRANSPORTS = ("rsa-pkcs1v15", "rsa-oaep")
MDN_MODES = ("none", "sync", "async")
OFF = ("", "none", "off", "false")

CONFIG_MODIFIERS = frozenset(
    {"decryption-failed", "insufficient-message-security", "unknown-trading-partner"}
)
AUTH_MODIFIERS = frozenset({"authentication-failed"})

REMEMBERED = 10_000
"""Receipts kept in memory for same-process re-sends (older keys ask the partner again)."""
LOCK_STRIPES = 64

MIC_LINE = re.compile(r"^Expected-MIC: (?P<mic>.+)$", re.M)


def expected_mic(evidence: bytes | str) -> str | None:
    """The ``"<b64>, <alg>"`` MIC an async-MDN receipt's evidence says to expect, or None."""
    text = evidence.decode("utf-8", "replace") if isinstance(evidence, bytes) else evidence
    found = MIC_LINE.search(text)
    return found.group("mic").strip() if found else None


def derive_message_id(idempotency_key: str, as2_from: str, as2_to: str, domain: str) -> str:
    """The Message-ID (without ``<>``) for a key: the same key, partner pair and domain always
    give the same id, so the partner recognises a re-send as a duplicate."""
    digest = hashlib.sha256(f"{as2_from}\0{as2_to}\0{idempotency_key}".encode()).digest()
    token = base64.b32encode(digest[:20]).decode().lower()
    return f"igw-{token}@{domain}"


def _off(value: str | bool | None) -> bool:
    return value is None or value is False or (isinstance(value, str) and value.lower() in OFF)


def _choice(name: str, value: str, accepted: tuple[str, ...]) -> str:
    if value not in accepted:
        raise ConfigurationInvalid(
            f"as2: {name} = {value!r}: not supported; accepted: {', '.join(accepted)}"
        )
    return value


def _read(name: str, path: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise ConfigurationInvalid(
            f"as2: {name} = {path!r}: cannot read: {exc.strerror or exc}"
        ) from exc


@dataclass(frozen=True)
class _Sent:
    sha256: str
    receipt: Receipt


class As2Connector:
    """Sends documents to one AS2 partner; options as a buyer profile's channel gives them.

    ``key_file`` (PEM/DER key or PKCS#12 path) or ``private_key`` (PEM text, from a secret
    reference) is our signing/decryption key, ``key_password`` its password (secret reference),
    ``cert_file`` our certificate when the key file does not bring it; ``partner_cert_file``
    the partner's certificate (PEM/DER/.p7b). ``sign``/``encrypt`` take ``"none"`` to switch off.
    ``basic_username``/``basic_password`` (a reference) give HTTP Basic credentials, and
    ``ca_bundle``/``client_cert``/``client_key`` TLS trust and mutual TLS, for partners whose AS2
    server asks for them (the same options as the HTTP connector). ``client`` replaces the HTTP
    client (tests: ``httpx.Client(transport=MockTransport(...))``).
    """

    name = "as2"

    def __init__(
        self,
        url: str,
        as2_from: str,
        as2_to: str,
        partner_cert_file: str,
        *,
        key_file: str | None = None,
        private_key: str | None = None,
        key_password: str | None = None,
        cert_file: str | None = None,
        sign: str | bool | None = "sha256",
        signature_padding: str = "pkcs1v15",
        encrypt: str | bool | None = "aes256-cbc",
        key_transport: str = "rsa-pkcs1v15",
        compress: bool = False,
        mdn: str = "sync",
        mdn_signed: bool = True,
        mdn_digest: str = "sha256",
        async_mdn_url: str | None = None,
        content_type: str | None = None,
        subject: str = "AS2 message",
        message_id_domain: str | None = None,
        timeout: float = 60.0,
        connect_timeout: float | None = None,
        ca_bundle: str | None = None,
        client_cert: str | None = None,
        client_key: str | None = None,
        basic_username: str | None = None,
        basic_password: str | None = None,
        client: httpx.Client | None = None,
        clock: Clock = utc_now,
    ) -> None:
        if not url.startswith(("http://", "https://")):
            raise ConfigurationInvalid(f"as2: url = {url!r}: accepted: an http:// or https:// URL")
        self.url = url
        self.clock = clock
        self.channel = f"as2:{as2_to}@{url}"
        mdn = _choice("mdn", mdn, MDN_MODES)
        if mdn == "async" and not async_mdn_url:
            raise ConfigurationInvalid(
                "as2: mdn = 'async' needs async_mdn_url (where the partner POSTs the MDN, "
                "e.g. https://our-gateway.example/as2/mdn)"
            )
        self.options = SendOptions(
            sign=None if _off(sign) else _choice("sign", str(sign), SIGN_ALGORITHMS),
            signature_padding=_choice("signature_padding", signature_padding, PADDINGS),
            encrypt=None if _off(encrypt) else _choice("encrypt", str(encrypt), ENCRYPT_ALGORITHMS),
            key_transport=_choice("key_transport", key_transport, KEY_TRANSPORTS),
            compress=compress,
            mdn=mdn,
            mdn_signed=mdn_signed,
            mdn_digest=_choice("mdn_digest", mdn_digest, SIGN_ALGORITHMS),
            async_mdn_url=async_mdn_url,
        )
        self.identity = self._identity(as2_from, key_file, private_key, key_password, cert_file)
        try:
            partner_certs = tuple(
                certs.load_certificates(_read("partner_cert_file", partner_cert_file))
            )
        except CertificateError as exc:
            raise ConfigurationInvalid(
                f"as2: partner_cert_file = {partner_cert_file!r}: {exc}"
            ) from exc
        self.partner = As2Partner(as2_id=as2_to, certs=partner_certs)
        self.content_type = content_type
        self.subject = subject
        self.domain = message_id_domain or (re.sub(r"[^A-Za-z0-9.-]", "-", as2_from) or "as2")
        self.timeout = timeout
        if client is None:
            tls = tls_context(client_cert, client_key, ca_bundle, f"as2 {url}")
            client = httpx.Client(
                timeout=httpx.Timeout(timeout, connect=connect_timeout or timeout),
                verify=tls if tls is not None else True,
                follow_redirects=False,
            )
        self.auth = (
            httpx.BasicAuth(basic_username, basic_password or "")
            if basic_username is not None
            else None
        )
        self.client = client
        # Receipts of this process's sends, most recent last; bounded, because past the bound a
        # re-send is still safe: it carries the same Message-ID and the partner answers it as a
        # duplicate. Sends of one key are serialised by one of a fixed set of locks.
        self._sent: OrderedDict[str, _Sent] = OrderedDict()
        self._guard = threading.Lock()
        self._locks = tuple(threading.Lock() for _ in range(LOCK_STRIPES))

    def _identity(
        self,
        as2_from: str,
        key_file: str | None,
        private_key: str | None,
        key_password: str | None,
        cert_file: str | None,
    ) -> As2Identity:
        if (key_file is None) == (private_key is None):
            raise ConfigurationInvalid(
                "as2: give our key as exactly one of key_file (path to a PEM/DER key or "
                'PKCS#12) or private_key (a reference: "env:NAME" / "file:/path")'
            )
        data = _read("key_file", key_file) if key_file is not None else str(private_key).encode()
        where = f"key_file = {key_file!r}" if key_file is not None else "private_key"
        password = key_password.encode() if key_password else None
        try:
            key, bundled = certs.load_private_key(data, password)
            chain = (
                certs.load_certificates(_read("cert_file", cert_file))
                if cert_file is not None
                else bundled
            )
        except CertificateError as exc:
            raise ConfigurationInvalid(f"as2: {where}: {exc}") from exc
        if not chain:
            raise ConfigurationInvalid(
                f"as2: {where} brings no certificate; name ours in cert_file (PEM/DER)"
            )
        return As2Identity(as2_id=as2_from, key=key, cert=chain[0])

    def message_id(self, idempotency_key: str) -> str:
        """The Message-ID (without ``<>``) a send with ``idempotency_key`` carries."""
        return derive_message_id(
            idempotency_key, self.identity.as2_id, self.partner.as2_id, self.domain
        )

    def send(self, document: Document, *, delivery_id: str, idempotency_key: str) -> Receipt:
        """POST ``document`` as one AS2 message per key; only DeliveryErrors escape."""
        stripe = int.from_bytes(hashlib.sha256(idempotency_key.encode()).digest()[:4], "big")
        with self._locks[stripe % LOCK_STRIPES]:
            with self._guard:
                done = self._sent.get(idempotency_key)
            if done is not None:
                if done.sha256 != document.sha256:
                    raise IdempotencyConflict(
                        f"{self.channel}: idempotency key {idempotency_key!r} was sent as "
                        f"{done.receipt.message_id} with other content (sha256 "
                        f"{done.sha256[:12]}, now {document.sha256[:12]}); a re-send must "
                        "carry the same bytes",
                        ends_transmission=False,
                    )
                return done.receipt
            receipt = self._send(document, idempotency_key)
            with self._guard:
                self._sent[idempotency_key] = _Sent(document.sha256, receipt)
                while len(self._sent) > REMEMBERED:
                    self._sent.popitem(last=False)
            return receipt

    def _build(self, document: Document, message_id: str) -> OutboundMessage:
        try:
            return build_message(
                document.content,
                content_type=self.content_type or document.media_type,
                filename=document.filename,
                sender=self.identity,
                receiver=self.partner,
                options=self.options,
                message_id=f"<{message_id}>",
                subject=self.subject,
                now=self.clock(),
            )
        except As2Error as exc:
            raise ConfigurationInvalid(  # nothing was sent: the transmission is unused
                f"{self.channel}: building the AS2 message: {exc}", ends_transmission=False
            ) from exc

    def _send(self, document: Document, idempotency_key: str) -> Receipt:
        message_id = self.message_id(idempotency_key)
        message = self._build(document, message_id)
        response = self._post(message)
        sent_at = self.clock()
        common: dict[str, Any] = {
            "connector": self.name,
            "channel": self.channel,
            "message_id": message_id,
            "idempotency_key": idempotency_key,
            "sent_at": sent_at,
            "remote_name": document.filename,
        }
        if self.options.mdn == "sync":
            mdn = self._check_mdn(response, message, message_id)
            warning = f" ({mdn.disposition})" if mdn.disposition.severity == "warning" else ""
            how = "signed MDN verified" if mdn.signature_verified else "MDN received"
            if mdn.disposition.duplicate and mdn.mic is None:
                detail = (
                    f"{how}: duplicate-document, the partner already holds <{message_id}> "
                    f"(no Received-Content-MIC to compare; ours {message.mic}){warning}"
                )
            else:
                detail = f"{how}, MIC {message.mic}{warning}"
            return Receipt(**common, transport_proof=True, evidence=mdn.raw, detail=detail)
        if self.options.mdn == "async":
            evidence = (
                f"AS2 message sent; asynchronous MDN expected at {self.options.async_mdn_url}\n"
                f"Message-ID: <{message_id}>\n"
                f"Expected-MIC: {message.mic}\n"
                f"MDN-Signed: {'yes' if self.options.mdn_signed else 'no'}\n"
                f"HTTP-Status: {response.status_code}\n"
            ).encode()
            return Receipt(
                **common,
                transport_proof=False,
                evidence=evidence,
                detail=f"HTTP {response.status_code}; async MDN expected with MIC {message.mic}",
            )
        return Receipt(
            **common,
            transport_proof=True,
            evidence=http_errors.evidence(response),
            detail=f"HTTP {response.status_code} (no MDN requested)",
        )

    def _post(self, message: OutboundMessage) -> httpx.Response:
        what = f"POST <{message.message_id}>"
        try:
            response = self.client.post(
                self.url,
                content=message.body,
                headers=message.headers,
                auth=self.auth if self.auth is not None else httpx.USE_CLIENT_DEFAULT,
            )
        except (httpx.HTTPError, OSError) as exc:
            raise error_for_exception(exc, channel=self.channel, what=what) from exc
        error = error_for_status(response, channel=self.channel, what=what, clock=self.clock)
        if error is not None:
            raise error
        return response

    def _check_mdn(
        self, response: httpx.Response, message: OutboundMessage, message_id: str
    ) -> Mdn:
        what = f"{self.channel}: MDN for <{message_id}>"
        evidence = response.content
        try:
            mdn = parse_mdn(response.headers, response.content, partner=self.partner)
        except MdnError as exc:
            claimed = _unverified(response)
            says = "" if claimed is None else f"; unverified, it says: {claimed.disposition}"
            raise Rejected(
                f"{what}: cannot be verified: {exc}{says}",
                evidence=evidence,
                ends_transmission=claimed is not None and not claimed.disposition.ok,
            ) from exc
        except As2Error as exc:
            raise Rejected(
                f"{what}: cannot be read: {exc}", evidence=evidence, ends_transmission=False
            ) from exc
        if self.options.mdn_signed and not mdn.signed:
            raise Rejected(
                f"{what}: unsigned, but a signed MDN was requested (no proof of receipt)",
                evidence=evidence,
                ends_transmission=not mdn.disposition.ok,
            )
        if mdn.signed and not mdn.signature_verified:
            raise Rejected(
                f"{what}: signature not verified", evidence=evidence, ends_transmission=False
            )
        if mdn.original_message_id.strip("<>") != message_id:
            raise Rejected(
                f"{what}: answers Original-Message-ID {mdn.original_message_id!r} instead",
                evidence=evidence,
                ends_transmission=False,
            )
        disposition = mdn.disposition
        text = f"{what}: {disposition}" + (
            f" ({mdn.text.strip()[:200]})" if mdn.text.strip() else ""
        )
        if disposition.kind != "processed" or disposition.severity not in (None, "warning"):
            modifier = (disposition.modifier or "").lower()
            if disposition.kind == "processed" and modifier in AUTH_MODIFIERS:
                raise AuthenticationFailed(text, evidence=evidence)
            if disposition.kind == "processed" and modifier in CONFIG_MODIFIERS:
                raise ConfigurationInvalid(text, evidence=evidence)
            raise Rejected(text, evidence=evidence)
        if disposition.duplicate and mdn.mic is None:
            return mdn  # the partner holds this Message-ID; pyas2lib answers before decrypting
        if message.mic is not None and (
            mdn.mic is None
            or mdn.mic.value != message.mic.value
            or mdn.mic.algorithm.lower() != message.mic.algorithm.lower()
        ):
            raise Rejected(
                f"{what}: Received-Content-MIC {mdn.mic} differs from ours {message.mic} "
                "(the partner did not receive the bytes we sent)",
                evidence=evidence,
            )
        return mdn

    def close(self) -> None:
        """Close the HTTP client."""
        self.client.close()


def _unverified(response: httpx.Response) -> Mdn | None:
    """An MDN that failed verification, read without verifying (for the person who has to fix
    the certificates; decides only whether the transmission is spent: an error MDN, even
    unverified, means the partner will not take this Message-ID again)."""
    try:
        return parse_mdn(response.headers, response.content, partner=None)
    except As2Error:
        return None


__all__ = ["As2Connector", "derive_message_id", "expected_mic"]
