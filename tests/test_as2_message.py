"""AS2 messages: build_message / open_message round trips over every algorithm combination,
and each failure mapped to its RFC 4130 disposition modifier."""

from __future__ import annotations

import binascii
import datetime as dt
import itertools

import pytest
from as2_keys import identity

from connectors.as2 import cms, mime
from connectors.as2.errors import As2Error, As2MessageError
from connectors.as2.message import (
    As2Identity,
    As2Partner,
    Mic,
    OutboundMessage,
    SendOptions,
    build_message,
    open_message,
)

NOW = dt.datetime(2026, 11, 24, 12, 0, tzinfo=dt.UTC)
PAYLOAD = b"UNA:+.? 'UNB+UNOC:3+SENDER+RECEIVER+261124:1200+1'\r\nUNH+1+INVOIC:D:96A:UN'\nUNZ+1+1'"


def _me(name: str) -> As2Identity:
    key, cert = identity(name)
    return As2Identity(name, key, cert)


def _partner(name: str, **kw: bool) -> As2Partner:
    return As2Partner(name, (identity(name)[1],), **kw)


SENDER = "ACME Supplier"
RECEIVER = "BUYERCO"


def _send(options: SendOptions, payload: bytes = PAYLOAD) -> OutboundMessage:
    return build_message(
        payload,
        content_type="application/EDIFACT",
        filename="invoice 1.edi",
        sender=_me(SENDER),
        receiver=_partner(RECEIVER),
        options=options,
        message_id="<inv-1@acme.example>",
        now=NOW,
    )


def _open(out: OutboundMessage, body: bytes | None = None, **require: bool):  # type: ignore[no-untyped-def]
    partner = _partner(SENDER, **require)
    return open_message(
        out.headers,
        out.body if body is None else body,
        local=_me(RECEIVER),
        partner_for=lambda name: partner if name == SENDER else None,
    )


SIGNS = [(d, p) for d in cms.DIGESTS for p in cms.SIGNATURE_PADDINGS]
ENCRYPTS = [(c, k) for c in cms.CIPHERS for k in cms.KEY_TRANSPORTS]


@pytest.mark.parametrize(("digest", "pad"), SIGNS)
@pytest.mark.parametrize("compress", [False, True])
def test_signed_round_trip(digest: str, pad: str, compress: bool) -> None:
    """Every signing digest x padding, compressed or not, opens to the payload and same MIC."""
    out = _send(SendOptions(sign=digest, signature_padding=pad, encrypt=None, compress=compress))
    assert out.headers["Content-Type"].startswith("multipart/signed")
    assert f"micalg={digest.replace('sha', 'sha-')}" in out.headers["Content-Type"]
    opened = _open(out, require_encrypted=False)
    assert opened.payload == PAYLOAD
    assert (opened.signed, opened.encrypted, opened.compressed) == (True, False, compress)
    assert opened.mic == out.mic
    assert out.mic.algorithm == digest


@pytest.mark.parametrize(("cipher", "transport"), ENCRYPTS)
@pytest.mark.parametrize("compress", [False, True])
def test_encrypted_round_trip(cipher: str, transport: str, compress: bool) -> None:
    """Every cipher x key transport, compressed or not, opens to the payload (signed sha256)."""
    out = _send(SendOptions(encrypt=cipher, key_transport=transport, compress=compress))
    assert out.headers["Content-Type"].startswith(
        "application/pkcs7-mime; smime-type=enveloped-data"
    )
    opened = _open(out)
    assert opened.payload == PAYLOAD
    assert (opened.signed, opened.encrypted, opened.compressed) == (True, True, compress)
    assert opened.mic == out.mic
    assert opened.filename == "invoice 1.edi"
    assert opened.content_type == "application/edifact"


@pytest.mark.parametrize(
    ("sign", "encrypt", "compress"),
    list(itertools.product([None, "sha256"], [None, "aes128-cbc"], [False, True])),
)
def test_every_layer_combination(sign: str | None, encrypt: str | None, compress: bool) -> None:
    """Signed/unsigned x encrypted/plain x compressed/not all open; both sides' MICs agree."""
    out = _send(SendOptions(sign=sign, encrypt=encrypt, compress=compress))
    opened = _open(out, require_signed=False, require_encrypted=False)
    assert opened.payload == PAYLOAD
    assert (opened.signed, opened.encrypted, opened.compressed) == (
        bool(sign),
        bool(encrypt),
        compress,
    )
    assert opened.mic == out.mic


