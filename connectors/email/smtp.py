"""The SMTP session: connect (implicit TLS, STARTTLS or plain to loopback), AUTH, one transaction
(MAIL, RCPT..., DATA) returning the DATA reply, and foreign exceptions translated here, once.

Trust: certificates are verified against the system store, or ``ca_file`` for a private CA;
``verify_certificate = false`` exists for test servers and says so in every receipt. A plain
connection (``security = "none"``) is allowed to loopback hosts only (a local relay): the
password and the invoice would otherwise cross the network in clear.
"""

from __future__ import annotations

import contextlib
import ipaddress
import re
import smtplib
import socket
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, TypeVar

from connectors.email.errors import reply_error
from gateway.delivery.errors import (
    AuthenticationFailed,
    ConfigurationInvalid,
    ConnectionFailed,
    DeliveryError,
    HostKeyMismatch,
    Timeout,
    from_os_error,
)

T = TypeVar("T")
Security = Literal["starttls", "tls", "none"]
SECURITIES: tuple[Security, ...] = ("starttls", "tls", "none")
DEFAULT_PORTS: dict[Security, int] = {"starttls": 587, "tls": 465, "none": 25}
_QUEUE_ID = (
    re.compile(r"queued as\s+<?([\w.@-]+?)>?(?:\s|$)", re.I),  # Postfix, aiosmtpd handlers
    re.compile(r"\bid=([\w.-]+)", re.I),  # Exim: "OK id=1rX0aB-000123-4Z"
    re.compile(r"^(?:2\.\d+\.\d+\s+)?([\w.-]+)\s+message accepted", re.I),  # Sendmail
    re.compile(r"\bqueued(?: mail)?(?: for delivery)?\s*[:=]?\s*<?([\w.@-]{6,})>?", re.I),
)


@dataclass(frozen=True)
class Endpoint:
    """Where and how to connect (no secrets in ``where``)."""

    host: str
    port: int
    security: Security
    username: str | None
    password: str | None
    timeout: float
    tls: ssl.SSLContext | None
    helo_name: str | None = None
    """The name given in EHLO (default: this machine's FQDN, which may need a DNS lookup)."""

    @property
    def where(self) -> str:
        """``smtp+starttls://user@host:port`` for messages and receipts."""
        user = f"{self.username}@" if self.username else ""
        return f"smtp+{self.security}://{user}{self.host}:{self.port}"


@dataclass(frozen=True)
class Outcome:
    """One accepted transaction: the DATA reply, and the recipients refused at RCPT."""

    code: int
    text: str
    accepted: tuple[str, ...]
    refused: dict[str, tuple[int, str]]

    @property
    def queue_id(self) -> str | None:
        """The server's queue id read from the DATA reply text (``queued as ABC123``)."""
        for pattern in _QUEUE_ID:
            match = pattern.search(self.text)
            if match:
                return match.group(1)
        return None


