"""AS2 CMS layer: DER we write is what asn1crypto reads back, the no-copy EnvelopedData reader
agrees with asn1crypto, and every failure carries its RFC 4130 modifier."""

from __future__ import annotations

import datetime as dt

import pytest
from as2_keys import identity
from asn1crypto import cms as asn1_cms
from cryptography.hazmat.primitives.serialization import Encoding

from connectors.as2 import cms

NOW = dt.datetime(2026, 11, 24, 12, 0, tzinfo=dt.UTC)


def test_signed_data_structure() -> None:
    """Our SignedData is detached, names the signer by issuer+serial, carries the certificate,
    the signing time and the content digest."""
    key, cert = identity("ACME")
    der = cms.sign_detached(b"content", key=key, cert=cert, digest="sha384", now=NOW)
    info = asn1_cms.ContentInfo.load(der)
    signed = info["content"]
    assert info["content_type"].native == "signed_data"
    assert signed["encap_content_info"]["content"].native is None
    assert signed["certificates"][0].chosen.dump() == cert.public_bytes(Encoding.DER)
    signer = signed["signer_infos"][0]
    assert signer["sid"].chosen["serial_number"].native == cert.serial_number
    attrs = {a["type"].native: a["values"][0].native for a in signer["signed_attrs"]}
    assert attrs["signing_time"] == NOW
    assert attrs["content_type"] == "data"
    assert signer["digest_algorithm"]["algorithm"].native == "sha384"
    assert der == asn1_cms.ContentInfo.load(der).dump(force=True)  # strict DER (sorted SET OF)


@pytest.mark.parametrize("cipher", cms.CIPHERS)
def test_fast_envelope_reader_matches_asn1crypto(cipher: str) -> None:
    """The header walk finds the same recipients, algorithm and ciphertext as asn1crypto."""
    _, cert = identity("BUYERCO")
    der = cms.encrypt([b"piece one, ", b"piece two"], cert=cert, cipher=cipher, oaep=True)
    parts = cms._enveloped_parts(der)
    assert parts is not None
    enveloped = asn1_cms.ContentInfo.load(der)["content"]
    assert parts[0] == enveloped["recipient_infos"].dump()
    assert parts[1] == enveloped["encrypted_content_info"]["content_encryption_algorithm"].dump()
    assert bytes(parts[2]) == enveloped["encrypted_content_info"]["encrypted_content"].native
    assert der == asn1_cms.ContentInfo.load(der).dump(force=True)


def test_ber_envelope_falls_back_to_asn1crypto() -> None:
    """Indefinite-length (BER) EnvelopedData, as mendelson sends, goes to asn1crypto; decrypts."""
    key, cert = identity("BUYERCO")
    der = cms.encrypt(b"payload", cert=cert)
    header = 2 + (der[1] & 0x7F if der[1] & 0x80 else 0)
    ber = b"\x30\x80" + der[header:] + b"\x00\x00"
    assert cms._enveloped_parts(der) is not None
    assert cms._enveloped_parts(ber) is None
    assert cms.decrypt(ber, key=key, cert=cert).content == b"payload"


def test_compressed_round_trip_and_damage() -> None:
    """CompressedData round-trips; damaged data -> decompression-failed; wrong type named."""
    der = cms.compress(b"x" * 10_000)
    assert len(der) < 200
    assert cms.decompress(der) == b"x" * 10_000
    with pytest.raises(cms.CmsError) as info:
        cms.decompress(der[:-10] + b"\x00" * 10)
    assert info.value.modifier == "decompression-failed"
    _, cert = identity("BUYERCO")
    with pytest.raises(cms.CmsError, match="expected 'compressed_data'"):
        cms.decompress(cms.encrypt(b"x", cert=cert))


def test_verify_reports_integrity_or_authentication() -> None:
    """Changed content -> integrity-check-failed; other certificate -> authentication-failed."""
    key, cert = identity("ACME")
    der = cms.sign_detached(b"content", key=key, cert=cert, now=NOW)
    assert cms.verify_detached([b"content"], der, [cert]).digest == "sha256"
    with pytest.raises(cms.CmsError) as info:
        cms.verify_detached([b"changed"], der, [cert])
    assert info.value.modifier == "integrity-check-failed"
    with pytest.raises(cms.CmsError) as info:
        cms.verify_detached([b"content"], der, [identity("MALLORY")[1]])
    assert info.value.modifier == "authentication-failed"
    with pytest.raises(cms.CmsError) as info:
        cms.verify_detached([b"content"], b"\x30\x03\x02\x01\x00", [cert])
    assert info.value.modifier == "integrity-check-failed"


def test_verify_tries_content_variants_lazily() -> None:
    """The first variant whose digest matches is the one returned; later ones are never made."""
    key, cert = identity("ACME")
    der = cms.sign_detached(b"a\r\nb", key=key, cert=cert, now=NOW)
    made: list[bytes] = []

    def variants():  # type: ignore[no-untyped-def]
        for item in (b"a\nb", b"a\r\nb", b"never"):
            made.append(item)
            yield item

    assert cms.verify_detached(variants(), der, [cert]).content == b"a\r\nb"
    assert made == [b"a\nb", b"a\r\nb"]


def test_fast_signer_infos_reader_matches_asn1crypto() -> None:
    """The header walk finds the same SignerInfos as asn1crypto; BER falls back (None)."""
    key, cert = identity("ACME")
    der = cms.sign_detached(b"content", key=key, cert=cert, now=NOW)
    signed = asn1_cms.ContentInfo.load(der)["content"]
    assert cms._signer_infos_der(der) == signed["signer_infos"].dump()
    header = 2 + (der[1] & 0x7F if der[1] & 0x80 else 0)
    ber = b"\x30\x80" + der[header:] + b"\x00\x00"
    assert cms._signer_infos_der(ber) is None
    assert cms.verify_detached([b"content"], ber, [cert]).cert == cert
