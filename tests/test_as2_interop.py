"""AS2 interop: messages and MDNs captured from mendelson AS2 and IBM Sterling B2B Integrator
(../shared/interop/as2, see its README) open, verify and decode as those products meant."""

from __future__ import annotations

from pathlib import Path

import pytest
from asn1crypto import cms as asn1_cms
from cryptography import x509
from shared_dir import shared_path

from connectors.as2 import certs, mime
from connectors.as2.errors import As2MessageError, MdnError
from connectors.as2.mdn import Disposition, Mdn, mdn_ack, parse_mdn
from connectors.as2.message import As2Identity, As2Partner, OpenedMessage, open_message
from gateway.ack import AckStatus


def _dir() -> Path:
    return shared_path("interop", "as2")


def _certs(name: str) -> tuple[x509.Certificate, ...]:
    return tuple(certs.load_certificates((_dir() / name).read_bytes()))


def _mendelson_open(name: str, *, require_signed: bool, require_encrypted: bool) -> OpenedMessage:
    key, chain = certs.load_private_key((_dir() / "cert_test.p12").read_bytes(), b"test")
    local = As2Identity("pyas2lib", key, chain[0])
    partner = As2Partner(
        "mecas2",
        tuple(certs.load_certificates((_dir() / "cert_mecas2_public.pem").read_bytes())),
        require_signed=require_signed,
        require_encrypted=require_encrypted,
    )
    headers, body = mime.split_http_message((_dir() / name).read_bytes())
    return open_message(headers, body, local=local, partner_for={"mecas2": partner}.get)


@pytest.mark.parametrize(
    ("name", "signed", "encrypted", "compressed"),
    [
        ("mecas2_encrypted.as2", False, True, False),
        ("mecas2_signed.as2", True, False, False),
        ("mecas2_signed_encrypted.as2", True, True, False),
        ("mecas2_compressed.as2", True, False, True),
        ("mecas2_compressed_signed_encrypted.as2", True, True, True),
    ],
)
def test_mendelson_messages(name: str, signed: bool, encrypted: bool, compressed: bool) -> None:
    """Each mendelson message decodes to exactly payload.txt with the layers it was sent with."""
    opened = _mendelson_open(name, require_signed=signed, require_encrypted=encrypted)
    assert opened.payload == (_dir() / "payload.txt").read_bytes()
    assert (opened.signed, opened.encrypted, opened.compressed) == (signed, encrypted, compressed)
    assert opened.sender_id == "mecas2" and opened.receiver_id == "pyas2lib"
    assert opened.filename == "payload.txt"
    assert opened.mdn_request is not None
    assert opened.mdn_request.return_to == "http://www.company.com:8080/as2/HttpReceiver"
    assert opened.mic.algorithm == "sha256"


def test_mendelson_signed_mic_same_with_and_without_encryption() -> None:
    """The MIC of the signed entity is the same whether or not mendelson also encrypted it."""
    plain = _mendelson_open("mecas2_signed.as2", require_signed=True, require_encrypted=False)
    wrapped = _mendelson_open(
        "mecas2_signed_encrypted.as2", require_signed=True, require_encrypted=True
    )
    assert plain.mic == wrapped.mic


def test_mendelson_unencrypted_refused_when_required() -> None:
    """mendelson's signed-only message is refused when the agreement requires encryption."""
    with pytest.raises(As2MessageError) as info:
        _mendelson_open("mecas2_signed.as2", require_signed=True, require_encrypted=True)
    assert info.value.modifier == "insufficient-message-security"
    assert info.value.message_id == "mendelson_opensource_AS2-1641304626700-55@mecas2_pyas2lib"


def test_mendelson_wrong_key() -> None:
    """mendelson's encrypted message does not open with another key: decryption-failed."""
    key, chain = certs.load_private_key(
        (_dir() / "cert_oldpyas2_private.pem").read_bytes(), b"password"
    )
    partner = As2Partner("mecas2", _certs("cert_mecas2_public.pem"))
    headers, body = mime.split_http_message((_dir() / "mecas2_encrypted.as2").read_bytes())
    with pytest.raises(As2MessageError) as info:
        open_message(
            headers,
            body,
            local=As2Identity("pyas2lib", key, chain[0]),
            partner_for=lambda _n: partner,
        )
    assert info.value.modifier == "decryption-failed"


