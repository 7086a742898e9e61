"""Recognise the syntax of an inbound document from its first bytes."""

from __future__ import annotations

import re

from gateway.errors import ParseError

NS_UBL_INVOICE = "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"
NS_UBL_CREDIT_NOTE = "urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2"
NS_CII = "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100"

# The root start tag: skip the XML declaration, comments, processing instructions and a doctype.
_ROOT = re.compile(rb"<([A-Za-z_][\w.\-]*:)?([A-Za-z_][\w.\-]*)([^>]*)>", re.S)
_PROLOG = re.compile(rb"\A(?:\s|<\?.*?\?>|<!--.*?-->|<!DOCTYPE[^>]*>)*", re.S)

SYNTAX_MAPPING = {"ubl": "ubl", "cii": "cii"}


def detect_syntax(data: bytes) -> str:
    """``"ubl"`` or ``"cii"``; raises :class:`ParseError` saying what was found instead."""
    head = data[:4096]
    if head.startswith(b"\xef\xbb\xbf"):
        head = head[3:]
    start = _PROLOG.match(head)
    match = _ROOT.match(head, start.end() if start else 0)
    if match is None:
        raise ParseError(
            "not an XML invoice: no root element found in the first 4 KiB",
            "byte 0",
        )
    attrs = match.group(3)
    if NS_UBL_INVOICE.encode() in attrs or NS_UBL_CREDIT_NOTE.encode() in attrs:
        return "ubl"
    if NS_CII.encode() in attrs:
        return "cii"
    root = match.group(2).decode("ascii", "replace")
    raise ParseError(
        f"unrecognised document (root element {root!r}); accepted: UBL 2.1 Invoice or "
        "CreditNote, UN/CEFACT CII CrossIndustryInvoice",
        "root element",
    )
