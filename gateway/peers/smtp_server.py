"""A real SMTP server on loopback (aiosmtpd): the demo's e-mail buyer's mail server.

It speaks ESMTP for real: STARTTLS is required before anything else (a certificate for
127.0.0.1 signed by a demo CA, both made once by :func:`make_tls_files`), AUTH PLAIN/LOGIN
against ``users`` (only after STARTTLS), and every message accepted is stored as an ``.eml``
file in ``mailbox/<recipient>/`` and answered ``250 OK queued as <id>``, the queue id being
the file's name.

Example::

    tls = make_tls_files(keys)
    with SmtpServer(mailbox, users={"igw": "secret"}, tls=tls) as server:
        connector = EmailConnector(host="127.0.0.1", port=server.port, username="igw",
                                   password="secret", ca_file=str(tls.ca_file), ...)
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import logging
import secrets
import socket
import ssl
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

LOOPBACK = frozenset({"127.0.0.1", "::1", "localhost"})


class _NoLoginDataWarning(logging.Filter):
    """aiosmtpd 1.4 warns about its own deprecated ``Session.login_data`` on every successful
    AUTH (it sets it itself); that line says nothing about the demo, so it is dropped."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "login_data is deprecated" not in record.getMessage()


_AIOSMTPD_LOG = logging.getLogger("mail.log")
_AIOSMTPD_FILTER = _NoLoginDataWarning()


@dataclass(frozen=True)
class TlsFiles:
    """The demo CA (what a client trusts) and the server's certificate and key for 127.0.0.1."""

    ca_file: Path
    cert_file: Path
    key_file: Path

    def server_context(self) -> ssl.SSLContext:
        """The server side TLS context."""
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.cert_file, self.key_file)
        return context


def make_tls_files(folder: Path, *, days: int = 3650) -> TlsFiles:
    """A CA and a server certificate for 127.0.0.1 / localhost signed by it, written to
    ``folder`` (``smtp-ca.pem``, ``smtp-server.pem``, ``smtp-server.key.pem``) once: existing
    files are reused, so a client's pinned CA stays valid across runs."""
    files = TlsFiles(
        folder / "smtp-ca.pem", folder / "smtp-server.pem", folder / "smtp-server.key.pem"
    )
    if all(p.exists() for p in (files.ca_file, files.cert_file, files.key_file)):
        return files
    folder.mkdir(parents=True, exist_ok=True)
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "igw demo SMTP CA")])
    ca = (
        _builder(ca_name, ca_name, ca_key.public_key(), now, days)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_usage(ca=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    leaf_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    leaf = (
        _builder(leaf_name, ca_name, key.public_key(), now, days)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_usage(ca=False), critical=True)
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]
            ),
            critical=False,
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
        )
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    files.key_file.write_bytes(
        key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    files.key_file.chmod(0o600)
    files.cert_file.write_bytes(leaf.public_bytes(pem))
    files.ca_file.write_bytes(ca.public_bytes(pem))
    return files


def _builder(
    subject: x509.Name,
    issuer: x509.Name,
    key: ec.EllipticCurvePublicKey,
    now: dt.datetime,
    days: int,
) -> x509.CertificateBuilder:
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + dt.timedelta(days=days))
    )


def _usage(*, ca: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=ca,
        crl_sign=ca,
        encipher_only=False,
        decipher_only=False,
    )


class _Mailbox:
    """aiosmtpd handler: every accepted message becomes ``<recipient>/<queue id>.eml``."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.received = 0
        self.lock = threading.Lock()

    async def handle_DATA(  # noqa: N802 - aiosmtpd's hook name
        self, server: SMTP, session: Session, envelope: Envelope
    ) -> str:
        content = envelope.original_content or b""
        queue_id = secrets.token_hex(5).upper()
        with self.lock:
            for recipient in envelope.rcpt_tos:
                folder = self.root / _folder_name(recipient)
                folder.mkdir(parents=True, exist_ok=True)
                (folder / f"{queue_id}.eml").write_bytes(content)
            self.received += 1
        return f"250 OK queued as {queue_id}"


def _folder_name(recipient: str) -> str:
    # the address is the folder's name; nothing in it may climb out of the mailbox
    name = recipient.strip().strip("<>").lower().replace("/", "_").replace("\\", "_")
    return name if name not in ("", ".", "..") else "_"


class SmtpServer:
    """An SMTP server on ``host`` (loopback) storing mail under ``mailbox``; a context manager.

    ``users`` maps login names to passwords (AUTH PLAIN / LOGIN, after STARTTLS); ``tls`` the
    certificate files (STARTTLS is required). ``port`` 0 picks a free port (see :attr:`port`
    once started). :attr:`received` counts the messages accepted since start.
    """

    def __init__(
        self,
        mailbox: Path,
        *,
        users: Mapping[str, str],
        tls: TlsFiles,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        if host not in LOOPBACK:
            raise ValueError(f"SmtpServer serves loopback only, not {host!r}")
        self.mailbox = mailbox
        self.users = {name.encode(): password.encode() for name, password in users.items()}
        self.tls = tls
        self.host = host
        self.port = port or _free_port(host)
        self._handler = _Mailbox(mailbox)
        self._controller: Controller | None = None

    @property
    def received(self) -> int:
        """Messages accepted since the server started."""
        return self._handler.received

    def _authenticate(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: object
    ) -> AuthResult:
        ok = isinstance(data, LoginPassword) and secrets.compare_digest(
            self.users.get(data.login, b"\0"), data.password
        )
        return AuthResult(success=ok, handled=False)

    def start(self) -> SmtpServer:
        """Listen and serve in a background thread."""
        self.mailbox.mkdir(parents=True, exist_ok=True)
        _AIOSMTPD_LOG.addFilter(_AIOSMTPD_FILTER)  # the same object: added once
        _AIOSMTPD_LOG.setLevel(logging.WARNING)  # its per-command INFO trace is no news
        self._controller = Controller(
            self._handler,
            hostname=self.host,
            port=self.port,
            server_hostname="smtp.demo-buyer.example",
            authenticator=self._authenticate,
            tls_context=self.tls.server_context(),
            require_starttls=True,
            ready_timeout=15.0,
        )
        self._controller.start()
        return self

    def stop(self) -> None:
        """Stop listening (later calls do nothing)."""
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def __enter__(self) -> SmtpServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _free_port(host: str) -> int:
    with socket.socket() as probe:
        probe.bind((host if host != "localhost" else "127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port
