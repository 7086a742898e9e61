"""Every disagreement the differential run ever found, kept as a permanent single-mutation case.

Each case is a base record (:func:`test_differential_generator.bases`) and the edits that made
the in-process rules and the official artefacts disagree (issue 9 item 5 lists the first ones:
blank strings as empty elements, the seller as payee, SEPA schemes, far dates, negative zeros,
UBL code lists applied to CII, direct debit ids ...). The expected fatal rule ids per format pair
are asserted for both judges: ``gateway.rules.check`` and ``gateway.validation.validate`` (the
official XSD + schematron). A format pair not listed expects no fatal finding.

A new disagreement printed by ``tests/test_differential.py`` is added here as it is printed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import pytest
from test_differential import TARGETS, judge
from test_differential_generator import DROP, Edit, apply, base

from gateway.errors import InvoiceRejected
from gateway.intake import read_records
from gateway.profiles.profile import BuyerProfile
from gateway.registry import resolve_mapping

pytestmark = [pytest.mark.slow]


@dataclass(frozen=True)
class Case:
    """A base record, the edits that once split the judges, the fatal ids both must report."""

    cause: str
    base: str
    edits: list[Edit]
    expected: dict[str, tuple[str, ...]] = field(default_factory=dict)


CASES: list[Case] = [
    Case(
        "blank tender reference (BT-17) was written as an empty CII element (BR-52, R008)",
        "erp-export.json#0",
        [("tender_reference", "  ")],
    ),
    Case(
        "empty project reference (BT-11) was an empty CII element (PEPPOL-EN16931-R008)",
        "erp-export.json#0",
        [("project_reference", "")],
    ),
    Case(
        "whitespace-only seller trading name (BT-28) was an empty element (R008)",
        "erp-export.json#0",
        [("seller.trading_name", " \t ")],
    ),
    Case(
        "whitespace-only seller VAT id (BT-31) is no VAT id",
        "erp-export.json#0",
        [("seller.vat_id", "   ")],
    ),
    Case(
        "blank exemption reason (BT-120) on a standard-rated breakdown",
        "builders.simple_invoice",
        [("vat_breakdown", [{"category": "S", "rate": "19", "exemption_reason": " "}])],
        {
            "peppol-bis3": ("DE-R-002", "PEPPOL-EN16931-CL008"),
            "xrechnung-ubl": ("BR-DE-2",),
            "xrechnung-cii": ("BR-DE-2",),
        },
    ),
    Case(
        "payee (BG-10) copied from the seller: UBL-SR-19/20/21 in UBL, BR-17 in CII",
        "erp-export.json#0",
        [("payee", {"name": "Nordlicht Bürotechnik GmbH"})],
        {
            "peppol-bis3": ("UBL-SR-19", "UBL-SR-20", "UBL-SR-21"),
            "xrechnung-ubl": ("UBL-SR-19", "UBL-SR-20", "UBL-SR-21"),
            "xrechnung-cii": ("BR-17",),
            "facturx-en16931": ("BR-17",),
        },
    ),
    Case(
        "payee with the seller's legal registration",
        "erp-export.json#0",
        [("payee", {"name": "Factoring AG", "legal_registration": {"value": "HRB 123456 B"}})],
        {
            "xrechnung-cii": ("BR-17",),
            "facturx-en16931": ("BR-17",),
        },
    ),
    Case(
        "seller identifier with scheme SEPA: allowed in UBL, BR-CL-10 in CII",
        "erp-export.json#0",
        [("seller.identifiers", [{"value": "DE98ZZZ09999999999", "scheme": "SEPA"}])],
        {
            "xrechnung-cii": ("BR-CL-10",),
            "facturx-en16931": ("BR-CL-10",),
        },
    ),
    Case(
        "two SEPA identifiers (UBL-SR-29)",
        "erp-export.json#0",
        [
            (
                "seller.identifiers",
                [
                    {"value": "DE98ZZZ09999999999", "scheme": "SEPA"},
                    {"value": "DE11ZZZ00000000001", "scheme": "sepa"},
                ],
            )
        ],
        {
            "peppol-bis3": ("BR-CL-10", "UBL-SR-29"),
            "xrechnung-ubl": ("BR-CL-10", "UBL-SR-29"),
            "xrechnung-cii": ("BR-CL-10",),
            "facturx-en16931": ("BR-CL-10",),
        },
    ),
    Case(
        "issue date before year 1000 was written 9990101 in CII (CII-DT-097)",
        "erp-export.json#0",
        [("issue_date", "0999-01-01")],
    ),
    Case(
        "issue date 0001-01-01",
        "erp-export.json#0",
        [("issue_date", "0001-01-01")],
    ),
    Case(
        "BT-111 negative with BT-110 zero (PEPPOL-EN16931-R055 in CII only)",
        "erp-export.json#10",
        [("tax_currency", "SEK"), ("totals", {"vat_in_accounting_currency": "-5.00"})],
        {
            "xrechnung-cii": ("PEPPOL-EN16931-R055",),
        },
    ),
    Case(
        "percentage without base on a credit-note line (PEPPOL-EN16931-R041)",
        "erp-export.json#0:credit-note",
        [("lines[0].allowances", [{"amount": "1.00", "percentage": "10", "reason": "Rabatt"}])],
        {
            "peppol-bis3": ("PEPPOL-EN16931-R041",),
            "xrechnung-ubl": ("PEPPOL-EN16931-R041",),
            "xrechnung-cii": ("PEPPOL-EN16931-R041",),
        },
    ),
    Case(
        "base without percentage on a credit-note line (PEPPOL-EN16931-R042)",
        "erp-export.json#0:credit-note",
        [
            (
                "lines[0].allowances",
                [{"amount": "5.00", "base_amount": "100.00", "reason": "Rabatt"}],
            )
        ],
        {
            "peppol-bis3": ("PEPPOL-EN16931-R042",),
            "xrechnung-ubl": ("PEPPOL-EN16931-R042",),
            "xrechnung-cii": ("PEPPOL-EN16931-R042",),
        },
    ),
    Case(
        "item price -0.00 (BR-27 read the sign)",
        "erp-export.json#0",
        [("lines[0].price.net", "-0.00")],
    ),
    Case(
        "negative zero VAT total on a zero-rated credit note (BR-CO-14 in CII)",
        "erp-export.json#9:credit-note",
        [("totals", {"vat": "-0.00"})],
    ),
    Case(
        "Greek seller without the Greek invoice number (GR-R-*)",
        "erp-export.json#10",
        [("seller.vat_id", "EL123456789")],
        {
            "peppol-bis3": (
                "GR-R-001-1",
                "GR-R-001-2",
                "GR-R-001-3",
                "GR-R-001-4",
                "GR-R-001-5",
                "GR-R-001-6",
                "GR-R-001-7",
                "GR-R-002",
                "GR-R-003",
                "GR-R-005",
                "GR-R-009",
            ),
        },
    ),
    Case(
        "Icelandic seller without kennitala (IS-R-002)",
        "erp-export.json#0",
        [("seller.address.country", "IS"), ("seller.vat_id", DROP)],
        {
            "peppol-bis3": ("IS-R-002",),
        },
    ),
    Case(
        "empty invoicing period object (BR-CO-19/20; the renderer omits it)",
        "erp-export.json#0",
        [("invoice_period", {})],
    ),
    Case(
        "invoicing period with blank dates",
        "erp-export.json#0",
        [("invoice_period", {"start": "", "end": " "})],
    ),
    Case(
        "gross price below net, no discount (R046: UBL writes a satisfying discount)",
        "erp-export.json#0",
        [("lines[0].price.gross", "4.00")],
        {
            "xrechnung-cii": ("PEPPOL-EN16931-R046",),
        },
    ),
    Case(
        "gross price and a wrong discount (R046 in every syntax that has it)",
        "erp-export.json#0",
        [("lines[0].price.gross", "5.00"), ("lines[0].price.discount", "1.00")],
        {
            "peppol-bis3": ("PEPPOL-EN16931-R046",),
            "xrechnung-ubl": ("PEPPOL-EN16931-R046",),
            "xrechnung-cii": ("PEPPOL-EN16931-R046",),
        },
    ),
    Case(
        "tax point date code 5: UNTDID 2475 (CII) not 2005 (UBL) (BR-CL-06)",
        "erp-export.json#0",
        [("tax_point_date_code", "5")],
        {
            "peppol-bis3": ("BR-CL-06", "PEPPOL-EN16931-CL006"),
            "xrechnung-ubl": ("BR-CL-06",),
        },
    ),
    Case(
        "tax point date code 35 is written 29 in CII",
        "erp-export.json#0",
        [("tax_point_date_code", "35")],
    ),
    Case(
        "type code 308: a credit-note code in UBL's invoice list, fine in CII (BR-CL-01)",
        "erp-export.json#0",
        [("type_code", "308")],
        {
            "peppol-bis3": ("BR-CL-01", "PEPPOL-EN16931-P0100"),
            "xrechnung-ubl": ("BR-CL-01",),
        },
    ),
    Case(
        "lower-case VATEX code (BR-CL-22 upper-cases)",
        "erp-export.json#10",
        [("vat_breakdown[0].exemption_reason_code", "vatex-eu-132")],
    ),
    Case(
        "lower-case currency (BR-CL-03/04, PEPPOL-EN16931-CL007)",
        "erp-export.json#0",
        [("currency", "eur")],
        {
            "peppol-bis3": ("BR-CL-03", "BR-CL-04", "PEPPOL-EN16931-CL007"),
            "xrechnung-ubl": ("BR-CL-03", "BR-CL-04"),
            "xrechnung-cii": ("BR-CL-03", "BR-CL-04"),
            "facturx-en16931": ("BR-CL-03", "BR-CL-04"),
        },
    ),
    Case(
        "direct debit 59 with only the creditor id: BR-DE-25-a / DE-R-025-1, not BR-DE-31",
        "erp-export.json#24",
        [
            ("payment.means_code", "59"),
            ("payment.direct_debit", {"creditor_id": "DE98ZZZ09999999999"}),
            ("payment.credit_transfers", DROP),
        ],
        {
            "peppol-bis3": ("DE-R-025-1", "PEPPOL-EN16931-R061"),
            "xrechnung-ubl": ("BR-DE-25-a", "PEPPOL-EN16931-R061"),
            "xrechnung-cii": ("BR-DE-30", "BR-DE-31", "PEPPOL-EN16931-R061"),
        },
    ),
    Case(
        "payment means 49 with only the creditor id (CII BR-DE-30/31 on BT-90 alone)",
        "erp-export.json#8",
        [
            ("payment.means_code", "49"),
            ("payment.direct_debit", {"creditor_id": "DE98ZZZ09999999999"}),
        ],
        {
            "peppol-bis3": ("PEPPOL-EN16931-R061",),
            "xrechnung-ubl": ("PEPPOL-EN16931-R061",),
            "xrechnung-cii": ("BR-DE-30", "BR-DE-31", "PEPPOL-EN16931-R061"),
        },
    ),
    Case(
        "direct debit with only the debited account (CII BR-DE-30/31)",
        "erp-export.json#16",
        [
            ("payment.means_code", "59"),
            ("payment.direct_debit", {"debited_account": "DE02120300000000202051"}),
        ],
        {
            "peppol-bis3": ("DE-R-025-2", "DE-R-030", "PEPPOL-EN16931-R061"),
            "xrechnung-ubl": ("BR-DE-25-b", "BR-DE-30", "PEPPOL-EN16931-R061"),
            "xrechnung-cii": ("BR-DE-25-b", "BR-DE-30", "BR-DE-31", "PEPPOL-EN16931-R061"),
        },
    ),
    Case(
        "BT-111 in the invoice currency: a second TaxTotalAmount in CII (BR-CO-14)",
        "erp-export.json#14",
        [("tax_currency", "EUR"), ("totals", {"vat_in_accounting_currency": "-12.34"})],
        {
            "peppol-bis3": ("PEPPOL-EN16931-R005", "PEPPOL-EN16931-R054"),
            "xrechnung-ubl": ("PEPPOL-EN16931-R005", "PEPPOL-EN16931-R054"),
            "xrechnung-cii": (
                "BR-53",
                "BR-CO-14",
                "PEPPOL-EN16931-R005",
                "PEPPOL-EN16931-R053",
                "PEPPOL-EN16931-R054",
            ),
            "facturx-en16931": ("BR-53", "BR-CO-14"),
        },
    ),
    Case(
        "payee with a SEPA identifier (BR-CL-10 in CII)",
        "erp-export.json#5",
        [
            (
                "payee",
                {
                    "name": "Inkasso AG",
                    "identifier": {"value": "DE98ZZZ09999999999", "scheme": "SEPA"},
                },
            )
        ],
        {
            "xrechnung-cii": ("BR-CL-10",),
            "facturx-en16931": ("BR-CL-10",),
        },
    ),
    Case(
        "lower-case VATEX on an outside-scope breakdown",
        "erp-export.json#10",
        [
            ("lines[0].vat_category", "O"),
            ("lines[1].vat_category", "O"),
            ("lines[0].vat_rate", DROP),
            ("lines[1].vat_rate", DROP),
            ("vat_breakdown", [{"category": "O", "exemption_reason_code": "vatex-eu-o"}]),
        ],
        {
            "peppol-bis3": ("BR-O-02", "DE-R-014"),
            "xrechnung-ubl": ("BR-DE-14", "BR-O-02"),
            "xrechnung-cii": ("BR-DE-14", "BR-O-02"),
            "facturx-en16931": ("BR-O-02",),
        },
    ),
    Case(
        "Icelandic credit note with EINDAGI (IS-R-009/010: no cbc:DueDate)",
        "erp-export.json#6:credit-note",
        [
            ("seller.address.country", "IS"),
            ("seller.vat_id", DROP),
            ("seller.legal_registration", {"value": "5902697199", "scheme": "0196"}),
            ("supporting_documents", [{"reference": "2026-12-31", "description": "EINDAGI"}]),
        ],
        {
            "peppol-bis3": ("IS-R-009", "IS-R-010"),
            "xrechnung-ubl": ("BR-DE-24-a",),
            "xrechnung-cii": ("BR-DE-24-a",),
        },
    ),
    Case(
        "lower-case buyer country: Peppol's DE test upper-cases it (DE-R-002), variant 1380",
        "builders.simple_invoice",
        [
            ("currency", "  EUR\t "),
            ("tax_currency", "DKK"),
            ("totals", {"vat_in_accounting_currency": "-0.00"}),
            ("buyer.address.country", "de"),
        ],
        {
            "peppol-bis3": ("BR-CL-14", "DE-R-002", "PEPPOL-EN16931-CL008"),
            "xrechnung-ubl": ("BR-CL-14", "BR-DE-2"),
            "xrechnung-cii": ("BR-CL-14", "BR-DE-2"),
            "facturx-en16931": ("BR-CL-14",),
        },
    ),
    Case(
        "type code 384 between 'DE' and 'de' parties (P0112 passes), variant 1776",
        "erp-export.json#2",
        [
            ("buyer.address.country", "de"),
            ("type_code", "384"),
            ("vat_breakdown", [{"category": "S", "rate": "19", "exemption_reason_code": ""}]),
        ],
        {
            "peppol-bis3": ("BR-CL-14",),
            "xrechnung-ubl": ("BR-CL-14",),
            "xrechnung-cii": ("BR-CL-14",),
            "facturx-en16931": ("BR-CL-14",),
        },
    ),
    Case(
        "blank item standard id scheme: BR-64, in CII CII-SR-046 too, variant 131",
        "erp-export.json#0",
        [
            ("seller.address.country", "de"),
            ("lines[0].item.standard_id.scheme", "   "),
            ("lines[1].vat_category", "E"),
            ("lines[1].vat_rate", "7"),
        ],
        {
            "peppol-bis3": ("BR-64", "BR-CL-14", "BR-CO-17", "BR-E-05", "BR-E-10"),
            "xrechnung-ubl": ("BR-64", "BR-CL-14", "BR-CO-17", "BR-E-05", "BR-E-10"),
            "xrechnung-cii": ("BR-64", "BR-CL-14", "BR-CO-17", "BR-E-05", "BR-E-10", "CII-SR-046"),
            "facturx-en16931": (
                "BR-64",
                "BR-CL-14",
                "BR-CO-17",
                "BR-E-05",
                "BR-E-10",
                "CII-SR-046",
            ),
        },
    ),
    Case(
        "lower-case tax currency: BT-111's currencyID (PEPPOL-EN16931-CL007), variant other-2:517",
        "erp-export.json#16",
        [("tax_currency", "eur"), ("project_reference", "")],
        {
            "peppol-bis3": ("BR-CL-03", "BR-CL-05", "PEPPOL-EN16931-CL007"),
            "xrechnung-ubl": ("BR-CL-03", "BR-CL-05"),
            "xrechnung-cii": ("BR-CL-03", "BR-CL-05"),
            "facturx-en16931": ("BR-CL-03", "BR-CL-05"),
        },
    ),
    Case(
        "58 with a creditor id only: no PaymentMandate in UBL (BR-DE-23-b), variant other-2:917",
        "erp-export.json#3",
        [
            ("payment.means_code", "58"),
            ("payment.direct_debit", {"creditor_id": "DE98ZZZ09999999999"}),
            ("payee", {"name": "Inkasso AG"}),
        ],
        {
            "xrechnung-cii": ("BR-DE-23-b", "BR-DE-30", "BR-DE-31"),
        },
    ),
    Case(
        "seller in GR, foreign tax representative: GR-R-009 reads another country, variant 7400",
        "erp-export.json#20",
        [
            (
                "payee",
                {
                    "name": "Präzisionsuhren Zürich AG",
                    "identifier": {"value": "DE98ZZZ09999999999", "scheme": "SEPA"},
                },
            ),
            ("seller.address.country", "GR"),
        ],
        {
            "peppol-bis3": ("GR-R-009", "UBL-SR-19", "UBL-SR-20", "UBL-SR-21"),
            "xrechnung-ubl": ("UBL-SR-19", "UBL-SR-20", "UBL-SR-21"),
            "xrechnung-cii": ("BR-17", "BR-CL-10"),
            "facturx-en16931": ("BR-17", "BR-CL-10"),
        },
    ),
    Case(
        "S allowance at the rate: UBL BR-S-08 accepts taxable = charges - allowances, other-5:9939",
        "erp-export.json#20",
        [
            (
                "vat_breakdown",
                [{"category": "S", "rate": "19", "taxable_amount": "0.00", "tax_amount": "0.00"}],
            ),
            ("type_code", "384"),
            (
                "allowances[0]",
                {"amount": "-0.00", "vat_category": "S", "vat_rate": "19", "reason": "x"},
            ),
        ],
        {
            "peppol-bis3": ("PEPPOL-EN16931-P0112",),
            "xrechnung-cii": ("BR-S-08",),
            "facturx-en16931": ("BR-S-08",),
        },
    ),
]


@pytest.mark.parametrize("target", list(TARGETS))
@pytest.mark.parametrize("case", CASES, ids=[c.cause[:60] for c in CASES])
def test_both_judges_report_the_expected_rule_ids(case: Case, target: str) -> None:
    """In process and officially, the case has exactly its expected fatal rule ids."""
    outcome = judge(apply(base(case.base), case.edits), target)
    expected = case.expected.get(target, ())
    assert outcome.status == "compared", outcome
    assert (outcome.ours, outcome.official) == (expected, expected)


CONTROLS = [
    ("seller.name", "\x01", 5),
    ("lines[0].item.name", "\x1f", 1),
    ("payment_terms", "\ufffe", 3),
]


@pytest.mark.parametrize(("path", "char", "at"), CONTROLS)
def test_intake_refuses_characters_xml_cannot_carry(path: str, char: str, at: int) -> None:
    """A control character (once written raw: the UBL was not XML) is refused at intake."""
    record: dict[str, Any] = base("erp-export.json#0")
    text = "Nordlicht"
    record = apply(record, [(path, text[: at - 1] + char + text[at - 1 :])])
    result = next(iter(read_records(json.dumps(record).encode(), "json")))
    assert result.invoice is None
    (problem,) = result.problems
    assert problem.path == path
    assert f"U+{ord(char):04X} at position {at}" in problem.message
    assert "XML 1.0" in problem.accepted


@pytest.mark.parametrize("target", list(TARGETS))
def test_renderers_refuse_characters_xml_cannot_carry(target: str) -> None:
    """An Invoice built in code with a control character is refused by UBL and CII mappings."""
    from builders import simple_invoice

    from gateway.totals import complete

    invoice = complete(simple_invoice(1))
    invoice = invoice.model_copy(update={"payment_terms": "30 Tage\x0b netto"})
    with pytest.raises(InvoiceRejected) as raised:
        resolve_mapping(target).render(invoice, BuyerProfile(format=target))
    (problem,) = raised.value.problems
    assert (problem.path, problem.bt) == ("payment_terms", "BT-20")
    assert "U+000B at position 8" in problem.message


def test_blank_texts_are_absent_and_blank_mandatory_ones_missing() -> None:
    """Intake: a blank optional text is left out, a blank mandatory one is reported missing."""
    record = apply(
        base("erp-export.json#0"),
        [
            ("project_reference", "  "),
            ("invoice_period", {"start": ""}),
            ("seller.contact", {"name": " ", "email": ""}),
        ],
    )
    result = next(iter(read_records(json.dumps(record).encode(), "json")))
    assert result.invoice is not None
    invoice = result.invoice
    assert (invoice.project_reference, invoice.invoice_period) == (None, None)
    assert invoice.seller.contact is None
    record = apply(
        base("erp-export.json#0"),
        [("seller.name", " \t"), ("payee", {"name": ""}), ("notes", [{"text": " "}])],
    )
    result = next(iter(read_records(json.dumps(record).encode(), "json")))
    assert result.invoice is None
    assert sorted((p.path, p.message) for p in result.problems) == [
        ("notes[0].text", "missing"),
        ("payee.name", "missing"),
        ("seller.name", "missing"),
    ]


def test_drop_sentinel_is_used_by_cases() -> None:
    """The cases use DROP to remove keys (the edit language of the generator)."""
    assert any(v is DROP for c in CASES for _, v in c.edits)


@pytest.mark.parametrize("target", list(TARGETS))
def test_renderers_write_no_empty_element_for_an_empty_text(target: str) -> None:
    """An Invoice built in code with empty optional texts renders without empty elements."""
    import re

    from builders import simple_invoice

    from gateway.totals import complete
    from gateway.validation import validate

    invoice = complete(
        simple_invoice(
            1,
            tender_reference="",
            project_reference=" ",
            contract_reference="",
            buyer_accounting_reference="",
            payment_terms=" ",
        )
    )
    document = resolve_mapping(target).render(invoice, BuyerProfile(format=target))
    # (ApplicableHeaderTradeDelivery is a mandatory, possibly empty, CII group)
    empty = re.findall(
        rb"<(\w+:\w+)(?:\s[^>]*)?>\s*</\1>",
        document.content.replace(
            b"<ram:ApplicableHeaderTradeDelivery></ram:ApplicableHeaderTradeDelivery>", b""
        ),
    )
    assert empty == []
    report = validate(document, TARGETS[target][1])
    fatal = {p.rule for p in report.findings if p.flag == "fatal"}
    assert not fatal & {"PEPPOL-EN16931-R008", "BR-52"}


def test_a_blank_value_under_an_unknown_key_is_still_reported() -> None:
    """Dropping blank texts never hides a misspelt key: the model still names it."""
    record = apply(base("erp-export.json#0"), [("nmber", ""), ("seller.nme", " ")])
    result = next(iter(read_records(json.dumps(record).encode(), "json")))
    assert sorted(p.path for p in result.problems) == ["nmber", "seller.nme"]
