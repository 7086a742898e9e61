"""The text encoding of ERP exports: UTF-8 by default, another one when the user names it.

Exports from Excel are usually Windows-1252 (``cp1252``), which is not UTF-8 as soon as a
name holds an umlaut or a euro sign. ``igw submit``, ``translate`` and ``validate`` take
``--encoding NAME``; without it the text must be UTF-8 (a byte-order mark is dropped). A file
that does not decode is one error naming the file, the line, the byte offset and the byte, with
the hint to give ``--encoding cp1252``.

``igw translate`` reads its inputs through :func:`gateway.translation.pipeline.read_inputs`, which
does not
take an encoding; :func:`with_encoding` sets it for the records read while the wrapped iterator
runs (a context variable, so nothing leaks to other callers).
"""

from __future__ import annotations

import codecs
from collections.abc import Iterable, Iterator
from contextvars import ContextVar
from typing import TypeVar

from gateway.errors import InputError, ParseError, Problem

T = TypeVar("T")

DEFAULT = "utf-8"
_UTF8 = frozenset({"utf-8", "utf_8", "utf8", "utf-8-sig", "utf_8_sig", "u8"})
_CURRENT: ContextVar[str | None] = ContextVar("igw_record_encoding", default=None)


def check_encoding(name: str | None) -> str:
    """The codec name for ``name`` (None: UTF-8); InputError for a name Python does not know."""
    if not name:
        return DEFAULT
    try:
        return codecs.lookup(name).name
    except LookupError as exc:
        raise InputError(
            f"--encoding {name!r}: unknown encoding; accepted: a codec name such as utf-8, "
            "cp1252 (Excel on Windows), latin-1 or utf-16"
        ) from exc


def current_encoding() -> str | None:
    """The encoding set by :func:`with_encoding` for the records being read, if any."""
    return _CURRENT.get()


def decode_text(data: bytes, source: str, encoding: str | None = None) -> str:
    """``data`` as text in ``encoding`` (default UTF-8, a byte-order mark dropped).

    ParseError naming ``source``, the line, the byte offset and the offending byte when the
    bytes do not decode; for UTF-8 it suggests ``--encoding cp1252``.
    """
    codec = check_encoding(encoding)
    utf8 = codec.replace("_", "-") in _UTF8
    try:
        return data.decode("utf-8-sig" if utf8 else codec)
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        byte = data[exc.start : exc.start + 1].hex().upper()
        hint = (
            "; accepted: UTF-8 — an export from Excel is usually Windows-1252: give "
            "--encoding cp1252"
            if utf8
            else f"; accepted: text in {codec} (or name its encoding with --encoding)"
        )
        raise ParseError(
            f"not {'UTF-8' if utf8 else codec} text: byte 0x{byte} (byte {column} of the line) "
            f"cannot be decoded ({exc.reason}){hint}",
            f"{source}: line {line}, byte offset {exc.start}",
        ) from exc


def with_encoding(items: Iterable[T], encoding: str | None) -> Iterator[T]:
    """``items``, each produced while ``encoding`` is the records' encoding (see module)."""
    if encoding:
        check_encoding(encoding)  # fail before anything is read
    iterator = iter(items)
    while True:
        token = _CURRENT.set(encoding)
        try:
            item = next(iterator)
        except StopIteration:
            return
        finally:
            _CURRENT.reset(token)
        yield item


def recode(content: bytes, encoding: str | None, name: str) -> tuple[bytes, Problem | None]:
    """A text file (CSV, JSON; not XML or EDIFACT, which declare their own) re-encoded from
    ``encoding`` to UTF-8 for checking; unchanged when no encoding is given or the file is XML
    or EDIFACT; a Problem (rule ``ENCODING``) when it does not decode."""
    head = content.lstrip(b"\xef\xbb\xbf \t\r\n")[:3]
    if not encoding or head.startswith(b"<") or head in (b"UNA", b"UNB"):
        return content, None
    try:
        text = decode_text(content, name, encoding)
    except ParseError as exc:
        return content, Problem(name, "", None, None, "ENCODING", str(exc), "")
    return text.encode("utf-8"), None
