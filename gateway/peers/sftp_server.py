"""A real SFTP server on loopback (paramiko) serving one local folder: the demo's and tests' SFTP
partner.

It speaks SSH and SFTP v3 for real: password and public-key authentication, a stable host key
(kept in a file when one is named, so the pinned key survives restarts), every client path
jailed under ``root``. ``rename`` never replaces an existing file (like OpenSSH: link, then
unlink); ``posix-rename@openssh.com`` does. Knobs for tests:

- :meth:`SftpServer.drop_after` — cut the TCP connection at the n-th SFTP request from now,
  before running it or after running it but before the answer goes out (the client cannot tell
  whether it happened);
- :meth:`SftpServer.stall_next` — the next request is never answered (until :meth:`release`
  or :meth:`stop`);
- :meth:`SftpServer.deny_writes` — writes, renames and removals under a folder are refused
  (permission denied), as on a partner's misconfigured server;
- :meth:`SftpServer.observe` — a callback sees each file operation right after the server ran
  it (on the server's thread), to check the server-side view of a folder during an upload.

Example::

    with SftpServer(tmp_path / "root", users={"gw": "secret"}) as server:
        connector = SftpConnector(host="127.0.0.1", port=server.port, username="gw",
                                  password="secret", host_key=server.host_key_line,
                                  remote_dir="/in")
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import errno
import io
import logging
import os
import posixpath
import socket
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import paramiko
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from paramiko.common import (
    AUTH_FAILED,
    AUTH_SUCCESSFUL,
    OPEN_FAILED_ADMINISTRATIVELY_PROHIBITED,
    OPEN_SUCCEEDED,
)
from paramiko.sftp import CMD_NAMES, SFTP_OK, SFTP_PERMISSION_DENIED

if TYPE_CHECKING:
    from _typeshed import ReadableBuffer

Phase = Literal["before", "after"]
logging.getLogger(__name__).addHandler(logging.NullHandler())


@dataclass(frozen=True)
class SftpEvent:
    """One file operation the server ran: ``op`` (open, write, close, rename, posix_rename,
    remove, mkdir, rmdir, setstat) and the client paths it named."""

    op: str
    paths: tuple[str, ...]


Observer = Callable[[SftpEvent], None]


def generate_host_key(path: str | os.PathLike[str] | None = None) -> paramiko.PKey:
    """A new Ed25519 key; written to ``path`` (OpenSSH private format, mode 0600) when given."""
    text = (
        Ed25519PrivateKey.generate()
        .private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.OpenSSH,
            serialization.NoEncryption(),
        )
        .decode()
    )
    if path is not None:
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            handle.write(text)
    return paramiko.Ed25519Key(file_obj=io.StringIO(text))


def load_host_key(path: str | os.PathLike[str]) -> paramiko.PKey:
    """The host key kept in ``path``, created there on first use (stable across restarts)."""
    if not Path(path).exists():
        return generate_host_key(path)
    return paramiko.PKey.from_path(Path(path))


def public_line(key: paramiko.PKey) -> str:
    """``ssh-ed25519 AAAA...``: the form a partner's host key is pinned in."""
    return f"{key.get_name()} {key.get_base64()}"


