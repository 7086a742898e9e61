"""AS2 messages (RFC 4130): build one to send, open one received.

Send order is RFC 5402's: compress, then sign (detached multipart/signed), then encrypt
(application/pkcs7-mime enveloped-data). The MIC returned in an MDN is computed per RFC 4130
7.3.1: over the signed MIME entity (headers and body, canonical) with the signing digest when
signed; over the MIME entity that was encrypted when only encrypted; over the payload alone
otherwise.

Example (both ends in one process, as the tests do)::

    acme = As2Identity("ACME", acme_key, acme_cert)
    buyer = As2Identity("BUYERCO", buyer_key, buyer_cert)
    out = build_message(b"UNA:+.? '...", content_type="application/EDIFACT",
                        filename="invoice.edi", sender=acme,
                        receiver=As2Partner("BUYERCO", (buyer_cert,)),
                        options=SendOptions(), message_id="inv-1@acme.example")
    # POST out.headers / out.body to the partner's URL; its MDN must return out.mic
    opened = open_message(out.headers, out.body, local=buyer,
                          partner_for={"ACME": As2Partner("ACME", (acme_cert,))}.get)
    assert opened.payload.startswith(b"UNA") and opened.mic == out.mic
"""

from __future__ import annotations

import binascii
import datetime as dt
import email.utils
import hashlib
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

from connectors.as2 import cms, mime
from connectors.as2.errors import (
    DECOMPRESSION_FAILED,
    INSUFFICIENT_MESSAGE_SECURITY,
    UNEXPECTED_PROCESSING_ERROR,
    UNKNOWN_TRADING_PARTNER,
    As2Error,
    As2MessageError,
)

AS2_VERSION = "1.2"
USER_AGENT = "invoice-gateway AS2"
_PKCS7_MIME = ("application/pkcs7-mime", "application/x-pkcs7-mime")
_PKCS7_SIG = ("application/pkcs7-signature", "application/x-pkcs7-signature")
_MAX_NESTING = 8
#: the largest document open_message inflates unless told (gateway.limits' default for as2)
MAX_DOCUMENT = 100_000_000
_AS2_NAME = re.compile(r"[\x20-\x7e]{1,128}")
_MESSAGE_ID = re.compile(r"[\x21-\x3b\x3d\x3f-\x7e]{1,998}")


def micalg_name(digest: str) -> str:
    """The RFC 5751 micalg name of a digest: "sha256" -> "sha-256"."""
    return (
        digest.replace("sha", "sha-", 1)
        if digest.startswith("sha") and "-" not in digest
        else digest
    )


def digest_name(micalg: str) -> str | None:
    """The digest name of a micalg / MIC spelling ("SHA-256", "sha256", "sha1"); None if unknown."""
    name = micalg.strip().strip('"').lower().replace("-", "").replace("_", "")
    return name if name in ("sha1", "sha224", "sha256", "sha384", "sha512", "md5") else None


@dataclass(frozen=True)
class As2Identity:
    """Our side: AS2 name, private key (signing, decrypting) and its certificate."""

    as2_id: str
    key: RSAPrivateKey
    cert: x509.Certificate


@dataclass(frozen=True)
class As2Partner:
    """The other side as configured: ``certs[0]`` encrypts to them; all are tried to verify."""

    as2_id: str
    certs: tuple[x509.Certificate, ...]
    require_signed: bool = True
    require_encrypted: bool = True


