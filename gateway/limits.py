"""Size limits: the largest document a channel carries, the largest input a command reads.

Parsing and validating XML costs memory in proportion to its size (``bench/memory.py``
measures MB of memory per MB of input), so documents are refused by size BEFORE they are read
or parsed — never by running out of memory half-way.

* **Per channel** (``[channel] max_size = "15MB"`` in a buyer profile, also for each
  ``[[fallback]]``): a rendered document larger than its channel's limit is refused — at submit
  (the record is rejected, nothing is queued) for the primary channel, and by the worker before
  a send for any channel (a permanent failure; the fallback channel, if any, is tried next).
  Defaults per connector in :data:`CHANNEL_DEFAULTS`, :data:`DEFAULT_CHANNEL_MAX` for others.
* **Per input** (``igw parse|validate|translate --max-size``, default
  :data:`DEFAULT_INPUT_MAX`): a file is refused by its size on disk (one ``stat``, nothing
  read); the other files of the batch go on.

Sizes are written as bytes (``15000000``) or with a unit: ``KB``/``MB``/``GB`` (powers of
1000) or ``KiB``/``MiB``/``GiB`` (powers of 1024).
"""

from __future__ import annotations

import os
import re
from typing import Annotated

from pydantic import BeforeValidator, Field

from gateway.errors import InputError, Problem

KB, MB, GB = 1000, 1000**2, 1000**3
_UNITS = {"": 1, "b": 1, "kb": KB, "mb": MB, "gb": GB, "kib": 1024, "mib": 1024**2, "gib": 1024**3}
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$", re.IGNORECASE)

#: the largest document per connector alias unless the profile says otherwise (bytes).
#: e-mail: 10 MB, what the German federal portal ZRE accepts by e-mail (and a mail server
#: adds a third for base64); HTTP portals: 15 MB, what ZRE/OZG-RE accept over Peppol;
#: AS2, SFTP and folders have no protocol limit: 100 MB bounds the gateway's own memory.
CHANNEL_DEFAULTS: dict[str, int] = {
    "as2": 100 * MB,
    "sftp": 100 * MB,
    "file": 100 * MB,
    "http": 15 * MB,
    "cxml-post": 15 * MB,
    "email": 10 * MB,
}
DEFAULT_CHANNEL_MAX = 100 * MB
#: the largest file ``igw parse``/``validate``/``translate`` read unless ``--max-size`` says
DEFAULT_INPUT_MAX = 100 * MB


def parse_size(value: object) -> int:
    """``15000000``, ``"15MB"``, ``"512 KiB"`` as a number of bytes (>= 1).

    Raises ``ValueError`` naming the value and what is accepted."""
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a size")
    if isinstance(value, int):
        number = value
    else:
        match = _SIZE.match(str(value))
        unit = _UNITS.get(match.group(2).lower()) if match else None
        if match is None or unit is None:
            raise ValueError(
                f"{value!r} is not a size; accepted: bytes or a number with KB, MB, GB "
                "(powers of 1000) or KiB, MiB, GiB, e.g. '15MB'"
            )
        number = int(float(match.group(1)) * unit)
    if number < 1:
        raise ValueError(f"{value!r}: a size must be at least 1 byte")
    return number


ByteSize = Annotated[int, BeforeValidator(parse_size), Field(ge=1)]
"""A size in bytes, written as bytes or with a unit (``"15MB"``), in a profile."""


def format_size(size: int) -> str:
    """``15 MB``, ``210.3 MB``, ``512 bytes`` (decimal units, as the limits are written)."""
    if size < KB:
        return f"{size} bytes"
    for unit, factor in (("GB", GB), ("MB", MB), ("KB", KB)):
        if size >= factor:
            text = f"{size / factor:.1f}".removesuffix(".0")
            return f"{text} {unit}"
    raise AssertionError("unreachable")  # pragma: no cover


def channel_limit(connector: str, max_size: int | None) -> int:
    """The largest document the channel with this connector alias carries (bytes)."""
    if max_size is not None:
        return max_size
    return CHANNEL_DEFAULTS.get(connector.partition("#")[0], DEFAULT_CHANNEL_MAX)


def oversize_message(
    what: str, size: int, limit: int, channel: str, *, explicit: bool = False
) -> str:
    """``invoice INV-1: the document is 120.3 MB, over the 100 MB limit of channel 'as2'``."""
    origin = "its buyer profile's max_size" if explicit else "the default for that connector"
    return (
        f"{what}: the document is {format_size(size)} ({size} bytes), over the "
        f"{format_size(limit)} limit of channel {channel!r} ({origin})"
    )


def channel_accepts(connector: str, limit: int) -> str:
    """What the oversize error says is accepted."""
    return (
        f"a document of at most {format_size(limit)} on channel {connector!r}; a larger limit "
        f'is set with max_size in the profile\'s [channel] (e.g. max_size = "200MB")'
    )


class InputTooLarge(InputError):
    """An input file over the size limit, refused before it is read."""

    def __init__(self, name: str, size: int, limit: int) -> None:
        self.name, self.size, self.limit = name, size, limit
        super().__init__(
            f"{name}: {format_size(size)} ({size} bytes) is over the input limit of "
            f"{format_size(limit)}; not read. Accepted: a file of at most {format_size(limit)}, "
            "or a larger --max-size (e.g. --max-size 500MB)"
        )

    def problem(self) -> Problem:
        """The refusal as one fatal problem of the file (rule ``SIZE``)."""
        return Problem(
            self.name,
            "",
            None,
            self.size,
            "SIZE",
            f"{format_size(self.size)} is over the input limit of {format_size(self.limit)}; "
            "not read",
            f"a file of at most {format_size(self.limit)}, or a larger --max-size",
        )


def check_input(path: str | os.PathLike[str], limit: int | None) -> None:
    """Raise :class:`InputTooLarge` when the file at ``path`` is larger than ``limit`` bytes
    (by ``stat``: nothing is read). ``None``: no limit. A missing file is left to the reader."""
    if limit is None:
        return
    try:
        size = os.stat(path).st_size
    except OSError:
        return
    if size > limit:
        raise InputTooLarge(os.fspath(path), size, limit)


def read_input(path: str | os.PathLike[str], limit: int | None) -> bytes:
    """The bytes of the file at ``path``, refused by size first (:func:`check_input`); a file
    that grew meanwhile (or a pipe, whose size ``stat`` does not tell) is read to one byte past
    the limit at most and refused the same way."""
    check_input(path, limit)
    with open(path, "rb") as handle:
        if limit is None:
            return handle.read()
        data = handle.read(limit + 1)
    if len(data) > limit:
        raise InputTooLarge(os.fspath(path), len(data), limit)
    return data
