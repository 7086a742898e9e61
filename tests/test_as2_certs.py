"""AS2 certificates and keys: every file form loads (PEM, DER, PKCS#7, PKCS#12, chains), leaf
first; validity and expiry warnings name the subject and the date."""

from __future__ import annotations

import datetime as dt

import pytest
from as2_keys import identity
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import pkcs7, pkcs12
from cryptography.x509.oid import NameOID

from connectors.as2.certs import (
    expiry_warnings,
    load_certificates,
    load_private_key,
    make_test_identity,
    validity,
)
from connectors.as2.errors import CertificateError

T0 = dt.datetime(2026, 11, 24, 12, 0, tzinfo=dt.UTC)
PEM = serialization.Encoding.PEM
DER = serialization.Encoding.DER


def _chain() -> tuple[x509.Certificate, x509.Certificate]:
    """A leaf issued by a CA (both made here)."""
    ca_key, ca = identity("TEST CA")
    leaf_key, _ = identity("LEAF")
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "LEAF")])
    leaf = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(ca.subject)
        .public_key(leaf_key.public_key())
        .serial_number(7)
        .not_valid_before(T0)
        .not_valid_after(T0 + dt.timedelta(days=10))
        .sign(ca_key, hashes.SHA256())
    )
    return leaf, ca


def test_pem_one_and_many_leaf_first() -> None:
    """A PEM bundle listing the CA before the leaf loads with the leaf first."""
    leaf, ca = _chain()
    certs = load_certificates(ca.public_bytes(PEM) + b"\n" + leaf.public_bytes(PEM))
    assert certs == [leaf, ca]
    assert load_certificates(leaf.public_bytes(PEM)) == [leaf]


def test_der() -> None:
    """A DER certificate loads."""
    leaf, _ = _chain()
    assert load_certificates(leaf.public_bytes(DER)) == [leaf]


@pytest.mark.parametrize("encoding", [PEM, DER])
def test_pkcs7_bundle(encoding: serialization.Encoding) -> None:
    """A .p7b (PEM or DER) chain loads, leaf first."""
    leaf, ca = _chain()
    data = pkcs7.serialize_certificates([ca, leaf], encoding)
    assert load_certificates(data) == [leaf, ca]


def test_garbage_certificate_named() -> None:
    """Bytes that are no certificate -> CertificateError saying which forms are accepted."""
    with pytest.raises(CertificateError, match="PKCS#7"):
        load_certificates(b"not a certificate")
    with pytest.raises(CertificateError, match="no certificate"):
        load_certificates(b"-----BEGIN NOTHING-----\n-----END NOTHING-----\n")


def test_pem_key_plain_and_encrypted_with_cert() -> None:
    """A PEM key (plain or encrypted) loads; a certificate in the same file comes with it."""
    key, cert = identity("ACME")
    plain = key.private_bytes(PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    loaded, certs = load_private_key(plain)
    assert loaded.private_numbers() == key.private_numbers() and certs == []
    enc = key.private_bytes(
        PEM, serialization.PrivateFormat.PKCS8, serialization.BestAvailableEncryption(b"pw")
    )
    loaded, certs = load_private_key(enc + cert.public_bytes(PEM), b"pw")
    assert loaded.private_numbers() == key.private_numbers() and certs == [cert]
    with pytest.raises(CertificateError, match="password"):
        load_private_key(enc, b"wrong")


def test_der_key() -> None:
    """A DER (PKCS#8) key loads."""
    key, _ = identity("ACME")
    der = key.private_bytes(DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    assert load_private_key(der)[0].private_numbers() == key.private_numbers()


def test_pkcs12_with_chain() -> None:
    """A PKCS#12 with key, certificate and CA loads the key and the chain leaf first."""
    leaf, ca = _chain()
    key, _ = identity("LEAF")
    p12 = pkcs12.serialize_key_and_certificates(
        b"leaf", key, leaf, [ca], serialization.BestAvailableEncryption(b"secret")
    )
    loaded, certs = load_private_key(p12, b"secret")
    assert loaded.private_numbers() == key.private_numbers()
    assert certs == [leaf, ca]
    with pytest.raises(CertificateError):
        load_private_key(p12, b"nope")


def test_non_rsa_key_refused() -> None:
    """An EC key is refused: AS2 here signs and decrypts with RSA."""
    ec_key = ec.generate_private_key(ec.SECP256R1())
    pem = ec_key.private_bytes(PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    with pytest.raises(CertificateError, match="RSA"):
        load_private_key(pem)


def test_validity_and_warnings() -> None:
    """Validity counts days left; warnings name expired, expiring and not-yet-valid certs."""
    _, cert = make_test_identity("SOON", key_size=1024, days=20, now=T0)
    v = validity(cert, T0)
    assert v.subject == "CN=SOON" and not v.expired and v.days_left == 20
    assert v.not_after == T0 + dt.timedelta(days=20)
    soon = expiry_warnings([cert], T0, within_days=30)
    assert len(soon) == 1 and "CN=SOON" in soon[0] and "2026-12-14" in soon[0]
    assert expiry_warnings([cert], T0, within_days=10) == []
    late = T0 + dt.timedelta(days=25)
    assert validity(cert, late).expired
    assert "expired on 2026-12-14" in expiry_warnings([cert], late)[0]
    early = T0 - dt.timedelta(days=1)
    assert "not valid before" in expiry_warnings([cert], early)[0]
