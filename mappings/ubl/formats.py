"""The UBL mappings: Peppol BIS Billing 3.0, XRechnung 3.0 (UBL syntax) and generic EN 16931 UBL.

They differ only in the specification identifier (BT-24) and business process (BT-23) they
stamp on the document and in the rule sets the document must pass.
"""

from __future__ import annotations

from typing import ClassVar

from gateway.document import Document
from gateway.model import Invoice
from gateway.profile import BuyerProfile
from gateway.totals import complete
from mappings.ubl.parse import parse_ubl
from mappings.ubl.render import render_ubl

PEPPOL_CUSTOMIZATION = "urn:cen.eu:en16931:2017#compliant#urn:fdc:peppol.eu:2017:poacc:billing:3.0"
PEPPOL_BILLING_PROCESS = "urn:fdc:peppol.eu:2017:poacc:billing:01:1.0"
XRECHNUNG_CUSTOMIZATION = "urn:cen.eu:en16931:2017#compliant#urn:xeinkauf.de:kosit:xrechnung_3.0"
EN16931_CUSTOMIZATION = "urn:cen.eu:en16931:2017"


def _is_complete(invoice: Invoice) -> bool:
    totals = invoice.totals
    if totals is None or totals.due is None or totals.with_vat is None or totals.vat is None:
        return False
    if not invoice.vat_breakdown:
        return False
    if any(v.taxable_amount is None or v.tax_amount is None for v in invoice.vat_breakdown):
        return False
    return all(line.net_amount is not None for line in invoice.lines)


class _UblMapping:
    """Shared behaviour; subclasses set the names and how BT-23/BT-24 are stamped."""

    name: ClassVar[str]
    syntax: ClassVar[str] = "ubl"
    rules: ClassVar[tuple[str, ...]]

    def customization_id(self, invoice: Invoice) -> str:
        """BT-24 as written for ``invoice``."""
        raise NotImplementedError

    def profile_id(self, invoice: Invoice) -> str | None:
        """BT-23 as written for ``invoice`` (None: no ProfileID element)."""
        return invoice.business_process

    def stamped(self, invoice: Invoice) -> Invoice:
        """``invoice`` as this mapping writes it: completed (totals, VAT breakdown, line nets)
        and with BT-23/BT-24 set to the values in the document, so that
        ``parse(render(x).content) == stamped(x)``."""
        if not _is_complete(invoice):
            invoice = complete(invoice)
        return invoice.model_copy(
            update={
                "specification_id": self.customization_id(invoice),
                "business_process": self.profile_id(invoice),
            }
        )

    def render(self, invoice: Invoice, profile: BuyerProfile | None = None) -> Document:
        """UBL 2.1 Invoice (or CreditNote for a credit-note type code) for ``invoice``.

        Pure: the same invoice renders the same bytes. Omitted totals are completed first.
        """
        if not _is_complete(invoice):
            invoice = complete(invoice)
        content = render_ubl(invoice, self.customization_id(invoice), self.profile_id(invoice))
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
        """Any EN 16931 UBL 2.1 Invoice/CreditNote into the model; ParseError with location."""
        return parse_ubl(data)


class PeppolBis3(_UblMapping):
    """Peppol BIS Billing 3.0: fixed CustomizationID, ProfileID defaulting to billing 01."""

    name: ClassVar[str] = "peppol-bis3"
    rules: ClassVar[tuple[str, ...]] = ("en16931", "peppol")

    def customization_id(self, invoice: Invoice) -> str:
        """The Peppol BIS 3 specification identifier."""
        return PEPPOL_CUSTOMIZATION

    def profile_id(self, invoice: Invoice) -> str:
        """The invoice's business process, else the Peppol billing process."""
        return invoice.business_process or PEPPOL_BILLING_PROCESS


class XRechnungUbl(_UblMapping):
    """XRechnung 3.0 in UBL syntax (German public buyers)."""

    name: ClassVar[str] = "xrechnung-ubl"
    rules: ClassVar[tuple[str, ...]] = ("en16931", "xrechnung")

    def customization_id(self, invoice: Invoice) -> str:
        """The XRechnung 3.0 specification identifier."""
        return XRECHNUNG_CUSTOMIZATION

    def profile_id(self, invoice: Invoice) -> str:
        """The invoice's business process, else the Peppol billing process."""
        return invoice.business_process or PEPPOL_BILLING_PROCESS


class GenericUbl(_UblMapping):
    """Plain EN 16931 UBL: the invoice's own specification identifier, else the core one."""

    name: ClassVar[str] = "ubl"
    rules: ClassVar[tuple[str, ...]] = ("en16931",)

    def customization_id(self, invoice: Invoice) -> str:
        """The invoice's specification identifier, else ``urn:cen.eu:en16931:2017``."""
        return invoice.specification_id or EN16931_CUSTOMIZATION