@dataclass(frozen=True)
class SendOptions:
    """How to send: signing digest/padding, cipher/key transport, compression, MDN wanted.

    ``mdn_digest`` is the MIC algorithm asked for when the message is not signed; a signed
    message asks for its signing digest, so the MIC both sides compute is the same.
    """

    sign: str | None = "sha256"
    signature_padding: str = "pkcs1v15"
    encrypt: str | None = "aes256-cbc"
    key_transport: str = "rsa-pkcs1v15"
    compress: bool = False
    mdn: str = "sync"
    mdn_signed: bool = True
    mdn_digest: str = "sha256"
    async_mdn_url: str | None = None

    def check(self) -> None:
        """Raise As2Error naming the first option that is not one of the accepted values."""
        allowed: tuple[tuple[str, object, tuple[object, ...]], ...] = (
            ("sign", self.sign, (None, *cms.DIGESTS)),
            ("signature_padding", self.signature_padding, cms.SIGNATURE_PADDINGS),
            ("encrypt", self.encrypt, (None, *cms.CIPHERS)),
            ("key_transport", self.key_transport, cms.KEY_TRANSPORTS),
            ("mdn", self.mdn, ("none", "sync", "async")),
            ("mdn_digest", self.mdn_digest, cms.DIGESTS),
        )
        for name, value, accepted in allowed:
            if value not in accepted:
                raise As2Error(
                    f"AS2 send option {name}={value!r} is not supported; accepted: "
                    + ", ".join(repr(a) for a in accepted)
                )
        if self.mdn == "async" and not self.async_mdn_url:
            raise As2Error(
                "AS2 send option mdn='async' needs async_mdn_url (where the partner posts the MDN)"
            )


@dataclass(frozen=True)
class Mic:
    """A message integrity check value: base64 digest and its algorithm ("sha256")."""

    value: str
    algorithm: str

    def __str__(self) -> str:
        return f"{self.value}, {self.algorithm}"

    def field(self) -> str:
        """The value for an MDN's Received-Content-MIC field ("<b64>, sha-256")."""
        return f"{self.value}, {micalg_name(self.algorithm)}"

    @classmethod
    def of(cls, data: bytes, algorithm: str) -> Mic:
        """The MIC of ``data`` with ``algorithm``."""
        digest = hashlib.new(algorithm, data).digest()
        return cls(binascii.b2a_base64(digest, newline=False).decode("ascii"), algorithm)

    @classmethod
    def parse(cls, field: str) -> Mic | None:
        """Read a Received-Content-MIC field ("<b64>, sha-256"); None when it is empty."""
        value, _, alg = field.partition(",")
        if not value.strip():
            return None
        return cls(value.strip(), digest_name(alg) or alg.strip().lower())


@dataclass(frozen=True)
class OutboundMessage:
    """A built message: HTTP headers for the POST, the body, id (without <>) and MIC to expect."""

    headers: dict[str, str]
    body: bytes
    message_id: str
    mic: Mic


@dataclass(frozen=True)
class MdnRequest:
    """What the sender asked for: signed MDN and MIC digest, async return URL, return address."""

    signed: bool
    digest: str | None
    async_url: str | None
    return_to: str


@dataclass(frozen=True)
class OpenedMessage:
    """A received message, decrypted, decompressed and verified. ``message_id`` is without <>."""

    message_id: str
    sender_id: str
    receiver_id: str
    payload: bytes
    content_type: str
    filename: str | None
    signed: bool
    encrypted: bool
    compressed: bool
    mic: Mic
    mdn_request: MdnRequest | None


def strip_id(message_id: str) -> str:
    """A Message-ID without surrounding blanks and angle brackets."""
    value = message_id.strip()
    if value.startswith("<") and value.endswith(">"):
        value = value[1:-1]
    return value.strip()


def as2_name(value: str) -> str:
    """An AS2-From/To value unquoted."""
    value = value.strip()
    if len(value) >= 2 and value[0] == '"' and value[-1] == '"':
        value = value[1:-1].replace('\\"', '"').replace("\\\\", "\\")
    return value


def quote_as2_name(name: str) -> str:
    """An AS2 name for a header: quoted when it has blanks or quotes (RFC 4130 6.2)."""
    return mime.quote(name) if any(c in name for c in ' "\\\t') else name


_COMPRESSED_HEADERS = [
    ("Content-Type", 'application/pkcs7-mime; smime-type=compressed-data; name="smime.p7z"'),
    ("Content-Transfer-Encoding", "binary"),
    ("Content-Disposition", 'attachment; filename="smime.p7z"'),
]
_ENVELOPED_HEADERS = [
    ("Content-Type", 'application/pkcs7-mime; smime-type=enveloped-data; name="smime.p7m"'),
    ("Content-Transfer-Encoding", "binary"),
    ("Content-Disposition", 'attachment; filename="smime.p7m"'),
]
_SIGNATURE_PART_HEADERS = (
    b'Content-Type: application/pkcs7-signature; name="smime.p7s"\r\n'
    b"Content-Transfer-Encoding: base64\r\n"
    b'Content-Disposition: attachment; filename="smime.p7s"\r\n\r\n'
)


