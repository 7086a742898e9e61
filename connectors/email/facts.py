"""What the subject and body templates may say about an invoice, read from the Document.

The connector gets the rendered :class:`~gateway.document.Document` only; its format's mapping
reads it back (``Mapping.parse``) for the dates, amount due and party names. A document no
mapping can read (a buyer's own format without a parser) still gets an e-mail: every variable
but the invoice number is then ``None`` and the shipped templates leave those lines out.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass
from decimal import Decimal
from typing import Any

from gateway.document import Document
from gateway.model import Invoice

_SEPARATORS = {"de": (".", ","), "fr": ("\u202f", ","), "en": (",", ".")}
_DATES = {"de": "%d.%m.%Y", "fr": "%d/%m/%Y", "en": "%Y-%m-%d"}


@dataclass(frozen=True)
class Facts:
    """Template variables: ``invoice_number``, ``issue_date``/``due_date`` (formatted for the
    language), ``amount_due`` (formatted, with the currency), ``seller_name``, ``buyer_name``,
    ``pay_link`` (a URL, or ``None``: the slot renders only when given)."""

    invoice_number: str
    issue_date: str | None = None
    due_date: str | None = None
    amount_due: str | None = None
    seller_name: str | None = None
    buyer_name: str | None = None
    pay_link: str | None = None

    def variables(self) -> dict[str, Any]:
        """The template variables, every one present (``None`` where unknown)."""
        return asdict(self)


def read_invoice(document: Document) -> Invoice | None:
    """The invoice ``document`` carries, read back by its format's mapping; ``None`` when no
    mapping reads it (never raises: the e-mail does not depend on it)."""
    from gateway.registry import resolve_mapping  # mappings are plug-ins: resolved, not imported

    try:
        invoice = resolve_mapping(document.format).parse(document.content)
    except Exception:  # any failure only means fewer template variables
        return None
    return invoice if isinstance(invoice, Invoice) else None


def facts_for(
    document: Document, invoice: Invoice | None, language: str, pay_link: str | None = None
) -> Facts:
    """The template variables for ``document`` in ``language`` (de, en, fr formatting)."""
    if invoice is None:
        return Facts(invoice_number=document.invoice_number, pay_link=pay_link)
    totals = invoice.totals
    due = totals.due if totals is not None and totals.due is not None else None
    if due is None and totals is not None:
        due = totals.with_vat
    return Facts(
        invoice_number=invoice.number,
        issue_date=format_date(invoice.issue_date, language),
        due_date=format_date(invoice.due_date, language) if invoice.due_date else None,
        amount_due=format_amount(due, invoice.currency, language) if due is not None else None,
        seller_name=invoice.seller.name,
        buyer_name=invoice.buyer.name,
        pay_link=pay_link,
    )


def format_date(value: dt.date, language: str) -> str:
    """``02.12.2026`` (de), ``02/12/2026`` (fr), ``2026-12-02`` (en and others)."""
    return value.strftime(_DATES.get(language, _DATES["en"]))


def format_amount(value: Decimal, currency: str, language: str) -> str:
    """``1.234,50 EUR`` (de), ``1 234,50 EUR`` (fr), ``EUR 1,234.50`` (en and others)."""
    thousands, decimal = _SEPARATORS.get(language, _SEPARATORS["en"])
    text = f"{value:,.2f}".replace(",", "\0").replace(".", decimal).replace("\0", thousands)
    return f"{currency} {text}" if language not in ("de", "fr") else f"{text} {currency}"
