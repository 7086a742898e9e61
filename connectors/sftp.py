"""SftpConnector: upload documents to a partner's SFTP server, collect their acks from it.

Sending: the document is written under a hidden temporary name (``.<name>.<random>.tmp``) in
``remote_dir``, given the send time as its modification time, and renamed to its final name with
SFTP ``rename`` - which, unlike ``posix-rename@openssh.com``, never replaces an existing file
(SFTP v3; OpenSSH links then unlinks). A buyer polling the folder therefore never sees a partial
file under a real name. The final name is ``<invoice>.<format>.<key hash>.<ext>``: a re-send with
the same idempotency key finds the file (even after a restart) and returns the first receipt
when the bytes are the same, :class:`~gateway.delivery.errors.IdempotencyConflict` when not.

One connection serves every send (the worker builds a connector once and keeps it): a new SSH
handshake per file is one to two orders of magnitude slower (``bench/sftp.py``). A connection that
dropped is re-opened once and the send redone from the start - idempotent, since the existence
check finds a file whose rename went through before the drop. Sends are serialised by a lock, so
racing sends of one key deliver once.

A send killed between upload and rename (kill -9) leaves its hidden temporary file on the server;
the first session of each connector (a worker start) removes such files from ``remote_dir``: only
names of our temporary shape (:mod:`connectors.temp_files`) whose modification time is older than
``temp_grace`` seconds (default 15 minutes, by our clock against the server's - an upload in
progress keeps its file fresh), one warning log line per file removed. Buyers' files are never
touched.

Trust: the partner's host key is pinned (``host_key``; see :mod:`connectors.sftp_keys`) and
checked before authenticating; an unknown or changed key is a permanent
:class:`~gateway.delivery.errors.HostKeyMismatch` naming both fingerprints. Nothing is ever
auto-accepted. ``password``, ``private_key`` (the key text: reference it as
``"file:/path/to/id_ed25519"``) and ``private_key_passphrase`` are secret references in a profile.

Receiving (:class:`~connectors.base.Polling`): :meth:`SftpConnector.poll` yields each complete
file in ``ack_dir`` (the partner's outbound folder: CONTRL, APERAK, status files); hidden and
``.tmp``/``.part`` files are the partner's uploads in progress and are left alone.
:meth:`SftpConnector.confirm` - called once the gateway has recorded the item - moves it to
``ack_archive_dir`` (or deletes it), and only if it still holds the bytes that were recorded.

Profile example::

    [channel]
    connector = "sftp"
    options = { host = "sftp.frischmarkt.example", username = "supplier-4000001",
                private_key = "file:/etc/igw/keys/frischmarkt", remote_dir = "/in",
                host_key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI...",
                ack_dir = "/out", ack_archive_dir = "/out/done" }
"""

from __future__ import annotations

import hashlib
import logging
import posixpath
import stat
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import TypeVar

import paramiko

from connectors.base import Clock, Inbound, Receipt, utc_now
from connectors.sftp_keys import load_private_key, parse_host_key
from connectors.sftp_session import Endpoint, Session, connection_lost, open_session, translate
from connectors.temp_files import DEFAULT_TEMP_GRACE_SECONDS, is_stale, temp_name
from gateway.delivery.errors import (
    ConfigurationInvalid,
    ConnectionFailed,
    DeliveryError,
    IdempotencyConflict,
)
from gateway.document import Document

T = TypeVar("T")
RECENT_RECEIPTS = 4096
"""Receipts kept in memory: a re-send of one of them returns it without a round trip (and with
``sent_at`` to the microsecond; read back from the server it has whole seconds)."""
IN_PROGRESS = (".tmp", ".part", ".filepart", ".partial")
log = logging.getLogger(__name__)


