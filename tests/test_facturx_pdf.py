"""The ``facturx-pdf``/``zugferd`` format: a Factur-X EN 16931 PDF/A-3b read back with real tools.

No PDF/A validator is installable here, so the PDF/A-3 and Factur-X requirements are checked
one by one: qpdf, pdffonts, pikepdf (OutputIntent, XMP, /AF, the embedded file), the embedded
XML through ../shared/conformance/validate.py, and ``igw parse`` of the result.
"""

from __future__ import annotations

import base64
import io
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pikepdf
import pytest
from lxml import etree
from pdf_harness import CREDIT_NOTE, SHORT, invoices, run, tool
from shared_dir import ROOT

from gateway.model import Invoice
from gateway.registry import resolve_mapping
from gateway.validation import validate
from mappings.cii.formats import FacturXEn16931
from mappings.cii.parse import parse_cii
from mappings.pdf import PdfInvoice, facturx
from mappings.pdf.facturx import FacturXPdf

NUMBERS = (SHORT, CREDIT_NOTE)
RAM = "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100"
GUIDELINE = f".//{{{RAM}}}GuidelineSpecifiedDocumentContextParameter/{{{RAM}}}ID"
# fx:ConformanceLevel by the guideline id (BT-24) the XML carries (Factur-X 1.0, XMP schema).
LEVEL_BY_GUIDELINE = {"urn:cen.eu:en16931:2017": "EN 16931"}


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The Factur-X PDF of the short invoice and the credit note, written once."""
    folder = tmp_path_factory.mktemp("facturx")
    paths = {}
    for number in NUMBERS:
        path = folder / f"{number}.pdf"
        path.write_bytes(FacturXPdf().render(invoices()[number]).content)
        paths[number] = path
    return paths


def _embedded(pdf: pikepdf.Pdf) -> tuple[pikepdf.Object, bytes]:
    filespec = pdf.Root.AF[0]
    return filespec, filespec.EF.F.read_bytes()


def igw(*args: str | Path) -> subprocess.CompletedProcess[str]:
    """Run the CLI in a subprocess."""
    return subprocess.run(
        [sys.executable, "-m", "gateway.cli", *map(str, args)],
        capture_output=True, text=True, cwd=ROOT, timeout=300, check=False,
    )  # fmt: skip


def test_aliases_resolve_to_the_facturx_mapping() -> None:
    """Both `facturx-pdf` and `zugferd` name the Factur-X PDF mapping."""
    assert type(resolve_mapping("facturx-pdf")) is FacturXPdf
    assert type(resolve_mapping("zugferd")) is FacturXPdf


@pytest.mark.parametrize("number", NUMBERS)
def test_qpdf_check_is_clean(written: dict[str, Path], number: str) -> None:
    """qpdf --check finds no syntax or stream error in the Factur-X PDF."""
    result = run(tool("qpdf"), "--check", written[number])
    assert result.returncode == 0, result.stdout.decode() + result.stderr.decode()
    assert b"No syntax or stream encoding errors" in result.stdout


@pytest.mark.parametrize("number", NUMBERS)
def test_every_font_is_embedded(written: dict[str, Path], number: str) -> None:
    """pdffonts lists at least one font and says `yes` in the emb column of every one."""
    lines = run(tool("pdffonts"), written[number]).stdout.decode().splitlines()[2:]
    assert lines
    for line in lines:
        assert line.split()[-5] == "yes", line


@pytest.mark.parametrize("number", NUMBERS)
def test_pdfa3b_output_intent_and_xmp(written: dict[str, Path], number: str) -> None:
    """An sRGB GTS_PDFA1 OutputIntent with an ICC profile, XMP pdfaid part 3 conformance B,
    and the Factur-X XMP extension naming factur-x.xml at the level of the XML's guideline."""
    with pikepdf.open(written[number]) as pdf:
        intent = pdf.Root.OutputIntents[0]
        assert intent.S == "/GTS_PDFA1"
        profile = intent.DestOutputProfile
        assert profile.N == 3 and profile.read_bytes()[36:40] == b"acsp"  # ICC signature
        meta = pdf.open_metadata()
        assert meta["pdfaid:part"] == "3" and meta["pdfaid:conformance"] == "B"
        fx = "{urn:factur-x:pdfa:CrossIndustryDocument:invoice:1p0#}"
        assert meta[fx + "DocumentFileName"] == "factur-x.xml"
        assert meta[fx + "DocumentType"] == "INVOICE"
        _, xml = _embedded(pdf)
        guideline = etree.fromstring(xml).findtext(GUIDELINE) or ""
        assert meta[fx + "ConformanceLevel"] == LEVEL_BY_GUIDELINE[guideline] == "EN 16931"


