"""A real SMTP server on 127.0.0.1 for the e-mail tests: aiosmtpd with STARTTLS or implicit TLS
(a certificate from a test CA made with ``cryptography``), AUTH LOGIN/PLAIN, and a handler that
answers by recipient: ``reject550@...`` gets 550 on RCPT, ``defer451@...`` gets 451; every
message accepted is kept (``server.messages``) and answered ``250 2.0.0 Ok: queued as <id>``.

Also the DKIM test key and its DNS record (``dnsfunc`` for ``dkim.verify``), and the e-mail
connector's entry in the connector contract suite (``NAME``, :func:`harness`): ``break_next``
stops the server (the reconnect meets ``ConnectionRefusedError``), ``stall_next`` makes it sit
on the next MAIL FROM past the connector's 1-second timeout.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import datetime as dt
import ipaddress
import socket
import ssl
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session
from connector_harness import Harness, clock
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.x509.oid import NameOID

NAME = "email"
USER, PASSWORD = "seller@seller.example", "smtp-secret-for-tests"
SELECTOR, DOMAIN = "igwtest", "seller.example"


@dataclass
class Received:
    """One message the server accepted: envelope sender, recipients, raw bytes, queue id."""

    sender: str
    recipients: list[str]
    content: bytes
    queue_id: str


@dataclass
class Handler:
    """aiosmtpd handler: refuses by recipient name, keeps every accepted message."""

    messages: list[Received] = field(default_factory=list)
    data_reply: str | None = None
    mail_reply_once: str | None = None
    stall_seconds: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_MAIL(  # noqa: N802 - aiosmtpd's hook name
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        stall, self.stall_seconds = self.stall_seconds, 0.0
        if stall:
            await asyncio.sleep(stall)
        reply, self.mail_reply_once = self.mail_reply_once, None
        if reply is not None:
            return reply
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 2.1.0 Ok"

    async def handle_RCPT(  # noqa: N802 - aiosmtpd's hook name
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        local = address.partition("@")[0]
        if local.startswith("reject550"):
            return "550 5.1.1 <" + address + ">: Recipient address rejected: User unknown"
        if local.startswith("defer451"):
            return "451 4.7.1 <" + address + ">: greylisted, try again later"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 Ok"

    async def handle_DATA(  # noqa: N802 - aiosmtpd's hook name
        self, server: SMTP, session: Session, envelope: Envelope
    ) -> str:
        if self.data_reply is not None:
            return self.data_reply
        with self.lock:
            queue_id = f"Q{len(self.messages) + 1:05d}AB"
            content = envelope.original_content or b""
            sender = envelope.mail_from or ""
            self.messages.append(Received(sender, list(envelope.rcpt_tos), content, queue_id))
        return f"250 2.0.0 Ok: queued as {queue_id}"


def authenticator(
    server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
) -> AuthResult:
    """AUTH LOGIN / PLAIN with the one test account."""
    ok = (
        isinstance(auth_data, LoginPassword)
        and auth_data.login == USER.encode()
        and auth_data.password == PASSWORD.encode()
    )
    return AuthResult(success=ok, handled=False)


@dataclass(frozen=True)
class Pki:
    """The test CA file and the server's certificate chain and key (for 127.0.0.1)."""

    ca_file: Path
    cert_file: Path
    key_file: Path

    def server_context(self) -> ssl.SSLContext:
        """The server side TLS context."""
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.cert_file, self.key_file)
        return context


