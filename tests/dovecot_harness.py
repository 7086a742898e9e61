"""A real IMAP server for tests (not named ``harness_*``: that prefix is the connector contract
suite's, tests/connector_harness.py): Debian's Dovecot on 127.0.0.1, its own config, base_dir and
Maildir in a tmp folder, started with ``dovecot -F -c <conf>`` and stopped after the test.

Plain IMAP (loopback) on one port and implicit TLS (the SMTP harness's test CA) on another; one
user from a passwd-file. Runs as root (the internal and login services as ``dovenull`` /
``dovecot`` when those users exist, mail as the current user) or as any other user (every
service as that user). Without ``dovecot`` installed the test is skipped; under CI=true it fails.
"""

from __future__ import annotations

import contextlib
import grp
import imaplib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from harness_smtp import Pki, free_port
from shared_dir import IN_CI

USER = "bounces@seller.example"
PASSWORD = "imap-test-password"
DOVECOT = shutil.which("dovecot") or "/usr/sbin/dovecot"
IMAP_BINARY = "/usr/lib/dovecot/imap"  # Debian's dovecot-imapd (dovecot-core alone has none)


@dataclass
class ImapServer:
    """A running Dovecot: ``port`` (plain), ``tls_port`` (implicit TLS), the user's ``maildir``."""

    process: subprocess.Popen[bytes]
    port: int
    tls_port: int
    maildir: Path
    log: Path

    def client(self) -> imaplib.IMAP4:
        """A logged-in plain client with INBOX selected."""
        imap = imaplib.IMAP4("127.0.0.1", self.port, timeout=10)
        imap.login(USER, PASSWORD)
        imap.select("INBOX")
        return imap

    def append(self, message: bytes, mailbox: str = "INBOX") -> None:
        """Deliver ``message`` (unread) into ``mailbox`` by IMAP APPEND."""
        imap = self.client()
        try:
            status, data = imap.append(mailbox, "", None, message)
            assert status == "OK", data
        finally:
            imap.logout()

    def flags(self, mailbox: str = "INBOX") -> list[set[str]]:
        """Every message's flags in ``mailbox``, in UID order (without ``\\Recent``)."""
        imap = imaplib.IMAP4("127.0.0.1", self.port, timeout=10)
        imap.login(USER, PASSWORD)
        try:
            imap.select(mailbox)
            status, data = imap.uid("FETCH", "1:*", "(FLAGS)")
            assert status == "OK", data
            found = []
            for line in data:
                if isinstance(line, bytes) and b"FLAGS (" in line:
                    inner = line.split(b"FLAGS (", 1)[1].split(b")", 1)[0]
                    found.append(set(inner.decode().split()) - {"\\Recent"})
            return found
        finally:
            imap.logout()

    def create(self, mailbox: str) -> None:
        """Create ``mailbox``."""
        imap = self.client()
        try:
            imap.create(mailbox)
        finally:
            imap.logout()


def _service_users() -> tuple[str, str, str]:
    """(internal user, login user, mail user) for the current process: all the current user,
    or under root (Dovecot refuses mail as uid 0) Debian's ``dovecot`` / ``dovenull``
    (``nobody`` where they do not exist)."""
    me = pwd.getpwuid(os.getuid()).pw_name
    if os.getuid() != 0:
        return me, me, me
    names = {p.pw_name for p in pwd.getpwall()}
    internal = "dovecot" if "dovecot" in names else "nobody"
    login = "dovenull" if "dovenull" in names else "nobody"
    return internal, login, internal


def _config(folder: Path, port: int, tls_port: int, pki: Pki) -> Path:
    internal, login, mail_user = _service_users()
    uid = pwd.getpwnam(mail_user).pw_uid
    gid = pwd.getpwnam(mail_user).pw_gid
    group = grp.getgrgid(gid).gr_name
    users = folder / "users"
    users.write_text(f"{USER}:{{PLAIN}}{PASSWORD}::::::\n")
    for sub in ("run", "state", "mail", "home"):
        (folder / sub).mkdir()
    if os.getuid() == 0:  # the mail and auth processes run as another user: give them the tree
        for path in (folder, *folder.rglob("*")):
            os.chown(path, uid, gid)
    conf = folder / "dovecot.conf"
    conf.write_text(
        f"""
base_dir = {folder / "run"}
state_dir = {folder / "state"}
log_path = {folder / "dovecot.log"}
protocols = imap
listen = 127.0.0.1
ssl = yes
ssl_cert = <{pki.cert_file}
ssl_key = <{pki.key_file}
disable_plaintext_auth = no
auth_mechanisms = plain login
login_trusted_networks = 127.0.0.0/8
default_internal_user = {internal}
default_internal_group = {group}
default_login_user = {login}
first_valid_uid = 0
mail_location = maildir:{folder / "mail"}/%n
namespace inbox {{
  inbox = yes
  separator = /
}}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {users}
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={folder / "home"}/%n
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {tls_port}
    ssl = yes
  }}
}}
service anvil {{
  chroot =
}}
service auth {{
  # the user file lives below pytest's 0700 tmp folder: read it as its owner
  user = {mail_user}
}}
service auth-worker {{
  user = {mail_user}
}}
"""
    )
    return conf


def _wait_for(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if process.poll() is not None:
            said = log.read_text(errors="replace") if log.exists() else ""
            raise RuntimeError(f"dovecot exited with {process.returncode}: {said[-2000:]}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
            return
        time.sleep(0.05)
    raise RuntimeError(f"dovecot did not listen on 127.0.0.1:{port} within 15 s")


@contextlib.contextmanager
def running(pki: Pki) -> Iterator[ImapServer]:
    """Dovecot in a fresh folder (skipped without dovecot; a failure under CI=true).

    The folder is made in the system temp dir (pytest's own is 0700 to root, which the mail
    user under root could not enter) and removed afterwards.
    """
    if not Path(DOVECOT).exists() or not Path(IMAP_BINARY).exists():
        if IN_CI:
            pytest.fail("CI=true but dovecot is not installed (Debian package dovecot-imapd)")
        pytest.skip("dovecot not installed (apt-get install dovecot-imapd)")
    with (
        tempfile.TemporaryDirectory(prefix="igw-dovecot-") as where,
        _started(Path(where), pki) as server,
    ):
        yield server


@contextlib.contextmanager
def _started(folder: Path, pki: Pki) -> Iterator[ImapServer]:
    port, tls_port = free_port(), free_port()
    conf = _config(folder, port, tls_port, pki)
    log = folder / "dovecot.log"
    process = subprocess.Popen(
        [DOVECOT, "-F", "-c", str(conf)],
        stdout=subprocess.DEVNULL,
        stderr=(folder / "dovecot.stderr").open("wb"),
    )
    try:
        _wait_for(port, process, log)
        yield ImapServer(process, port, tls_port, folder / "mail" / USER.partition("@")[0], log)
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture
def imap_server(pki: Pki) -> Iterator[ImapServer]:
    """A fresh Dovecot with an empty mailbox for one test."""
    with running(pki) as server:
        yield server
