"""EmailConnector: one e-mail per delivery over SMTP (options, proof: :mod:`connectors.email`)."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from datetime import datetime
from email.errors import HeaderDefect, HeaderParseError, MessageError
from email.headerregistry import Address

from connectors.base import Clock, Inbound, Receipt, utc_now
from connectors.email import attachments as files
from connectors.email.bounces import ImapBounces, MaildirBounces, imap_source
from connectors.email.errors import reply_of, too_large
from connectors.email.facts import facts_for, read_invoice
from connectors.email.message import Envelope, build_message, domain_of, message_id
from connectors.email.signing import SIGNED, DkimKey, load_dkim_key
from connectors.email.smtp import (
    DEFAULT_PORTS,
    SECURITIES,
    Endpoint,
    Outcome,
    Security,
    Session,
    is_loopback,
    tls_context,
)
from connectors.email.texts import load_texts
from gateway.delivery.errors import (
    ConfigurationInvalid,
    ConnectionFailed,
    DeliveryError,
    IdempotencyConflict,
    RemoteUnavailable,
    Timeout,
)
from gateway.document import Document

DEFAULT_MAX_BYTES = 10 * 1024 * 1024
RECENT_RECEIPTS = 4096


class EmailConnector:
    """Sends each document as an e-mail (see the package docstring for options and proof).

    Raises :class:`ConfigurationInvalid` at construction for a bad address, security mode,
    template, attachment name, DKIM key, or a plain connection to a host that is not loopback.
    """

    name = "email"

    def __init__(
        self,
        *,
        host: str,
        from_address: str,
        to: str | Sequence[str],
        cc: str | Sequence[str] = (),
        port: int | None = None,
        security: str = "starttls",
        username: str | None = None,
        password: str | None = None,
        from_name: str | None = None,
        reply_to: str | None = None,
        read_receipt: bool = False,
        read_receipt_to: str | None = None,
        language: str = "en",
        templates: str | None = None,
        attachments: str | Sequence[str] = files.DOCUMENT,
        max_bytes: int = DEFAULT_MAX_BYTES,
        timeout: float = 30.0,
        helo_name: str | None = None,
        ca_file: str | None = None,
        verify_certificate: bool = True,
        dkim_private_key: str | None = None,
        dkim_selector: str | None = None,
        dkim_domain: str | None = None,
        bounce_host: str | None = None,
        bounce_port: int | None = None,
        bounce_security: str = "tls",
        bounce_username: str | None = None,
        bounce_password: str | None = None,
        bounce_mailbox: str = "INBOX",
        bounce_move_to: str | None = None,
        bounce_ca_file: str | None = None,
        bounce_maildir: str | None = None,
        clock: Clock = utc_now,
    ) -> None:
        mode = _security(security, host)
        where = f"smtp+{mode}://{host}:{port or DEFAULT_PORTS[mode]}"
        self.envelope = Envelope(
            sender=_address(from_address, "from_address", where),
            to=_addresses(to, "to", where, required=True),
            cc=_addresses(cc, "cc", where),
            reply_to=_address(reply_to, "reply_to", where) if reply_to else None,
            notify_to=_read_receipt_to(read_receipt, read_receipt_to, from_address, where),
        )
        if max_bytes <= 0:
            raise ConfigurationInvalid(f"{where}: max_bytes = {max_bytes}: must be > 0")
        tls = tls_context(ca_file, verify_certificate, where) if mode != "none" else None
        self.endpoint = Endpoint(
            host, port or DEFAULT_PORTS[mode], mode, username, password, timeout, tls, helo_name
        )
        self.channel = f"{self.endpoint.where}/{','.join(self.envelope.recipients)}"
        self.from_name = from_name
        self.texts = load_texts(language, templates, where)
        self.attachments = files.parse_names(attachments, where)
        self.max_bytes = max_bytes
        self.verified = verify_certificate
        self.dkim: DkimKey | None = (
            load_dkim_key(dkim_private_key, dkim_selector, dkim_domain, where)
            if dkim_private_key is not None
            else None
        )
        self.domain = domain_of(self.envelope.sender)
        self.clock = clock
        self.connects = 0
        self._session: Session | None = None
        self._lock = threading.Lock()
        self._receipts: OrderedDict[str, tuple[str, Receipt]] = OrderedDict()
        self.bounces: ImapBounces | MaildirBounces | None = None
        if bounce_host is not None and bounce_maildir is not None:
            raise ConfigurationInvalid(
                f"{where}: bounce_host and bounce_maildir both set; accepted: one bounce source"
            )
        if bounce_maildir is not None:
            self.bounces = MaildirBounces(bounce_maildir, clock, self.name)
        elif bounce_host is not None:
            source = imap_source(
                host=bounce_host,
                port=bounce_port,
                security=bounce_security,
                username=bounce_username,
                password=bounce_password,
                mailbox=bounce_mailbox,
                move_to=bounce_move_to,
                timeout=timeout,
                tls=tls_context(bounce_ca_file or ca_file, verify_certificate, where)
                if bounce_security != "none"
                else None,
            )
            self.bounces = ImapBounces(source, clock, self.name)

    def message_id(self, idempotency_key: str) -> str:
        """The Message-ID (no ``<>``) every send under ``idempotency_key`` carries."""
        return message_id(idempotency_key, self.domain)

    def render(self, document: Document, idempotency_key: str, date: datetime) -> bytes:
        """The complete message as sent (DKIM-signed when a key is configured)."""
        invoice = read_invoice(document)
        subject, body = self.texts.render(facts_for(document, invoice, self.texts.language))
        attached = files.collect(
            self.attachments, document, invoice, self.channel, self.texts.language
        )
        try:
            message = build_message(
                self.envelope,
                subject=subject,
                body=body,
                attachments=attached,
                msgid=self.message_id(idempotency_key),
                date=date,
                sender_name=self.from_name,
            )
            data = message.as_bytes()
        except (ValueError, TypeError, UnicodeError, MessageError) as exc:
            raise ConfigurationInvalid(f"{self.channel}: cannot build the e-mail: {exc}") from exc
        if self.dkim is None:
            return data
        return self.dkim.sign(data, tuple(h for h in SIGNED if h in message))

    def send(self, document: Document, *, delivery_id: str, idempotency_key: str) -> Receipt:
        """Send ``document`` as one e-mail per key; the DATA 250 reply is the receipt."""
        with self._lock:
            known = self._receipts.get(idempotency_key)
            if known is not None:
                if known[0] != document.sha256:
                    raise IdempotencyConflict(
                        f"{self.channel}: idempotency key {idempotency_key!r} was sent with "
                        "different content; a re-send must carry the same bytes"
                    )
                return known[1]
            sent_at = self.clock()
            data = self.render(document, idempotency_key, sent_at)
            self._check_size(len(data), self.max_bytes, "max_bytes")
            outcome = self._transact(data)
            receipt = self._receipt(outcome, idempotency_key, sent_at, len(data))
            self._receipts[idempotency_key] = (document.sha256, receipt)
            if len(self._receipts) > RECENT_RECEIPTS:
                self._receipts.popitem(last=False)
            return receipt

    def poll(self) -> Iterator[Inbound]:
        """The DSNs waiting in the bounce mailbox (nothing without one); other mail there is
        left for people (:mod:`connectors.email.bounces`). Raises only ``DeliveryError``s."""
        if self.bounces is not None:
            yield from self.bounces.poll()

    def confirm(self, item: Inbound) -> None:
        """The DSN ``item`` is recorded: mark it seen (or move it) in the bounce mailbox."""
        if self.bounces is None:
            raise ConfigurationInvalid(f"{self.channel}: confirm without a bounce mailbox")
        self.bounces.confirm(item)

    def _check_size(self, size: int, limit: int, what: str) -> None:
        if size > limit:
            raise too_large(
                f"{self.channel}: the e-mail is {size} bytes, over the {what} limit of {limit} "
                "bytes; not sent (accepted: a smaller document or fewer attachments)"
            )

    def _transact(self, data: bytes) -> Outcome:
        """One SMTP transaction on the kept connection; a kept connection that dropped (idle
        timeout on the server) is re-opened once."""
        for attempt in (1, 2):
            fresh = self._session is None
            session = self._open()
            server_limit = session.size_limit
            if server_limit is not None:
                self._check_size(len(data), server_limit, "server's SIZE")
            try:
                return session.transact(self.envelope.sender, self.envelope.recipients, data)
            except RemoteUnavailable as exc:
                reply = reply_of(exc)
                if reply is None or reply.code != 421:
                    raise
                self._drop()  # 421: the server closes this connection (idle, shutting down)
                if fresh or attempt == 2:
                    raise
            except (ConnectionFailed, Timeout):
                self._drop()
                if fresh or attempt == 2:
                    raise
            except DeliveryError:
                raise
        raise AssertionError("unreachable")  # pragma: no cover

    def _receipt(self, outcome: Outcome, key: str, sent_at: datetime, size: int) -> Receipt:
        msgid = self.message_id(key)
        queue = outcome.queue_id
        refused = "; ".join(f"{r}: {c} {t}" for r, (c, t) in outcome.refused.items())
        lines = [
            f"server: {self.endpoint.where}",
            f"Message-ID: <{msgid}>",
            f"DATA reply: {outcome.code} {outcome.text}",
            f"queue id: {queue or '(not stated)'}",
            f"size: {size}",
            f"accepted: {', '.join(outcome.accepted)}",
        ]
        if outcome.refused:
            lines.append(f"refused: {refused}")
        if not self.verified:
            lines.append("certificate: NOT verified (verify_certificate = false)")
        detail = f"{outcome.code} queued as {queue}" if queue else f"{outcome.code} {outcome.text}"
        if outcome.refused:
            detail += f"; refused recipients: {refused}"
        return Receipt(
            connector=self.name,
            channel=self.channel,
            message_id=msgid,
            idempotency_key=key,
            sent_at=sent_at,
            transport_proof=True,
            evidence=("\n".join(lines) + "\n").encode(),
            detail=detail,
            remote_name=queue,
        )

    def _open(self) -> Session:
        if self._session is None:
            self._session = Session(self.endpoint)
            self.connects += 1
        return self._session

    def _drop(self) -> None:
        if self._session is not None:
            self._session.close()
            self._session = None

    def close(self) -> None:
        """QUIT the kept connection (the next send opens a new one)."""
        with self._lock:
            self._drop()
        if self.bounces is not None:
            self.bounces.close()

    def __enter__(self) -> EmailConnector:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _security(value: str, host: str) -> Security:
    for mode in SECURITIES:
        if value == mode:
            if mode == "none" and not is_loopback(host):
                raise ConfigurationInvalid(
                    f"security = 'none' to {host!r}: a plain SMTP connection is allowed to "
                    "loopback hosts only (127.0.0.1, ::1, localhost); accepted: 'starttls' "
                    "or 'tls'"
                )
            return mode
    raise ConfigurationInvalid(
        f"security = {value!r}: accepted: 'starttls' (port 587), 'tls' (implicit, port 465), "
        "'none' (loopback only)"
    )


def _address(value: str, field: str, where: str) -> str:
    try:
        address = Address(addr_spec=value.strip())
    except (HeaderParseError, HeaderDefect, ValueError, IndexError) as exc:
        raise ConfigurationInvalid(
            f"{where}: {field} = {value!r}: not an e-mail address ({exc}); accepted: local@domain"
        ) from exc
    if not address.username or ("." not in address.domain and address.domain != "localhost"):
        raise ConfigurationInvalid(
            f"{where}: {field} = {value!r}: not an e-mail address; accepted: local@domain"
        )
    return address.addr_spec


def _addresses(
    value: str | Sequence[str], field: str, where: str, *, required: bool = False
) -> tuple[str, ...]:
    items = value.split(",") if isinstance(value, str) else list(value)
    found = tuple(_address(v, field, where) for v in items if v.strip())
    if required and not found:
        raise ConfigurationInvalid(
            f"{where}: {field} = {value!r}: no recipient; accepted: one or more addresses, "
            'comma separated ("ap@buyer.example, invoices@buyer.example")'
        )
    return found


def _read_receipt_to(asked: bool, to: str | None, sender: str, where: str) -> str | None:
    """The ``Disposition-Notification-To`` address: only when the buyer agreed to read
    receipts (``read_receipt = true``); ``read_receipt_to`` (default the sender, whose
    bounce mailbox reads them) is refused without it."""
    if not isinstance(asked, bool):
        raise ConfigurationInvalid(f"{where}: read_receipt = {asked!r}: accepted: true or false")
    if not asked:
        if to is not None:
            raise ConfigurationInvalid(
                f"{where}: read_receipt_to = {to!r} without read_receipt = true; accepted: "
                "read_receipt = true (only where the buyer agreed to read receipts)"
            )
        return None
    return _address(to or sender, "read_receipt_to", where)
