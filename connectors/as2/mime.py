"""Just enough MIME for AS2: build entities with CRLF, parse headers, split multiparts keeping
the exact bytes of each part (a signature covers them), canonicalise text line ends.

The standard library's email package re-serialises what it parses (header folding, line ends),
which breaks signatures; here a part is always the bytes as received.
"""

from __future__ import annotations

import binascii
import email.header
import os
import quopri
import re
import urllib.parse
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

CRLF = b"\r\n"
_PARAM = re.compile(r';\s*([^\s=;]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^;]*)')


class MimeError(ValueError):
    """Bytes that are not the MIME structure expected."""


@dataclass(frozen=True)
class Entity:
    """A MIME entity: its header fields in order, its body, and all of it as received."""

    headers: tuple[tuple[str, str], ...]
    body: bytes
    raw: bytes

    def get(self, name: str, default: str | None = None) -> str | None:
        """The first value of header ``name`` (case-insensitive)."""
        lname = name.lower()
        for key, value in self.headers:
            if key.lower() == lname:
                return value
        return default


def header_bytes(headers: Iterable[tuple[str, str]]) -> bytes:
    """Header fields as ``Name: value`` lines, each ended by CRLF (no blank line)."""
    return "".join(f"{name}: {value}\r\n" for name, value in headers).encode("utf-8")


def entity(headers: Iterable[tuple[str, str]], body: bytes) -> bytes:
    """A MIME entity: header lines, a blank line, ``body``."""
    return header_bytes(headers) + CRLF + body


def split_headers(data: bytes) -> tuple[list[tuple[str, str]], int]:
    """Header fields at the start of ``data`` and the offset where the body begins.

    Lines may end in CRLF or LF; folded lines are unfolded. No header section (data starting
    with a blank line) gives no fields.
    """
    headers: list[tuple[str, str]] = []
    pos = 0
    n = len(data)
    while pos < n:
        nl = data.find(b"\n", pos)
        end = n if nl < 0 else nl
        line = data[pos:end]
        nxt = n if nl < 0 else nl + 1
        if line.endswith(b"\r"):
            line = line[:-1]
        if not line:
            return headers, nxt
        if line[:1] in (b" ", b"\t") and headers:
            name, value = headers[-1]
            headers[-1] = (name, value + " " + line.strip().decode("utf-8", "replace"))
        else:
            colon = line.find(b":")
            if colon <= 0:
                raise MimeError(f"not a header line: {line[:60]!r}")
            headers.append(
                (
                    line[:colon].strip().decode("ascii", "replace"),
                    line[colon + 1 :].strip().decode("utf-8", "replace"),
                )
            )
        pos = nxt
    return headers, n


def parse_entity(data: bytes) -> Entity:
    """The entity in ``data`` (headers, blank line, body)."""
    headers, offset = split_headers(data)
    return Entity(tuple(headers), data[offset:], data)


def split_http_message(raw: bytes) -> tuple[dict[str, str], bytes]:
    """HTTP-style header block and body of a captured AS2 message (request line skipped)."""
    if raw.startswith((b"POST ", b"HTTP/")):
        raw = raw[raw.index(b"\n") + 1 :]
    fields, offset = split_headers(raw)
    return dict(fields), raw[offset:]


def parse_params(value: str) -> tuple[str, dict[str, str]]:
    """``type/subtype; a=b; c="d"`` -> ("type/subtype", {"a": "b", "c": "d"}), names lower-cased."""
    head, _, rest = value.partition(";")
    params: dict[str, str] = {}
    for name, found in _PARAM.findall(";" + rest):
        raw = found.strip()
        if raw.startswith('"') and raw.endswith('"') and len(raw) >= 2:
            raw = re.sub(r"\\(.)", r"\1", raw[1:-1])
        params[name.lower()] = raw
    for name in [n for n in params if n.endswith("*")]:
        # RFC 2231 extended value (charset'language'percent-encoded) wins over the plain one
        charset, _, rest_value = params.pop(name).partition("'")
        _, _, encoded = rest_value.partition("'")
        try:
            params[name[:-1]] = urllib.parse.unquote(encoded, encoding=charset or "utf-8")
        except LookupError:
            params[name[:-1]] = urllib.parse.unquote(encoded)
    return head.strip().lower(), params


