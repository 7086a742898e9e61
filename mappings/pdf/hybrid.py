"""The invoice XML embedded in a hybrid PDF (Factur-X, ZUGFeRD 2.x, XRechnung in a PDF).

Used by the ``facturx-pdf`` mapping: its ``parse`` (``igw parse``, inbound) and its
``embedded_xml``, which the validator reaches through the registry (the PDF's XML is judged
like the XML on its own). pypdf (a dependency of the ``factur-x`` library) reads the PDF.
"""

from __future__ import annotations

import logging
from io import BytesIO

from gateway.errors import ParseError

# The file names the specifications give the XML, in the order they are looked for:
# Factur-X 1.0 / ZUGFeRD 2.x, ZUGFeRD 2.0 (lower case seen in the wild), XRechnung hybrids.
INVOICE_XML_NAMES = ("factur-x.xml", "ZUGFeRD-invoice.xml", "zugferd-invoice.xml", "xrechnung.xml")
NO_XML = "PDF has no embedded factur-x.xml / ZUGFeRD-invoice.xml / xrechnung.xml"


def embedded_invoice_xml(data: bytes) -> tuple[str, bytes]:
    """``(file name, XML bytes)`` of the invoice embedded in the PDF ``data``.

    Raises :class:`ParseError` when the PDF cannot be read or embeds none of
    :data:`INVOICE_XML_NAMES` (a plain PDF for people).
    """
    from pypdf import PdfReader

    logging.getLogger("pypdf").setLevel(logging.ERROR)
    try:
        attachments = PdfReader(BytesIO(data)).attachments
        found = {name.lower(): (name, contents) for name, contents in attachments.items()}
    except Exception as exc:
        # Inbound PDFs are untrusted: pypdf fails on damaged ones with whatever the broken
        # structure trips (IndexError, RecursionError, zlib.error, ...). One translation here.
        raise ParseError(f"not a readable PDF: {type(exc).__name__}: {exc}", "PDF") from exc
    for wanted in INVOICE_XML_NAMES:
        hit = found.get(wanted.lower())
        if hit is not None and hit[1]:
            return hit[0], hit[1][0]
    others = ", ".join(sorted(name for name, _ in found.values())) or "none"
    raise ParseError(f"{NO_XML} (attachments: {others})", "PDF")
