"""DKIM signing (RFC 6376) with dkimpy: rsa-sha256, relaxed/relaxed, over the headers a
recipient relies on (From, To, Cc, Subject, Date, Message-ID, MIME-Version, Content-Type)."""

from __future__ import annotations

from dataclasses import dataclass

import dkim  # type: ignore[import-untyped]
from cryptography.hazmat.primitives.asymmetric import rsa
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
    """The seller's DKIM key with its selector and signing domain (``d=``)."""

    selector: str
    domain: str
    private_key: bytes

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
                linesep=b"\r\n",
            )
        except dkim.DKIMException as exc:
            raise PermanentDeliveryError(f"DKIM signing ({self.domain}): {exc}") from exc
        return signature + message


def load_dkim_key(text: str, selector: str | None, domain: str | None, where: str) -> DkimKey:
    """The key from its PEM text (PKCS#1 or PKCS#8 RSA, no passphrase); raises
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
    if not isinstance(key, rsa.RSAPrivateKey) or key.key_size < 1024:
        raise ConfigurationInvalid(
            f"{where}: dkim_private_key: accepted: an RSA key of at least 1024 bits (2048 advised)"
        )
    # dkimpy reads PKCS#1 ("BEGIN RSA PRIVATE KEY") only
    pkcs1 = key.private_bytes(Encoding.PEM, PrivateFormat.TraditionalOpenSSL, NoEncryption())
    return DkimKey(selector, domain, pkcs1)
