"""SFTP keys: the partner's pinned host key (never auto-accepted) and our private key.

A host key is pinned as the partner hands it over, in any of these forms:

- a public key line: ``ssh-ed25519 AAAAC3Nz... [comment]`` (``ssh-rsa``, ``ecdsa-sha2-*`` too);
- a ``known_hosts`` line: ``[sftp.example.com]:2222 ssh-ed25519 AAAAC3Nz...``;
- a fingerprint: ``SHA256:pHH4vsrkWJFpB4th...`` (as ``ssh-keygen -lf`` prints it).

With a key line the client asks the server for that key type only (a server holding an RSA and
an Ed25519 key then shows the pinned one). The key is compared before we authenticate, so no
credentials ever go to a server that is not the partner's.
"""

from __future__ import annotations

import base64
import binascii
import io
from dataclasses import dataclass

import paramiko
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from paramiko.pkey import UnknownKeyType

from gateway.delivery.errors import ConfigurationInvalid, HostKeyMismatch

KEY_TYPES = (
    "ssh-ed25519",
    "ssh-rsa",
    "ecdsa-sha2-nistp256",
    "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp521",
)
ACCEPTED = (
    "'ssh-ed25519 AAAA...' (a public key line), a known_hosts line, or a 'SHA256:...' fingerprint"
)


def describe(key: paramiko.PKey) -> str:
    """``ssh-ed25519 SHA256:...``: a key as people compare it."""
    return f"{key.get_name()} {key.fingerprint}"


def public_line(key: paramiko.PKey) -> str:
    """``ssh-ed25519 AAAA...``: the line to pin."""
    return f"{key.get_name()} {key.get_base64()}"


@dataclass(frozen=True)
class PinnedHostKey:
    """The host key a partner's server must show; ``key`` is None when only the fingerprint
    was pinned."""

    fingerprint: str
    key: paramiko.PKey | None = None

    @property
    def algorithms(self) -> list[str] | None:
        """The host key algorithms to ask the server for (None: any)."""
        if self.key is None:
            return None
        if self.key.get_name() == "ssh-rsa":
            return ["rsa-sha2-512", "rsa-sha2-256"]
        return [self.key.get_name()]

    def check(self, offered: paramiko.PKey, where: str) -> None:
        """Raise :class:`HostKeyMismatch` unless ``offered`` is the pinned key."""
        if self.key is not None:
            same = self.key.asbytes() == offered.asbytes()
        else:
            same = offered.fingerprint == self.fingerprint
        if not same:
            expected = describe(self.key) if self.key is not None else self.fingerprint
            raise HostKeyMismatch(
                f"{where}: host key mismatch: the server offered {describe(offered)}, the pinned "
                f"key is {expected}; refusing to connect (a changed key may mean someone is in "
                "between - if the partner really changed it, confirm the new fingerprint with "
                "them and pin it in host_key)"
            )


def parse_host_key(text: str) -> PinnedHostKey:
    """The pinned key in ``text`` (see the module docstring for the accepted forms).

    Raises :class:`ConfigurationInvalid` naming what was expected.
    """
    cleaned = text.strip()
    if cleaned.startswith("SHA256:") and len(cleaned.split()) == 1:
        return PinnedHostKey(fingerprint=cleaned.rstrip("="))
    tokens = cleaned.split()
    for position, token in enumerate(tokens[:-1]):
        if token in KEY_TYPES or token.startswith("ecdsa-sha2-"):
            try:
                blob = base64.b64decode(tokens[position + 1], validate=True)
                key = paramiko.PKey.from_type_string(token, blob)
            except (binascii.Error, ValueError, paramiko.SSHException) as exc:
                raise ConfigurationInvalid(
                    f"host_key: {token} key data is not a valid key ({exc}); expected {ACCEPTED}"
                ) from exc
            except UnknownKeyType as exc:
                raise ConfigurationInvalid(
                    f"host_key: key type {token} is not supported; expected {ACCEPTED}"
                ) from exc
            return PinnedHostKey(fingerprint=key.fingerprint, key=key)
    shown = cleaned if len(cleaned) <= 60 else cleaned[:57] + "..."
    raise ConfigurationInvalid(f"host_key {shown!r}: not a host key; expected {ACCEPTED}")


def load_private_key(text: str, passphrase: str | None) -> paramiko.PKey:
    """Our private key from its PEM/OpenSSH text (what a ``file:``/``env:`` reference resolves
    to). Raises :class:`ConfigurationInvalid` without repeating the key or the passphrase."""
    if "PRIVATE KEY-----" not in text:
        raise ConfigurationInvalid(
            "private_key: expected the key itself (PEM or OpenSSH text), e.g. "
            'private_key = "file:/etc/igw/keys/id_ed25519" in the profile'
        )
    data, password = text.encode(), passphrase.encode() if passphrase is not None else None
    try:
        try:
            loaded: object = serialization.load_ssh_private_key(data, password=password)
        except ValueError:
            loaded = serialization.load_pem_private_key(data, password=password)
    except TypeError as exc:  # encrypted without a passphrase, or a passphrase for a plain key
        raise ConfigurationInvalid(
            f"private_key: {exc}; set private_key_passphrase (a secret reference) to match"
        ) from exc
    except (ValueError, paramiko.SSHException) as exc:
        raise ConfigurationInvalid(
            "private_key: cannot read the key (wrong passphrase or not a private key)"
        ) from exc
    key_class: type[paramiko.PKey]
    if isinstance(loaded, rsa.RSAPrivateKey):
        key_class = paramiko.RSAKey
    elif isinstance(loaded, ed25519.Ed25519PrivateKey):
        key_class = paramiko.Ed25519Key
    elif isinstance(loaded, ec.EllipticCurvePrivateKey):
        key_class = paramiko.ECDSAKey
    else:
        raise ConfigurationInvalid(
            f"private_key: {type(loaded).__name__} keys are not supported; "
            "use Ed25519, ECDSA or RSA"
        )
    try:
        return key_class.from_private_key(io.StringIO(text), password=passphrase)
    except (ValueError, paramiko.SSHException) as exc:
        raise ConfigurationInvalid(f"private_key: cannot load the key: {exc}") from exc