def test_sterling_signed_compressed_message() -> None:
    """Sterling's signed (sha1, no signed attributes) compressed X12 850 verifies, inflates."""
    key, chain = certs.load_private_key(
        (_dir() / "cert_oldpyas2_private.pem").read_bytes(), b"password"
    )
    partner = As2Partner("SIAS2PRD", _certs("cert_sb2bi_public.pem"), require_encrypted=False)
    headers, body = mime.split_http_message((_dir() / "sb2bi_signed_cmp.msg").read_bytes())
    opened = open_message(
        headers,
        body,
        local=As2Identity("as2server", key, chain[0]),
        partner_for={"SIAS2PRD": partner}.get,
    )
    assert opened.signed and opened.compressed and not opened.encrypted
    assert opened.payload.startswith(b"ISA*00*") and b"ST*850*0002~" in opened.payload
    assert opened.payload.rstrip().endswith(b"IEA*1*000000002~")
    assert opened.content_type == "application/edi-x12"
    assert opened.mic.algorithm == "sha1"
    assert opened.mdn_request is not None and opened.mdn_request.return_to == "SIAS2PRD"
    assert not opened.mdn_request.signed or opened.mdn_request.digest == "sha1"


def _mdn(name: str, partner_cert: str | None) -> Mdn:
    headers, body = mime.split_http_message((_dir() / name).read_bytes())
    partner = As2Partner("x", _certs(partner_cert)) if partner_cert else None
    return parse_mdn(headers, body, partner=partner)


def test_sterling_signed_mdn() -> None:
    """Sterling's MDN verifies with cert_sb2bi_public.pem: processed, MIC, RECEIVED ack."""
    mdn = _mdn("sb2bi_signed.mdn", "cert_sb2bi_public.pem")
    assert mdn.signed and mdn.signature_verified
    assert mdn.original_message_id == (
        "151694007918.24690.7052273208458909245@ip-172-31-14-209.ec2.internal"
    )
    assert mdn.disposition == Disposition("processed")
    assert str(mdn.mic) == "wNh76aEicfBurg/et2wio4zk/2I=, sha1"
    ack = mdn_ack(mdn)
    assert ack.status is AckStatus.RECEIVED
    assert ack.refers_to.message_id == mdn.original_message_id


def test_sterling_mdn_with_wrong_certificate() -> None:
    """Sterling's MDN checked against mendelson's certificate does not verify: MdnError."""
    with pytest.raises(MdnError):
        _mdn("sb2bi_signed.mdn", "cert_mecas2_public.pem")


def test_mendelson_signed_mdn() -> None:
    """mendelson's signed MDN (sha1) carries the original message's MIC; it verifies with the
    certificate that signed it (the 2016 'mecas2' certificate embedded in the signature), and
    not with cert_mecas2_public.pem, which is mendelson's later test key 3 (the README's
    claim that it does was checked and is wrong for these files)."""
    headers, body = mime.split_http_message((_dir() / "mecas2_signed.mdn").read_bytes())
    boundary = mime.parse_params(headers["content-type"])[1]["boundary"]
    signature = mime.decode_body(mime.parse_entity(mime.split_multipart(body, boundary)[1]))
    embedded = tuple(
        x509.load_der_x509_certificate(c.chosen.dump())
        for c in asn1_cms.ContentInfo.load(signature)["content"]["certificates"]
    )
    mdn = parse_mdn(headers, body, partner=As2Partner("mecas2", embedded))
    assert mdn.signature_verified
    assert mdn.mic is not None and mdn.mic.value == "O4bvrm5t2YunRfwvZicNdEUmPaPZ9vUslX8loVLDck0="
    assert mdn.mic.algorithm == "sha256"
    assert mdn.original_message_id == "20161230102456.10748.40759@imac.local"
    assert mdn.disposition.ok and mdn.reporting_ua == "mendelson opensource AS2"
    with pytest.raises(MdnError):
        _mdn("mecas2_signed.mdn", "cert_mecas2_public.pem")


def test_mendelson_unsigned_error_mdn() -> None:
    """mendelson's processed/error: authentication-failed MDN -> REJECTED ack, that reason."""
    mdn = _mdn("mecas2_unsigned.mdn", "cert_mecas2_public.pem")
    assert not mdn.signed
    assert mdn.disposition == Disposition("processed", "authentication-failed", "error")
    ack = mdn_ack(mdn)
    assert ack.status is AckStatus.REJECTED
    assert ack.reasons[0].code == "authentication-failed"
    assert "Verification failed" in ack.reasons[0].text
    assert ack.refers_to.message_id == "20161230102316.10728.85252@imac.local"


def test_sterling_certificate_chain() -> None:
    """Sterling's certificate plus its CA file load as one chain: leaf, intermediate, root."""
    data = (_dir() / "cert_sb2bi_public.ca").read_bytes() + (
        _dir() / "cert_sb2bi_public.pem"
    ).read_bytes()
    chain = certs.load_certificates(data)
    assert [c.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)[0].value for c in chain] == [
        "b2b.mclaneco.com",
        "Entrust Certification Authority - L1K",
        "Entrust Root Certification Authority - G2",
    ]
