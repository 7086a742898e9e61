"""Bounces: the bounce mailbox the e-mail connector polls (IMAP or a local Maildir), and each
DSN read as a transport :class:`~gateway.ack.Ack` that correlates by the original Message-ID.

Sources: IMAP (``bounce_host``, ``bounce_port``, ``bounce_security`` ``"tls"`` (default, port
993), ``"starttls"`` (143) or ``"none"`` (loopback only), ``bounce_username`` +
``bounce_password`` (a secret reference), ``bounce_mailbox`` (default ``INBOX``),
``bounce_move_to`` (a folder handled DSNs are moved to)) or ``bounce_maildir`` (a Maildir path).

Only a DSN (:func:`connectors.email.dsn.parse_dsn`) is yielded; any other message (an
auto-reply, a person's answer) is never a bounce: it stays unread and is flagged (IMAP
``\\Flagged`` + keyword ``IgwNotBounce``, Maildir flag ``F``) so a person sees it and later polls
skip it. A yielded DSN is marked ``\\Seen`` (Maildir ``S``) once the gateway recorded it.
"""

from __future__ import annotations

import contextlib
import imaplib
import logging
import os
import re
import ssl
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from connectors.base import Clock, Inbound
from connectors.email.dsn import parse_dsn
from connectors.email.read_receipts import parse_read_receipt, read_ack
from connectors.email.smtp import is_loopback
from gateway.ack import Ack, AckLevel, AckReason, AckReference, AckStatus
from gateway.delivery.errors import (
    AuthenticationFailed,
    ConfigurationInvalid,
    ConnectionFailed,
    DeliveryError,
    HostKeyMismatch,
    Timeout,
)

log = logging.getLogger(__name__)

DSN_KIND = "DSN"
NOT_BOUNCE = "IgwNotBounce"
IMAP_PORTS = {"tls": 993, "starttls": 143, "none": 143}
_UIDVALIDITY = re.compile(rb"UIDVALIDITY (\d+)")


def bounce_ack(data: bytes) -> Ack | None:
    """The transport Ack a DSN is: ``rejected`` and ``final`` when a recipient failed (the
    delivery FAILS), ``received`` otherwise (delayed, relayed); None for any other message."""
    dsn = parse_dsn(data)
    if dsn is None:
        return None
    reasons = tuple(
        AckReason(
            code=r.status,
            text=r.diagnostic_code or "",
            location=f"{r.final_recipient}: {r.action} {r.status}",
        )
        for r in dsn.recipients
        if r.action == "failed" or not dsn.failed
    )
    return Ack(
        kind=DSN_KIND,
        level=AckLevel.TRANSPORT,
        status=AckStatus.REJECTED if dsn.failed else AckStatus.RECEIVED,
        refers_to=AckReference(message_id=dsn.original_message_id),
        raw=data,
        sender=dsn.reporting_mta,
        reasons=reasons,
        final=dsn.failed,
        note=dsn.summary(),
    )


class DsnAck:
    """An :class:`~gateway.ack.AckParser` for what a bounce mailbox brings: DSNs
    (:func:`bounce_ack`) and read receipts (:func:`~connectors.email.read_receipts.read_ack`)."""

    def parse(self, inbound: bytes) -> Ack | None:
        """The DSN's or read receipt's Ack, or None when ``inbound`` is neither."""
        return bounce_ack(inbound) or read_ack(inbound)


def is_report(data: bytes) -> bool:
    """A DSN or a read receipt: what the bounce sources hand on (anything else is for people)."""
    return parse_dsn(data) is not None or parse_read_receipt(data) is not None


@dataclass(frozen=True)
class ImapSource:
    """Where the bounce mailbox is (no secrets in ``where``)."""

    host: str
    port: int
    security: str
    username: str
    password: str
    mailbox: str
    move_to: str | None
    timeout: float
    tls: ssl.SSLContext | None

    @property
    def where(self) -> str:
        """``imap+tls://user@host:port/INBOX`` for messages and channels."""
        return f"imap+{self.security}://{self.username}@{self.host}:{self.port}/{self.mailbox}"


