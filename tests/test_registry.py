"""Plug-in names resolve, and unknown ones fail with a suggestion."""

from __future__ import annotations

import pytest

from gateway.detect import detect_syntax
from gateway.errors import ConfigError, ParseError
from gateway.registry import load_object, resolve_mapping


def test_unknown_format_suggests_the_closest_alias() -> None:
    """A misspelt alias names the alias it probably meant and lists the known ones."""
    with pytest.raises(ConfigError, match="did you mean 'peppol-bis3'"):
        resolve_mapping("peppol-bis")


def test_module_class_name_that_does_not_import_is_a_config_error() -> None:
    """`package.module:Class` with a missing module fails at start-up, naming the target."""
    with pytest.raises(ConfigError, match=r"cannot import 'nosuch\.module'"):
        load_object("nosuch.module:Thing")
    with pytest.raises(ConfigError, match="has no 'Nope'"):
        load_object("gateway.model:Nope")


@pytest.mark.parametrize(
    ("head", "syntax"),
    [
        (
            b'<?xml version="1.0"?>\n'
            b'<Invoice xmlns="urn:oasis:names:specification:ubl:schema:xsd:Invoice-2">',
            "ubl",
        ),
        (
            b"<!-- c -->"
            b'<CreditNote xmlns="urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2"/>',
            "ubl",
        ),
        (
            b"\xef\xbb\xbf<rsm:CrossIndustryInvoice "
            b'xmlns:rsm="urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100">',
            "cii",
        ),
        (b"UNA:+.? 'UNB+UNOC:3+4012345000016:14+", "edifact"),
        (b"\r\nUNB+UNOA:2+SENDER+RECIPIENT+", "edifact"),
        (
            b'<?xml version="1.0"?><!DOCTYPE cXML SYSTEM "http://xml.cxml.org/x.dtd">'
            b'<cXML payloadID="1">',
            "cxml",
        ),
    ],
)
def test_detect_syntax_reads_the_root_namespace(head: bytes, syntax: str) -> None:
    """UBL/CII by root namespace, cXML by root name, EDIFACT by UNA/UNB; BOM and prolog allowed."""
    assert detect_syntax(head) == syntax


def test_detect_syntax_names_what_it_found() -> None:
    """An unknown root element is reported by name with the accepted syntaxes."""
    with pytest.raises(ParseError, match="root element 'Order'"):
        detect_syntax(b"<Order xmlns='urn:x'/>")
    with pytest.raises(ParseError, match="neither an XML root element"):
        detect_syntax(b"hello")