def _b64(digest: bytes) -> str:
    return binascii.b2a_base64(digest, newline=False).decode("ascii")


def build_message(
    payload: bytes,
    *,
    content_type: str,
    filename: str | None,
    sender: As2Identity,
    receiver: As2Partner,
    options: SendOptions,
    message_id: str,
    subject: str = "AS2 message",
    now: dt.datetime | None = None,
) -> OutboundMessage:
    """The AS2 message carrying ``payload`` from ``sender`` to ``receiver`` as ``options`` say.

    ``message_id`` may come with or without <>; the header gets <>, ``OutboundMessage.message_id``
    has none. Raises As2Error for options or certificates that cannot be used.
    """
    options.check()
    when = now or dt.datetime.now(dt.UTC)
    mid = strip_id(message_id)
    if not _MESSAGE_ID.fullmatch(mid):
        raise As2Error(
            f"AS2 message id {message_id!r} is not usable: printable ASCII without blanks or <>, "
            "e.g. '<uuid>@<our-host>'"
        )
    for role, name in (("sender", sender.as2_id), ("receiver", receiver.as2_id)):
        if not _AS2_NAME.fullmatch(name):
            raise As2Error(
                f"AS2 {role} name {name!r} is not usable: 1-128 printable ASCII characters "
                "(RFC 4130 6.2)"
            )
    # MIME entities are kept as lists of pieces (header block, body) and joined once at the
    # end: a 1 MB payload is then copied only where a layer transforms it.
    content_headers = [("Content-Type", content_type), ("Content-Transfer-Encoding", "binary")]
    if filename:
        content_headers.append(("Content-Disposition", mime.attachment(filename)))
    entity = [mime.header_bytes(content_headers) + mime.CRLF, payload]
    mic_alg = options.sign or options.mdn_digest
    try:
        if options.compress:
            content_headers = _COMPRESSED_HEADERS
            entity = [
                mime.header_bytes(content_headers) + mime.CRLF,
                cms.compress(b"".join(entity)),
            ]
        if options.sign:
            hasher = hashlib.new(options.sign)
            for piece in entity:
                hasher.update(piece)
            content_digest = hasher.digest()
            mic = Mic(_b64(content_digest), options.sign)
            signature = cms.sign_detached(
                b"",
                key=sender.key,
                cert=sender.cert,
                digest=options.sign,
                pss=options.signature_padding == "pss",
                now=when,
                content_digest=content_digest,
            )
            delimiter = b"--" + mime.new_boundary().encode("ascii")
            body = [
                delimiter + mime.CRLF,
                *entity,
                mime.CRLF + delimiter + mime.CRLF + _SIGNATURE_PART_HEADERS,
                mime.b64_lines(signature),
                delimiter + b"--" + mime.CRLF,
            ]
            content_headers = [
                (
                    "Content-Type",
                    'multipart/signed; protocol="application/pkcs7-signature"; '
                    f'micalg={micalg_name(options.sign)}; boundary="{delimiter[2:].decode()}"',
                )
            ]
            entity = [mime.header_bytes(content_headers) + mime.CRLF, *body]
        elif options.encrypt:
            mic = Mic.of(b"".join(entity), mic_alg)
        else:
            mic = Mic.of(payload, mic_alg)
        if options.encrypt:
            body = [
                cms.encrypt(
                    entity,
                    cert=receiver.certs[0],
                    cipher=options.encrypt,
                    oaep=options.key_transport == "rsa-oaep",
                )
            ]
            content_headers = _ENVELOPED_HEADERS
        else:
            body = entity[1:]
    except cms.CmsError as exc:
        raise As2Error(f"AS2 message {mid} to {receiver.as2_id}: {exc.text}") from exc
    except IndexError as exc:
        raise As2Error(f"AS2 partner {receiver.as2_id} has no certificate to encrypt to") from exc
    headers: dict[str, str] = {
        "AS2-Version": AS2_VERSION,
        "AS2-From": quote_as2_name(sender.as2_id),
        "AS2-To": quote_as2_name(receiver.as2_id),
        "Message-ID": f"<{mid}>",
        "Subject": mime.encoded_word(subject),
        "Date": email.utils.format_datetime(when if when.tzinfo else when.replace(tzinfo=dt.UTC)),
        "MIME-Version": "1.0",
        "User-Agent": USER_AGENT,
    }
    headers.update(content_headers)
    if options.mdn != "none":
        headers["Disposition-Notification-To"] = options.async_mdn_url or sender.as2_id
        if options.mdn_signed:
            headers["Disposition-Notification-Options"] = (
                "signed-receipt-protocol=required, pkcs7-signature; "
                f"signed-receipt-micalg=required, {micalg_name(mic_alg)}"
            )
        if options.mdn == "async" and options.async_mdn_url:
            headers["Receipt-Delivery-Option"] = options.async_mdn_url
    return OutboundMessage(
        headers=headers, body=body[0] if len(body) == 1 else b"".join(body), message_id=mid, mic=mic
    )