def imap_source(
    *,
    host: str,
    port: int | None,
    security: str,
    username: str | None,
    password: str | None,
    mailbox: str,
    move_to: str | None,
    timeout: float,
    tls: ssl.SSLContext | None,
) -> ImapSource:
    """The IMAP source of these options; ConfigurationInvalid naming the bad one."""
    where = f"imap+{security}://{host}:{port or IMAP_PORTS.get(security, 993)}"
    if security not in IMAP_PORTS:
        raise ConfigurationInvalid(
            f"bounce_security = {security!r}: accepted: 'tls' (port 993), 'starttls' (143), "
            "'none' (loopback only)"
        )
    if security == "none" and not is_loopback(host):
        raise ConfigurationInvalid(
            f"bounce_security = 'none' to {host!r}: plain IMAP is allowed to loopback hosts only; "
            "accepted: 'tls' or 'starttls'"
        )
    if not username or password is None:
        raise ConfigurationInvalid(
            f"{where}: bounce_username and bounce_password are required with bounce_host; "
            'accepted: the mailbox user and a secret reference ("env:IGW_BOUNCE_PASSWORD")'
        )
    return ImapSource(
        host,
        port or IMAP_PORTS[security],
        security,
        username,
        password,
        mailbox,
        move_to,
        timeout,
        tls if security != "none" else None,
    )


class ImapBounces:
    """Polls an IMAP mailbox for DSNs (UNSEEN, not yet flagged as no bounce)."""

    def __init__(self, source: ImapSource, clock: Clock, connector: str) -> None:
        self.source = source
        self.clock = clock
        self.connector = connector
        self.channel = source.where
        self._imap: imaplib.IMAP4 | None = None

    def poll(self) -> Iterator[Inbound]:
        """Each unread DSN; other unread messages are flagged and skipped."""
        imap = self._open()
        try:
            validity = self._validity(imap)
            found = self._call(
                "searching", lambda: imap.uid("SEARCH", "UNSEEN", "UNKEYWORD", NOT_BOUNCE)
            )
            listed = found[0] if found and isinstance(found[0], bytes) else b""
            for uid in listed.decode().split():
                data = self._fetch(imap, uid)
                if data is None:
                    continue
                if not is_report(data):
                    self._flag_not_bounce(imap, uid)
                    continue
                yield Inbound(
                    connector=self.connector,
                    channel=self.channel,
                    content=data,
                    received_at=self.clock(),
                    name=f"{self.source.mailbox};UIDVALIDITY={validity};UID={uid}",
                )
        finally:
            self.close()

    def _flag_not_bounce(self, imap: imaplib.IMAP4, uid: str) -> None:
        flags = f"(\\Flagged {NOT_BOUNCE})"
        self._call("flagging", lambda: imap.uid("STORE", uid, "+FLAGS", flags))
        log.info(
            "%s: message UID %s is no DSN (an auto-reply or other mail): left unread, flagged",
            self.channel,
            uid,
        )

    def confirm(self, item: Inbound) -> None:
        """Mark the DSN ``\\Seen`` (and move it to ``move_to`` when configured)."""
        uid = item.name.rsplit("UID=", 1)[-1]
        imap = self._open()
        self._call("marking seen", lambda: imap.uid("STORE", uid, "+FLAGS", "(\\Seen)"))
        folder = self.source.move_to
        if folder:
            self._call("copying", lambda: imap.uid("COPY", uid, _quoted(folder)))
            self._call("deleting", lambda: imap.uid("STORE", uid, "+FLAGS", "(\\Deleted)"))
            self._call("expunging", imap.expunge)

    def close(self) -> None:
        """Log out (the next poll or confirm opens a new connection)."""
        imap, self._imap = self._imap, None
        if imap is not None:
            with contextlib.suppress(OSError, imaplib.IMAP4.error):
                imap.logout()

    def _open(self) -> imaplib.IMAP4:
        if self._imap is not None:
            return self._imap
        s = self.source
        try:
            if s.security == "tls":
                imap: imaplib.IMAP4 = imaplib.IMAP4_SSL(
                    s.host, s.port, ssl_context=s.tls, timeout=s.timeout
                )
            else:
                imap = imaplib.IMAP4(s.host, s.port, timeout=s.timeout)
                if s.security == "starttls":
                    imap.starttls(ssl_context=s.tls)
        except ssl.SSLCertVerificationError as exc:
            raise HostKeyMismatch(f"{self.channel}: certificate not trusted: {exc}") from exc
        except TimeoutError as exc:
            raise Timeout(f"{self.channel}: connecting timed out after {s.timeout}s") from exc
        except (OSError, imaplib.IMAP4.error) as exc:
            raise ConnectionFailed(f"{self.channel}: cannot connect: {exc}") from exc
        try:
            imap.login(s.username, s.password)
        except imaplib.IMAP4.error as exc:
            _quietly_close(imap)
            said = exc.args[0].decode() if exc.args and isinstance(exc.args[0], bytes) else exc
            raise AuthenticationFailed(
                f"{self.channel}: IMAP login as {s.username!r} refused ({said}); check "
                "bounce_username and the secret bounce_password refers to"
            ) from exc
        except OSError as exc:
            _quietly_close(imap)
            raise ConnectionFailed(f"{self.channel}: login: {exc}") from exc
        try:
            status, answer = imap.select(_quoted(s.mailbox))
        except (OSError, imaplib.IMAP4.error) as exc:
            _quietly_close(imap)
            raise ConnectionFailed(f"{self.channel}: select: {exc}") from exc
        if status != "OK":
            _quietly_close(imap)
            raise ConfigurationInvalid(
                f"{self.channel}: bounce_mailbox = {s.mailbox!r}: cannot be selected "
                f"({answer[0]!r}); accepted: an existing mailbox name (INBOX)"
            )
        self._imap = imap
        return imap

    def _validity(self, imap: imaplib.IMAP4) -> str:
        _, data = imap.response("UIDVALIDITY")
        value = data[0] if data and data[0] else b"0"
        return value.decode() if isinstance(value, bytes) else str(value)

    def _fetch(self, imap: imaplib.IMAP4, uid: str) -> bytes | None:
        answer = self._call("fetching", lambda: imap.uid("FETCH", uid, "(BODY.PEEK[])"))
        for part in answer:
            if isinstance(part, tuple) and len(part) == 2 and isinstance(part[1], bytes):
                return part[1]
        return None  # expunged meanwhile

    def _call(self, what: str, action: Callable[[], tuple[str, list[Any]]]) -> list[Any]:
        try:
            status, data = action()
        except (OSError, imaplib.IMAP4.error) as exc:
            self._drop()
            error: DeliveryError = (
                Timeout(f"{self.channel}: {what} timed out")
                if isinstance(exc, TimeoutError)
                else ConnectionFailed(f"{self.channel}: {what}: {exc}")
            )
            raise error from exc
        if status != "OK":
            raise ConnectionFailed(f"{self.channel}: {what}: the server answered {data!r}")
        return list(data)

    def _drop(self) -> None:
        imap, self._imap = self._imap, None
        if imap is not None:
            _quietly_close(imap)


