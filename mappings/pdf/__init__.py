"""The invoice PDF: a Mapping like the XML formats, for people (e-mail, post, portal download).

``context`` builds a view-model of formatted strings from the Invoice (``labels`` and
``localise`` give the words and the number/date forms per language), ``epc_qr`` the GiroCode
and RF reference, ``render`` the HTML (Jinja2) and the PDF (WeasyPrint), ``format`` the Mapping.
"""

from mappings.pdf.format import PdfInvoice

__all__ = ["PdfInvoice"]