def parse_mdn_request(headers: Mapping[str, str]) -> MdnRequest | None:
    """The MDN the sender asked for, from (lower-cased) ``headers``; None when none was asked."""
    return_to = headers.get("disposition-notification-to")
    if return_to is None:
        return None
    options = headers.get("disposition-notification-options", "")
    signed = False
    digest: str | None = None
    for item in options.split(";"):
        name, _, value = item.partition("=")
        values = [v.strip().lower() for v in value.split(",")]
        name = name.strip().lower()
        if name == "signed-receipt-protocol":
            signed = "pkcs7-signature" in values
        elif name == "signed-receipt-micalg":
            for v in values[1:] if len(values) > 1 else values:
                found = digest_name(v)
                if found in cms.DIGESTS:
                    digest = found
                    break
    return MdnRequest(
        signed=signed,
        digest=digest,
        async_url=(headers.get("receipt-delivery-option") or "").strip() or None,
        return_to=return_to.strip(),
    )


@dataclass
class _State:
    signed: bool = False
    encrypted: bool = False
    compressed: bool = False
    mic_source: bytes | None = None
    signature_digest: str | None = None
    content_digest: bytes | None = None


def signed_content_variants(raw: bytes) -> Iterator[bytes]:
    """The signed part as received, then canonical forms (some senders or captures lose CRs),
    each made only when the one before did not match."""
    yield raw
    canonical = mime.canonical_crlf(raw)
    if canonical != raw:
        yield canonical
    headers, offset = mime.split_headers(raw)
    headers_only = mime.entity(headers, raw[offset:])
    if headers_only not in (raw, canonical):
        yield headers_only


