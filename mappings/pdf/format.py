"""The ``pdf`` format: the invoice as a person reads it, printed or on screen.

Options (``BuyerProfile.options``, ``igw translate --option``): ``language`` (de, en, fr;
default en), ``pay_url`` (the pay-link slot: a link and its QR code), and the branding keys
``logo``, ``colour``, ``footer`` (:mod:`mappings.pdf.branding`).
"""

from __future__ import annotations

import re
from typing import ClassVar

from gateway.document import Document
from gateway.envelope import Envelope
from gateway.errors import ConfigError, ParseError
from gateway.model import Invoice
from gateway.profiles.profile import BuyerProfile
from gateway.totals import complete, is_complete
from mappings.pdf.branding import BRANDING_OPTIONS, Branding, branding_from_options
from mappings.pdf.context import InvoiceView, build_context
from mappings.pdf.labels import DEFAULT_LANGUAGE, check_language
from mappings.pdf.render import html_to_pdf, render_html

PDF_MEDIA_TYPE = "application/pdf"
_PAY_URL = re.compile(r"^https?://[^\s<>\"'`]{1,500}$")


def check_pay_url(value: str) -> str:
    """``value`` when empty or an http(s) URL of at most 500 characters without blanks or
    quotes; ConfigError otherwise (a ``javascript:`` link must not reach a PDF)."""
    if value and not _PAY_URL.match(value):
        raise ConfigError(
            f"pdf option pay_url={value[:80]!r}: not a pay link (accepted: an https:// or "
            "http:// URL, 500 characters at most, no blanks or quotes)"
        )
    return value


class PdfInvoice:
    """The invoice PDF (WeasyPrint): DIN 5008 letter, lines, VAT breakdown, totals, payment
    with the EPC QR code for SEPA transfers in EUR. Outbound only."""

    name: ClassVar[str] = "pdf"
    syntax: ClassVar[str] = "pdf"
    rules: ClassVar[tuple[str, ...]] = ()
    option_keys: ClassVar[tuple[str, ...]] = ("language", "pay_url", *BRANDING_OPTIONS)

    def view(
        self,
        invoice: Invoice,
        profile: BuyerProfile | None = None,
        branding: Branding | None = None,
    ) -> InvoiceView:
        """The view-model the PDF is rendered from (omitted amounts completed first)."""
        options = profile.options if profile is not None else {}
        if not is_complete(invoice):
            invoice = complete(invoice)
        language = check_language(options.get("language", DEFAULT_LANGUAGE))
        pay_url = check_pay_url(options.get("pay_url", "").strip()) or None
        return build_context(
            invoice,
            language,
            branding if branding is not None else branding_from_options(options),
            pay_url,
        )

    def html(self, invoice: Invoice, profile: BuyerProfile | None = None) -> str:
        """The HTML the PDF is printed from."""
        return render_html(self.view(invoice, profile))

    def render(
        self,
        invoice: Invoice,
        profile: BuyerProfile | None = None,
        envelope: Envelope | None = None,
    ) -> Document:
        """The PDF of ``invoice``; pure (no clock: the PDF carries no creation time).

        ``envelope`` is accepted and ignored: a PDF has no transmission envelope."""
        content = html_to_pdf(self.html(invoice, profile))
        return Document(
            content=content,
            syntax=self.syntax,
            format=self.name,
            invoice_number=invoice.number,
            media_type=PDF_MEDIA_TYPE,
            extension="pdf",
            rules=self.rules,
        )

    def parse(self, data: bytes) -> Invoice:
        """Not possible: the PDF is for people (a Factur-X PDF carries its XML: facturx-pdf)."""
        raise ParseError(
            "the pdf format is outbound only (a PDF for people has no machine-readable "
            "invoice); accepted for parsing: UBL, CII, EDIFACT, cXML, a Factur-X/ZUGFeRD PDF "
            "(format facturx-pdf)",
            "format pdf",
        )
