"""The UBL mappings: Peppol BIS Billing 3.0, XRechnung 3.0 (UBL syntax) and generic EN 16931 UBL.

They differ only in the specification identifier (BT-24) and business process (BT-23) they
stamp on the document and in the rule sets the document must pass.
"""

from __future__ import annotations

from typing import ClassVar

from gateway.model import Invoice
from mappings.en16931 import (
    PEPPOL_SPECIFICATION,
    XRECHNUNG_SPECIFICATION,
    En16931XmlMapping,
    PeppolProcessDefault,
)
from mappings.ubl.parse import parse_ubl
from mappings.ubl.render import render_ubl


class _Ubl(En16931XmlMapping):
    """UBL 2.1 Invoice, or CreditNote for a credit-note type code."""

    syntax: ClassVar[str] = "ubl"

    def render_xml(self, invoice: Invoice, specification: str, process: str | None) -> bytes:
        """UBL 2.1 bytes: BT-24 as CustomizationID, BT-23 as ProfileID."""
        return render_ubl(invoice, specification, process)

    def parse(self, data: bytes) -> Invoice:
        """Any EN 16931 UBL 2.1 Invoice/CreditNote into the model; ParseError with location."""
        return parse_ubl(data)


class PeppolBis3(_Ubl, PeppolProcessDefault):
    """Peppol BIS Billing 3.0: fixed CustomizationID, ProfileID defaulting to billing 01."""

    name: ClassVar[str] = "peppol-bis3"
    rules: ClassVar[tuple[str, ...]] = ("en16931", "peppol")

    def specification_id(self, invoice: Invoice) -> str:
        """The Peppol BIS 3 specification identifier."""
        return PEPPOL_SPECIFICATION


class XRechnungUbl(_Ubl, PeppolProcessDefault):
    """XRechnung 3.0 in UBL syntax (German public buyers)."""

    name: ClassVar[str] = "xrechnung-ubl"
    rules: ClassVar[tuple[str, ...]] = ("en16931", "xrechnung")

    def specification_id(self, invoice: Invoice) -> str:
        """The XRechnung 3.0 specification identifier."""
        return XRECHNUNG_SPECIFICATION


class GenericUbl(_Ubl):
    """Plain EN 16931 UBL: the invoice's own specification identifier, else the core one."""

    name: ClassVar[str] = "ubl"
    rules: ClassVar[tuple[str, ...]] = ("en16931",)