def open_message(
    headers: Mapping[str, str],
    body: bytes,
    *,
    local: As2Identity,
    partner_for: Callable[[str], As2Partner | None],
    also: Sequence[As2Identity] = (),
    max_size: int | None = MAX_DOCUMENT,
) -> OpenedMessage:
    """Decrypt, decompress and verify an inbound AS2 message (HTTP ``headers`` and ``body``).

    The partner's requirements are checked before anything is inflated: compressed content of
    a partner that requires encryption, met outside any encryption, is refused
    (insufficient-message-security) unread. Compressed content is inflated with a cap
    (:func:`connectors.as2.cms.inflate_limit` of ``max_size``, the channel's largest
    document, default :data:`MAX_DOCUMENT`; None: no cap), and only one compression layer is
    accepted.

    ``local`` is our identity; ``also`` more AS2 ids we answer for: the message is opened with
    the one its AS2-To names (``OpenedMessage.receiver_id``).

    Raises As2MessageError with the RFC 4130 modifier (unknown-trading-partner,
    decryption-failed, decompression-failed, integrity-check-failed, authentication-failed,
    insufficient-message-security, unexpected-processing-error) and what was learnt so far.
    """
    h = mime.lower_keys(headers)
    message_id = strip_id(h.get("message-id", "")) or None
    sender_id = as2_name(h.get("as2-from", "")) or None
    receiver_id = as2_name(h.get("as2-to", "")) or None
    try:
        request = parse_mdn_request(h)
    except Exception:  # a malformed options header must not hide the message
        request = None

    def fail(modifier: str, text: str) -> As2MessageError:
        return As2MessageError(
            modifier,
            text,
            message_id=message_id,
            sender_id=sender_id,
            receiver_id=receiver_id,
            mdn_request=request,
        )

    if message_id is None:
        raise fail(UNEXPECTED_PROCESSING_ERROR, "the message has no Message-ID header")
    if sender_id is None:
        raise fail(UNKNOWN_TRADING_PARTNER, "the message has no AS2-From header")
    ours = (local, *also)
    named = next((identity for identity in ours if identity.as2_id == receiver_id), None)
    if named is None:
        names = ", ".join(repr(identity.as2_id) for identity in ours)
        raise fail(
            UNKNOWN_TRADING_PARTNER,
            f"AS2-To {receiver_id!r} is not our AS2 name {names}"
            if not also
            else f"AS2-To {receiver_id!r} is not one of our AS2 names {names}",
        )
    local = named
    partner = partner_for(sender_id)
    if partner is None:
        raise fail(UNKNOWN_TRADING_PARTNER, f"AS2-From {sender_id!r} is not a configured partner")
    try:
        return _open(
            h,
            body,
            local=local,
            partner=partner,
            message_id=message_id,
            sender_id=sender_id,
            request=request,
            max_size=max_size,
        )
    except As2MessageError:
        raise
    except cms.CmsError as exc:
        raise fail(exc.modifier, f"message {message_id} from {sender_id}: {exc.text}") from exc
    except mime.MimeError as exc:
        raise fail(
            UNEXPECTED_PROCESSING_ERROR, f"message {message_id} from {sender_id}: {exc}"
        ) from exc
    except Exception as exc:  # the boundary: nothing foreign escapes the layer
        raise fail(
            UNEXPECTED_PROCESSING_ERROR,
            f"message {message_id} from {sender_id}: {type(exc).__name__}: {exc}",
        ) from exc