def test_mic_rules_rfc4130() -> None:
    """MIC: signed -> signed MIME entity; encrypted only -> encrypted entity; else payload."""
    plain = _send(SendOptions(sign=None, encrypt=None))
    assert plain.mic == Mic.of(PAYLOAD, "sha256")
    signed = _send(SendOptions(sign="sha384", encrypt=None))
    boundary = mime.parse_params(signed.headers["Content-Type"])[1]["boundary"]
    first = mime.split_multipart(signed.body, boundary)[0]
    assert first.endswith(b"\r\n\r\n" + PAYLOAD)
    assert signed.mic == Mic.of(first, "sha384")
    assert str(signed.mic) == f"{signed.mic.value}, sha384"
    sealed = _send(SendOptions(sign=None, encrypt="aes256-cbc"))
    entity = b"".join(
        (
            b"Content-Type: application/EDIFACT\r\nContent-Transfer-Encoding: binary\r\n",
            b'Content-Disposition: attachment; filename="invoice 1.edi"\r\n\r\n',
            PAYLOAD,
        )
    )
    assert sealed.mic == Mic.of(entity, "sha256")


def test_headers_and_mdn_request() -> None:
    """POST headers: both AS2 names (quoted if blanks), id in <>, a signed MDN requested."""
    out = _send(SendOptions())
    h = out.headers
    assert h["AS2-From"] == '"ACME Supplier"' and h["AS2-To"] == RECEIVER
    assert h["Message-ID"] == "<inv-1@acme.example>" and out.message_id == "inv-1@acme.example"
    assert h["AS2-Version"] == "1.2" and h["MIME-Version"] == "1.0"
    assert h["Date"] == "Tue, 24 Nov 2026 12:00:00 +0000"
    assert h["Disposition-Notification-Options"] == (
        "signed-receipt-protocol=required, pkcs7-signature; signed-receipt-micalg=required, sha-256"
    )
    assert "Receipt-Delivery-Option" not in h
    opened = _open(out)
    assert opened.mdn_request is not None
    assert opened.mdn_request.signed and opened.mdn_request.digest == "sha256"
    assert opened.mdn_request.async_url is None
    assert opened.sender_id == SENDER and opened.receiver_id == RECEIVER
    assert opened.message_id == "inv-1@acme.example"


def test_async_mdn_request() -> None:
    """mdn='async' sends Receipt-Delivery-Option and the receiver reads the URL back."""
    url = "https://acme.example/as2/mdn"
    out = _send(SendOptions(mdn="async", async_mdn_url=url, mdn_signed=False))
    assert out.headers["Receipt-Delivery-Option"] == url
    assert "Disposition-Notification-Options" not in out.headers
    request = _open(out).mdn_request
    assert request is not None and request.async_url == url and not request.signed


def test_no_mdn_requested() -> None:
    """mdn='none' asks for nothing; the opened message has no MDN request."""
    out = _send(SendOptions(mdn="none"))
    assert "Disposition-Notification-To" not in out.headers
    assert _open(out).mdn_request is None


def test_large_binary_payload() -> None:
    """A 1 MB binary payload (all byte values, lone CR/LF) survives compress+sign+encrypt."""
    payload = bytes(range(256)) * 4096
    out = _send(SendOptions(compress=True), payload)
    assert _open(out).payload == payload


def _modifier(out: OutboundMessage, body: bytes | None = None, **require: bool) -> As2MessageError:
    with pytest.raises(As2MessageError) as info:
        _open(out, body, **require)
    return info.value


def test_tampered_signed_body_is_integrity_failure() -> None:
    """One byte changed in signed content -> integrity-check-failed (digest mismatch)."""
    out = _send(SendOptions(encrypt=None))
    body = out.body.replace(b"UNH+1", b"UNH+2")
    err = _modifier(out, body, require_encrypted=False)
    assert err.modifier == "integrity-check-failed"
    assert err.message_id == "inv-1@acme.example" and err.sender_id == SENDER
    assert err.mdn_request is not None and err.mdn_request.signed


def test_signature_by_other_key_is_authentication_failure() -> None:
    """A message signed by someone else's key -> authentication-failed."""
    forged = build_message(
        PAYLOAD,
        content_type="application/EDIFACT",
        filename=None,
        sender=As2Identity(SENDER, *identity("MALLORY")),
        receiver=_partner(RECEIVER),
        options=SendOptions(),
        message_id="x@y",
        now=NOW,
    )
    assert _modifier(forged).modifier == "authentication-failed"


def test_wrong_key_is_decryption_failure() -> None:
    """Encrypted for another party's certificate -> decryption-failed."""
    out = build_message(
        PAYLOAD,
        content_type="application/EDIFACT",
        filename=None,
        sender=_me(SENDER),
        receiver=As2Partner(RECEIVER, (identity("SOMEONE ELSE")[1],)),
        options=SendOptions(),
        message_id="x@y",
        now=NOW,
    )
    assert _modifier(out).modifier == "decryption-failed"


def test_corrupted_ciphertext_is_decryption_failure() -> None:
    """Garbage instead of EnvelopedData -> decryption-failed, not a foreign exception."""
    out = _send(SendOptions())
    assert _modifier(out, out.body[:40] + b"\x00" * 50).modifier == "decryption-failed"


def test_corrupted_compression_is_decompression_failure() -> None:
    """A compressed-data part whose zlib stream is damaged -> decompression-failed."""
    out = _send(SendOptions(sign=None, encrypt=None, compress=True))
    damaged = out.body[:-20] + b"\xff" * 20
    assert _modifier(out, damaged, require_signed=False, require_encrypted=False).modifier == (
        "decompression-failed"
    )


