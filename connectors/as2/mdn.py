"""AS2 MDNs (RFC 4130 7, RFC 3798 / 8098): build one for a received message, read one for a sent
message, and turn it into the gateway's transport-level Ack."""

from __future__ import annotations

import binascii
import datetime as dt
import email.utils
import os
from collections.abc import Mapping
from dataclasses import dataclass

from connectors.as2 import cms, mime
from connectors.as2.errors import MdnError
from connectors.as2.message import (
    AS2_VERSION,
    USER_AGENT,
    As2Identity,
    As2Partner,
    MdnRequest,
    Mic,
    as2_name,
    micalg_name,
    quote_as2_name,
    signed_content_variants,
    strip_id,
)
from gateway.ack import Ack, AckLevel, AckReason, AckReference, AckStatus

ACTION_MODE = "automatic-action/MDN-sent-automatically"
REPORTING_UA = "invoice-gateway AS2"


@dataclass(frozen=True)
class Disposition:
    """An MDN disposition: "processed" or "failed", optionally with severity and modifier.

    ``str()`` gives the Disposition field value, e.g.
    "automatic-action/MDN-sent-automatically; processed/error: decryption-failed".
    """

    kind: str = "processed"
    modifier: str | None = None
    severity: str | None = None  # "error" | "warning" (or "failure" as some products send)

    def __str__(self) -> str:
        value = f"{ACTION_MODE}; {self.kind}"
        if self.severity and self.modifier:
            value += f"/{self.severity}: {self.modifier}"
        elif self.severity:
            value += f"/{self.severity}"
        elif self.modifier:
            value += f"/error: {self.modifier}"
        return value

    @property
    def ok(self) -> bool:
        """Processed without error (a warning still counts as processed)."""
        return self.kind == "processed" and self.severity in (None, "warning")

    @property
    def duplicate(self) -> bool:
        """``processed/warning: duplicate-document``: the partner already holds a message with
        this Message-ID (django-pyas2 / pyas2lib answer it before decrypting, so without a
        Received-Content-MIC)."""
        return (
            self.kind == "processed"
            and self.severity == "warning"
            and self.modifier == "duplicate-document"
        )

    @classmethod
    def parse(cls, value: str) -> Disposition:
        """Read a Disposition field value (any case, blanks optional)."""
        _, sep, rest = value.partition(";")
        if not sep:
            rest = value
        rest = rest.strip()
        kind, _, qualifier = rest.partition("/")
        severity: str | None = None
        modifier: str | None = None
        if qualifier:
            sev, colon, mod = qualifier.partition(":")
            if colon:
                severity = sev.strip().lower() or None
                modifier = mod.strip().lower() or None
            else:
                severity = sev.strip().lower() or None
        return cls(kind=kind.strip().lower() or "processed", modifier=modifier, severity=severity)


@dataclass(frozen=True)
class BuiltMdn:
    """An MDN ready to send: HTTP headers (Content-Type, AS2-From/To, Message-ID...) and body."""

    headers: dict[str, str]
    body: bytes


@dataclass(frozen=True)
class Mdn:
    """A received MDN. ``raw`` is the MDN as received (headers and body), the delivery evidence."""

    original_message_id: str
    disposition: Disposition
    mic: Mic | None
    signed: bool
    signature_verified: bool
    text: str
    raw: bytes
    reporting_ua: str | None
    sender_id: str | None = None
    receiver_id: str | None = None
    message_id: str | None = None
    original_recipient: str | None = None
    final_recipient: str | None = None
    date: dt.datetime | None = None  # the MDN's Date header, when present and readable


def _recipient(value: str) -> str:
    return value if ";" in value else f"rfc822; {value}"