@pytest.mark.parametrize("number", NUMBERS)
def test_catalog_af_names_the_xml_as_alternative_text_xml(
    written: dict[str, Path], number: str
) -> None:
    """The catalog /AF holds the file spec of factur-x.xml, /AFRelationship /Alternative (the
    EN 16931 profile), its embedded file /Subtype /text/xml, also listed in /EmbeddedFiles."""
    with pikepdf.open(written[number]) as pdf:
        assert len(pdf.Root.AF) == 1
        filespec, _ = _embedded(pdf)
        assert filespec.Type == "/Filespec"
        assert str(filespec.F) == str(filespec.UF) == "factur-x.xml"
        assert filespec.AFRelationship == "/Alternative"
        assert filespec.EF.F.Subtype == "/text/xml"
        assert dict(pdf.attachments).keys() == {"factur-x.xml"}


@pytest.mark.parametrize("number", NUMBERS)
def test_embedded_xml_is_the_facturx_en16931_rendering(
    written: dict[str, Path], number: str
) -> None:
    """The embedded XML is byte-identical to facturx-en16931's rendering of the same invoice."""
    with pikepdf.open(written[number]) as pdf:
        _, xml = _embedded(pdf)
    assert xml == FacturXEn16931().render(invoices()[number]).content


def test_render_is_reproducible() -> None:
    """The same invoice renders to the same bytes (no clock: stamps are the issue date)."""
    invoice = invoices()[SHORT]
    content = FacturXPdf().render(invoice).content
    assert content == FacturXPdf().render(invoice).content
    with pikepdf.open(io.BytesIO(content)) as pdf:
        assert pdf.open_metadata()["xmp:CreateDate"].startswith(invoice.issue_date.isoformat())


def test_embedded_xml_passes_shared_validate_py(
    written: dict[str, Path], conformance: Path, tmp_path: Path
) -> None:
    """../shared/conformance/validate.py --rules en16931,facturx passes the extracted XML."""
    for number, path in written.items():
        with pikepdf.open(path) as pdf:
            (tmp_path / f"{number}.xml").write_bytes(_embedded(pdf)[1])
    proc = subprocess.run(
        [sys.executable, str(conformance / "validate.py"), str(tmp_path), "--format", "cii",
         "--rules", "en16931,facturx", "--json"],
        capture_output=True, text=True, check=False, timeout=600,
    )  # fmt: skip
    report: dict[str, Any] = json.loads(proc.stdout)
    assert len(report["files"]) == len(NUMBERS)
    for entry in report["files"]:
        fatal = [f for f in entry["findings"] if f["flag"] == "fatal"]
        assert not fatal, (entry["file"], fatal)


def test_gateway_validation_judges_the_embedded_xml() -> None:
    """validate() of a Factur-X PDF runs the EN 16931 + Factur-X rules on its XML: it passes
    as rendered and fails when the embedded XML breaks a rule."""
    invoice = invoices()[SHORT]
    report = validate(FacturXPdf().render(invoice))
    assert report.passed and report.rules == ("en16931", "facturx"), report.findings
    assert any("factur-x.xml" in note for note in report.notes)
    broken = FacturXPdf()
    bad_xml = broken.xml(invoice).replace(b"<ram:TypeCode>380<", b"<ram:TypeCode>999<")
    assert bad_xml != broken.xml(invoice)
    bad = facturx._embed(PdfInvoice().render(invoice).content, bad_xml, invoice.issue_date, {})
    assert not validate(bad, name="bad.pdf").passed


