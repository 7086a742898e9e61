"""The ``facturx-pdf`` format (alias ``zugferd``): the invoice PDF as PDF/A-3b with its CII XML.

Factur-X 1.0 / ZUGFeRD 2.x profile EN 16931: the XML is the ``facturx-en16931`` rendering of
the same invoice (validated like it), embedded as ``factur-x.xml`` by the ``factur-x`` library,
which also writes the Factur-X XMP extension (``fx:ConformanceLevel`` ``EN 16931``) and the
catalog ``/AF``. The human PDF is the ``pdf`` format's, printed as PDF/A-3b (WeasyPrint: sRGB
OutputIntent, every font embedded).
"""

from __future__ import annotations

import datetime as dt
import threading
from typing import Any, ClassVar

from gateway.document import Document
from gateway.envelope import Envelope
from gateway.errors import ParseError
from gateway.model import Invoice
from gateway.profiles.profile import BuyerProfile
from mappings.cii.formats import FacturXEn16931
from mappings.cii.parse import parse_cii
from mappings.pdf.format import PDF_MEDIA_TYPE, PdfInvoice
from mappings.pdf.hybrid import embedded_invoice_xml
from mappings.pdf.render import html_to_pdf, render_html

FACTURX_LEVEL = "en16931"
# AFRelationship of the XML: the Factur-X 1.0.07 / ZUGFeRD 2.3 specification (the PDF/A-3
# embedding chapter) asks for "Data" in MINIMUM and BASIC WL (the XML is not the full invoice)
# and "Alternative" in BASIC, EN 16931 and EXTENDED (the XML is an equivalent of the PDF). The
# factur-x library enforces the same split: facturx.facturx.generate_from_file switches
# "source"/"alternative" to "data" for levels minimum and basicwl only (factur-x 7.8), and
# drafthorse.pdf.attach_xml writes "/Data" for MINIMUM and BASIC-WL, else "/Alternative".
AF_RELATIONSHIP = "alternative"
PDF_VARIANT = "pdf/a-3b"
# factur-x stamps "now" into the XMP, the Info dictionary and the file spec's /ModDate; the
# stamps are replaced by the invoice's issue date (a pure render: same invoice, same bytes).
# The library reads them from module functions, so one render at a time patches them.
_STAMP_LOCK = threading.Lock()


def _info_like_xmp(info: dict[str, str]) -> dict[str, str]:
    """The Info dictionary factur-x writes, made equal to the XMP it writes (PDF/A-3 6.6.2.3:
    every Info entry must match its XMP twin): its XMP says pdf:Producer "pypdf" (the Info
    kept WeasyPrint's) and has no pdf:Keywords."""
    fixed = {key: value for key, value in info.items() if key != "/Keywords"}
    fixed["/Producer"] = "pypdf"
    return fixed


def _embed(pdf: bytes, xml: bytes, issued: dt.date, metadata: dict[str, str]) -> bytes:
    import facturx.facturx as fx  # type: ignore[import-untyped]

    moment = dt.datetime(issued.year, issued.month, issued.day, tzinfo=dt.UTC)
    with _STAMP_LOCK:
        pdf_stamp, xmp_stamp = fx._get_pdf_timestamp, fx._get_metadata_timestamp
        info = fx._prepare_pdf_metadata_txt
        fx._get_pdf_timestamp = lambda date=None: pdf_stamp(moment)
        fx._get_metadata_timestamp = lambda: moment.strftime("%Y-%m-%dT%H:%M:%S+00:00")
        fx._prepare_pdf_metadata_txt = lambda metadata: _info_like_xmp(info(metadata))
        try:
            result: Any = fx.generate_from_binary(
                pdf,
                xml,
                flavor="factur-x",
                level=FACTURX_LEVEL,
                check_xsd=False,  # validated by the gateway (XSD + schematron) before it ships
                check_schematron=False,  # the library's schematron check calls a Saxon server
                pdf_metadata=metadata,
                afrelationship=AF_RELATIONSHIP,
            )
        finally:
            fx._get_pdf_timestamp, fx._get_metadata_timestamp = pdf_stamp, xmp_stamp
            fx._prepare_pdf_metadata_txt = info
    return bytes(result)


class FacturXPdf:
    """Factur-X / ZUGFeRD EN 16931 hybrid: PDF/A-3b for people with the CII XML for machines.

    Options are the ``pdf`` format's (language, pay_url, branding). ``parse`` reads any
    Factur-X / ZUGFeRD 2.x / XRechnung-CII hybrid PDF (its embedded XML, parsed as CII)."""

    name: ClassVar[str] = "facturx-pdf"
    syntax: ClassVar[str] = "pdf"
    rules: ClassVar[tuple[str, ...]] = ("en16931", "facturx")
    option_keys: ClassVar[tuple[str, ...]] = PdfInvoice.option_keys

    def xml(self, invoice: Invoice, profile: BuyerProfile | None = None) -> bytes:
        """The embedded XML: exactly the ``facturx-en16931`` rendering of ``invoice``."""
        return FacturXEn16931().render(invoice, profile).content

    def render(
        self,
        invoice: Invoice,
        profile: BuyerProfile | None = None,
        envelope: Envelope | None = None,
    ) -> Document:
        """The Factur-X PDF of ``invoice``; pure (dates stamped are the issue date BT-2)."""
        view = PdfInvoice().view(invoice, profile)
        pdf = html_to_pdf(render_html(view), variant=PDF_VARIANT)
        seller = invoice.seller.name
        metadata = {
            "author": seller,
            "title": f"{seller}: Invoice {invoice.number}",
            "subject": f"Factur-X invoice {invoice.number} dated "
            f"{invoice.issue_date.isoformat()} issued by {seller}",
        }
        content = _embed(pdf, self.xml(invoice, profile), invoice.issue_date, metadata)
        return Document(
            content=content,
            syntax=self.syntax,
            format=self.name,
            invoice_number=invoice.number,
            media_type=PDF_MEDIA_TYPE,
            extension="pdf",
            rules=self.rules,
        )

    def embedded_xml(self, data: bytes) -> tuple[str, bytes]:
        """``(file name, XML)`` of the invoice a hybrid PDF embeds; ParseError without one."""
        return embedded_invoice_xml(data)

    def parse(self, data: bytes) -> Invoice:
        """The invoice in a hybrid PDF's embedded XML; ParseError for a PDF without one."""
        from gateway.detect import detect_syntax

        name, xml = embedded_invoice_xml(data)
        syntax = detect_syntax(xml)
        if syntax != "cii":
            raise ParseError(
                f"embedded {name} is {syntax}, accepted in a hybrid PDF: CII (Factur-X/ZUGFeRD)",
                f"PDF {name}",
            )
        try:
            return parse_cii(xml)
        except ParseError as exc:
            raise ParseError(str(exc), f"PDF {name}") from exc