class _Knobs:
    """The test knobs, shared by every connection of one server."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.released = threading.Event()
        self.reset()

    def reset(self) -> None:
        with self.lock:
            self.drop_at: int | None = None
            self.drop_phase: Phase = "before"
            self.drop_every: int | None = None
            self.drop_times = 0
            self.drop_channel_only = False
            self.stall = False
            self.denied: tuple[str, ...] = ()
            self.observers: list[Observer] = []
            self.operations = 0
            self.released.set()

    def on_request(self) -> str | None:
        """Count one SFTP request; the knob action for it, if any."""
        with self.lock:
            self.operations += 1
            if self.stall:
                self.stall = False
                return "stall"
            if self.drop_at is not None:
                self.drop_at -= 1
                if self.drop_at == 0:
                    self.drop_times -= 1
                    self.drop_at = self.drop_every if self.drop_times > 0 else None
                    return f"drop-{self.drop_phase}"
        return None


class _Auth(paramiko.ServerInterface):
    """Password and public-key authentication against the server's user tables."""

    def __init__(self, peer: SftpServer) -> None:
        self.peer = peer

    def check_channel_request(self, kind: str, chanid: int) -> int:
        if kind == "session":
            return OPEN_SUCCEEDED
        return OPEN_FAILED_ADMINISTRATIVELY_PROHIBITED

    def get_allowed_auths(self, username: str) -> str:
        return "password,publickey"

    def check_auth_password(self, username: str, password: str) -> int:
        self.peer.logins.append((username, "password"))
        if username in self.peer.users and self.peer.users[username] == password:
            return AUTH_SUCCESSFUL
        return AUTH_FAILED

    def check_auth_publickey(self, username: str, key: paramiko.PKey) -> int:
        self.peer.logins.append((username, "publickey"))
        allowed = self.peer.authorized_keys.get(username, ())
        if any(k.asbytes() == key.asbytes() for k in allowed):
            return AUTH_SUCCESSFUL
        return AUTH_FAILED


class _Handle(paramiko.SFTPHandle):
    """An open file; writes and attribute changes are reported to the observers."""

    def __init__(self, folder: _Folder, path: str, local: str, handle: Any, flags: int) -> None:
        super().__init__(flags)
        self.folder, self.path, self.local = folder, path, local
        self.readfile = handle
        self.writefile = handle

    def write(self, offset: int, data: ReadableBuffer) -> int:
        result: int = super().write(offset, data)
        self.writefile.flush()
        self.folder.event("write", self.path)
        return result

    def close(self) -> None:
        super().close()
        self.folder.event("close", self.path)

    def stat(self) -> paramiko.SFTPAttributes | int:
        try:
            return paramiko.SFTPAttributes.from_stat(os.fstat(self.readfile.fileno()))
        except OSError as exc:
            return _status(exc)

    def chattr(self, attr: paramiko.SFTPAttributes) -> int:
        return self.folder.chattr(self.path, attr)


