"""Identifier check digits used by the Peppol rules (ports of the ``u:*`` XSLT functions)."""

from __future__ import annotations

import re

_DIGITS = re.compile(r"^[0-9]+$")


def gln(value: str) -> bool:
    """GS1 GLN / GTIN check digit (``u:gln``, scheme 0088)."""
    if not _DIGITS.match(value):
        return False
    body = value[:-1][::-1]
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(body))
    return (10 - total % 10) % 10 == int(value[-1])


def mod11(value: str) -> bool:
    """Norwegian/Danish weighted mod 11 (``u:mod11``: weights 2..7 from the right)."""
    if not _DIGITS.match(value) or int(value) <= 0:
        return False
    body = value[:-1][::-1]
    total = sum(int(d) * (i % 6 + 2) for i, d in enumerate(body))
    return (11 - total % 11) % 11 == int(value[-1])


def mod97_0208(value: str) -> bool:
    """Belgian enterprise number (``u:mod97-0208``)."""
    if len(value) < 10 or not _DIGITS.match(value[:10]):
        return False
    return int(value[8:10]) == 97 - int(value[:8]) % 97


def se_orgnr(value: str) -> bool:
    """Swedish organisation number, Luhn over the first nine digits (``u:checkSEOrgnr``)."""
    if not _DIGITS.match(value) or len(value) < 10:
        return False
    main = value[:9]
    total = 0
    for pos in range(1, len(main) + 1):
        digit = int(main[len(main) - pos])
        total += (digit * 2) % 10 + (digit * 2) // 10 if pos % 2 == 1 else digit
    return (10 - total % 10) % 10 == int(value[9])


_ABN_WEIGHTS = (10, 1, 3, 5, 7, 9, 11, 13, 15, 17, 19)


def abn(value: str) -> bool:
    """Australian Business Number (``u:abn``, scheme 0151)."""
    if len(value) != 11 or not _DIGITS.match(value):
        return False
    digits = [int(d) for d in value]
    digits[0] -= 1
    return sum(d * w for d, w in zip(digits, _ABN_WEIGHTS, strict=True)) % 89 == 0