def _parsed(path: Path) -> Invoice:
    result = igw("parse", path)
    assert result.returncode == 0, result.stderr
    return Invoice.model_validate_json(result.stdout)


@pytest.mark.parametrize("number", NUMBERS)
def test_igw_parse_reads_the_facturx_pdf_like_its_xml(
    written: dict[str, Path], number: str, tmp_path: Path
) -> None:
    """igw parse of the Factur-X PDF gives the same invoice as igw parse of its XML."""
    xml = tmp_path / f"{number}.xml"
    xml.write_bytes(FacturXEn16931().render(invoices()[number]).content)
    from_pdf = _parsed(written[number])
    assert from_pdf == _parsed(xml) == parse_cii(xml.read_bytes())
    assert from_pdf.number == number


def test_igw_parse_of_a_plain_pdf_is_a_one_line_error(tmp_path: Path) -> None:
    """A PDF for people (the pdf format) has no invoice XML: one line, exit non-zero."""
    plain = tmp_path / "plain.pdf"
    plain.write_bytes(PdfInvoice().render(invoices()[SHORT]).content)
    result = igw("parse", plain)
    assert result.returncode != 0
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "PDF has no embedded factur-x.xml / ZUGFeRD-invoice.xml / xrechnung.xml" in lines[0]
    assert "Traceback" not in result.stderr