class _Folder(paramiko.SFTPServerInterface):
    """SFTP operations on the server's folder; every client path is jailed under ``root``."""

    def __init__(self, server: _Auth, *args: Any, **kwargs: Any) -> None:
        super().__init__(server, *args, **kwargs)
        self.peer = server.peer

    def event(self, op: str, *paths: str) -> None:
        self.peer._notify(SftpEvent(op, paths))

    def canonicalize(self, path: str) -> str:
        return posixpath.normpath(posixpath.join("/", path))

    def _local(self, path: str) -> str:
        return str(self.peer.root / self.canonicalize(path).lstrip("/"))

    def _denied(self, *paths: str) -> bool:
        for path in paths:
            clean = self.canonicalize(path).strip("/") + "/"
            if any(clean.startswith(prefix.strip("/") + "/") for prefix in self.peer._knobs.denied):
                return True
        return False

    def list_folder(self, path: str) -> list[paramiko.SFTPAttributes] | int:
        local = self._local(path)
        try:
            found = []
            for name in os.listdir(local):
                attr = paramiko.SFTPAttributes.from_stat(os.lstat(os.path.join(local, name)))
                attr.filename = name
                found.append(attr)
            return found
        except OSError as exc:
            return _status(exc)

    def stat(self, path: str) -> paramiko.SFTPAttributes | int:
        try:
            return paramiko.SFTPAttributes.from_stat(os.stat(self._local(path)))
        except OSError as exc:
            return _status(exc)

    lstat = stat

    def open(self, path: str, flags: int, attr: paramiko.SFTPAttributes) -> _Handle | int:
        writing = flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC)
        if writing and self._denied(path):
            return SFTP_PERMISSION_DENIED
        local = self._local(path)
        try:
            descriptor = os.open(local, flags, 0o644)
        except OSError as exc:
            return _status(exc)
        if flags & os.O_WRONLY:
            mode = "ab" if flags & os.O_APPEND else "wb"
        elif flags & os.O_RDWR:
            mode = "a+b" if flags & os.O_APPEND else "r+b"
        else:
            mode = "rb"
        handle = _Handle(self, path, local, os.fdopen(descriptor, mode), flags)
        self.event("open", path)
        return handle

    def remove(self, path: str) -> int:
        return self._run("remove", (path,), lambda: os.remove(self._local(path)))

    def rename(self, oldpath: str, newpath: str) -> int:
        """Never replaces ``newpath`` (SFTP v3: renaming onto an existing name is an error)."""

        def link_then_unlink() -> None:
            os.link(self._local(oldpath), self._local(newpath))
            os.unlink(self._local(oldpath))

        return self._run("rename", (oldpath, newpath), link_then_unlink)

    def posix_rename(self, oldpath: str, newpath: str) -> int:
        return self._run(
            "posix_rename",
            (oldpath, newpath),
            lambda: os.rename(self._local(oldpath), self._local(newpath)),
        )

    def mkdir(self, path: str, attr: paramiko.SFTPAttributes) -> int:
        return self._run("mkdir", (path,), lambda: os.mkdir(self._local(path)))

    def rmdir(self, path: str) -> int:
        return self._run("rmdir", (path,), lambda: os.rmdir(self._local(path)))

    def chattr(self, path: str, attr: paramiko.SFTPAttributes) -> int:
        if attr.st_mtime is not None and attr.st_atime is not None:
            mtime, atime = attr.st_mtime, attr.st_atime
            local = self._local(path)
            return self._run("setstat", (path,), lambda: os.utime(local, (atime, mtime)))
        return SFTP_OK

    def _run(self, op: str, paths: tuple[str, ...], action: Callable[[], None]) -> int:
        if self._denied(*paths):
            return SFTP_PERMISSION_DENIED
        try:
            action()
        except OSError as exc:
            return _status(exc)
        self.event(op, *paths)
        return SFTP_OK


class _Subsystem(paramiko.SFTPServer):
    """paramiko's SFTP subsystem with the knobs applied to each request."""

    _drop_on_reply = False

    def _process(self, t: int, request_number: int, msg: paramiko.Message) -> None:
        auth = self.get_server()
        assert isinstance(auth, _Auth)
        peer = auth.peer
        action = peer._knobs.on_request()
        if action == "stall":
            peer._knobs.released.clear()
            peer._knobs.released.wait()
            self._drop()
            return
        if action == "drop-before":
            self._drop()
            return
        self._drop_on_reply = action == "drop-after"
        super()._process(t, request_number, msg)  # type: ignore[misc]

    def _send_packet(self, t: int, packet: paramiko.Message) -> None:
        if self._drop_on_reply:
            self._drop_on_reply = False
            self._drop()
            raise EOFError(f"connection dropped before answering {CMD_NAMES.get(t, t)}")
        super()._send_packet(t, packet)  # type: ignore[misc]

    def _drop(self) -> None:
        channel = self.sock
        if channel is None:
            return
        auth = self.get_server()
        if isinstance(auth, _Auth) and auth.peer._knobs.drop_channel_only:
            channel.close()
            return
        transport = channel.get_transport()
        with contextlib.suppress(OSError):
            transport.sock.shutdown(socket.SHUT_RDWR)
        transport.close()