class SftpConnector:
    """Uploads to ``remote_dir`` on an SFTP server; polls ``ack_dir`` (see the module docstring).

    Raises :class:`ConfigurationInvalid` at construction when the host key or private key
    cannot be read or no credential is given.
    """

    name = "sftp"

    def __init__(
        self,
        *,
        host: str,
        username: str,
        port: int = 22,
        password: str | None = None,
        private_key: str | None = None,
        private_key_passphrase: str | None = None,
        host_key: str | None = None,
        remote_dir: str = ".",
        ack_dir: str | None = None,
        ack_archive_dir: str | None = None,
        timeout: float = 10.0,
        clock: Clock = utc_now,
        temp_grace: float = DEFAULT_TEMP_GRACE_SECONDS,
    ) -> None:
        if password is None and private_key is None:
            raise ConfigurationInvalid(
                f"sftp://{username}@{host}:{port}: no credentials; set private_key and/or "
                'password (secret references: "file:/path" or "env:NAME")'
            )
        key = load_private_key(private_key, private_key_passphrase) if private_key else None
        self.endpoint = Endpoint(
            host=host,
            port=port,
            username=username,
            password=password,
            private_key=key,
            host_key=parse_host_key(host_key) if host_key is not None else None,
            timeout=timeout,
        )
        self.remote_dir = remote_dir
        self.ack_dir = ack_dir
        self.ack_archive_dir = ack_archive_dir
        self.clock = clock
        self.channel = _describe(self.endpoint.where, remote_dir)
        self.ack_channel = _describe(self.endpoint.where, ack_dir or "")
        self.connects = 0
        self._session: Session | None = None
        self._lock = threading.RLock()
        self._receipts: OrderedDict[str, tuple[str, Receipt]] = OrderedDict()
        self._stray_temps: list[str] = []
        self.temp_grace = temp_grace
        self._swept = False

    # -- sending --------------------------------------------------------------------------

    def target_for(self, document: Document, idempotency_key: str) -> str:
        """The remote path ``document`` lands at for ``idempotency_key`` (stable everywhere)."""
        key = hashlib.sha256(idempotency_key.encode()).hexdigest()[:16]
        stem = document.filename.removesuffix(f".{document.extension}")
        return posixpath.join(self.remote_dir, f"{stem}.{key}.{document.extension}")

    def send(self, document: Document, *, delivery_id: str, idempotency_key: str) -> Receipt:
        """Upload ``document`` once per key (temp name, then rename); only DeliveryErrors."""
        target = self.target_for(document, idempotency_key)
        with self._lock:
            known = self._receipts.get(idempotency_key)
            if known is not None:
                if known[0] != document.sha256:
                    raise self._conflict(target, idempotency_key)
                return known[1]
            sent_at = self.clock()
            receipt = self._with_session(
                f"uploading {target}",
                lambda sftp: self._upload(sftp, target, document, idempotency_key, sent_at),
            )
            self._receipts[idempotency_key] = (document.sha256, receipt)
            if len(self._receipts) > RECENT_RECEIPTS:  # the server's file stays the authority
                self._receipts.popitem(last=False)
            return receipt

    def _upload(
        self,
        sftp: paramiko.SFTPClient,
        target: str,
        document: Document,
        key: str,
        sent_at: datetime,
    ) -> Receipt:
        found = self._existing(sftp, target, document, key, sent_at)
        if found is not None:
            return found
        name = posixpath.basename(target)
        temp = posixpath.join(self.remote_dir, temp_name(name))
        self._stray_temps.append(temp)
        with sftp.open(temp, "wxb", 0) as handle:
            handle.write(document.content)
            seconds = int(sent_at.timestamp())
            handle.utime((seconds, seconds))
        try:
            sftp.rename(temp, target)
        except OSError as exc:
            if connection_lost(exc, self._session):
                raise
            # rename never replaces: a racing sender (another worker) may have won
            found = self._existing(sftp, target, document, key, sent_at)
            if found is None:
                raise
            self._remove_quietly(sftp, temp)
            return found
        self._stray_temps.remove(temp)
        return self._receipt(
            target, document, key, sent_at, f"uploaded to {target} (as {temp}, then renamed)"
        )

    def _existing(
        self,
        sftp: paramiko.SFTPClient,
        target: str,
        document: Document,
        key: str,
        sending_at: datetime,
    ) -> Receipt | None:
        """The receipt of an earlier send found at ``target``; None when nothing is there.

        Its ``sent_at`` is the file's modification time (whole seconds over SFTP) - or exactly
        ``sending_at`` when the file carries that second: our own upload of this send, whose
        rename went through just before the connection dropped.
        """
        try:
            attrs = sftp.stat(target)
        except FileNotFoundError:
            return None
        content = _read(sftp, target, attrs.st_size)
        if hashlib.sha256(content).hexdigest() != document.sha256:
            raise self._conflict(target, key)
        sent_at = datetime.fromtimestamp(attrs.st_mtime or 0, UTC)
        if attrs.st_mtime == int(sending_at.timestamp()):
            sent_at = sending_at
        return self._receipt(target, document, key, sent_at, f"already on the server: {target}")

    def _conflict(self, target: str, key: str) -> IdempotencyConflict:
        return IdempotencyConflict(
            f"{self.channel}: {posixpath.basename(target)} exists for idempotency key {key!r} "
            "with different content; a re-send must carry the same bytes"
        )

    def _receipt(
        self, target: str, document: Document, key: str, sent_at: datetime, detail: str
    ) -> Receipt:
        evidence = (
            f"{self.endpoint.where} {target} sha256={document.sha256} "
            f"size={len(document.content)} host-key={self._host_fingerprint()}"
        )
        return Receipt(
            connector=self.name,
            channel=self.channel,
            message_id=posixpath.basename(target),
            idempotency_key=key,
            sent_at=sent_at,
            transport_proof=True,
            evidence=evidence.encode(),
            detail=detail,
            remote_name=target,
        )

    def _host_fingerprint(self) -> str:
        pinned = self.endpoint.host_key
        return pinned.fingerprint if pinned is not None else "?"

    # -- receiving ------------------------------------------------------------------------

    def poll(self) -> Iterator[Inbound]:
        """Each complete file waiting in ``ack_dir``, oldest first; each stays there until
        :meth:`confirm`. Nothing when no ``ack_dir`` is configured."""
        folder = self.ack_dir
        if folder is None:
            return
        with self._lock:
            listing = self._with_session(f"listing {folder}", lambda s: s.listdir_attr(folder))
        waiting = [
            a
            for a in listing
            if stat.S_ISREG(a.st_mode or 0)
            and not a.filename.startswith(".")
            and not a.filename.endswith(IN_PROGRESS)
        ]
        for attrs in sorted(waiting, key=lambda a: (a.st_mtime or 0, a.filename)):
            path = posixpath.join(folder, attrs.filename)
            with self._lock:
                content = self._with_session(f"reading {path}", _reader(path))
            if content is None or len(content) != attrs.st_size:
                continue  # gone meanwhile, or still being written: next poll
            yield Inbound(
                connector=self.name,
                channel=self.ack_channel,
                content=content,
                received_at=self.clock(),
                name=attrs.filename,
            )

    def confirm(self, item: Inbound) -> None:
        """``item`` is recorded: move it to ``ack_archive_dir`` (or delete it). A file that
        changed since it was polled is left for the next poll; one already gone is fine."""
        if self.ack_dir is None:
            raise ConfigurationInvalid(f"{self.ack_channel}: confirm without an ack_dir")
        source = posixpath.join(self.ack_dir, item.name)
        with self._lock:
            self._with_session(f"confirming {source}", lambda s: self._let_go(s, source, item))

    def _let_go(self, sftp: paramiko.SFTPClient, source: str, item: Inbound) -> None:
        digest = hashlib.sha256(item.content).hexdigest()
        content = _read_if_there(sftp, source)
        if content is None or hashlib.sha256(content).hexdigest() != digest:
            return  # already moved (a confirm whose answer was lost), or a new file: keep it
        if self.ack_archive_dir is None:
            sftp.remove(source)
            return
        archived = posixpath.join(self.ack_archive_dir, item.name)
        try:
            sftp.rename(source, archived)
            return
        except OSError as exc:
            if connection_lost(exc, self._session) or _read_if_there(sftp, archived) is None:
                raise
        # the archive holds that name already: the same bytes (drop ours) or others (keep both)
        if hashlib.sha256(_read(sftp, archived)).hexdigest() == digest:
            sftp.remove(source)
        else:
            sftp.rename(source, f"{archived}.{digest[:16]}")

    # -- the connection -------------------------------------------------------------------

    def _with_session(self, what: str, action: Callable[[paramiko.SFTPClient], T]) -> T:
        """Run ``action`` on the open session (opened on demand); a dropped connection is
        re-opened once and ``action`` run again from the start. Only DeliveryErrors escape."""
        where = f"{self.channel}: {what}"
        for attempt in (1, 2):
            session = self._open()
            try:
                self._clean_strays(session.sftp)
                self._sweep_once(session.sftp)
                return action(session.sftp)
            except DeliveryError:
                raise
            except Exception as exc:
                lost = connection_lost(exc, session)
                if lost or not session.alive or isinstance(exc, TimeoutError):
                    self._drop_session()
                if lost and attempt == 1:
                    continue
                if lost:
                    raise ConnectionFailed(f"{where}: connection lost again: {exc}") from exc
                raise translate(exc, where) from exc
        raise AssertionError("unreachable")  # pragma: no cover

    def _open(self) -> Session:
        if self._session is not None and self._session.alive:
            return self._session
        self._drop_session()
        self._session = open_session(self.endpoint)
        self.connects += 1
        return self._session

    def _drop_session(self) -> None:
        if self._session is not None:
            self._session.close()
            self._session = None

    def _clean_strays(self, sftp: paramiko.SFTPClient) -> None:
        """Remove temporary files an interrupted upload left (best effort: they are hidden)."""
        while self._stray_temps:
            self._remove_quietly(sftp, self._stray_temps.pop())

    def _sweep_once(self, sftp: paramiko.SFTPClient) -> None:
        """Once per connector: remove the stale temporary files of killed sends (see the
        module docstring). Best effort: a folder that cannot be listed is left to the send."""
        if self._swept:
            return
        try:
            entries = sftp.listdir_attr(self.remote_dir)
        except OSError as exc:
            if connection_lost(exc, self._session):
                raise
            self._swept = True
            return
        now = time.time()
        for entry in entries:
            age = now - (entry.st_mtime or 0)
            if not stat.S_ISREG(entry.st_mode or 0):
                continue
            if not is_stale(entry.filename, age, self.temp_grace):
                continue
            path = posixpath.join(self.remote_dir, entry.filename)
            try:
                sftp.remove(path)
            except OSError as exc:
                if connection_lost(exc, self._session):
                    raise
                log.warning(
                    "%s: could not remove stale temporary file %s: %s",
                    self.channel,
                    entry.filename,
                    exc,
                )
                continue
            log.warning(
                "%s: removed stale temporary file %s (%d bytes, %.0f s old) of an interrupted send",
                self.channel,
                entry.filename,
                entry.st_size or 0,
                age,
            )
        self._swept = True

    def _remove_quietly(self, sftp: paramiko.SFTPClient, path: str) -> None:
        try:
            sftp.remove(path)
        except OSError as exc:
            if connection_lost(exc, self._session):
                raise

    def close(self) -> None:
        """Close the connection (the next send opens a new one)."""
        with self._lock:
            self._drop_session()

    def __enter__(self) -> SftpConnector:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _describe(where: str, folder: str) -> str:
    """``sftp://user@host:port/in`` (a folder relative to the login folder: ``.../~/in``)."""
    if folder.startswith("/"):
        return f"{where}{posixpath.normpath(folder)}"
    relative = posixpath.normpath(folder)
    return f"{where}/~" if relative == "." else f"{where}/~/{relative}"


def _read(sftp: paramiko.SFTPClient, path: str, size: int | None = None) -> bytes:
    """The file's bytes (read ahead in parallel requests; ``size`` saves a stat)."""
    with sftp.open(path, "rb") as handle:
        handle.prefetch(size)
        return handle.read()


def _reader(path: str) -> Callable[[paramiko.SFTPClient], bytes | None]:
    return lambda sftp: _read_if_there(sftp, path)


def _read_if_there(sftp: paramiko.SFTPClient, path: str) -> bytes | None:
    try:
        return _read(sftp, path)
    except FileNotFoundError:
        return None