def build_mdn(
    *,
    original_message_id: str,
    original_recipient: str,
    sender: As2Identity,
    receiver_id: str,
    disposition: Disposition,
    mic: Mic | None,
    request: MdnRequest | None,
    text: str = "",
    now: dt.datetime | None = None,
) -> BuiltMdn:
    """The MDN ``sender`` (us, the receiver of the original) returns to ``receiver_id``.

    multipart/report (report-type=disposition-notification) with a human-readable part and a
    message/disposition-notification part; signed (multipart/signed) when ``request`` asks for a
    signed receipt, with the requested digest (sha256 when none is named).
    """
    when = now or dt.datetime.now(dt.UTC)
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    original = strip_id(original_message_id)
    human = text or (
        f"The AS2 message <{original}> was received and processed."
        if disposition.ok
        else f"The AS2 message <{original}> could not be processed: "
        f"{disposition.modifier or disposition.kind}."
    )
    fields = [
        ("Reporting-UA", REPORTING_UA),
        ("Original-Recipient", _recipient(original_recipient)),
        ("Final-Recipient", _recipient(original_recipient)),
        ("Original-Message-ID", f"<{original}>"),
        ("Disposition", str(disposition)),
    ]
    if mic is not None:
        fields.append(("Received-Content-MIC", mic.field()))
    boundary = mime.new_boundary()
    b = boundary.encode()
    report = b"".join(
        (
            b"--",
            b,
            mime.CRLF,
            b"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 7bit\r\n\r\n",
            mime.canonical_crlf(human.encode("utf-8")),
            mime.CRLF,
            b"--",
            b,
            mime.CRLF,
            b"Content-Type: message/disposition-notification\r\n"
            b"Content-Transfer-Encoding: 7bit\r\n\r\n",
            mime.header_bytes(fields),
            b"--",
            b,
            b"--",
            mime.CRLF,
        )
    )
    content_type = f'multipart/report; report-type=disposition-notification; boundary="{boundary}"'
    body = report
    if request is not None and request.signed:
        digest = request.digest if request.digest in cms.DIGESTS else "sha256"
        assert digest is not None
        entity = mime.entity([("Content-Type", content_type)], report)
        signature = cms.sign_detached(
            entity, key=sender.key, cert=sender.cert, digest=digest, now=when
        )
        outer = mime.new_boundary().encode()
        body = b"".join(
            (
                b"--",
                outer,
                mime.CRLF,
                entity,
                mime.CRLF,
                b"--",
                outer,
                mime.CRLF,
                b'Content-Type: application/pkcs7-signature; name="smime.p7s"\r\n'
                b"Content-Transfer-Encoding: base64\r\n"
                b'Content-Disposition: attachment; filename="smime.p7s"\r\n\r\n',
                mime.b64_lines(signature),
                b"--",
                outer,
                b"--",
                mime.CRLF,
            )
        )
        content_type = (
            'multipart/signed; protocol="application/pkcs7-signature"; '
            f'micalg={micalg_name(digest)}; boundary="{outer.decode()}"'
        )
    unique = binascii.hexlify(os.urandom(10)).decode()
    headers = {
        "AS2-Version": AS2_VERSION,
        "AS2-From": quote_as2_name(sender.as2_id),
        "AS2-To": quote_as2_name(receiver_id),
        "Message-ID": f"<MDN-{unique}@{sender.as2_id.replace(' ', '_')}>",
        "Subject": "AS2 MDN",
        "Date": email.utils.format_datetime(when),
        "MIME-Version": "1.0",
        "User-Agent": USER_AGENT,
        "Content-Type": content_type,
    }
    return BuiltMdn(headers=headers, body=body)


def _report_parts(ent: mime.Entity) -> tuple[str, mime.Entity | None]:
    """The human-readable text and the message/disposition-notification entity of a report."""
    ctype, params = mime.parse_params(ent.get("Content-Type") or "text/plain")
    if ctype == "message/disposition-notification":
        return "", ent
    if not ctype.startswith("multipart/"):
        raise MdnError(f"MDN content type is {ctype!r}, expected multipart/report")
    boundary = params.get("boundary")
    if not boundary:
        raise MdnError("MDN multipart/report has no boundary")
    text_parts: list[str] = []
    notification: mime.Entity | None = None
    for raw in mime.split_multipart(ent.body, boundary):
        part = mime.parse_entity(raw)
        ptype = mime.parse_params(part.get("Content-Type") or "text/plain")[0]
        if ptype == "message/disposition-notification":
            notification = part
        elif ptype.startswith("text/"):
            text_parts.append(mime.decode_body(part).decode("utf-8", "replace").strip())
    return "\n".join(text_parts), notification


