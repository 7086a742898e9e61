"""AS2 MDNs: build_mdn / parse_mdn round trips (signed and unsigned), signature checks, and
the transport Ack an MDN becomes."""

from __future__ import annotations

import datetime as dt

import pytest
from as2_keys import identity

from connectors.as2 import mime
from connectors.as2.errors import MdnError
from connectors.as2.mdn import Disposition, Mdn, build_mdn, mdn_ack, parse_mdn
from connectors.as2.message import As2Identity, As2Partner, MdnRequest, Mic
from gateway.ack import AckLevel, AckStatus

NOW = dt.datetime(2026, 11, 24, 12, 0, tzinfo=dt.UTC)
MIC = Mic("O4bvrm5t2YunRfwvZicNdEUmPaPZ9vUslX8loVLDck0=", "sha256")


def _buyer() -> As2Identity:
    return As2Identity("BUYERCO", *identity("BUYERCO"))


def _buyer_partner() -> As2Partner:
    return As2Partner("BUYERCO", (identity("BUYERCO")[1],))


def _round_trip(disposition: Disposition, request: MdnRequest | None, text: str = "") -> Mdn:
    built = build_mdn(
        original_message_id="<inv-1@acme.example>",
        original_recipient="BUYERCO",
        sender=_buyer(),
        receiver_id="ACME Supplier",
        disposition=disposition,
        mic=MIC,
        request=request,
        text=text,
        now=NOW,
    )
    return parse_mdn(built.headers, built.body, partner=_buyer_partner())


SIGNED = MdnRequest(signed=True, digest="sha512", async_url=None, return_to="ACME Supplier")
UNSIGNED = MdnRequest(signed=False, digest=None, async_url=None, return_to="ACME Supplier")


def test_signed_processed_round_trip() -> None:
    """A signed 'processed' MDN verifies with the sender's cert; id, MIC, disposition read."""
    mdn = _round_trip(Disposition(), SIGNED)
    assert mdn.signed and mdn.signature_verified
    assert mdn.original_message_id == "inv-1@acme.example"
    assert mdn.disposition == Disposition("processed")
    assert mdn.mic == MIC
    assert mdn.reporting_ua
    assert mdn.sender_id == "BUYERCO" and mdn.receiver_id == "ACME Supplier"
    assert mdn.original_recipient == "BUYERCO" and mdn.final_recipient == "BUYERCO"


def test_signed_mdn_headers() -> None:
    """The signed MDN is multipart/signed over a multipart/report with the requested micalg."""
    built = build_mdn(
        original_message_id="inv-1@acme.example",
        original_recipient="BUYERCO",
        sender=_buyer(),
        receiver_id="ACME Supplier",
        disposition=Disposition(),
        mic=MIC,
        request=SIGNED,
        now=NOW,
    )
    ctype, params = mime.parse_params(built.headers["Content-Type"])
    assert ctype == "multipart/signed" and params["micalg"] == "sha-512"
    assert built.headers["AS2-From"] == "BUYERCO" and built.headers["AS2-To"] == '"ACME Supplier"'
    assert built.headers["Message-ID"].startswith("<") and built.headers["AS2-Version"] == "1.2"
    assert b"multipart/report; report-type=disposition-notification" in built.body
    assert (
        b"Received-Content-MIC: O4bvrm5t2YunRfwvZicNdEUmPaPZ9vUslX8loVLDck0=, sha-256\r\n"
        in built.body
    )
    assert b"Original-Message-ID: <inv-1@acme.example>\r\n" in built.body


def test_unsigned_when_not_requested() -> None:
    """Without a signed-receipt request (or any request) the MDN is a plain multipart/report."""
    for request in (UNSIGNED, None):
        mdn = _round_trip(Disposition(), request)
        assert not mdn.signed and not mdn.signature_verified


def test_error_disposition_round_trip() -> None:
    """processed/error: decryption-failed survives the round trip with its text."""
    d = Disposition("processed", "decryption-failed", "error")
    assert str(d) == "automatic-action/MDN-sent-automatically; processed/error: decryption-failed"
    mdn = _round_trip(d, SIGNED, text="could not decrypt")
    assert mdn.disposition == d and "could not decrypt" in mdn.text


