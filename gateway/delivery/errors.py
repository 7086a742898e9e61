"""Delivery errors: the only exceptions a ``Connector.send`` may raise.

Policy lives on the class (STYLE 4): ``retryable`` says whether the worker tries again with
backoff, ``resulting_state`` is the delivery state the attempt leaves behind. The table:

=========================  =========  ===========  ==========================================
class                      retryable  state        when
=========================  =========  ===========  ==========================================
TransientDeliveryError     yes        QUEUED       any passing failure (base class)
ConnectionFailed           yes        QUEUED       refused, reset, DNS, network unreachable
Timeout                    yes        QUEUED       no answer in time (outcome unknown: re-send
                                                   is safe because sends are idempotent)
RateLimited                yes        QUEUED       remote asked to slow down (``retry_after``)
RemoteUnavailable          yes        QUEUED       remote 5xx / busy / disk full
PermanentDeliveryError     no         FAILED       failure a retry cannot fix (base class)
Rejected                   no         FAILED       remote refused the document itself
AuthenticationFailed       no         FAILED       credentials refused / permission denied
ConfigurationInvalid       no         FAILED       the channel's settings are wrong (missing
                                                   folder, bad URL, missing secret)
HostKeyMismatch            no         FAILED       SFTP host key / TLS certificate not trusted
IdempotencyConflict        no         FAILED       same idempotency key, different bytes
=========================  =========  ===========  ==========================================

``FAILED`` then moves the delivery to the next channel in the profile's fallback chain (if any).
Foreign exceptions are translated once, at the connector boundary: ``raise X(...) from exc``;
:func:`from_os_error` does it for ``OSError``.
"""

from __future__ import annotations

import errno
from typing import ClassVar

from gateway.errors import GatewayError

QUEUED = "QUEUED"
FAILED = "FAILED"


class DeliveryError(GatewayError):
    """A send did not succeed. Subclasses set ``retryable`` and ``resulting_state``.

    ``ends_transmission``: the remote answered this transmission with a refusal it remembers
    (an error MDN, an HTTP refusal), so a later re-send must be a new transmission with a new
    message id (a partner refuses a message id it saw fail again). Default: permanent errors
    end it, transient ones (no answer: the remote may hold the message) keep it; a connector
    passes ``ends_transmission=`` where it knows better (an MDN it cannot verify says nothing
    about what the partner holds).
    """

    retryable: ClassVar[bool] = False
    resulting_state: ClassVar[str] = FAILED

    def __init__(
        self, message: str, *, evidence: bytes = b"", ends_transmission: bool | None = None
    ) -> None:
        self.evidence = evidence
        self.ends_transmission = (
            not self.retryable if ends_transmission is None else ends_transmission
        )
        super().__init__(message)


class TransientDeliveryError(DeliveryError):
    """A failure that may pass: the delivery goes back to QUEUED and is retried with backoff."""

    retryable = True
    resulting_state = QUEUED


class ConnectionFailed(TransientDeliveryError):
    """The remote could not be reached (refused, reset, DNS, unreachable)."""


class Timeout(TransientDeliveryError):
    """No answer in time; the outcome is unknown, so the (idempotent) send is repeated."""


class RemoteUnavailable(TransientDeliveryError):
    """The remote is there but cannot take it now (HTTP 5xx, busy, disk full)."""


class RateLimited(TransientDeliveryError):
    """The remote asked to slow down; ``retry_after`` seconds (if it said) before the next try."""

    def __init__(
        self, message: str, *, retry_after: float | None = None, evidence: bytes = b""
    ) -> None:
        self.retry_after = retry_after
        super().__init__(message, evidence=evidence)


class PermanentDeliveryError(DeliveryError):
    """A failure a retry cannot fix: FAILED, then the next channel of the fallback chain."""

    retryable = False
    resulting_state = FAILED


class Rejected(PermanentDeliveryError):
    """The remote refused the document itself (HTTP 4xx on content, negative MDN)."""


class AuthenticationFailed(PermanentDeliveryError):
    """Credentials refused or permission denied."""


class ConfigurationInvalid(PermanentDeliveryError):
    """The channel's own settings are wrong (missing folder, bad URL, unreadable secret)."""


class HostKeyMismatch(PermanentDeliveryError):
    """The remote's host key or certificate is not the trusted one."""


class IdempotencyConflict(PermanentDeliveryError):
    """The idempotency key was already used for different bytes (a re-send must be identical)."""


def policy_table() -> list[tuple[str, bool, str]]:
    """(class name, retryable, resulting state) for every delivery error class, base first."""
    seen: list[type[DeliveryError]] = []
    todo: list[type[DeliveryError]] = [DeliveryError]
    while todo:
        cls = todo.pop(0)
        seen.append(cls)
        todo.extend(cls.__subclasses__())
    return [(c.__name__, c.retryable, c.resulting_state) for c in seen]


_TRANSIENT_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EAGAIN, errno.EBUSY, errno.EIO, errno.EINTR}
_CONFIG_ERRNOS = {errno.ENOENT, errno.ENOTDIR, errno.EISDIR, errno.EROFS, errno.ENAMETOOLONG}


def from_os_error(exc: OSError, what: str) -> DeliveryError:
    """The delivery error for an ``OSError`` met while doing ``what`` (raise it ``from exc``)."""
    text = f"{what}: {exc.strerror or exc}"
    if isinstance(exc, TimeoutError):
        return Timeout(text)
    if isinstance(exc, ConnectionError) or exc.errno in {errno.EHOSTUNREACH, errno.ENETUNREACH}:
        return ConnectionFailed(text)
    if isinstance(exc, PermissionError):
        return AuthenticationFailed(text)
    if exc.errno in _CONFIG_ERRNOS or isinstance(exc, (FileNotFoundError, NotADirectoryError)):
        return ConfigurationInvalid(text)
    if exc.errno in _TRANSIENT_ERRNOS:
        return RemoteUnavailable(text)
    return ConnectionFailed(text)
