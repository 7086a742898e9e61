"""``igw as2 identity``: create our AS2 identity — key, self-signed certificate, PKCS#12 — and
the certificate to hand to the partner.

Wired into the CLI with one line in ``gateway.cli.main`` (``_add_engine_commands``)::

    add_as2_command(sub)

Example::

    export IGW_AS2_KEY_PASSWORD='...'
    igw as2 identity --as2-id ACME-GW --out /etc/invoice-gateway/as2 \\
        --password env:IGW_AS2_KEY_PASSWORD

writes, never replacing a file that exists (the command stops before writing anything)::

    acme-gw.p12        key + certificate, PKCS#12 protected by the password   (mode 0600)
    acme-gw.key.pem    the key alone, PKCS#8 PEM encrypted with the password  (mode 0600)
    acme-gw.cert.pem   our certificate: hand this one to the partner          (mode 0644)

and prints the ``local.toml`` lines that use them and the certificate's SHA-256 fingerprint (to
read out to the partner over another channel). The password is a secret reference
(``env:NAME`` / ``file:/path``, :mod:`gateway.secrets`), never given on the command line.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.serialization import pkcs12

from connectors.as2 import certs
from gateway import secrets
from gateway.errors import ConfigError

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
_AS2_NAME = re.compile(r"[\x20-\x7e]{1,128}")
PRIVATE_MODE = 0o600
PUBLIC_MODE = 0o644
MIN_PASSWORD = 8


def add_as2_command(subparsers: Any) -> argparse.ArgumentParser:
    """Add ``as2`` (with its ``identity`` subcommand) to the ``igw`` subcommands."""
    p: argparse.ArgumentParser = subparsers.add_parser("as2", help="AS2 set-up: identity")
    sub = p.add_subparsers(dest="as2_command", required=True)
    q: argparse.ArgumentParser = sub.add_parser(
        "identity",
        help="create our AS2 key, self-signed certificate and PKCS#12 (never overwrites)",
    )
    q.add_argument("--as2-id", required=True, help="our AS2 name (1-128 printable ASCII)")
    q.add_argument("--out", default="config/as2/keys", help="folder (default config/as2/keys)")
    q.add_argument(
        "--password",
        required=True,
        metavar="REF",
        help="secret reference for the PKCS#12 and key password: env:NAME or file:/path",
    )
    q.add_argument("--common-name", help="certificate subject CN (default: the AS2 id)")
    q.add_argument("--organization", help="certificate subject O")
    q.add_argument("--days", type=int, default=730, help="validity in days (default 730)")
    q.add_argument("--key-size", type=int, default=3072, help="RSA bits (default 3072)")
    q.set_defaults(func=cmd_as2_identity)
    return p


def file_stem(as2_id: str) -> str:
    """A file name for an AS2 id: lower case, anything but letters, digits, '.', '_' as '-'."""
    return re.sub(r"[^a-z0-9._]+", "-", as2_id.lower()).strip("-.") or "as2"


def _write_new(path: Path, data: bytes, mode: int) -> None:
    """Create ``path`` with ``mode`` (refused if it exists, even between check and write)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)
    os.chmod(path, mode)  # the umask may have taken bits away from a public file


def cmd_as2_identity(args: argparse.Namespace) -> int:
    """Create the identity files (see the module docstring)."""
    as2_id = args.as2_id
    if not _AS2_NAME.fullmatch(as2_id):
        print(
            f"igw as2 identity: --as2-id {as2_id!r}: accepted: 1-128 printable ASCII characters "
            "(RFC 4130 6.2)",
            file=sys.stderr,
        )
        return EXIT_USAGE
    for name, value, low in (("--days", args.days, 1), ("--key-size", args.key_size, 2048)):
        if value < low:
            print(f"igw as2 identity: {name} {value}: accepted: {low} or more", file=sys.stderr)
            return EXIT_USAGE
    try:
        secrets.check_reference("password", args.password)
        password = secrets.resolve(args.password)
    except ConfigError as exc:
        print(f"igw as2 identity: --password: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if len(password) < MIN_PASSWORD:
        print(
            f"igw as2 identity: --password {args.password}: the secret has {len(password)} "
            f"characters; accepted: at least {MIN_PASSWORD}",
            file=sys.stderr,
        )
        return EXIT_USAGE
    folder = Path(args.out)
    stem = file_stem(as2_id)
    paths = {
        "p12": folder / f"{stem}.p12",
        "key": folder / f"{stem}.key.pem",
        "cert": folder / f"{stem}.cert.pem",
    }
    existing = [str(path) for path in paths.values() if path.exists()]
    if existing:
        print(
            f"igw as2 identity: {', '.join(existing)}: already exist(s); nothing was written "
            "(an identity is never replaced: move the old files away first, or choose --out)",
            file=sys.stderr,
        )
        return EXIT_FAILED
    key, cert = certs.make_identity(
        args.common_name or as2_id,
        key_size=args.key_size,
        days=args.days,
        organization=args.organization,
    )
    secret = password.encode("utf-8")
    encryption = serialization.BestAvailableEncryption(secret)
    cert_pem = cert.public_bytes(serialization.Encoding.PEM)
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
    )
    p12 = pkcs12.serialize_key_and_certificates(as2_id.encode(), key, cert, None, encryption)
    folder.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    try:
        for path, data, mode in (
            (paths["p12"], p12, PRIVATE_MODE),
            (paths["key"], key_pem, PRIVATE_MODE),
            (paths["cert"], cert_pem, PUBLIC_MODE),
        ):
            _write_new(path, data, mode)
            written.append(path)
    except OSError as exc:
        for path in written:  # all or nothing: no half identity is left behind
            path.unlink(missing_ok=True)
        print(f"igw as2 identity: cannot write {exc.filename}: {exc.strerror}", file=sys.stderr)
        return EXIT_FAILED
    fingerprint = cert.fingerprint(hashes.SHA256()).hex(":").upper()
    print(
        f"AS2 identity {as2_id!r}: RSA-{args.key_size}, valid until "
        f"{cert.not_valid_after_utc:%Y-%m-%d}"
    )
    print(f"  {paths['p12']}   key + certificate (PKCS#12, password {args.password}; 0600)")
    print(f"  {paths['key']}   key alone (PKCS#8, encrypted; 0600)")
    print(f"  {paths['cert']}   hand this certificate to the partner")
    print(f"  SHA-256 fingerprint: {fingerprint}")
    print("local.toml (relative paths are relative to local.toml's folder):")
    print(f'  as2_id = "{as2_id}"')
    print(f'  key_file = "{paths["p12"].resolve()}"')
    print(f'  key_password = "{args.password}"')
    return EXIT_OK
