"""Per-seller branding of the invoice PDF: logo, accent colour, an extra footer column.

Seller master data (``config/sellers/*.toml``) has no place for branding yet, and a mapping
sees only the invoice and the buyer profile, so branding comes in as the profile's options
(``logo``, ``colour``, ``footer``; ``igw translate --option logo=...``). The registration and
bank data in the footer come from the invoice itself, branding or not.

A logo is a file NAME in the branding folder (``IGW_BRANDING_DIR``, else ``config/branding``
below the working folder), never a path: options can come from an API caller, and a path
would let one embed any image file of the server in a PDF.
"""

from __future__ import annotations

import base64
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from gateway.errors import ConfigError

BRANDING_OPTIONS = ("logo", "colour", "footer")
DEFAULT_COLOUR = "#1f4e79"
_COLOUR = re.compile(r"^#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})$")
_LOGO_TYPES = {
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".svg": "image/svg+xml",
}
MAX_LOGO_BYTES = 2 * 1024 * 1024
DEFAULT_BRANDING_DIR = "config/branding"
_LOGO_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,100}$")


def branding_dir() -> Path:
    """The folder logo names are looked up in (``IGW_BRANDING_DIR`` or ./config/branding)."""
    return Path(os.environ.get("IGW_BRANDING_DIR") or DEFAULT_BRANDING_DIR)


@dataclass(frozen=True)
class Branding:
    """``logo`` as a data: URI (or empty), ``colour`` a CSS hex colour, ``footer`` lines."""

    logo: str = ""
    colour: str = DEFAULT_COLOUR
    footer: tuple[str, ...] = ()


def branding_from_options(options: Mapping[str, str]) -> Branding:
    """The branding the profile's options give; ConfigError naming a bad option value.

    ``logo`` is the name of a PNG, JPEG or SVG file in :func:`branding_dir` (2 MiB at most),
    ``colour`` ``#rgb``/``#rrggbb``,
    ``footer`` text lines separated by ``|``.
    """
    colour = options.get("colour", DEFAULT_COLOUR).strip()
    if not _COLOUR.match(colour):
        raise ConfigError(f"pdf option colour={colour!r}: not a colour (accepted: #rgb or #rrggbb)")
    logo = ""
    path_text = options.get("logo", "").strip()
    if path_text:
        if not _LOGO_NAME.match(path_text):
            raise ConfigError(
                f"pdf option logo={path_text!r}: not a file name (accepted: the name of a "
                f"file in {branding_dir()}, letters, digits, '.', '_', '-'; no path)"
            )
        path = branding_dir() / path_text
        media = _LOGO_TYPES.get(path.suffix.lower())
        if media is None:
            raise ConfigError(
                f"pdf option logo={path_text!r}: not a logo file (accepted: .png, .jpg, .svg)"
            )
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise ConfigError(
                f"pdf option logo={path_text!r}: cannot read it ({exc.strerror})"
            ) from exc
        if len(data) > MAX_LOGO_BYTES:
            raise ConfigError(f"pdf option logo={path_text!r}: larger than 2 MiB")
        logo = f"data:{media};base64,{base64.b64encode(data).decode('ascii')}"
    footer = tuple(p.strip() for p in options.get("footer", "").split("|") if p.strip())
    return Branding(logo=logo, colour=colour, footer=footer)
