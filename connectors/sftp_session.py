"""One SSH connection with its SFTP session, and the translation of what goes wrong on it.

:func:`open_session` connects, checks the pinned host key before anything else, then
authenticates (key, then password when the server asks for both). :func:`translate` turns a
paramiko/socket failure met while doing something into the gateway's own delivery error;
:func:`connection_lost` tells a dropped connection (worth one reconnect) from an answer.
"""

from __future__ import annotations

import contextlib
import socket
from dataclasses import dataclass

import paramiko
from paramiko.ssh_exception import IncompatiblePeer

from connectors.sftp_keys import PinnedHostKey, describe, public_line
from gateway.delivery.errors import (
    AuthenticationFailed,
    ConnectionFailed,
    DeliveryError,
    HostKeyMismatch,
    RemoteUnavailable,
    Timeout,
    from_os_error,
)


@dataclass(frozen=True)
class Endpoint:
    """Where and as whom to connect (secrets already resolved)."""

    host: str
    port: int
    username: str
    password: str | None
    private_key: paramiko.PKey | None
    host_key: PinnedHostKey | None
    timeout: float

    @property
    def where(self) -> str:
        return f"sftp://{self.username}@{self.host}:{self.port}"


class Session:
    """An authenticated SFTP session; :meth:`close` ends it (idempotent)."""

    def __init__(self, transport: paramiko.Transport, sftp: paramiko.SFTPClient) -> None:
        self.transport, self.sftp = transport, sftp

    @property
    def alive(self) -> bool:
        """Whether the connection and its SFTP channel are still open."""
        channel = self.sftp.get_channel()
        return self.transport.is_active() and channel is not None and not channel.closed

    def close(self) -> None:
        with contextlib.suppress(Exception):  # closing a broken session must not raise
            self.sftp.close()
        with contextlib.suppress(Exception):
            self.transport.close()


def open_session(endpoint: Endpoint) -> Session:
    """Connect, verify the host key, authenticate, start SFTP; raises only DeliveryErrors."""
    where = endpoint.where
    try:
        sock = socket.create_connection((endpoint.host, endpoint.port), endpoint.timeout)
    except OSError as exc:
        raise from_os_error(exc, f"{where}: connecting") from exc
    # SFTP is request/answer with small packets: without this, Nagle's algorithm and delayed
    # ACKs hold packets back (2.5x the upload rate on loopback, ~6x per new connection)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    transport = paramiko.Transport(sock)
    try:
        return _handshake(transport, endpoint)
    except BaseException:
        transport.close()
        raise


def _handshake(transport: paramiko.Transport, endpoint: Endpoint) -> Session:
    where, pinned = endpoint.where, endpoint.host_key
    transport.banner_timeout = transport.handshake_timeout = endpoint.timeout
    transport.auth_timeout = endpoint.timeout
    if pinned is not None and pinned.algorithms is not None:
        transport.get_security_options().key_types = pinned.algorithms
    try:
        transport.start_client(timeout=endpoint.timeout)
    except IncompatiblePeer as exc:
        if pinned is not None and pinned.key is not None:
            raise HostKeyMismatch(
                f"{where}: the server has no {pinned.key.get_name()} host key (the pinned "
                f"key is {describe(pinned.key)}): {exc}"
            ) from exc
        raise translate(exc, f"{where}: SSH handshake") from exc
    except (paramiko.SSHException, EOFError, OSError) as exc:
        raise translate(exc, f"{where}: SSH handshake") from exc
    offered = transport.get_remote_server_key()
    if pinned is None:
        raise HostKeyMismatch(
            f"{where}: no host key pinned (host_key), so the server's key cannot be trusted; it "
            f"offered {describe(offered)}. Confirm this fingerprint with the partner, then set "
            f'host_key = "{public_line(offered)}"'
        )
    pinned.check(offered, where)
    _authenticate(transport, endpoint)
    try:
        sftp = paramiko.SFTPClient.from_transport(transport)
    except (paramiko.SSHException, EOFError, OSError) as exc:
        raise translate(exc, f"{where}: starting SFTP") from exc
    if sftp is None:
        raise ConnectionFailed(f"{where}: the server opened no SFTP session")
    sftp.get_channel().settimeout(endpoint.timeout)  # type: ignore[union-attr]
    return Session(transport, sftp)


def _authenticate(transport: paramiko.Transport, endpoint: Endpoint) -> None:
    where, user = endpoint.where, endpoint.username
    try:
        remaining: list[str] = []
        if endpoint.private_key is not None:
            remaining = transport.auth_publickey(user, endpoint.private_key)
            if remaining and endpoint.password is not None:  # the server wants key AND password
                transport.auth_password(user, endpoint.password)
        elif endpoint.password is not None:
            transport.auth_password(user, endpoint.password)
    except paramiko.BadAuthenticationType as exc:
        raise AuthenticationFailed(
            f"{where}: the server does not accept this kind of login; it allows "
            f"{', '.join(exc.allowed_types) or 'nothing'} (set private_key and/or password)"
        ) from exc
    except paramiko.AuthenticationException as exc:
        method = "key" if endpoint.private_key is not None else "password"
        raise AuthenticationFailed(
            f"{where}: login refused for user {user!r} with the configured {method}"
        ) from exc
    except (paramiko.SSHException, EOFError, OSError) as exc:
        raise translate(exc, f"{where}: authenticating") from exc
    if not transport.is_authenticated():
        raise AuthenticationFailed(
            f"{where}: the server wants more than the configured credentials for {user!r}"
        )


def connection_lost(exc: BaseException, session: Session | None) -> bool:
    """Whether ``exc`` means the connection went away (not a timeout, not an SFTP answer)."""
    if isinstance(exc, (TimeoutError, DeliveryError)):
        return False
    if isinstance(exc, (EOFError, ConnectionError, paramiko.SSHException, paramiko.SFTPError)):
        return True
    return isinstance(exc, OSError) and (session is None or not session.alive)


def translate(exc: BaseException, what: str) -> DeliveryError:
    """The delivery error for ``exc`` met while doing ``what`` (raise it ``from exc``)."""
    if isinstance(exc, DeliveryError):
        return exc
    if isinstance(exc, TimeoutError) or "timed out" in str(exc).lower():
        return Timeout(f"{what}: no answer in time ({exc or 'timeout'})")
    if isinstance(exc, (EOFError, paramiko.SSHException, paramiko.SFTPError)):
        return ConnectionFailed(f"{what}: connection failed: {exc or type(exc).__name__}")
    if isinstance(exc, OSError):
        if exc.errno is None and not isinstance(exc, ConnectionError):
            # an SFTP failure status without a code: the server could not do it now
            return RemoteUnavailable(
                f"{what}: the server answered {exc.args[0] if exc.args else exc!r}"
            )
        return from_os_error(exc, what)
    return ConnectionFailed(f"{what}: {type(exc).__name__}: {exc}")
