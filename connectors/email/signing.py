"""DKIM signing (RFC 6376) with dkimpy: relaxed/relaxed, over the headers a recipient relies on
(From, To, Cc, Subject, Date, Message-ID, MIME-Version, Content-Type).

Keys: RSA (``rsa-sha256``, at least 1024 bits, 2048 advised; every receiver checks it) or
Ed25519 (``ed25519-sha256``, RFC 8463; far cheaper to sign, but not every receiver verifies it
yet), given as PEM without a passphrase.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass

import dkim  # type: ignore[import-untyped]
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    load_pem_private_key,
)

from gateway.delivery.errors import ConfigurationInvalid, PermanentDeliveryError

SIGNED = ("From", "To", "Cc", "Subject", "Date", "Message-ID", "MIME-Version", "Content-Type")


@dataclass(frozen=True)
class DkimKey:
    """The seller's DKIM key (in dkimpy's form) with its selector, domain and algorithm."""

    selector: str
    domain: str
    private_key: bytes
    algorithm: bytes = b"rsa-sha256"

    def sign(self, message: bytes, signed: tuple[str, ...] = SIGNED) -> bytes:
        """``message`` with a ``DKIM-Signature`` header in front (only headers it has signed)."""
        headers = [h.lower().encode() for h in signed]
        try:
            signature: bytes = dkim.sign(
                message,
                self.selector.encode(),
                self.domain.encode(),
                self.private_key,
                include_headers=headers,
                canonicalize=(b"relaxed", b"relaxed"),
                signature_algorithm=self.algorithm,
                linesep=b"\r\n",
            )
        except dkim.DKIMException as exc:
            raise PermanentDeliveryError(f"DKIM signing ({self.domain}): {exc}") from exc
        return signature + message


def load_dkim_key(text: str, selector: str | None, domain: str | None, where: str) -> DkimKey:
    """The key from its PEM text (RSA PKCS#1/PKCS#8 or Ed25519 PKCS#8, no passphrase); raises
    :class:`ConfigurationInvalid` naming what is missing or unreadable (never the key)."""
    if not selector or not domain:
        raise ConfigurationInvalid(
            f"{where}: dkim_private_key needs dkim_selector and dkim_domain (the DNS record "
            "<selector>._domainkey.<domain> holds the public key)"
        )
    try:
        key = load_pem_private_key(text.encode(), password=None)
    except (ValueError, TypeError) as exc:
        raise ConfigurationInvalid(
            f"{where}: dkim_private_key: not a readable PEM private key without passphrase"
        ) from exc
    if isinstance(key, ed25519.Ed25519PrivateKey):
        seed = key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
        return DkimKey(selector, domain, base64.b64encode(seed), b"ed25519-sha256")
    if not isinstance(key, rsa.RSAPrivateKey) or key.key_size < 1024:
        raise ConfigurationInvalid(
            f"{where}: dkim_private_key: accepted: an RSA key of at least 1024 bits (2048 "
            "advised) or an Ed25519 key"
        )
    # dkimpy reads PKCS#1 ("BEGIN RSA PRIVATE KEY") only
    pkcs1 = key.private_bytes(Encoding.PEM, PrivateFormat.TraditionalOpenSSL, NoEncryption())
    return DkimKey(selector, domain, pkcs1)
