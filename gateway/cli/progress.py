"""Progress of a batch on stderr: ``412/2000 (20 %) 95/s ETA 17 s``.

Shown when stderr is a terminal (one line redrawn in place, at most ten times a second) or
with ``--progress`` (into a pipe or file: a new line at most once a second); always a last
line when the batch ends. ``igw translate``, ``validate`` and ``submit`` use it; ``-q`` turns
the terminal meter off.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from typing import TextIO, TypeVar

T = TypeVar("T")

#: seconds between two redraws on a terminal, and between two lines into a pipe
TTY_INTERVAL, PIPE_INTERVAL = 0.1, 1.0


def duration(seconds: float) -> str:
    """``17 s``, ``3 min 05 s``, ``2 h 04 min`` (rounded up to the second)."""
    whole = max(0, int(-(-seconds // 1)))
    if whole < 60:
        return f"{whole} s"
    if whole < 3600:
        return f"{whole // 60} min {whole % 60:02d} s"
    return f"{whole // 3600} h {whole % 3600 // 60:02d} min"


def progress_line(done: int, total: int | None, elapsed: float, failed: int = 0) -> str:
    """``412/2000 (20 %) 95/s ETA 17 s`` (``412 95/s`` without a total; ``, 3 rejected``
    appended when some failed). Rate and ETA from the whole run so far."""
    rate = done / elapsed if elapsed > 0 else 0.0
    if total is None:
        text = f"{done} {rate:,.0f}/s"
    else:
        percent = 100 * done // total if total else 100
        left = max(total - done, 0)
        eta = duration(left / rate) if rate > 0 else ("0 s" if not left else "?")
        text = f"{done}/{total} ({percent} %) {rate:,.0f}/s ETA {eta}"
    return f"{text}, {failed} rejected" if failed else text


class Progress:
    """A progress meter for a batch of ``total`` items (None: not known)."""

    def __init__(
        self,
        stream: TextIO,
        *,
        enabled: bool,
        total: int | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.stream = stream
        self.enabled = enabled
        self.total = total
        self.clock = clock
        self.started = clock()
        self.tty = stream.isatty()
        self.interval = TTY_INTERVAL if self.tty else PIPE_INTERVAL
        self.last = self.started
        self.done = self.failed = 0
        self._width = 0
        self._drawn = -1  # the count last written

    @classmethod
    def for_args(cls, args: argparse.Namespace, total: int | None = None) -> Progress:
        """The meter of a command: on with ``--progress``, else when stderr is a terminal and
        the command is not ``--quiet``."""
        stream = sys.stderr
        wanted = getattr(args, "progress", False)
        enabled = wanted or (stream.isatty() and not getattr(args, "quiet", False))
        return cls(stream, enabled=enabled, total=total)

    def update(self, done: int, failed: int = 0) -> None:
        """``done`` items so far (``failed`` of them rejected); redraws when it is time."""
        self.done, self.failed = done, failed
        now = self.clock()
        if not self.enabled or now - self.last < self.interval:
            return
        self.last = now
        self._draw(now)

    def _draw(self, now: float) -> None:
        self._drawn = self.done
        line = progress_line(self.done, self.total, now - self.started, self.failed)
        if self.tty:
            self.stream.write("\r" + line.ljust(self._width))
            self._width = len(line)
        else:
            self.stream.write(line + "\n")
        self.stream.flush()

    def over(self, items: Iterable[T]) -> Iterator[T]:
        """Yield ``items`` (read at once: their number is the total), counting each."""
        listed = list(items)
        self.total = len(listed)
        for number, item in enumerate(listed, 1):
            yield item
            self.update(number)

    def close(self) -> None:
        """The last line (what was done, in how long; not again into a pipe when that
        count was the last line written) and the end of the line."""
        if not self.enabled:
            return
        if self.tty or self._drawn != self.done:
            self._draw(self.clock())
        if self.tty:
            self.stream.write("\n")
        self.stream.flush()