def is_loopback(host: str) -> bool:
    """Whether ``host`` is a loopback name or address (127.0.0.0/8, ::1, localhost)."""
    if host.lower() in ("localhost", "localhost.localdomain", "ip6-localhost"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def tls_context(ca_file: str | None, verify: bool, where: str) -> ssl.SSLContext:
    """A client context: verification on (system CAs or ``ca_file``) unless ``verify`` is off."""
    try:
        context = ssl.create_default_context(cafile=ca_file)
    except (OSError, ssl.SSLError) as exc:
        raise ConfigurationInvalid(
            f"{where}: ca_file = {ca_file!r}: cannot load: {exc}; accepted: a PEM file of CA "
            "certificates"
        ) from exc
    if not verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


class Session:
    """An open, authenticated SMTP connection; :meth:`transact` sends one message."""

    def __init__(self, endpoint: Endpoint) -> None:
        self.endpoint = endpoint
        self.smtp = _guard(endpoint.where, "connecting", lambda: _connect(endpoint))

    @property
    def size_limit(self) -> int | None:
        """The server's EHLO SIZE (bytes), if it announced one (0 means no limit)."""
        value = self.smtp.esmtp_features.get("size", "").strip()
        return int(value) if value.isdigit() and int(value) > 0 else None

    def transact(self, sender: str, recipients: list[str], message: bytes) -> Outcome:
        """MAIL, RCPT for each recipient, DATA; every refusal raised as a delivery error.

        Recipients refused while others are accepted are returned in ``refused`` (the message
        goes to the accepted ones); all refused raises the first refusal's error.
        """
        where = self.endpoint.where
        return _guard(where, "sending", lambda: self._transact(sender, recipients, message))

    def _transact(self, sender: str, recipients: list[str], message: bytes) -> Outcome:
        smtp, where = self.smtp, self.endpoint.where
        options = [f"SIZE={len(message)}"] if smtp.has_extn("size") else []
        code, reply = smtp.mail(sender, options)
        if code != 250:
            _reset(smtp)
            raise reply_error(where, f"MAIL FROM:<{sender}>", code, _text(reply))
        accepted: list[str] = []
        refused: dict[str, tuple[int, str]] = {}
        for recipient in recipients:
            code, reply = smtp.rcpt(recipient)
            if code in (250, 251):
                accepted.append(recipient)
            else:
                refused[recipient] = (code, _text(reply))
        if not accepted:
            _reset(smtp)
            # the "best" refusal decides: a 4xx for any recipient leaves hope for a retry
            first, (code, text) = min(refused.items(), key=lambda item: item[1][0])
            raise reply_error(where, f"RCPT TO:<{first}> (every recipient refused)", code, text)
        code, reply = smtp.data(message)
        if code != 250:
            _reset(smtp)
            raise reply_error(where, "DATA", code, _text(reply))
        return Outcome(code, _text(reply), tuple(accepted), refused)

    def alive(self) -> bool:
        """Whether the connection still answers (a NOOP)."""
        try:
            return self.smtp.noop()[0] == 250
        except (smtplib.SMTPException, OSError):
            return False

    def close(self) -> None:
        """QUIT (best effort) and close the socket."""
        try:
            self.smtp.quit()
        except (smtplib.SMTPException, OSError):
            self.smtp.close()


def _connect(endpoint: Endpoint) -> smtplib.SMTP:
    host, port, timeout = endpoint.host, endpoint.port, endpoint.timeout
    smtp: smtplib.SMTP
    if endpoint.security == "tls":
        smtp = smtplib.SMTP_SSL(
            host, port, endpoint.helo_name, timeout=timeout, context=endpoint.tls
        )
    else:
        smtp = smtplib.SMTP(host, port, endpoint.helo_name, timeout=timeout)
    try:
        smtp.ehlo()
        if endpoint.security == "starttls":
            if not smtp.has_extn("starttls"):
                raise ConfigurationInvalid(
                    f"{endpoint.where}: the server does not offer STARTTLS; accepted: "
                    'security = "tls" (port 465) if it speaks implicit TLS'
                )
            smtp.starttls(context=endpoint.tls)
            smtp.ehlo()
        if endpoint.username is not None:
            if endpoint.password is None:
                raise ConfigurationInvalid(f"{endpoint.where}: username without a password")
            _login(smtp, endpoint)
    except BaseException:
        smtp.close()
        raise
    return smtp


def _login(smtp: smtplib.SMTP, endpoint: Endpoint) -> None:
    assert endpoint.username is not None and endpoint.password is not None
    if not smtp.has_extn("auth"):
        raise ConfigurationInvalid(
            f"{endpoint.where}: the server offers no AUTH here (after STARTTLS? over TLS?); "
            "remove username/password or use the submission port"
        )
    try:
        smtp.login(endpoint.username, endpoint.password)
    except smtplib.SMTPAuthenticationError as exc:
        text = _text(exc.smtp_error)
        if 500 <= exc.smtp_code < 600:
            raise AuthenticationFailed(
                f"{endpoint.where}: AUTH as {endpoint.username!r} refused: {exc.smtp_code} "
                f"{text} (check the password secret)",
                evidence=f"AUTH {exc.smtp_code} {text}".encode(),
            ) from exc
        raise reply_error(endpoint.where, "AUTH", exc.smtp_code, text) from exc


def _guard(where: str, what: str, action: Callable[[], T]) -> T:
    """Run ``action``; foreign exceptions become delivery errors (the one translation point)."""
    try:
        return action()
    except DeliveryError:
        raise
    except smtplib.SMTPNotSupportedError as exc:
        raise ConfigurationInvalid(f"{where}: {what}: {exc}") from exc
    except smtplib.SMTPResponseException as exc:
        raise reply_error(where, what, exc.smtp_code, _text(exc.smtp_error)) from exc
    except smtplib.SMTPServerDisconnected as exc:
        if isinstance(exc.__context__, TimeoutError):  # smtplib reports a read timeout so
            raise Timeout(f"{where}: {what}: no answer within the timeout") from exc
        raise ConnectionFailed(f"{where}: {what}: connection closed by the server: {exc}") from exc
    except smtplib.SMTPException as exc:
        raise ConnectionFailed(f"{where}: {what}: {exc}") from exc
    except ssl.SSLCertVerificationError as exc:
        raise HostKeyMismatch(
            f"{where}: the server's certificate is not trusted: {exc.verify_message}; "
            "accepted: a certificate for this host from a trusted CA (ca_file for a private CA)"
        ) from exc
    except ssl.SSLError as exc:
        raise ConnectionFailed(f"{where}: {what}: TLS failed: {exc}") from exc
    except TimeoutError as exc:
        raise Timeout(f"{where}: {what}: no answer within the timeout") from exc
    except socket.gaierror as exc:
        raise ConnectionFailed(f"{where}: {what}: cannot resolve host: {exc.strerror}") from exc
    except OSError as exc:
        raise from_os_error(exc, f"{where}: {what}") from exc


def _reset(smtp: smtplib.SMTP) -> None:
    """RSET after a refused transaction so the connection can carry the next message."""
    with contextlib.suppress(smtplib.SMTPException, OSError):
        smtp.rset()


def _text(reply: bytes | str) -> str:
    text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else reply
    return " ".join(text.split())