class MaildirBounces:
    """Polls a local Maildir for DSNs (messages without the S or F flag)."""

    def __init__(self, path: str, clock: Clock, connector: str) -> None:
        self.root = Path(path)
        if not (self.root / "new").is_dir() or not (self.root / "cur").is_dir():
            raise ConfigurationInvalid(
                f"bounce_maildir = {path!r}: not a Maildir; accepted: a folder with new/ and cur/"
            )
        self.clock = clock
        self.connector = connector
        self.channel = f"maildir:{self.root}"

    def poll(self) -> Iterator[Inbound]:
        """Each unread DSN; other unread messages are flagged ``F`` and skipped."""
        for path in sorted(self._waiting()):
            try:
                data = path.read_bytes()
            except FileNotFoundError:
                continue  # taken meanwhile
            except OSError as exc:
                raise ConnectionFailed(f"{self.channel}: reading {path.name}: {exc}") from exc
            base = path.name.split(":", 1)[0]
            if not is_report(data):
                self._set_flag(path, "F")
                log.info(
                    "%s: %s is no DSN (an auto-reply or other mail): left unread and flagged",
                    self.channel,
                    base,
                )
                continue
            yield Inbound(self.connector, self.channel, data, self.clock(), name=base)

    def confirm(self, item: Inbound) -> None:
        """Mark the DSN seen (flag ``S``, moved to ``cur/``)."""
        for path in self._files():
            if path.name.split(":", 1)[0] == item.name:
                self._set_flag(path, "S")
                return

    def close(self) -> None:
        """Nothing to close."""

    def _files(self) -> list[Path]:
        found: list[Path] = []
        for sub in ("new", "cur"):
            found.extend(p for p in (self.root / sub).iterdir() if not p.name.startswith("."))
        return found

    def _waiting(self) -> list[Path]:
        return [p for p in self._files() if not set(_flags(p.name)) & {"S", "F", "T"}]

    def _set_flag(self, path: Path, flag: str) -> None:
        base = path.name.split(":", 1)[0]
        flags = "".join(sorted(set(_flags(path.name)) | {flag}))
        try:
            os.replace(path, self.root / "cur" / f"{base}:2,{flags}")
        except FileNotFoundError:
            pass
        except OSError as exc:
            raise ConnectionFailed(f"{self.channel}: flagging {base}: {exc}") from exc


def _flags(name: str) -> str:
    _, sep, info = name.partition(":2,")
    return info if sep else ""


def _quoted(mailbox: str) -> str:
    return '"' + mailbox.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _quietly_close(imap: imaplib.IMAP4) -> None:
    with contextlib.suppress(OSError, imaplib.IMAP4.error):
        imap.shutdown()
