"""Minimal DER writing for the hot path (CMS structures of a few fixed shapes).

asn1crypto builds the constant pieces once (algorithm identifiers, OIDs); per message only
lengths, tags and bytes are joined here, which is several times faster than building
asn1crypto objects per message.
"""

from __future__ import annotations

from asn1crypto import core


def length(n: int) -> bytes:
    """The DER length octets for ``n`` content bytes."""
    if n < 0x80:
        return bytes((n,))
    raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes((0x80 | len(raw),)) + raw


def tlv(tag: int, *contents: bytes) -> bytes:
    """One element: ``tag``, the DER length of the joined ``contents``, the contents."""
    body = contents[0] if len(contents) == 1 else b"".join(contents)
    return bytes((tag,)) + length(len(body)) + body


def seq(*contents: bytes) -> bytes:
    """A SEQUENCE of already encoded elements."""
    return tlv(0x30, *contents)


def set_of(*contents: bytes) -> bytes:
    """A DER SET OF: elements sorted by their encodings (X.690 11.6)."""
    return tlv(0x31, *sorted(contents))


def integer(value: int) -> bytes:
    """An INTEGER (any sign)."""
    n = (value.bit_length() + 8) // 8 if value >= 0 else ((-value - 1).bit_length() + 8) // 8
    return tlv(0x02, value.to_bytes(max(n, 1), "big", signed=True))


def oid(dotted: str) -> bytes:
    """An OBJECT IDENTIFIER from its dotted form."""
    return bytes(core.ObjectIdentifier(dotted).dump())


def octets(data: bytes) -> bytes:
    """An OCTET STRING."""
    return tlv(0x04, data)
