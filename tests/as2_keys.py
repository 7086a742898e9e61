"""Test AS2 identities (RSA-2048, self-signed), made once per test session and written as files.

``identity("ACME")`` gives (key, certificate); ``write_identity(folder, "ACME")`` writes
``acme.key.pem`` and ``acme.pem`` (and returns their paths); ``write_p12`` a password-protected
PKCS#12.
"""

from __future__ import annotations

import datetime as dt
import functools
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
from cryptography.hazmat.primitives.serialization import pkcs12

from connectors.as2.certs import make_test_identity

T0 = dt.datetime(2026, 11, 24, 12, 0, tzinfo=dt.UTC)


def identity(name: str, days: int = 365) -> tuple[RSAPrivateKey, x509.Certificate]:
    """A key and self-signed certificate for ``name`` (valid ``days`` from T0), cached."""
    return _identity(name, days)


@functools.cache
def _identity(name: str, days: int) -> tuple[RSAPrivateKey, x509.Certificate]:
    return make_test_identity(name, days=days, now=T0)


def key_pem(key: RSAPrivateKey, password: bytes | None = None) -> bytes:
    """``key`` as PKCS#8 PEM (encrypted with ``password`` when given)."""
    encryption: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(password)
        if password
        else serialization.NoEncryption()
    )
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
    )


def cert_pem(cert: x509.Certificate) -> bytes:
    """``cert`` as PEM."""
    return cert.public_bytes(serialization.Encoding.PEM)


def write_identity(folder: Path, name: str, days: int = 365) -> tuple[Path, Path]:
    """Write ``name``'s key and certificate as PEM files into ``folder``; (key path, cert path)."""
    key, cert = identity(name, days)
    folder.mkdir(parents=True, exist_ok=True)
    key_path = folder / f"{name.lower()}.key.pem"
    cert_path = folder / f"{name.lower()}.pem"
    key_path.write_bytes(key_pem(key))
    cert_path.write_bytes(cert_pem(cert))
    return key_path, cert_path


def write_p12(folder: Path, name: str, password: bytes) -> Path:
    """Write ``name``'s key and certificate as a PKCS#12 protected by ``password``."""
    key, cert = identity(name)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name.lower()}.p12"
    path.write_bytes(
        pkcs12.serialize_key_and_certificates(
            name.encode(), key, cert, None, serialization.BestAvailableEncryption(password)
        )
    )
    return path
