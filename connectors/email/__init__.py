"""The ``email`` connector: each delivery as one e-mail over SMTP, the DATA reply as its proof.

Connection: ``security`` is ``"starttls"`` (default, port 587), ``"tls"`` (implicit TLS, port
465) or ``"none"`` (plain, allowed to loopback hosts only: a local relay). Certificates are
verified (system CAs, or ``ca_file`` for a private CA; ``verify_certificate = false`` only for
a test server, and every receipt then says so). ``username`` + ``password`` (a secret
reference, never a literal) for AUTH; ``timeout`` (seconds, default 30) for each SMTP step;
``helo_name`` for EHLO (default: this machine's FQDN). One connection is kept open and reused
for every send of the connector (the worker keeps one connector per channel); one that the
server dropped while idle (or answered 421) is re-opened once.

The message (:mod:`connectors.email.message`): From ``from_address`` (the seller's, with
``from_name``), To ``to`` and Cc ``cc`` (comma-separated lists), subject and a text/plain body
from the templates of ``language`` (de, en, fr shipped; ``templates`` names a folder of
``<language>.subject.txt`` / ``.body.txt`` to use instead; :mod:`connectors.email.texts`; the
variables are listed in :class:`connectors.email.facts.Facts`, its ``pay_link`` slot renders only
when a link is given, which nothing does yet), ``reply_to``, and
``attachments``: ``"document"`` (the delivery's own document, e.g. the XRechnung XML) and/or
format aliases rendered from the same invoice (``"document, pdf"`` once the PDF mapping exists;
:mod:`connectors.email.attachments`). ``Message-ID`` is ``<sha256(key)[:32].igw@domain>`` of the
idempotency key (a re-send after a crash carries the same id), ``Date`` the attempt time. With
``dkim_private_key`` (a secret reference to an RSA or Ed25519 PEM), ``dkim_selector`` and
``dkim_domain`` the message is DKIM-signed (From, To, Cc, Subject, Date, Message-ID,
MIME-Version, Content-Type; :mod:`connectors.email.signing`).

Refused before connecting: a message over ``max_bytes`` (default 10 MiB) and, once connected,
over the server's EHLO SIZE: a permanent error naming the size and the limit.

Proof: the 250 reply to DATA; the receipt's ``message_id`` is the Message-ID, its detail and
evidence name the server's queue id (``queued as ABC123``) and the recipients.

Failures: a 5xx reply to MAIL, RCPT or DATA is ``Rejected`` (permanent), a 4xx
``RemoteUnavailable`` (retried), each carrying the reply's code, text and stage
(:func:`connectors.email.errors.reply_of`); AUTH refused is ``AuthenticationFailed``; refused
connections and time-outs are retried; an untrusted certificate is ``HostKeyMismatch``.
Recipients: when every one is refused the send fails (permanent when all refusals are 5xx,
retried when any was 4xx); when some are accepted the message is sent to them and the refused
ones are named in the receipt's detail and evidence (the accepted addresses have it; a new send
would duplicate it for them).

Re-sends: an SMTP server cannot be asked whether it holds a message, so a send repeated after a
crash between the 250 and its record (or a restarted worker) delivers the e-mail once more, under
the same Message-ID (mail clients and archives recognise it); within one connector a repeated
key returns the first receipt without sending.

Bounces (DSNs that arrive later): ``poll()`` reads a bounce mailbox, IMAP (``bounce_host``,
``bounce_port``, ``bounce_security`` "tls" / "starttls" / "none" to loopback, ``bounce_username``,
``bounce_password`` by secret reference, ``bounce_mailbox``, ``bounce_move_to``,
``bounce_ca_file``) or a local Maildir (``bounce_maildir``), and yields each unread DSN
(:mod:`connectors.email.bounces`; parsed by :mod:`connectors.email.dsn`, RFC 3464); other mail
there (auto-replies, people's answers) is flagged and left unread. The polling sweep reads a
DSN as a transport Ack about the original Message-ID: a failed recipient makes it final, the
delivery FAILS with the DSN as evidence and the profile's fallback channel takes over; a delay
warning is only an event.

Profile example::

    [channel]
    connector = "email"
    [channel.options]
    host = "smtp.seller.example"
    security = "starttls"
    username = "invoices@seller.example"
    password = "env:IGW_SMTP_PASSWORD"
    from_address = "invoices@seller.example"
    from_name = "Lieferant GmbH Buchhaltung"
    to = "ap@kunde.example"
    cc = "einkauf@kunde.example"
    language = "de"
    attachments = "document"
    dkim_private_key = "file:/etc/igw/dkim/seller.pem"
    dkim_selector = "igw2026"
    dkim_domain = "seller.example"
    bounce_host = "imap.seller.example"
    bounce_username = "bounces@seller.example"
    bounce_password = "env:IGW_BOUNCE_PASSWORD"
"""

from connectors.email.connector import EmailConnector

__all__ = ["EmailConnector"]