@pytest.mark.parametrize(
    ("options", "require"),
    [
        (SendOptions(sign=None), {"require_signed": True}),
        (SendOptions(encrypt=None), {"require_encrypted": True}),
    ],
)
def test_insufficient_security(options: SendOptions, require: dict[str, bool]) -> None:
    """Unsigned (unencrypted) when the partner requires signing (encryption) is refused."""
    err = _modifier(_send(options), **require)
    assert err.modifier == "insufficient-message-security"


def test_unknown_partner_and_wrong_recipient() -> None:
    """Unknown AS2-From, or AS2-To not us -> unknown-trading-partner, sender named."""
    out = _send(SendOptions())
    with pytest.raises(As2MessageError) as info:
        open_message(out.headers, out.body, local=_me(RECEIVER), partner_for=lambda _n: None)
    assert info.value.modifier == "unknown-trading-partner" and SENDER in info.value.text
    with pytest.raises(As2MessageError) as info:
        open_message(
            out.headers, out.body, local=_me("OTHER"), partner_for=lambda _n: _partner(SENDER)
        )
    assert info.value.modifier == "unknown-trading-partner"


def test_header_names_case_insensitive() -> None:
    """Headers arriving lower-cased (as HTTP/2 and most servers give them) open the same."""
    out = _send(SendOptions())
    lowered = {k.lower(): v for k, v in out.headers.items()}
    partner = _partner(SENDER)
    opened = open_message(lowered, out.body, local=_me(RECEIVER), partner_for=lambda _n: partner)
    assert opened.payload == PAYLOAD


def test_not_a_message_is_unexpected_processing_error() -> None:
    """multipart/signed body without parts -> unexpected-processing-error, not foreign."""
    out = _send(SendOptions(encrypt=None))
    assert _modifier(out, b"nothing here", require_encrypted=False).modifier == (
        "unexpected-processing-error"
    )


@pytest.mark.parametrize(
    "options",
    [
        SendOptions(sign="md5"),
        SendOptions(encrypt="rc2"),
        SendOptions(signature_padding="raw"),
        SendOptions(key_transport="rsa-raw"),
        SendOptions(mdn="async"),
    ],
)
def test_bad_options_named(options: SendOptions) -> None:
    """An unsupported option is refused with As2Error naming it and the accepted values."""
    with pytest.raises(As2Error, match=r"accepted|async_mdn_url"):
        _send(options)


def test_partner_certificate_rollover() -> None:
    """A partner with an old and a new certificate: a message signed with either key verifies."""
    both = As2Partner(SENDER, (identity("ACME OLD")[1], identity(SENDER)[1]))
    for name in ("ACME OLD", SENDER):
        out = build_message(
            PAYLOAD,
            content_type="application/EDIFACT",
            filename=None,
            sender=As2Identity(SENDER, *identity(name)),
            receiver=_partner(RECEIVER),
            options=SendOptions(),
            message_id=f"roll-{name.replace(' ', '-')}@x",
            now=NOW,
        )
        opened = open_message(
            out.headers, out.body, local=_me(RECEIVER), partner_for=lambda _n: both
        )
        assert opened.payload == PAYLOAD and opened.signed


def test_base64_transfer_encoded_body() -> None:
    """A sender that base64-encodes the HTTP body (Content-Transfer-Encoding: base64) is read."""

    out = _send(SendOptions())
    headers = dict(out.headers) | {"Content-Transfer-Encoding": "base64"}
    body = binascii.b2a_base64(out.body)
    partner = _partner(SENDER)
    opened = open_message(headers, body, local=_me(RECEIVER), partner_for=lambda _n: partner)
    assert opened.payload == PAYLOAD and opened.mic == out.mic


def test_non_ascii_filename_round_trip() -> None:
    """A non-ASCII filename and subject go out as ASCII headers and the filename reads back."""
    out = build_message(
        PAYLOAD,
        content_type="application/xml",
        filename="Rechnung März.xml",
        sender=_me(SENDER),
        receiver=_partner(RECEIVER),
        options=SendOptions(),
        message_id="m@x",
        subject="Rechnung März",
        now=NOW,
    )
    assert all(v.isascii() for v in out.headers.values())
    assert _open(out).filename == "Rechnung März.xml"


@pytest.mark.parametrize(
    ("message_id", "sender"),
    [("has space@x", SENDER), ("a<b>@x", SENDER), ("", SENDER), ("m@x", "Bäcker"), ("m@x", "")],
)
def test_unusable_ids_refused(message_id: str, sender: str) -> None:
    """Message ids with blanks/<> or empty, AS2 names not printable ASCII: refused by name."""
    with pytest.raises(As2Error, match="not usable"):
        build_message(
            PAYLOAD,
            content_type="application/xml",
            filename=None,
            sender=As2Identity(sender, *identity(SENDER)),
            receiver=_partner(RECEIVER),
            options=SendOptions(),
            message_id=message_id,
            now=NOW,
        )
