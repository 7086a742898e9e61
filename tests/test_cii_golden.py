"""Golden files for the CII mappings: one per mapping case, compared after C14N."""

from __future__ import annotations

import pytest
from builders import simple_invoice
from golden import assert_golden
from lxml import etree
from test_cii_cases import CASES

from gateway.registry import resolve_mapping


def _readable(content: bytes) -> bytes:
    """Indented for review in git; the comparison is after C14N, so indentation is irrelevant."""
    root = etree.fromstring(content, etree.XMLParser(remove_blank_text=True))
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


@pytest.mark.parametrize("format_name", ["cii", "xrechnung-cii", "facturx-en16931"])
def test_simple_invoice_per_format(format_name: str) -> None:
    """builders.simple_invoice renders to the stored document for each CII format."""
    document = resolve_mapping(format_name).render(simple_invoice())
    assert_golden(f"cii/simple_invoice.{format_name}.xml", _readable(document.content))


@pytest.mark.parametrize("case", list(CASES))
def test_mapping_case(case: str) -> None:
    """Each mapping case renders (as XRechnung CII, the strictest rules) to its stored document."""
    document = resolve_mapping("xrechnung-cii").render(CASES[case]())
    assert_golden(f"cii/{case}.xrechnung-cii.xml", _readable(document.content))


def test_facturx_credit_note() -> None:
    """The credit note as Factur-X EN 16931 (type code 381 in the same structure)."""
    document = resolve_mapping("facturx-en16931").render(CASES["credit_note"]())
    assert_golden("cii/credit_note.facturx-en16931.xml", _readable(document.content))
