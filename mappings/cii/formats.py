"""The CII mappings: XRechnung CII, Factur-X/ZUGFeRD EN 16931 (XML part) and generic EN 16931 CII.

They differ only in the rules that judge them and in the guideline id (BT-24) they write; the
document structure is the same (:mod:`mappings.cii.render`, :mod:`mappings.cii.parse`).
"""

from __future__ import annotations

from typing import ClassVar

from gateway.model import Invoice
from mappings.cii.parse import parse_cii
from mappings.cii.render import render_cii
from mappings.en16931 import (
    EN16931_SPECIFICATION,
    XRECHNUNG_SPECIFICATION,
    En16931XmlMapping,
    PeppolProcessDefault,
)


class _Cii(En16931XmlMapping):
    """UN/CEFACT CII D16B CrossIndustryInvoice (invoices and credit notes alike)."""

    syntax: ClassVar[str] = "cii"

    def render_xml(self, invoice: Invoice, specification: str, process: str | None) -> bytes:
        """CII bytes: BT-24 as the guideline parameter, BT-23 as the business process."""
        return render_cii(invoice, specification, process)

    def parse(self, data: bytes) -> Invoice:
        """Any EN 16931 CII invoice or credit note; raises ParseError with a location."""
        return parse_cii(data)


class XRechnungCii(_Cii, PeppolProcessDefault):
    """XRechnung 3.0 in CII syntax (German public sector), judged by EN 16931 + XRechnung rules.

    BT-23 defaults to the Peppol billing process: XRechnung 3.0 requires it
    (PEPPOL-EN16931-R001 in the XRechnung CII rules)."""

    name: ClassVar[str] = "xrechnung-cii"
    rules: ClassVar[tuple[str, ...]] = ("en16931", "xrechnung")

    def specification_id(self, invoice: Invoice) -> str:
        """Always the XRechnung 3.0 CIUS id."""
        return XRECHNUNG_SPECIFICATION


class FacturXEn16931(_Cii):
    """The XML of a Factur-X / ZUGFeRD invoice, profile EN 16931 (COMFORT)."""

    name: ClassVar[str] = "facturx-en16931"
    rules: ClassVar[tuple[str, ...]] = ("en16931", "facturx")

    def specification_id(self, invoice: Invoice) -> str:
        """Always ``urn:cen.eu:en16931:2017`` (the Factur-X EN 16931 profile id)."""
        return EN16931_SPECIFICATION


class GenericCii(_Cii):
    """Plain EN 16931 CII; keeps the invoice's own specification id when it has one."""

    name: ClassVar[str] = "cii"
    rules: ClassVar[tuple[str, ...]] = ("en16931",)
