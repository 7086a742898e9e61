"""Secrets are referenced, never written into a profile: ``env:NAME`` or ``file:/path``.

A channel option whose key names a secret (password, secret, token, key, passphrase, ...) must be
such a reference; :func:`check_reference` refuses a literal at load time, :func:`resolve` reads the
value when the connector is built (so a rotated secret is picked up on the next start).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from gateway.errors import ConfigError

SECRET_KEY = re.compile(r"(pass(word|phrase)?|secret|token|api_?key|private_key|credential)", re.I)
SCHEMES = ("env:", "file:")


def is_secret_key(key: str) -> bool:
    """Whether an option named ``key`` holds a secret (and so must be a reference)."""
    return SECRET_KEY.search(key) is not None


def is_reference(value: object) -> bool:
    """Whether ``value`` is a secret reference (``env:NAME`` or ``file:/path``)."""
    return isinstance(value, str) and value.startswith(SCHEMES) and len(value) > 5


def check_reference(key: str, value: object) -> None:
    """Raise :class:`ConfigError` if secret option ``key`` holds a literal instead of a reference.

    The message never repeats the value (it may be the secret itself).
    """
    if is_secret_key(key) and not is_reference(value):
        raise ConfigError(
            f"{key}: a secret must not be written into a profile; "
            f'use a reference: {key} = "env:VARIABLE" or {key} = "file:/path/to/secret"'
        )


def resolve(reference: str) -> str:
    """The secret behind ``env:NAME`` / ``file:/path`` (file content without the final newline).

    Raises :class:`ConfigError` naming the reference when it is malformed, the variable is unset
    or the file cannot be read.
    """
    scheme, _, target = reference.partition(":")
    if scheme == "env" and target:
        value = os.environ.get(target)
        if value is None:
            raise ConfigError(f"secret {reference!r}: environment variable {target} is not set")
        return value
    if scheme == "file" and target:
        try:
            return Path(target).read_text(encoding="utf-8").removesuffix("\n")
        except OSError as exc:
            problem = f"secret {reference!r}: cannot read {target}: {exc.strerror}"
            raise ConfigError(problem) from exc
    raise ConfigError(f"secret reference {reference!r}: expected 'env:NAME' or 'file:/path'")
