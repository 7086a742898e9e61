"""The EPC QR code ("GiroCode", EPC069-12 v002) and the ISO 11649 RF creditor reference.

A SEPA credit transfer (payment means 58 or 30 with an IBAN) in EUR gets a QR code a banking app
scans to fill in the transfer. The standard carries EUR only: any other currency gets no code.
The structured reference is the invoice's own remittance information when that is a valid RF
reference, otherwise one derived from the invoice number (so the same invoice always gets the
same reference, and a bank statement still shows the number inside it).
"""

from __future__ import annotations

import re
from decimal import Decimal

import segno
from stdnum import iso11649
from stdnum.iso7064 import mod_97_10

SEPA_CREDIT_TRANSFER_MEANS = frozenset({"58", "30"})
MAX_AMOUNT = Decimal("999999999.99")
MIN_AMOUNT = Decimal("0.01")
_RF_BODY_MAX = 21  # RF + 2 check digits + up to 21 alphanumerics = 25 characters


def rf_reference(invoice_number: str, remittance: str | None = None) -> str:
    """The RF creditor reference (compact, ``RF69NB202610001``) for this payment.

    ``remittance`` is used when it is a valid RF reference; otherwise the reference is derived
    from the invoice number: its letters and digits (upper case), and when more than 21 remain,
    the last 21 (invoice numbers differ at the end). Raises ValueError for a number with no
    letter or digit at all.
    """
    if remittance and iso11649.is_valid(remittance):
        return str(iso11649.compact(remittance))
    body = re.sub(r"[^0-9A-Z]", "", invoice_number.upper())[-_RF_BODY_MAX:]
    if not body:
        raise ValueError(f"invoice number {invoice_number!r} has no letter or digit")
    reference = f"RF{mod_97_10.calc_check_digits(body + 'RF')}{body}"
    return str(iso11649.validate(reference))


def format_rf(reference: str) -> str:
    """An RF reference in groups of four for reading (``RF69 NB20 2610 001``)."""
    return str(iso11649.format(reference))


def format_iban(iban: str) -> str:
    """An IBAN in groups of four (``DE75 1203 0000 1020 3040 50``)."""
    compact = re.sub(r"\s", "", iban).upper()
    return " ".join(compact[i : i + 4] for i in range(0, len(compact), 4))


def epc_amount(amount: Decimal) -> str:
    """The amount field: ``EUR`` and the amount with a point and two decimals (``EUR12.30``)."""
    return f"EUR{amount.quantize(Decimal('0.01')):f}"


def epc_payload(
    *,
    name: str,
    iban: str,
    amount: Decimal,
    reference: str,
    bic: str | None = None,
) -> str:
    """The EPC069-12 version 002 payload, UTF-8, lines separated by LF.

    Service tag BCD, version 002, character set 1 (UTF-8), identification SCT, BIC (optional
    in v002), beneficiary name (70 characters at most), IBAN, amount, purpose (empty),
    structured RF reference, and no unstructured text (the standard allows one of the two).
    """
    return "\n".join(
        (
            "BCD",
            "002",
            "1",
            "SCT",
            (bic or "").replace(" ", "").upper(),
            name.strip()[:70],
            re.sub(r"\s", "", iban).upper(),
            epc_amount(amount),
            "",
            reference,
        )
    )


def qualifies(currency: str, amount: Decimal, means_code: str, iban: str | None) -> bool:
    """True when an EPC QR code may be printed: EUR, 0.01..999,999,999.99, SEPA transfer."""
    return (
        currency == "EUR"
        and means_code in SEPA_CREDIT_TRANSFER_MEANS
        and bool(iban)
        and MIN_AMOUNT <= amount <= MAX_AMOUNT
    )


def qr_svg(payload: str) -> str:
    """The payload as a QR code (error correction M, as EPC069-12 requires) in SVG, sized
    by the page (no fixed width; the template gives it 32 mm)."""
    code = segno.make(payload, error="m", boost_error=False, micro=False, encoding="utf-8")
    # EPC069-12: QR version 13 at most (331 bytes of payload)
    if not isinstance(code.version, int) or code.version > 13:
        raise ValueError(f"EPC payload needs QR version {code.version}; the standard allows 13")
    svg = code.svg_inline(scale=1, border=4, omitsize=True, dark="#000", light="#fff")
    return str(svg)


def link_svg(url: str) -> str:
    """A plain QR code of a pay link (the payments issue fills the link)."""
    return str(segno.make(url, error="m", micro=False).svg_inline(scale=1, border=4, omitsize=True))