def quote(value: str) -> str:
    """A parameter value as a quoted string."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def attachment(filename: str) -> str:
    """A Content-Disposition value for ``filename``: quoted when ASCII, RFC 2231
    (``filename*=utf-8''...``) with an ASCII fallback otherwise."""
    if filename.isascii() and filename.isprintable():
        return f"attachment; filename={quote(filename)}"
    fallback = filename.encode("ascii", "replace").decode().replace("?", "_")
    return (
        f"attachment; filename={quote(fallback)}; filename*=utf-8''{urllib.parse.quote(filename)}"
    )


def encoded_word(text: str) -> str:
    """``text`` for a header: as is when printable ASCII, else an RFC 2047 encoded word."""
    if text.isascii() and text.isprintable():
        return text
    return email.header.Header(text, "utf-8").encode()


def new_boundary() -> str:
    """A fresh random multipart boundary (not in base64, in binary only by chance)."""
    return "----=_Part_" + binascii.hexlify(os.urandom(12)).decode()


def split_multipart(body: bytes, boundary: str) -> list[bytes]:
    """The parts of a multipart body, each exactly as received (the line break before a
    delimiter belongs to the delimiter, RFC 2046 5.1.1)."""
    delim = b"--" + boundary.encode("ascii", "replace")
    starts: list[int] = []
    pos = 0
    while True:
        at = body.find(delim, pos)
        if at < 0:
            break
        if at == 0 or body[at - 1 : at] == b"\n":
            starts.append(at)
        pos = at + len(delim)
    if len(starts) < 2:
        raise MimeError(f"multipart body has no parts delimited by boundary {boundary!r}")
    parts: list[bytes] = []
    for i, at in enumerate(starts[:-1]):
        after = at + len(delim)
        if body[after : after + 2] == b"--":
            break
        nl = body.find(b"\n", after)
        if nl < 0:
            break
        begin = nl + 1
        end = starts[i + 1]
        if body[end - 2 : end] == CRLF:
            end -= 2
        elif body[end - 1 : end] == b"\n":
            end -= 1
        parts.append(body[begin : max(begin, end)])
    if not parts:
        raise MimeError(f"multipart body with boundary {boundary!r} has no parts")
    return parts


def canonical_crlf(data: bytes) -> bytes:
    """Every line end as CRLF (S/MIME canonical form for text)."""
    if b"\n" not in data:
        return data
    return data.replace(CRLF, b"\n").replace(b"\n", CRLF)


def decode_body(ent: Entity) -> bytes:
    """The body of ``ent`` with its Content-Transfer-Encoding undone (base64, quoted-printable)."""
    cte = (ent.get("Content-Transfer-Encoding") or "binary").strip().lower()
    if cte == "base64":
        try:
            return binascii.a2b_base64(ent.body)
        except binascii.Error as exc:
            raise MimeError(f"base64 body does not decode: {exc}") from exc
    if cte == "quoted-printable":
        return quopri.decodestring(ent.body)
    return ent.body


def b64_lines(data: bytes, width: int = 76) -> bytes:
    """Base64 of ``data`` in CRLF-terminated lines of ``width`` characters."""
    encoded = binascii.b2a_base64(data, newline=False)
    if len(encoded) <= width:
        return encoded + CRLF
    return CRLF.join(encoded[i : i + width] for i in range(0, len(encoded), width)) + CRLF


def lower_keys(headers: Mapping[str, str]) -> dict[str, str]:
    """``headers`` with lower-cased names (HTTP header names are case-insensitive)."""
    return {k.lower(): v for k, v in headers.items()}
