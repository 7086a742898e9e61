"""Worker ids that say which process holds a claim, so a dead worker's claims can be taken over.

The default worker id (``igw run`` without ``--worker-id``) is
``<host>:<pid>:<start>:<boot>:<pidns>``: the host name, the process id, the process's start
time (clock ticks since boot, field 22 of ``/proc/<pid>/stat``), the first 12 hex digits of
the kernel's boot id (``/proc/sys/kernel/random/boot_id``) and the inode of the process's
pid namespace (``/proc/self/ns/pid``). Where ``/proc`` does not give all of that (not Linux),
the id is ``<host>:<pid>`` and its claims are never taken over — only waited for.

A worker named by such an id is *provably gone* (:func:`gone`) when it ran under the same
kernel boot and in the same pid namespace as the caller, and its pid either does not exist,
is a zombie (it exited, its parent has not reaped it yet), or belongs to a process started at
another time (the pid was reused). The host name alone proves nothing (two machines may share
one); the boot id and namespace do: a pid is only meaningful in the kernel and namespace that
issued it. Anything not provable — another machine, a rebooted one, a container with its own
pid namespace, a hand-picked ``--worker-id`` — is left to the claim's lease.
"""

from __future__ import annotations

import os
import re
import socket
from dataclasses import dataclass
from functools import cache
from pathlib import Path

PROC = Path("/proc")
_ID = re.compile(
    r"^(?P<host>[^:\s]+):(?P<pid>\d{1,10}):(?P<start>\d{1,20}):(?P<boot>[0-9a-f]{12}):"
    r"(?P<ns>\d{1,20})$"
)


@dataclass(frozen=True)
class ProcessIdentity:
    """One process, named so that another process on the same machine can tell whether it
    still runs: ``start`` tells a reused pid apart, ``boot`` and ``pidns`` the machine and
    namespace the pid belongs to."""

    host: str
    pid: int
    start: int
    boot: str
    pidns: int

    @property
    def worker_id(self) -> str:
        """``host:pid:start:boot:pidns`` (what :func:`parse` reads back)."""
        return f"{self.host}:{self.pid}:{self.start}:{self.boot}:{self.pidns}"


def _start_ticks(pid: int) -> tuple[str, int] | None:
    """(state letter, start time in clock ticks since boot) of ``pid``; None: no such process."""
    try:
        text = (PROC / str(pid) / "stat").read_text(errors="replace")
    except (FileNotFoundError, ProcessLookupError):
        return None
    except OSError:
        return None
    # "pid (comm) S ppid ..." - comm may hold spaces and parentheses: split after the last ")"
    rest = text[text.rfind(")") + 2 :].split()
    if len(rest) < 20 or not rest[19].isdigit():
        return None
    return rest[0], int(rest[19])


@cache
def _machine() -> tuple[str, int] | None:
    """(boot id prefix, pid namespace inode) of this process; None where /proc lacks them."""
    try:
        boot = (PROC / "sys/kernel/random/boot_id").read_text().strip().replace("-", "")[:12]
        namespace = os.readlink(PROC / "self/ns/pid")
    except OSError:
        return None
    match = re.fullmatch(r"pid:\[(\d+)\]", namespace)
    if match is None or not re.fullmatch(r"[0-9a-f]{12}", boot):
        return None
    return boot, int(match.group(1))


def current(pid: int | None = None) -> ProcessIdentity | None:
    """The identity of ``pid`` (default: this process) on this machine; None where it cannot
    be told (no /proc, no such process)."""
    machine = _machine()
    if machine is None:
        return None
    pid = os.getpid() if pid is None else pid
    stat = _start_ticks(pid)
    if stat is None:
        return None
    return ProcessIdentity(socket.gethostname(), pid, stat[1], machine[0], machine[1])


def default_worker_id() -> str:
    """This process's worker id: :class:`ProcessIdentity` form where /proc allows, else
    ``host:pid``."""
    identity = current()
    if identity is None:
        return f"{socket.gethostname()}:{os.getpid()}"
    return identity.worker_id


def parse(worker_id: str) -> ProcessIdentity | None:
    """The identity a default worker id carries; None for any other id (``--worker-id w1``)."""
    match = _ID.match(worker_id)
    if match is None:
        return None
    return ProcessIdentity(
        match["host"], int(match["pid"]), int(match["start"]), match["boot"], int(match["ns"])
    )


def gone(worker_id: str) -> str | None:
    """Why the worker named ``worker_id`` is provably not running any more, or None when that
    cannot be proven (it runs, it is on another machine or pid namespace, or its id does not
    say which process it is)."""
    identity = parse(worker_id)
    machine = _machine()
    if identity is None or machine is None:
        return None
    if (identity.boot, identity.pidns) != machine or identity.host != socket.gethostname():
        return None
    stat = _start_ticks(identity.pid)
    if stat is None:
        try:
            os.kill(identity.pid, 0)
        except ProcessLookupError:
            return f"pid {identity.pid} on {identity.host} is not running"
        except PermissionError:  # exists, another user's: /proc hid its stat
            return None
        return None
    state, start = stat
    if start != identity.start:
        return (
            f"pid {identity.pid} on {identity.host} is another process now (started at tick "
            f"{start}, the worker at tick {identity.start})"
        )
    if state in ("Z", "X"):
        return f"pid {identity.pid} on {identity.host} has exited (not yet reaped)"
    return None
