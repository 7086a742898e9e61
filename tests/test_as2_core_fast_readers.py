"""The header-walking readers of connectors.as2.cms (SignerInfos, RecipientInfos, content
algorithm) read exactly what asn1crypto reads for the shapes they take, and hand every other
shape (PSS, OAEP, key identifiers, unknown algorithms, damage) to asn1crypto."""

from __future__ import annotations

import datetime as dt
import os

import pytest
from as2_keys import identity
from asn1crypto import algos as asn1_algos
from asn1crypto import cms as asn1_cms

from connectors.as2 import cms

T0 = dt.datetime(2026, 11, 24, 12, 0, tzinfo=dt.UTC)
CONTENT = b"Content-Type: application/xml\r\n\r\n<Invoice/>"


def _signature(digest: str, pss: bool = False) -> bytes:
    key, cert = identity("ACME")
    return cms.sign_detached(CONTENT, key=key, cert=cert, digest=digest, pss=pss, now=T0)


@pytest.mark.parametrize("digest", cms.DIGESTS)
def test_fast_signers_read_what_asn1crypto_reads(digest: str) -> None:
    """For PKCS#1 v1.5 signatures of every digest the fast reader's signer equals asn1crypto's:
    digest, message digest, signed attributes, signature bytes, hash, and the certificate it
    names."""
    der = cms._signer_infos_der(_signature(digest))
    assert der is not None
    [fast] = cms._fast_signers(der) or []
    [slow] = [cms._slow_signer(s) for s in asn1_cms.SignerInfos.load(der)]
    for name in ("digest", "expected", "attrs_der", "signature"):
        assert getattr(fast, name) == getattr(slow, name), name
    assert fast.scheme()[1].name == slow.scheme()[1].name == digest
    assert fast.matches(identity("ACME")[1]) and not fast.matches(identity("IGW")[1])


def test_pss_and_damage_are_left_to_asn1crypto() -> None:
    """A PSS signature is not taken by the fast reader (None) but still verifies; a damaged
    SignerInfos is None, not an exception."""
    signature = _signature("sha256", pss=True)
    der = cms._signer_infos_der(signature)
    assert der is not None and cms._fast_signers(der) is None
    assert cms.verify_detached([CONTENT], signature, [identity("ACME")[1]]).digest == "sha256"
    plain = cms._signer_infos_der(_signature("sha256"))
    assert plain is not None
    for cut in (5, len(plain) // 2, len(plain) - 1):
        assert cms._fast_signers(plain[:cut]) is None


@pytest.mark.parametrize("cipher", cms.CIPHERS)
@pytest.mark.parametrize("oaep", [False, True])
def test_fast_envelope_reader_reads_what_asn1crypto_reads(cipher: str, oaep: bool) -> None:
    """For every cipher and both key transports, the fast reader's cipher and IV equal
    asn1crypto's, its recipient names our certificate, and decryption gives the content."""
    key, cert = identity("IGW")
    data = cms.encrypt(CONTENT, cert=cert, cipher=cipher, oaep=oaep)
    parts = cms._enveloped_parts(data)
    assert parts is not None
    alg = asn1_algos.EncryptionAlgorithm.load(parts[1])
    assert cms._fast_content_alg(parts[1]) == (cipher, bytes(alg["parameters"].native))
    [recipient] = cms._fast_recipients(parts[0]) or []
    assert recipient.rid == cms._cert_parts(cert).issuer_and_serial
    decrypted = cms.decrypt(data, key=key, cert=cert)
    assert decrypted.content == CONTENT and decrypted.cipher == cipher
    assert decrypted.key_transport == ("rsa-oaep" if oaep else "rsa-pkcs1v15")


def test_fast_envelope_reader_refuses_damage() -> None:
    """Cut RecipientInfos and algorithm identifiers are None (asn1crypto then reports them)."""
    parts = cms._enveloped_parts(cms.encrypt(CONTENT, cert=identity("IGW")[1]))
    assert parts is not None
    for cut in (3, len(parts[0]) // 2, len(parts[0]) - 1):
        assert cms._fast_recipients(parts[0][:cut]) is None
    assert cms._fast_content_alg(parts[1][:-1]) is None
    assert cms._fast_content_alg(os.urandom(8)) is None