def _open(
    h: dict[str, str],
    body: bytes,
    *,
    local: As2Identity,
    partner: As2Partner,
    message_id: str,
    sender_id: str,
    request: MdnRequest | None,
    max_size: int | None = None,
) -> OpenedMessage:
    state = _State()

    def insufficient(text: str) -> As2MessageError:
        return As2MessageError(
            INSUFFICIENT_MESSAGE_SECURITY,
            f"message {message_id} from {sender_id} {text}",
            message_id=message_id,
            sender_id=sender_id,
            receiver_id=local.as2_id,
            mdn_request=request,
            verified=state.signed,
        )

    top_headers = tuple((k, v) for k, v in h.items() if k.startswith("content-"))
    ent = mime.Entity(top_headers, body, body)
    outer_filename = mime.parse_params(h.get("content-disposition", "x"))[1].get("filename")
    try:
        for _ in range(_MAX_NESTING):
            ctype, params = mime.parse_params(ent.get("Content-Type") or "text/plain")
            if ctype in _PKCS7_MIME:
                data = mime.decode_body(ent)
                smime_type = params.get("smime-type", "").lower() or {
                    "enveloped_data": "enveloped-data",
                    "compressed_data": "compressed-data",
                    "signed_data": "signed-data",
                }.get(cms.content_type_of(data) or "", "")
                if smime_type == "enveloped-data":
                    inner = cms.decrypt(data, key=local.key, cert=local.cert).content
                    if not state.encrypted and not state.signed:
                        state.mic_source = inner
                    state.encrypted = True
                elif smime_type == "compressed-data":
                    # the partner's requirements before inflating: a bomb must not cost its size
                    if partner.require_encrypted and not state.encrypted:
                        raise insufficient(
                            "is compressed outside any encryption; the partner agreement requires "
                            "encryption (refused before inflating)"
                        )
                    if state.compressed:
                        raise cms.CmsError(
                            DECOMPRESSION_FAILED,
                            "compressed content inside compressed content (one compression layer "
                            "is accepted)",
                        )
                    inner = cms.decompress(data, max_size=max_size)
                    state.compressed = True
                elif smime_type == "signed-data":
                    verified = cms.verify_attached(data, partner.certs)
                    inner = verified.content
                    if not state.signed:
                        state.mic_source = inner
                        state.signature_digest = verified.digest
                        state.content_digest = verified.content_digest
                    state.signed = True
                else:
                    raise cms.CmsError(
                        UNEXPECTED_PROCESSING_ERROR,
                        f"application/pkcs7-mime smime-type {smime_type!r} is not supported",
                    )
                ent = _inner_entity(inner)
            elif ctype == "multipart/signed":
                boundary = params.get("boundary")
                if not boundary:
                    raise mime.MimeError("multipart/signed without a boundary parameter")
                parts = mime.split_multipart(ent.body, boundary)
                if len(parts) < 2:
                    raise cms.CmsError(
                        "integrity-check-failed", "multipart/signed without a signature part"
                    )
                sig_ent = mime.parse_entity(parts[1])
                sig_type = mime.parse_params(sig_ent.get("Content-Type") or "")[0]
                if sig_type not in _PKCS7_SIG:
                    raise cms.CmsError(
                        "integrity-check-failed",
                        f"signature part has type {sig_type!r}, "
                        "expected application/pkcs7-signature",
                    )
                verified = cms.verify_detached(
                    signed_content_variants(parts[0]), mime.decode_body(sig_ent), partner.certs
                )
                if not state.signed:
                    state.mic_source = verified.content
                    state.signature_digest = verified.digest
                    state.content_digest = verified.content_digest
                state.signed = True
                ent = mime.parse_entity(verified.content)
            else:
                break
        else:
            raise mime.MimeError(f"more than {_MAX_NESTING} nested security layers")
    except cms.CmsError as exc:  # what was verified before the failure goes with it
        raise As2MessageError(
            exc.modifier,
            f"message {message_id} from {sender_id}: {exc.text}",
            message_id=message_id,
            sender_id=sender_id,
            receiver_id=local.as2_id,
            mdn_request=request,
            verified=state.signed,
        ) from exc
    if partner.require_encrypted and not state.encrypted:
        raise insufficient("is not encrypted; the partner agreement requires encryption")
    if partner.require_signed and not state.signed:
        raise insufficient("is not signed; the partner agreement requires a signature")
    payload = mime.decode_body(ent)
    mic_alg = (request.digest if request else None) or state.signature_digest or "sha256"
    if state.content_digest is not None and mic_alg == state.signature_digest:
        mic = Mic(binascii.b2a_base64(state.content_digest, newline=False).decode(), mic_alg)
    else:
        mic = Mic.of(state.mic_source if state.mic_source is not None else payload, mic_alg)
    disposition = mime.parse_params(ent.get("Content-Disposition") or "x")[1]
    return OpenedMessage(
        message_id=message_id,
        sender_id=sender_id,
        receiver_id=local.as2_id,
        payload=payload,
        content_type=mime.parse_params(ent.get("Content-Type") or "text/plain")[0],
        filename=disposition.get("filename") or outer_filename,
        signed=state.signed,
        encrypted=state.encrypted,
        compressed=state.compressed,
        mic=mic,
        mdn_request=request,
    )


def _inner_entity(data: bytes) -> mime.Entity:
    """The MIME entity inside decrypted/decompressed content; content without a MIME header
    (mendelson puts the bare payload in an encrypted-only message) is taken as the payload."""
    try:
        ent = mime.parse_entity(data)
    except mime.MimeError:
        ent = None
    if ent is None or ent.get("Content-Type") is None:
        return mime.Entity((("Content-Type", "application/octet-stream"),), data, data)
    return ent
