"""The CII mappings: XRechnung CII, Factur-X/ZUGFeRD EN 16931 (XML part) and generic EN 16931 CII.

They differ only in the rules that judge them and in the guideline id (BT-24) they write; the
document structure is the same (:mod:`mappings.cii.render`, :mod:`mappings.cii.parse`).
"""

from __future__ import annotations

from typing import ClassVar

from gateway.document import Document
from gateway.model import Invoice
from gateway.profile import BuyerProfile
from gateway.totals import complete
from mappings.cii.codes import EN16931_GUIDELINE, PEPPOL_BILLING_PROCESS, XRECHNUNG_GUIDELINE
from mappings.cii.parse import parse_cii
from mappings.cii.render import render_cii


def is_complete(invoice: Invoice) -> bool:
    """True when every amount CII requires is present (line nets, VAT breakdown, totals)."""
    totals = invoice.totals
    if totals is None or not invoice.vat_breakdown:
        return False
    if None in (totals.line_net, totals.without_vat, totals.with_vat, totals.due):
        return False
    if any(line.net_amount is None for line in invoice.lines):
        return False
    return all(
        v.taxable_amount is not None and v.tax_amount is not None for v in invoice.vat_breakdown
    )


class _CiiMapping:
    """Shared behaviour; subclasses set the class attributes and :meth:`guideline`."""

    name: ClassVar[str]
    syntax: ClassVar[str] = "cii"
    rules: ClassVar[tuple[str, ...]]

    def guideline(self, invoice: Invoice) -> str:
        """BT-24 as written for ``invoice``."""
        raise NotImplementedError

    def business_process(self, invoice: Invoice) -> str | None:
        """BT-23 as written for ``invoice``: the invoice's own value, if any."""
        return invoice.business_process

    def stamped(self, invoice: Invoice) -> Invoice:
        """``invoice`` as this mapping writes it: completed when amounts are missing, BT-24 set.

        ``parse(render(x).content) == stamped(x)`` for every invoice the model can express.
        """
        if not is_complete(invoice):
            invoice = complete(invoice)
        return invoice.model_copy(
            update={
                "specification_id": self.guideline(invoice),
                "business_process": self.business_process(invoice),
            }
        )

    def render(self, invoice: Invoice, profile: BuyerProfile | None = None) -> Document:
        """The CII document; completes missing amounts first (pure, deterministic)."""
        if not is_complete(invoice):
            invoice = complete(invoice)
        content = render_cii(invoice, self.guideline(invoice), self.business_process(invoice))
        return Document(
            content=content,
            syntax=self.syntax,
            format=self.name,
            invoice_number=invoice.number,
            media_type="application/xml",
            extension="xml",
            rules=self.rules,
        )

    def parse(self, data: bytes) -> Invoice:
        """Any EN 16931 CII invoice or credit note; raises ParseError with a location."""
        return parse_cii(data)


class XRechnungCii(_CiiMapping):
    """XRechnung 3.0 in CII syntax (German public sector), judged by EN 16931 + XRechnung rules."""

    name: ClassVar[str] = "xrechnung-cii"
    rules: ClassVar[tuple[str, ...]] = ("en16931", "xrechnung")

    def guideline(self, invoice: Invoice) -> str:
        """Always the XRechnung 3.0 CIUS id."""
        return XRECHNUNG_GUIDELINE

    def business_process(self, invoice: Invoice) -> str:
        """The invoice's BT-23, else the Peppol billing process: XRechnung 3.0 requires BT-23
        (PEPPOL-EN16931-R001 in the XRechnung CII rules)."""
        return invoice.business_process or PEPPOL_BILLING_PROCESS


class FacturXEn16931(_CiiMapping):
    """The XML of a Factur-X / ZUGFeRD invoice, profile EN 16931 (COMFORT)."""

    name: ClassVar[str] = "facturx-en16931"
    rules: ClassVar[tuple[str, ...]] = ("en16931", "facturx")

    def guideline(self, invoice: Invoice) -> str:
        """Always ``urn:cen.eu:en16931:2017`` (the Factur-X EN 16931 profile id)."""
        return EN16931_GUIDELINE


class GenericCii(_CiiMapping):
    """Plain EN 16931 CII; keeps the invoice's own specification id when it has one."""

    name: ClassVar[str] = "cii"
    rules: ClassVar[tuple[str, ...]] = ("en16931",)

    def guideline(self, invoice: Invoice) -> str:
        """``invoice.specification_id`` or ``urn:cen.eu:en16931:2017``."""
        return invoice.specification_id or EN16931_GUIDELINE