class SftpServer:
    """An SFTP server on ``host`` (loopback) serving ``root``; a context manager (start/stop).

    ``users`` maps user names to passwords, ``authorized_keys`` user names to public keys
    (``PKey`` or ``"ssh-ed25519 AAAA..."`` lines). ``host_key``: a key, or the path of a key
    file created on first use (the same key every start); default a new key per server.
    ``extra_host_keys`` are offered too (a client then picks by its preferred algorithms).
    ``port`` 0 picks a free port (see :attr:`port` once started). :attr:`connections` counts
    accepted connections, :attr:`logins` the (user, method) of each authentication attempt.
    """

    def __init__(
        self,
        root: str | os.PathLike[str],
        *,
        users: Mapping[str, str] | None = None,
        authorized_keys: Mapping[str, Iterable[paramiko.PKey | str]] | None = None,
        host_key: paramiko.PKey | str | os.PathLike[str] | None = None,
        extra_host_keys: Sequence[paramiko.PKey] = (),
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        if host not in {"127.0.0.1", "::1", "localhost"}:
            raise ValueError(f"SftpServer serves loopback only, not {host!r}")
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.users = dict(users or {})
        self.authorized_keys = {
            name: [_public_key(k) for k in keys] for name, keys in (authorized_keys or {}).items()
        }
        if isinstance(host_key, paramiko.PKey):
            self.host_key = host_key
        elif host_key is not None:
            self.host_key = load_host_key(host_key)
        else:
            self.host_key = generate_host_key()
        self.host_keys = [self.host_key, *extra_host_keys]
        self.host = host
        self.port = port
        self.connections = 0
        self.logins: list[tuple[str, str]] = []
        self.errors: list[BaseException] = []
        self._knobs = _Knobs()
        self._listener: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self._transports: list[paramiko.Transport] = []
        self._lock = threading.Lock()

    # -- identity ---------------------------------------------------------------------------

    @property
    def host_key_line(self) -> str:
        """The host key as a client pins it: ``ssh-ed25519 AAAA...``."""
        return public_line(self.host_key)

    @property
    def fingerprint(self) -> str:
        """The host key's ``SHA256:...`` fingerprint (as ``ssh-keygen -l`` prints it)."""
        return str(self.host_key.fingerprint)

    # -- knobs ------------------------------------------------------------------------------

    @property
    def operations(self) -> int:
        """SFTP requests received since start (or the last :meth:`reset`)."""
        return self._knobs.operations

    def drop_after(
        self,
        requests: int,
        phase: Phase = "before",
        *,
        times: int = 1,
        channel_only: bool = False,
    ) -> None:
        """Cut the connection at the ``requests``-th SFTP request from now (1 = the next one),
        ``before`` running it or ``after`` running it but before answering; ``times`` > 1
        repeats the cut every ``requests`` requests. ``channel_only`` closes just the SFTP
        channel and keeps the SSH connection (a server ending idle SFTP sessions)."""
        with self._knobs.lock:
            knobs = self._knobs
            knobs.drop_at, knobs.drop_every, knobs.drop_phase = requests, requests, phase
            knobs.drop_times, knobs.drop_channel_only = times, channel_only

    def stall_next(self) -> None:
        """Never answer the next SFTP request (until :meth:`release` or :meth:`stop`)."""
        with self._knobs.lock:
            self._knobs.stall = True

    def release(self) -> None:
        """Let a stalled request go (its connection is then dropped)."""
        self._knobs.released.set()

    def deny_writes(self, *folders: str) -> None:
        """Refuse writes, renames and removals under ``folders`` (none: allow all again)."""
        with self._knobs.lock:
            self._knobs.denied = tuple(folders)

    def observe(self, observer: Observer) -> None:
        """Call ``observer`` after each file operation (on the server thread). An exception it
        raises is kept in :attr:`errors` (the operation itself goes on)."""
        with self._knobs.lock:
            self._knobs.observers.append(observer)

    def reset(self) -> None:
        """Clear every knob and observer and the operation count."""
        self._knobs.reset()

    def _notify(self, event: SftpEvent) -> None:
        for observer in list(self._knobs.observers):
            try:
                observer(event)
            except Exception as exc:  # a test's check failed: reported through .errors
                self.errors.append(exc)

    # -- life cycle -------------------------------------------------------------------------

    def start(self) -> SftpServer:
        """Listen and serve in a background thread; returns self (``port`` is then set)."""
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        listener = socket.socket(family, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((self.host, self.port))
        listener.listen(64)
        self.port = listener.getsockname()[1]
        self._listener = listener
        self._thread = threading.Thread(target=self._accept, name="sftp-server", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop listening, release stalled requests and close every connection."""
        self._knobs.released.set()
        if self._listener is not None:
            with contextlib.suppress(OSError):
                self._listener.shutdown(socket.SHUT_RDWR)
            self._listener.close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        with self._lock:
            transports, self._transports = self._transports, []
        for transport in transports:
            transport.close()

    def __enter__(self) -> SftpServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _accept(self) -> None:
        assert self._listener is not None
        while True:
            try:
                connection, _ = self._listener.accept()
            except OSError:
                return  # the listener was closed: stop
            try:
                self._serve(connection)
            except Exception as exc:  # one broken handshake must not stop the server
                self.errors.append(exc)
                connection.close()

    def _serve(self, connection: socket.socket) -> None:
        connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        transport = paramiko.Transport(connection)
        # a client hanging up is normal here: paramiko's log of it goes to our logger (silent
        # unless the application configures logging), not to stderr
        transport.set_log_channel(f"{__name__}.transport")
        for key in self.host_keys:
            transport.add_server_key(key)
        transport.set_subsystem_handler("sftp", _Subsystem, _Folder)
        with self._lock:
            self.connections += 1
            self._transports = [t for t in self._transports if t.is_active()] + [transport]
        # with an event, start_server returns at once: one slow client never holds the others
        transport.start_server(event=threading.Event(), server=_Auth(self))


def _status(exc: OSError) -> int:
    """The SFTP status code for an ``OSError`` on the server's side."""
    return paramiko.SFTPServer.convert_errno(exc.errno or errno.EIO)


def _public_key(key: paramiko.PKey | str) -> paramiko.PKey:
    if isinstance(key, paramiko.PKey):
        return key
    kind, data = key.split()[:2]
    return paramiko.PKey.from_type_string(kind, base64.b64decode(data))


def main(argv: Sequence[str] | None = None) -> None:
    """Serve a folder until interrupted (the demo's partner server; loopback only)."""
    from gateway.secrets import resolve

    parser = argparse.ArgumentParser(
        prog="python -m gateway.peers.sftp_server", description=main.__doc__
    )
    parser.add_argument("--root", required=True, help="the folder to serve")
    parser.add_argument("--host", default="127.0.0.1", choices=["127.0.0.1", "::1"])
    parser.add_argument("--port", type=int, default=2222)
    parser.add_argument(
        "--user",
        action="append",
        default=[],
        metavar="NAME:REFERENCE",
        help='a login and its password as a secret reference, e.g. "gw:env:SFTP_PASSWORD"',
    )
    parser.add_argument(
        "--authorized-key",
        action="append",
        default=[],
        metavar="NAME:PATH",
        help="a login and its public key file (ssh-ed25519 AAAA... line)",
    )
    parser.add_argument("--host-key", help="host key file (created on first use)")
    args = parser.parse_args(argv)
    users = {}
    for entry in args.user:
        name, _, reference = entry.partition(":")
        users[name] = resolve(reference)
    keys: dict[str, list[paramiko.PKey | str]] = {}
    for entry in args.authorized_key:
        name, _, path = entry.partition(":")
        keys.setdefault(name, []).append(Path(path).read_text(encoding="utf-8"))
    server = SftpServer(
        args.root,
        users=users,
        authorized_keys=keys,
        host_key=args.host_key,
        host=args.host,
        port=args.port,
    )
    with server:
        print(f"serving {server.root} on sftp://{server.host}:{server.port}", flush=True)
        print(f'pin it: host_key = "{server.host_key_line}"  ({server.fingerprint})', flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            threading.Event().wait()


__all__ = [
    "SftpEvent",
    "SftpServer",
    "generate_host_key",
    "load_host_key",
    "main",
    "public_line",
]

if __name__ == "__main__":
    main()
