"""AS2 MIME helpers: parts keep their exact bytes, headers unfold, parameters unquote, and line
ends are canonicalised only where asked."""

from __future__ import annotations

import pytest

from connectors.as2 import mime


def test_split_multipart_exact_bytes_with_preamble_and_epilogue() -> None:
    """Parts are the bytes between delimiters; the CRLF before a delimiter belongs to it."""
    body = (
        b"preamble\r\n--b\r\nContent-Type: a/b\r\n\r\nline1\r\nline2\r\n\r\n--b\r\n"
        b"Content-Type: c/d\r\n\r\nX\r\n--b--\r\nepilogue"
    )
    assert mime.split_multipart(body, "b") == [
        b"Content-Type: a/b\r\n\r\nline1\r\nline2\r\n",
        b"Content-Type: c/d\r\n\r\nX",
    ]


def test_split_multipart_lf_only_and_boundary_inside_text() -> None:
    """LF-only bodies split too; the boundary string inside a line is not a delimiter."""
    body = b"--b\nContent-Type: a/b\n\nsee --b here\n--b\n\nsecond\n--b--\n"
    assert mime.split_multipart(body, "b") == [b"Content-Type: a/b\n\nsee --b here", b"\nsecond"]


def test_split_multipart_without_parts() -> None:
    """A body without the boundary -> MimeError naming it."""
    with pytest.raises(mime.MimeError, match="'zz'"):
        mime.split_multipart(b"nothing", "zz")


def test_headers_unfold_and_body_offset() -> None:
    """Folded header lines are joined; the body starts after the blank line (CRLF or LF)."""
    data = b'Content-Type: multipart/report;\r\n\tboundary="x"\r\nX-A: 1\r\n\r\nBODY'
    ent = mime.parse_entity(data)
    assert ent.get("content-type") == 'multipart/report; boundary="x"'
    assert ent.get("X-A") == "1" and ent.body == b"BODY"
    assert mime.parse_entity(b"A: 1\n\nbody\n").body == b"body\n"


def test_not_a_header() -> None:
    """A line without a colon in the header block -> MimeError."""
    with pytest.raises(mime.MimeError):
        mime.parse_entity(b"no colon here\r\n\r\nbody")


def test_parse_params() -> None:
    """Type lower-cased; parameters unquoted, names lower-cased; quoted ';' stays in the value."""
    ctype, params = mime.parse_params(
        'Multipart/Signed; protocol="application/pkcs7-signature"; MICALG=sha-256;\t'
        'boundary="a;b \\"q\\""'
    )
    assert ctype == "multipart/signed"
    assert params == {
        "protocol": "application/pkcs7-signature",
        "micalg": "sha-256",
        "boundary": 'a;b "q"',
    }


def test_canonical_crlf() -> None:
    """Lone LFs become CRLF; existing CRLFs are not doubled."""
    assert mime.canonical_crlf(b"a\nb\r\nc\n") == b"a\r\nb\r\nc\r\n"
    assert mime.canonical_crlf(b"abc") == b"abc"


@pytest.mark.parametrize(
    ("cte", "body", "decoded"),
    [
        ("base64", b"aGVs\r\nbG8=\r\n", b"hello"),
        ("quoted-printable", b"a=3Db=\r\nc", b"a=bc"),
        ("binary", b"\x00\xff", b"\x00\xff"),
    ],
)
def test_decode_body(cte: str, body: bytes, decoded: bytes) -> None:
    """Content-Transfer-Encoding base64 / quoted-printable is undone; binary is left alone."""
    ent = mime.parse_entity(f"Content-Transfer-Encoding: {cte}\r\n\r\n".encode() + body)
    assert mime.decode_body(ent) == decoded


def test_b64_lines() -> None:
    """Base64 output comes in CRLF-ended lines of at most 76 characters that decode back."""
    data = bytes(range(256)) * 3
    text = mime.b64_lines(data)
    lines = text.split(b"\r\n")
    assert lines[-1] == b"" and all(len(line) <= 76 for line in lines)
    assert (
        mime.decode_body(mime.Entity((("Content-Transfer-Encoding", "base64"),), text, text))
        == data
    )


def test_split_http_message() -> None:
    """A captured request: request line skipped, header block to a dict, body after it."""
    headers, body = mime.split_http_message(b"POST /as2 HTTP/1.1\r\nAS2-From: a\r\n\r\n\x00body")
    assert headers == {"AS2-From": "a"} and body == b"\x00body"


def test_non_ascii_filename_and_subject() -> None:
    """A non-ASCII filename goes out as RFC 2231 with an ASCII fallback and reads back; a
    non-ASCII subject becomes an RFC 2047 encoded word."""
    value = mime.attachment("Rechnung März.xml")
    assert value.isascii()
    assert mime.parse_params(value)[1]["filename"] == "Rechnung März.xml"
    assert mime.attachment("plain.xml") == 'attachment; filename="plain.xml"'
    assert mime.encoded_word("Rechnung März") == "=?utf-8?q?Rechnung_M=C3=A4rz?="
    assert mime.encoded_word("AS2 message") == "AS2 message"
