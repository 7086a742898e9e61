"""Declarative XML output: escaping by the engine and the buyer XSD check with element paths."""

from __future__ import annotations

from pathlib import Path

import pytest
from builders import simple_invoice
from lxml import etree

from gateway.errors import ValidationFailed
from gateway.profiles.profile import BuyerProfile
from gateway.totals import complete
from mappings.declarative import load_format

XSD = """<?xml version="1.0" encoding="UTF-8"?>
<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" elementFormDefault="qualified">
  <xs:element name="Upload">
    <xs:complexType>
      <xs:sequence>
        <xs:element name="Number" type="xs:string"/>
        <xs:element name="Seller" type="xs:string"/>
        <xs:element name="Line" maxOccurs="unbounded">
          <xs:complexType>
            <xs:sequence>
              <xs:element name="Qty" type="xs:decimal"/>
              <xs:element name="Net" type="xs:decimal"/>
            </xs:sequence>
          </xs:complexType>
        </xs:element>
      </xs:sequence>
    </xs:complexType>
  </xs:element>
</xs:schema>
"""

TEMPLATE = """<?xml version="1.0" encoding="UTF-8"?>
<Upload>
  <Number>{{ invoice.number }}</Number>
  <Seller>{{ invoice.seller.name }}</Seller>
{% for line in invoice.lines %}
  <Line><Qty>{{ line.quantity | number }}</Qty><Net>{{ NET }}</Net></Line>
{% endfor %}
</Upload>
"""

TOML = """name = "tiny-xml"
output = "xml"
template = "upload.xml.j2"
schema = "upload.xsd"
"""


def make(tmp_path: Path, net: str) -> Path:
    """A tiny XML format in ``tmp_path`` whose line net is written by expression ``net``."""
    (tmp_path / "upload.xsd").write_text(XSD, encoding="utf-8")
    (tmp_path / "upload.xml.j2").write_text(TEMPLATE.replace("NET", net), encoding="utf-8")
    (tmp_path / "tiny-xml.toml").write_text(TOML, encoding="utf-8")
    return tmp_path / "tiny-xml.toml"


def test_xml_format_escapes_text_and_passes_its_xsd(tmp_path: Path) -> None:
    """Markup characters in data are escaped; the output parses and conforms to the XSD."""
    mapping = load_format(make(tmp_path, "line.net_amount | amount(2)"))
    base = complete(simple_invoice())
    invoice = base.model_copy(
        update={"seller": base.seller.model_copy(update={"name": "A & B <GmbH>"})}
    )
    document = mapping.render(invoice, BuyerProfile())
    assert (document.syntax, document.media_type, document.extension) == (
        "xml",
        "application/xml",
        "xml",
    )
    root = etree.fromstring(document.content)
    assert root.findtext("Seller") == "A & B <GmbH>"
    assert [n.text for n in root.iter("Net")] == [
        f"{line.net_amount:.2f}" for line in invoice.lines
    ]


def test_xml_xsd_violation_names_element_path_value_and_bt(tmp_path: Path) -> None:
    """A non-decimal written into Net is reported at its element path with the value and BT."""
    mapping = load_format(make(tmp_path, "line.item.name"))
    with pytest.raises(ValidationFailed) as caught:
        mapping.render(complete(simple_invoice()), BuyerProfile())
    first = caught.value.findings[0]
    assert first.record == "INV-1"
    assert first.path.startswith("/Upload/Line")
    assert first.path.endswith("Net")
    assert first.value == "Article 1"
    assert first.bt == "BT-153"
    assert first.path == "/Upload/Line[1]/Net"
    assert "line 6" in first.message and "fed by lines[0].item.name" in first.message
    assert first.accepted == "what xs:decimal allows"