def test_igw_parse_of_a_truncated_pdf_is_a_one_line_error(
    written: dict[str, Path], tmp_path: Path
) -> None:
    """A damaged PDF (cut in half) is a one-line error, not a traceback."""
    cut = tmp_path / "cut.pdf"
    data = written[SHORT].read_bytes()
    cut.write_bytes(data[: len(data) // 2])
    result = igw("parse", cut)
    assert result.returncode != 0 and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_inbound_accepts_a_facturx_pdf_and_refuses_a_plain_one() -> None:
    """Inbound (API and AS2 share interpret): a Factur-X PDF is PARSED as the invoice its XML
    carries; a plain PDF is UNREADABLE with the one-line reason."""
    from gateway.inbound.interpret import PARSED, UNREADABLE, interpret

    invoice = invoices()[SHORT]
    verdict = interpret(FacturXPdf().render(invoice).content, label="as2-1")
    assert verdict.state == PARSED, verdict.detail
    assert verdict.syntax == "pdf" and verdict.invoice_number == SHORT
    plain = interpret(PdfInvoice().render(invoice).content, label="as2-2")
    assert plain.state == UNREADABLE
    assert "PDF has no embedded factur-x.xml" in plain.detail and "\n" not in plain.detail


def test_igw_parse_reads_a_facturx_pdf_made_by_drafthorse(tmp_path: Path) -> None:
    """A Factur-X PDF from another implementation (drafthorse's attach_xml on a plain PDF)
    parses to the same invoice as its XML."""
    from drafthorse.pdf import attach_xml

    invoice = invoices()[SHORT]
    xml = FacturXEn16931().render(invoice).content
    other = tmp_path / "drafthorse.pdf"
    other.write_bytes(attach_xml(PdfInvoice().render(invoice).content, xml, "EN 16931"))
    with pikepdf.open(other) as pdf:
        assert pdf.Root.AF[0].AFRelationship == "/Alternative"
    assert _parsed(other) == parse_cii(xml)


def test_igw_parse_reads_a_zugferd_2_0_attachment_name(tmp_path: Path) -> None:
    """ZUGFeRD 2.0 names the XML ZUGFeRD-invoice.xml: a PDF attaching it under that name
    (pikepdf) parses like factur-x.xml; validate() judges it with the Factur-X rules."""
    invoice = invoices()[SHORT]
    xml = FacturXEn16931().render(invoice).content
    with pikepdf.open(io.BytesIO(PdfInvoice().render(invoice).content)) as pdf:
        pdf.attachments["ZUGFeRD-invoice.xml"] = pikepdf.AttachedFileSpec(
            pdf, xml, mime_type="text/xml"
        )
        path = tmp_path / "zugferd20.pdf"
        pdf.save(path)
    assert _parsed(path) == parse_cii(xml)
    report = validate(path.read_bytes(), name=path.name)
    assert report.passed and report.rules == ("en16931", "facturx"), report.findings


@pytest.mark.parametrize("number", NUMBERS)
def test_info_dictionary_matches_its_xmp_twins(written: dict[str, Path], number: str) -> None:
    """PDF/A-3 (ISO 19005-3 6.6.2.3): every Info entry equals its XMP twin (title, author,
    subject, creator tool, producer, keywords, dates), none without a twin."""
    twins = {
        "/Title": "dc:title",
        "/Author": "dc:creator",
        "/Subject": "dc:description",
        "/Creator": "xmp:CreatorTool",
        "/Producer": "pdf:Producer",
        "/Keywords": "pdf:Keywords",
        "/CreationDate": "xmp:CreateDate",
        "/ModDate": "xmp:ModifyDate",
    }
    with pikepdf.open(written[number]) as pdf:
        meta = pdf.open_metadata()
        info = {str(key): str(value) for key, value in pdf.trailer.Info.items()}
        assert info and set(info) <= set(twins), info
        for key, raw in info.items():
            value, xmp = raw, meta.get(twins[key])
            if key.endswith("Date"):  # D:20261102000000+00'00' against 2026-11-02T00:00:00+00:00
                xmp = str(xmp).replace("-", "").replace(":", "").replace("T", "")[:14]
                value = value[2:16]
            elif isinstance(xmp, list):
                xmp = ", ".join(xmp)
            assert value == xmp, (key, value, xmp)


def test_cli_translate_to_zugferd_then_validate_and_parse(tmp_path: Path) -> None:
    """igw formats lists both aliases; translate --to zugferd writes a Factur-X PDF per
    invoice that igw validate passes (embedded XML judged) and igw parse reads back."""
    listed = igw("formats")
    assert listed.returncode == 0, listed.stderr
    names = {line.split()[0] for line in listed.stdout.splitlines() if line.strip()}
    assert {"facturx-pdf", "zugferd"} <= names
    out = tmp_path / "out"
    result = igw("translate", ROOT / "examples" / "erp-export.csv", "--to", "zugferd",
                 "--option", "language=de", "--out", out)  # fmt: skip
    assert result.returncode == 0, result.stderr
    pdfs = sorted(out.rglob("*.pdf"))
    assert len(pdfs) == 5 and all(p.read_bytes().startswith(b"%PDF-") for p in pdfs)
    checked = igw("validate", *pdfs)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "5 passed, 0 failed" in checked.stdout
    parsed = igw("parse", *pdfs)
    assert parsed.returncode == 0, parsed.stderr
    assert "5 parsed, 0 failed" in parsed.stderr


def test_api_inbound_stores_and_parses_a_facturx_pdf(tmp_path: Path) -> None:
    """POST /api/v1/inbound with a Factur-X PDF body: stored PARSED with the invoice of its
    XML, and the original PDF bytes kept; a plain PDF is stored UNREADABLE with the reason."""
    from api_harness import create_api_key, served
    from store_backends import sqlite_url

    from gateway.store import Store

    invoice = invoices()[SHORT]
    content = FacturXPdf().render(invoice).content
    store = Store.open(sqlite_url(tmp_path))
    store.migrate()
    try:
        with served(store) as api:
            client = api.client(create_api_key(store, "default", ["submit", "read"]))
            answer = client.post(
                "/api/v1/inbound", content=content, headers={"Content-Type": "application/pdf"}
            )
            assert answer.status_code == 201, answer.text
            received = answer.json()
            assert received["state"] == "PARSED", received
            assert received["invoice"]["number"] == SHORT
            shown = client.get(f"/api/v1/inbound/{received['id']}").json()
            assert base64.b64decode(shown["content_base64"]) == content
            plain = client.post("/api/v1/inbound", content=PdfInvoice().render(invoice).content)
            assert plain.status_code == 201 and plain.json()["state"] == "UNREADABLE"
            assert "PDF has no embedded factur-x.xml" in str(plain.json())
    finally:
        store.close()