def test_tampered_signed_mdn_rejected() -> None:
    """A signed MDN whose report was altered does not verify -> MdnError."""
    built = build_mdn(
        original_message_id="inv-1@acme.example",
        original_recipient="BUYERCO",
        sender=_buyer(),
        receiver_id="ACME Supplier",
        disposition=Disposition("processed", "decryption-failed", "error"),
        mic=None,
        request=SIGNED,
        now=NOW,
    )
    body = built.body.replace(
        b"processed/error: decryption-failed", b"processed\r\n\r\n\r\n\r\n\r\n\r\n\r\n"
    )
    assert body != built.body
    with pytest.raises(MdnError, match="does not verify"):
        parse_mdn(built.headers, body, partner=_buyer_partner())


def test_signed_by_someone_else_rejected() -> None:
    """MDN signed by a key not the partner's -> MdnError; read without partner: unverified."""
    built = build_mdn(
        original_message_id="x@y",
        original_recipient="BUYERCO",
        sender=As2Identity("BUYERCO", *identity("MALLORY")),
        receiver_id="ACME Supplier",
        disposition=Disposition(),
        mic=MIC,
        request=SIGNED,
        now=NOW,
    )
    with pytest.raises(MdnError):
        parse_mdn(built.headers, built.body, partner=_buyer_partner())
    unverified = parse_mdn(built.headers, built.body, partner=None)
    assert unverified.signed and not unverified.signature_verified


@pytest.mark.parametrize(
    ("value", "kind", "severity", "modifier"),
    [
        ("automatic-action/MDN-sent-automatically; processed", "processed", None, None),
        ("Automatic-action/mdn-sent-automatically;processed", "processed", None, None),
        (
            "automatic-action/MDN-sent-automatically; processed/Warning: duplicate-document",
            "processed",
            "warning",
            "duplicate-document",
        ),
        (
            "automatic-action/MDN-sent-automatically; processed/error: authentication-failed",
            "processed",
            "error",
            "authentication-failed",
        ),
        (
            "automatic-action/MDN-sent-automatically; failed/Failure: unsupported format",
            "failed",
            "failure",
            "unsupported format",
        ),
    ],
)
def test_disposition_parse(
    value: str, kind: str, severity: str | None, modifier: str | None
) -> None:
    """Disposition fields from different products parse to kind, severity and modifier."""
    assert Disposition.parse(value) == Disposition(kind, modifier, severity)


@pytest.mark.parametrize(
    ("disposition", "status"),
    [
        (Disposition(), AckStatus.RECEIVED),
        (Disposition("processed", "duplicate-document", "warning"), AckStatus.RECEIVED),
        (Disposition("processed", "integrity-check-failed", "error"), AckStatus.REJECTED),
        (Disposition("failed", "unsupported format", "failure"), AckStatus.REJECTED),
    ],
)
def test_mdn_ack(disposition: Disposition, status: AckStatus) -> None:
    """MDN -> transport Ack: processed (also /warning) received; /error and failed rejected."""
    mdn = _round_trip(disposition, SIGNED, text="details")
    ack = mdn_ack(mdn)
    assert ack.kind == "MDN" and ack.level is AckLevel.TRANSPORT and ack.status is status
    assert ack.refers_to.message_id == "inv-1@acme.example"
    assert ack.raw == mdn.raw and b"Content-Type: multipart/signed" in ack.raw
    assert ack.issued_at == NOW
    assert ack.sender == "BUYERCO" and ack.recipient == "ACME Supplier"
    if disposition.modifier:
        assert ack.reasons[0].code == disposition.modifier
        assert "details" in ack.reasons[0].text
    else:
        assert ack.reasons == ()


def test_not_an_mdn() -> None:
    """A report without a disposition-notification part -> MdnError."""
    body = b"--b\r\nContent-Type: text/plain\r\n\r\nhello\r\n--b--\r\n"
    headers = {
        "Content-Type": 'multipart/report; report-type=disposition-notification; boundary="b"'
    }
    with pytest.raises(MdnError, match="no message/disposition-notification"):
        parse_mdn(headers, body, partner=None)
