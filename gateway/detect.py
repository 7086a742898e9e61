"""Recognise the syntax of an inbound document from its first bytes."""

from __future__ import annotations

import re

from gateway.errors import ParseError

NS_UBL_INVOICE = "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"
NS_UBL_CREDIT_NOTE = "urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2"
NS_CII = "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100"

# The root start tag: skip the XML declaration, comments, processing instructions and a doctype.
_ROOT = re.compile(rb"<([A-Za-z_][\w.\-]*:)?([A-Za-z_][\w.\-]*)([^>]*)>", re.S)
_PROLOG = re.compile(rb"\A(?:\s|<\?.*?\?>|<!--.*?-->|<!DOCTYPE[^>\[]*(?:\[.*?\]\s*)?>)*", re.S)
_SUBSET = re.compile(rb"<!DOCTYPE\s*([^\s>\[]*)[^>\[]*\[")

# The mapping that parses each syntax's invoices (``igw parse``).
# A PDF is read for the invoice XML it embeds (Factur-X / ZUGFeRD / XRechnung hybrids).
PARSER_FOR_SYNTAX = {
    "ubl": "ubl",
    "cii": "cii",
    "edifact": "eancom-d96a",
    "cxml": "cxml",
    "pdf": "facturx-pdf",
}


def detect_syntax(data: bytes) -> str:
    """``ubl``, ``cii``, ``edifact``, ``cxml`` or ``pdf``; raises :class:`ParseError` naming
    what was found. A PDF is recognised by its ``%PDF-`` header (a hybrid invoice carries XML).

    EDIFACT is recognised by its service string advice or interchange header (``UNA``/``UNB``
    after optional white space), cXML by its ``cXML`` root element. A DOCTYPE with an internal
    subset is refused as such (whatever the root), not reported as an unknown document.
    """
    head = data[:4096]
    if head.startswith(b"\xef\xbb\xbf"):
        head = head[3:]
    if head.lstrip()[:3] in (b"UNA", b"UNB"):
        return "edifact"
    if head.lstrip()[:5] == b"%PDF-":
        return "pdf"
    start = _PROLOG.match(head)
    prolog_end = start.end() if start else 0
    doctype_at = head.find(b"<!DOCTYPE")
    subset = _SUBSET.match(head, doctype_at) if 0 <= doctype_at <= prolog_end else None
    if subset is not None:
        name = subset.group(1).decode("ascii", "replace") or "?"
        line = head[: subset.start()].count(b"\n") + 1
        raise ParseError(
            f"refused: the document declares a DOCTYPE {name!r} with an internal subset "
            "([...] entity or element declarations, the way in for XXE and entity-expansion "
            "attacks); accepted: UBL 2.1 and CII without a DOCTYPE, cXML with an external DTD "
            "reference only",
            f"line {line}",
        )
    match = _ROOT.match(head, prolog_end)
    if match is None:
        raise ParseError(
            "not an invoice: neither an XML root element nor an EDIFACT UNA/UNB header found "
            "in the first 4 KiB",
            "byte 0",
        )
    attrs = match.group(3)
    if NS_UBL_INVOICE.encode() in attrs or NS_UBL_CREDIT_NOTE.encode() in attrs:
        return "ubl"
    if NS_CII.encode() in attrs:
        return "cii"
    root = match.group(2).decode("ascii", "replace")
    if root == "cXML" and match.group(1) is None:
        return "cxml"
    raise ParseError(
        f"unrecognised document (root element {root!r}); accepted: UBL 2.1 Invoice or "
        "CreditNote, UN/CEFACT CII CrossIndustryInvoice, cXML, UN/EDIFACT (UNA/UNB)",
        "root element",
    )