def make_pki(folder: Path) -> Pki:
    """A CA and a server certificate for 127.0.0.1 / localhost signed by it."""
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "igw test SMTP CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + dt.timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_usage(ca=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    leaf = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + dt.timedelta(days=2))
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
    ca_file, cert_file, key_file = folder / "ca.pem", folder / "server.pem", folder / "server.key"
    ca_file.write_bytes(ca.public_bytes(pem))
    cert_file.write_bytes(leaf.public_bytes(pem))
    key_file.write_bytes(
        key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return Pki(ca_file, cert_file, key_file)


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


def free_port() -> int:
    """A port nobody listens on right now (bound and released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass
class SmtpServer:
    """A running aiosmtpd server: ``port``, ``security`` ('starttls' | 'tls' | 'none'), the
    handler's ``messages``."""

    controller: Controller
    handler: Handler
    port: int
    security: str

    stopped: bool = False

    @property
    def messages(self) -> list[Received]:
        """Every message accepted so far, oldest first."""
        return self.handler.messages

    def stop(self) -> None:
        """Stop listening (once; later calls do nothing)."""
        if not self.stopped:
            self.stopped = True
            self.controller.stop()


@contextlib.contextmanager
def running(
    pki: Pki, security: str = "starttls", *, data_size_limit: int | None = 33554432
) -> Iterator[SmtpServer]:
    """An aiosmtpd server on 127.0.0.1 speaking ``security``, with AUTH (over TLS only)."""
    handler = Handler()
    port = free_port()
    options: dict[str, Any] = {
        "hostname": "127.0.0.1",
        "port": port,
        "authenticator": authenticator,
        "data_size_limit": data_size_limit,
        "server_hostname": "smtp.test",
        "ready_timeout": 15.0,  # a loaded CI machine may be slow to start the thread
    }
    if security == "starttls":
        options |= {"tls_context": pki.server_context(), "require_starttls": True}
    elif security == "tls":
        # aiosmtpd 1.4 sees only STARTTLS as TLS; the socket is TLS from the first byte here
        options |= {"ssl_context": pki.server_context(), "auth_require_tls": False}
    else:
        options |= {"auth_require_tls": False}
    controller = Controller(handler, **options)
    controller.start()
    server = SmtpServer(controller, handler, port, security)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    """The test CA and server certificate, once per run."""
    return make_pki(tmp_path_factory.mktemp("smtp-pki"))


@pytest.fixture
def smtp_server(pki: Pki) -> Iterator[SmtpServer]:
    """A fresh STARTTLS + AUTH server for one test."""
    with running(pki, "starttls") as server:
        yield server


@dataclass(frozen=True)
class DkimTestKey:
    """An RSA key (PEM), and the DNS TXT record publishing its public half."""

    pem: str
    record: bytes

    def dnsfunc(self, name: bytes, timeout: int = 5) -> bytes:
        """The TXT record for ``<selector>._domainkey.<domain>.``, nothing for other names."""
        wanted = f"{SELECTOR}._domainkey.{DOMAIN}."
        return self.record if name.decode().rstrip(".") + "." == wanted else b""


@pytest.fixture(scope="session")
def dkim_ed25519_key() -> DkimTestKey:
    """An Ed25519 DKIM key (RFC 8463) for ``seller.example`` (selector ``igwtest``)."""
    key = ed25519.Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    raw = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return DkimTestKey(pem, b"v=DKIM1; k=ed25519; p=" + base64.b64encode(raw))


@pytest.fixture(scope="session")
def dkim_key() -> DkimTestKey:
    """A 2048-bit RSA DKIM key for ``seller.example`` (selector ``igwtest``)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    der = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    record = b"v=DKIM1; k=rsa; p=" + base64.b64encode(der)
    return DkimTestKey(pem, record)


@contextlib.contextmanager
def harness(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Harness]:
    """The contract suite's e-mail connector: STARTTLS + AUTH to a fresh server, 1 s timeout."""
    from connectors.email import EmailConnector

    with running(make_pki(tmp_path)) as server:
        connector = EmailConnector(
            host="127.0.0.1",
            port=server.port,
            username=USER,
            password=PASSWORD,
            ca_file=str(tmp_path / "ca.pem"),
            from_address="invoices@seller.example",
            to="ap@kunde.example",
            timeout=1.0,
            clock=clock,
        )

        def break_next() -> None:
            connector.close()
            server.stop()

        def stall_next() -> None:
            server.handler.stall_seconds = 3.0

        try:
            yield Harness(connector, break_next, stall_next)
        finally:
            connector.close()