def parse_mdn(headers: Mapping[str, str], body: bytes, *, partner: As2Partner | None) -> Mdn:
    """Read an MDN (HTTP ``headers`` and ``body``); verify its signature with ``partner.certs``.

    Raises MdnError when it is not an MDN, or is signed and does not verify with the partner's
    certificates. ``partner`` None reads without verifying (``signature_verified`` False).
    """
    try:
        return _parse_mdn(headers, body, partner)
    except MdnError:
        raise
    except Exception as exc:  # the boundary: nothing foreign escapes the layer
        raise MdnError(f"not a readable MDN: {type(exc).__name__}: {exc}") from exc


def _parse_mdn(headers: Mapping[str, str], body: bytes, partner: As2Partner | None) -> Mdn:
    h = mime.lower_keys(headers)
    raw = mime.header_bytes(headers.items()) + mime.CRLF + body
    try:
        ent = mime.Entity(
            tuple((k, v) for k, v in h.items() if k.startswith("content-")), body, body
        )
        ctype, params = mime.parse_params(ent.get("Content-Type") or "")
        if not ctype:
            ent = mime.parse_entity(body)
            ctype, params = mime.parse_params(ent.get("Content-Type") or "")
        signed = verified = False
        if ctype == "multipart/signed":
            signed = True
            boundary = params.get("boundary")
            if not boundary:
                raise MdnError("signed MDN without a boundary")
            parts = mime.split_multipart(ent.body, boundary)
            if len(parts) < 2:
                raise MdnError("signed MDN without a signature part")
            if partner is not None:
                signature = mime.decode_body(mime.parse_entity(parts[1]))
                try:
                    result = cms.verify_detached(
                        signed_content_variants(parts[0]), signature, partner.certs
                    )
                except cms.CmsError as exc:
                    raise MdnError(
                        f"MDN signature from {partner.as2_id} does not verify: {exc.text}"
                    ) from exc
                verified = True
                ent = mime.parse_entity(result.content)
            else:
                ent = mime.parse_entity(parts[0])
        text, notification = _report_parts(ent)
    except mime.MimeError as exc:
        raise MdnError(f"not a readable MDN: {exc}") from exc
    if notification is None:
        raise MdnError("MDN has no message/disposition-notification part")
    fields_list, _ = mime.split_headers(mime.decode_body(notification).lstrip(b"\r\n"))
    fields = {k.lower(): v for k, v in fields_list}
    original = fields.get("original-message-id")
    disposition = fields.get("disposition")
    if original is None or disposition is None:
        raise MdnError("MDN notification lacks Original-Message-ID or Disposition")
    mic_field = fields.get("received-content-mic")

    def recipient(name: str) -> str | None:
        value = fields.get(name)
        return value.partition(";")[2].strip() if value and ";" in value else value

    return Mdn(
        original_message_id=strip_id(original),
        disposition=Disposition.parse(disposition),
        mic=Mic.parse(mic_field) if mic_field else None,
        signed=signed,
        signature_verified=verified,
        text=text,
        raw=raw,
        reporting_ua=fields.get("reporting-ua"),
        sender_id=as2_name(h["as2-from"]) if "as2-from" in h else None,
        receiver_id=as2_name(h["as2-to"]) if "as2-to" in h else None,
        message_id=strip_id(h["message-id"]) if "message-id" in h else None,
        original_recipient=recipient("original-recipient"),
        final_recipient=recipient("final-recipient"),
        date=_date(h.get("date")),
    )


def _date(value: str | None) -> dt.datetime | None:
    if not value:
        return None
    try:
        parsed = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def mdn_ack(mdn: Mdn) -> Ack:
    """The transport-level Ack an MDN gives: RECEIVED for processed (also processed/warning),
    REJECTED for processed/error and failed; reasons carry the modifier and the MDN's text."""
    d = mdn.disposition
    status = AckStatus.RECEIVED if d.ok else AckStatus.REJECTED
    reasons: tuple[AckReason, ...] = ()
    if d.severity or d.modifier or d.kind != "processed":
        code = d.modifier or d.severity or d.kind
        reasons = (AckReason(code=code, text=mdn.text, location=str(d)),)
    return Ack(
        kind="MDN",
        level=AckLevel.TRANSPORT,
        status=status,
        refers_to=AckReference(message_id=mdn.original_message_id),
        raw=mdn.raw,
        sender=mdn.sender_id,
        recipient=mdn.receiver_id,
        issued_at=mdn.date,
        reasons=reasons,
    )
