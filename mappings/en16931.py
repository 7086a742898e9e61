"""What the EN 16931 XML mappings (UBL and CII) share: specification ids and the Mapping shell.

A format is one syntax plus the specification identifier (BT-24) and business process (BT-23) it
stamps on the document and the rule sets that judge it; the shell below does the rest (complete
omitted amounts, render, wrap in a Document, and ``stamped`` for round-trip comparisons).
"""

from __future__ import annotations

from typing import ClassVar

from gateway.document import Document
from gateway.envelope import Envelope
from gateway.model import Invoice
from gateway.profiles.profile import BuyerProfile
from gateway.totals import complete, is_complete

EN16931_SPECIFICATION = "urn:cen.eu:en16931:2017"
PEPPOL_SPECIFICATION = "urn:cen.eu:en16931:2017#compliant#urn:fdc:peppol.eu:2017:poacc:billing:3.0"
XRECHNUNG_SPECIFICATION = "urn:cen.eu:en16931:2017#compliant#urn:xeinkauf.de:kosit:xrechnung_3.0"
PEPPOL_BILLING_PROCESS = "urn:fdc:peppol.eu:2017:poacc:billing:01:1.0"


class En16931XmlMapping:
    """Shared behaviour of the UBL and CII formats; subclasses name themselves and say how
    BT-23/BT-24 are stamped, and plug in their syntax's ``render_xml`` and ``parse``."""

    name: ClassVar[str]
    syntax: ClassVar[str]
    rules: ClassVar[tuple[str, ...]]

    def specification_id(self, invoice: Invoice) -> str:
        """BT-24 as written for ``invoice``."""
        return invoice.specification_id or EN16931_SPECIFICATION

    def business_process(self, invoice: Invoice) -> str | None:
        """BT-23 as written for ``invoice`` (None: not written)."""
        return invoice.business_process

    def render_xml(self, invoice: Invoice, specification: str, process: str | None) -> bytes:
        """The document bytes for a completed ``invoice``."""
        raise NotImplementedError

    def parse(self, data: bytes) -> Invoice:
        """Read a document of this syntax; raises ParseError with a location."""
        raise NotImplementedError

    def stamped(self, invoice: Invoice) -> Invoice:
        """``invoice`` as this mapping writes it: completed, BT-23/BT-24 as in the document,
        so that ``parse(render(x).content) == stamped(x)``."""
        if not is_complete(invoice):
            invoice = complete(invoice)
        return invoice.model_copy(
            update={
                "specification_id": self.specification_id(invoice),
                "business_process": self.business_process(invoice),
            }
        )

    def render(
        self,
        invoice: Invoice,
        profile: BuyerProfile | None = None,
        envelope: Envelope | None = None,
    ) -> Document:
        """The document for ``invoice`` (omitted amounts completed first); pure and repeatable.

        UBL and CII carry no transmission envelope: ``envelope`` is accepted and ignored."""
        if not is_complete(invoice):
            invoice = complete(invoice)
        content = self.render_xml(
            invoice, self.specification_id(invoice), self.business_process(invoice)
        )
        return Document(
            content=content,
            syntax=self.syntax,
            format=self.name,
            invoice_number=invoice.number,
            media_type="application/xml",
            extension="xml",
            rules=self.rules,
        )


class PeppolProcessDefault(En16931XmlMapping):
    """Formats that require BT-23: the invoice's own, else the Peppol billing process."""

    def business_process(self, invoice: Invoice) -> str:
        """The invoice's business process, else ``urn:fdc:peppol.eu:2017:poacc:billing:01:1.0``."""
        return invoice.business_process or PEPPOL_BILLING_PROCESS
