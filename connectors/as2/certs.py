"""Certificates and keys for AS2: PEM, DER, PKCS#7 (.p7b), chains, PKCS#12; expiry report."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs7, pkcs12
from cryptography.x509.oid import NameOID

from connectors.as2.errors import CertificateError

_PEM_CERT = re.compile(
    rb"-----BEGIN (?:X509 |TRUSTED )?CERTIFICATE-----.+?"
    rb"-----END (?:X509 |TRUSTED )?CERTIFICATE-----",
    re.S,
)
_PEM_PKCS7 = re.compile(rb"-----BEGIN PKCS7-----.+?-----END PKCS7-----", re.S)
_PEM_KEY = re.compile(
    rb"-----BEGIN (?:RSA |ENCRYPTED )?PRIVATE KEY-----.+?"
    rb"-----END (?:RSA |ENCRYPTED )?PRIVATE KEY-----",
    re.S,
)


def load_certificates(data: bytes) -> list[x509.Certificate]:
    """Every certificate in ``data`` (PEM, one or many; DER; PKCS#7 .p7b as PEM or DER), leaf first.

    Raises CertificateError when ``data`` holds no certificate in any of these forms.
    """
    certs: list[x509.Certificate] = []
    try:
        if b"-----BEGIN" in data:
            for block in _PEM_CERT.findall(data):
                certs.append(x509.load_pem_x509_certificate(block))
            for block in _PEM_PKCS7.findall(data):
                certs.extend(pkcs7.load_pem_pkcs7_certificates(block))
        else:
            try:
                certs.append(x509.load_der_x509_certificate(data))
            except ValueError:
                certs.extend(pkcs7.load_der_pkcs7_certificates(data))
    except ValueError as exc:
        raise CertificateError(
            f"could not read certificates ({len(data)} bytes): {exc}; accepted are PEM, DER and "
            "PKCS#7 (.p7b) certificate files"
        ) from exc
    if not certs:
        raise CertificateError(
            f"no certificate found in {len(data)} bytes; accepted are PEM, DER and PKCS#7 (.p7b)"
        )
    return order_chain(certs)


def order_chain(certs: list[x509.Certificate]) -> list[x509.Certificate]:
    """``certs`` with the leaf first, then its issuers in order; others after."""
    if len(certs) < 2:
        return list(certs)
    issuers = {c.issuer for c in certs if c.issuer != c.subject}
    leaves = [c for c in certs if c.subject not in issuers]
    start = leaves[0] if leaves else certs[0]
    chain = [start]
    rest = [c for c in certs if c is not start]
    while True:
        nxt = next(
            (c for c in rest if c.subject == chain[-1].issuer and c.subject != chain[-1].subject),
            None,
        )
        if nxt is None:
            break
        chain.append(nxt)
        rest.remove(nxt)
    return chain + rest


def load_private_key(
    data: bytes, password: bytes | None = None
) -> tuple[rsa.RSAPrivateKey, list[x509.Certificate]]:
    """The RSA key in ``data`` (PEM or DER, optionally encrypted, or PKCS#12) and the certificates
    that came with it (leaf first; empty for a bare key)."""
    certs: list[x509.Certificate] = []
    try:
        if b"-----BEGIN" in data:
            blocks = _PEM_KEY.findall(data)
            if not blocks:
                raise CertificateError(
                    "no PEM private key block found; accepted are PEM, DER and PKCS#12"
                )
            key = serialization.load_pem_private_key(blocks[0], password)
            if _PEM_CERT.search(data) or _PEM_PKCS7.search(data):
                certs = load_certificates(data)
        else:
            try:
                key = serialization.load_der_private_key(data, password)
            except ValueError:
                p12 = pkcs12.load_pkcs12(data, password)
                if p12.key is None:
                    raise CertificateError("the PKCS#12 file holds no private key") from None
                key = p12.key
                if p12.cert is not None:
                    certs.append(p12.cert.certificate)
                certs.extend(c.certificate for c in p12.additional_certs)
                certs = order_chain(certs)
    except (ValueError, TypeError) as exc:
        raise CertificateError(
            f"could not read the private key ({len(data)} bytes): {exc}; accepted are PEM/DER keys "
            "(with the right password when encrypted) and PKCS#12"
        ) from exc
    if not isinstance(key, rsa.RSAPrivateKey):
        raise CertificateError(
            f"the private key is {type(key).__name__}; AS2 here needs an RSA key"
        )
    return key, certs


@dataclass(frozen=True)
class CertificateValidity:
    """When a certificate is valid, and whether it still is at the time asked."""

    subject: str
    not_before: dt.datetime
    not_after: dt.datetime
    expired: bool
    days_left: int


def validity(cert: x509.Certificate, now: dt.datetime) -> CertificateValidity:
    """The validity of ``cert`` seen at ``now`` (timezone-aware; naive means UTC)."""
    if now.tzinfo is None:
        now = now.replace(tzinfo=dt.UTC)
    not_before = cert.not_valid_before_utc
    not_after = cert.not_valid_after_utc
    return CertificateValidity(
        subject=cert.subject.rfc4514_string(),
        not_before=not_before,
        not_after=not_after,
        expired=now >= not_after or now < not_before,
        days_left=(not_after - now).days,
    )


def expiry_warnings(
    certs: Iterable[x509.Certificate], now: dt.datetime, within_days: int = 30
) -> list[str]:
    """One sentence per certificate expired, not yet valid, or expiring within ``within_days``."""
    if now.tzinfo is None:
        now = now.replace(tzinfo=dt.UTC)
    out: list[str] = []
    for cert in certs:
        v = validity(cert, now)
        end = v.not_after.strftime("%Y-%m-%d %H:%M UTC")
        if now < v.not_before:
            out.append(
                f"Certificate {v.subject} is not valid before "
                f"{v.not_before.strftime('%Y-%m-%d %H:%M UTC')}."
            )
        elif v.expired:
            out.append(f"Certificate {v.subject} expired on {end}.")
        elif v.days_left < within_days:
            out.append(f"Certificate {v.subject} expires on {end} ({v.days_left} days left).")
    return out


def make_test_identity(
    common_name: str,
    *,
    key_size: int = 2048,
    days: int = 365,
    now: dt.datetime | None = None,
) -> tuple[rsa.RSAPrivateKey, x509.Certificate]:
    """A fresh RSA key and a self-signed certificate for it (tests and the demo only)."""
    return make_identity(common_name, key_size=key_size, days=days, now=now)


def make_identity(
    common_name: str,
    *,
    key_size: int = 3072,
    days: int = 730,
    now: dt.datetime | None = None,
    organization: str | None = None,
) -> tuple[rsa.RSAPrivateKey, x509.Certificate]:
    """A new RSA key and a self-signed certificate for it, as AS2 partners exchange them:
    subject CN ``common_name`` (and O ``organization``), valid from 5 minutes before ``now``
    for ``days`` days, key usage digital signature, non-repudiation and key encipherment (it
    signs our messages and MDNs and decrypts what partners encrypt to us), not a CA."""
    start = now or dt.datetime.now(dt.UTC)
    if start.tzinfo is None:
        start = start.replace(tzinfo=dt.UTC)
    key = rsa.generate_private_key(public_exponent=65537, key_size=key_size)
    attributes = [x509.NameAttribute(NameOID.COMMON_NAME, common_name)]
    if organization:
        attributes.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization))
    name = x509.Name(attributes)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start - dt.timedelta(minutes=5))
        .not_valid_after(start + dt.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=True,
                key_encipherment=True,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return key, cert
