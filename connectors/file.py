"""FileConnector: drop each document into a folder, atomically and once per idempotency key.

The file appears complete or not at all: it is written to a hidden temporary file in the same
folder, fsynced, given the send time as its modification time, and linked into place (the folder
is fsynced too); an existing file is never replaced. Its name is
``<invoice>.<format>.<key hash>.<ext>``, so a re-send with the same idempotency key finds the
file, writes nothing and returns the same receipt (``sent_at`` is read back from the file's
mtime) — even after a restart. Same key with different bytes is an
:class:`~gateway.delivery.errors.IdempotencyConflict`.

A send killed between writing and linking (kill -9, power loss) leaves its hidden temporary
file behind. The first send of each connector (a worker start) removes such files: only names
of our temporary shape (:mod:`connectors.temp_files`) whose last change is older than
``temp_grace`` seconds (default 15 minutes: younger ones may be another worker's write in
progress), one warning log line per file removed. Buyers' files are never touched.
"""

from __future__ import annotations

import errno
import hashlib
import logging
import os
import stat
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from connectors.base import Clock, Receipt, utc_now
from connectors.temp_files import DEFAULT_TEMP_GRACE_SECONDS, is_stale, temp_name
from gateway.delivery.errors import IdempotencyConflict, from_os_error
from gateway.document import Document

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
log = logging.getLogger(__name__)


def _to_ns(moment: datetime) -> int:
    """Exact nanoseconds since the epoch (no float rounding)."""
    delta = moment.astimezone(UTC) - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 10**9 + delta.microseconds * 1_000


def _from_ns(ns: int) -> datetime:
    return _EPOCH + timedelta(microseconds=ns // 1_000)


def _place(temp: Path, target: Path) -> None:
    """Move ``temp`` to ``target`` atomically without replacing an existing file.

    ``link`` fails if ``target`` exists (a concurrent send of the same key won: its file stays);
    where the file system has no hard links, ``replace`` is the atomic fallback.
    """
    try:
        os.link(temp, target)
    except FileExistsError:
        return
    except OSError as exc:
        if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV):
            raise
        os.replace(temp, target)


class FileConnector:
    """Writes documents into ``directory`` (which must exist unless ``create`` is true)."""

    name = "file"

    def __init__(
        self,
        directory: str | os.PathLike[str],
        *,
        create: bool = False,
        clock: Clock = utc_now,
        temp_grace: float = DEFAULT_TEMP_GRACE_SECONDS,
    ) -> None:
        self.directory = Path(directory)
        self.create = create
        self.clock = clock
        self.temp_grace = temp_grace
        self.channel = f"file:{self.directory}"
        self._swept = False
        self._sweep_lock = threading.Lock()

    def remove_stale_temps(self) -> list[str]:
        """Remove the temporary files interrupted sends left in the folder (see the module
        docstring); returns their names. A folder that cannot be listed is left to ``send``."""
        removed: list[str] = []
        try:
            entries = list(os.scandir(self.directory))
        except OSError:
            return removed
        now = time.time()
        for entry in entries:
            try:
                info = entry.stat(follow_symlinks=False)
            except OSError:
                continue
            # ctime, not mtime: a send sets the mtime to its (possibly simulated) send time
            age = now - info.st_ctime
            if not stat.S_ISREG(info.st_mode) or not is_stale(entry.name, age, self.temp_grace):
                continue
            try:
                os.unlink(entry.path)
            except FileNotFoundError:
                continue
            except OSError as exc:
                log.warning(
                    "%s: could not remove stale temporary file %s: %s",
                    self.channel,
                    entry.name,
                    exc,
                )
                continue
            removed.append(entry.name)
            log.warning(
                "%s: removed stale temporary file %s (%d bytes, %.0f s old) of an interrupted send",
                self.channel,
                entry.name,
                info.st_size,
                age,
            )
        return removed

    def _sweep_once(self) -> None:
        if self._swept:
            return
        with self._sweep_lock:
            if not self._swept:
                self.remove_stale_temps()
                self._swept = True

    def target_for(self, document: Document, idempotency_key: str) -> Path:
        """Where ``document`` lands for ``idempotency_key`` (stable across processes)."""
        key = hashlib.sha256(idempotency_key.encode()).hexdigest()[:16]
        stem = document.filename.removesuffix(f".{document.extension}")
        return self.directory / f"{stem}.{key}.{document.extension}"

    def send(self, document: Document, *, delivery_id: str, idempotency_key: str) -> Receipt:
        """Drop ``document`` into the folder once per key; only DeliveryErrors escape."""
        target = self.target_for(document, idempotency_key)
        try:
            if self.create:
                self.directory.mkdir(parents=True, exist_ok=True)
            self._sweep_once()
            if target.exists():
                return self._existing(target, document, idempotency_key)
            self._write(target, document.content)
            return self._existing(target, document, idempotency_key)
        except OSError as exc:
            raise from_os_error(exc, f"{self.channel}: writing {target.name}") from exc

    def _existing(self, target: Path, document: Document, key: str) -> Receipt:
        if hashlib.sha256(target.read_bytes()).hexdigest() != document.sha256:
            raise IdempotencyConflict(
                f"{self.channel}: {target.name} exists for key {key!r} with different content"
            )
        return self._receipt(target, document, key)

    def _write(self, target: Path, content: bytes) -> None:
        temp = target.with_name(temp_name(target.name))
        try:
            with open(temp, "xb") as handle:
                handle.write(content)
                handle.flush()
                os.fsync(handle.fileno())
            sent = _to_ns(self.clock())
            os.utime(temp, ns=(sent, sent))
            _place(temp, target)
        finally:
            temp.unlink(missing_ok=True)
        directory = os.open(self.directory, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)

    def _receipt(self, target: Path, document: Document, key: str) -> Receipt:
        stat = target.stat()
        return Receipt(
            connector=self.name,
            channel=self.channel,
            message_id=target.name,
            idempotency_key=key,
            sent_at=_from_ns(stat.st_mtime_ns),
            transport_proof=True,
            evidence=f"{target} sha256={document.sha256} size={stat.st_size}".encode(),
            detail=f"written to {target}",
            remote_name=target.name,
        )
