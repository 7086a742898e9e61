"""Rules that follow the syntax of the document (UBL vs CII) and the Greek/Icelandic Peppol rules.

Each case names a rule, the syntax, a clean invoice and the one change that makes the rule
fail there; the differential cases (tests/test_differential_cases.py) prove the same against
the official artefacts.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal

import pytest
from helpers import base, checked, edit

from gateway.model import (
    Address,
    DirectDebit,
    Identifier,
    Invoice,
    LineAllowanceCharge,
    Payee,
    SupportingDocument,
)
from gateway.rules.en16931_codes import TAX_POINT_CODE_TO_CII
from gateway.rules.peppol_gr_is import tin_ok

D = Decimal
TIN = "094019245"  # a Greek TIN with a valid check digit


def ids(invoice: Invoice, syntax: str, sets: tuple[str, ...] = ("en16931", "peppol")) -> set[str]:
    """The fatal rule ids of the in-process check for ``syntax``."""
    return {p.rule for p in checked(invoice, sets, syntax=syntax) if p.flag == "fatal"}


def greek() -> Invoice:
    """A Greek invoice that passes every GR-R rule."""
    invoice = base()
    seller = invoice.seller.model_copy(
        update={
            "vat_id": f"EL{TIN}",
            "trading_name": "Ellas AE",
            "electronic_address": Identifier(value=TIN, scheme="9933"),
            "address": Address(line1="Odos 1", city="Athina", post_code="10431", country="GR"),
        }
    )
    buyer = invoice.buyer.model_copy(update={"trading_name": "Agorastis"})
    day = invoice.issue_date
    number = f"{TIN}|{day:%d}/{day:%m}/{day:%Y}|0|1.1|A|42"
    return invoice.model_copy(
        update={
            "number": number,
            "seller": seller,
            "buyer": buyer,
            "supporting_documents": (
                SupportingDocument(reference="400001", description="##M.AR.K##"),
            ),
        }
    )


def icelandic() -> Invoice:
    """An Icelandic invoice that passes every IS-R rule."""
    invoice = base()
    seller = invoice.seller.model_copy(
        update={
            "vat_id": None,
            "legal_registration": Identifier(value="5902697199", scheme="0196"),
            "address": Address(
                line1="Laugavegur 1", city="Reykjavik", post_code="101", country="IS"
            ),
        }
    )
    return invoice.model_copy(update={"seller": seller})


def _payee_as_seller(i: Invoice) -> Invoice:
    return edit(i, "payee", Payee(name=i.seller.name))


def _sepa(*schemes: str) -> Callable[[Invoice], Invoice]:
    return lambda i: edit(
        i,
        "seller.identifiers",
        tuple(Identifier(value=f"DE98ZZZ0999999999{n}", scheme=s) for n, s in enumerate(schemes)),
    )


def _debit(**fields: str) -> Callable[[Invoice], Invoice]:
    return lambda i: edit(
        edit(edit(i, "payment.means_code", "59"), "payment.credit_transfers", ()),
        "payment.direct_debit",
        DirectDebit(**fields),
    )


def _tax_currency(amount: str, currency: str = "SEK") -> Callable[[Invoice], Invoice]:
    def make(i: Invoice) -> Invoice:
        assert i.totals is not None
        totals = i.totals.model_copy(update={"vat_in_accounting_currency": D(amount)})
        return i.model_copy(update={"tax_currency": currency, "totals": totals})

    return make


def _zero_vat(i: Invoice) -> Invoice:
    from gateway.totals import complete

    lines = tuple(
        line.model_copy(update={"vat_category": "E", "vat_rate": D(0), "net_amount": None})
        for line in i.lines
    )
    changed = i.model_copy(update={"lines": lines, "vat_breakdown": (), "totals": None})
    done = complete(changed)
    breakdown = tuple(
        v.model_copy(update={"exemption_reason": "Steuerfrei"}) for v in done.vat_breakdown
    )
    return done.model_copy(update={"vat_breakdown": breakdown})


# (rule, syntax, clean invoice, the change that breaks it)
FAILS: list[tuple[str, str, Callable[[], Invoice], Callable[[Invoice], Invoice]]] = [
    ("UBL-SR-19", "ubl", base, _payee_as_seller),
    ("UBL-SR-20", "ubl", base, _payee_as_seller),
    ("UBL-SR-21", "ubl", base, _payee_as_seller),
    ("BR-17", "cii", base, _payee_as_seller),
    ("UBL-SR-29", "ubl", base, _sepa("SEPA", "sepa")),
    ("BR-CL-10", "cii", base, _sepa("SEPA")),
    ("BR-CL-06", "ubl", base, lambda i: edit(i, "tax_point_date_code", "5")),
    ("BR-CL-06", "cii", base, lambda i: edit(i, "tax_point_date_code", "999")),
    ("BR-CL-01", "ubl", base, lambda i: edit(i, "type_code", "308")),
    ("BR-CL-22", "cii", base, lambda i: edit(i, "vat_breakdown.0.exemption_reason_code", "x")),
    (
        "PEPPOL-EN16931-R041",
        "ubl",
        lambda: base(type_code="381"),
        lambda i: edit(
            i,
            "lines.0.allowances",
            (LineAllowanceCharge(amount=D(1), percentage=D(10), reason="Rabatt"),),
        ),
    ),
    ("PEPPOL-EN16931-R046", "cii", base, lambda i: edit(i, "lines.0.price.gross", D(50))),
    ("PEPPOL-EN16931-R055", "cii", lambda: _zero_vat(base()), _tax_currency("-5.00")),
    ("PEPPOL-EN16931-CL007", "ubl", base, _tax_currency("1.00", "sek")),
    ("DE-R-025-1", "ubl", base, _debit(creditor_id="DE98ZZZ09999999999")),
    ("GR-R-001-1", "ubl", greek, lambda i: edit(i, "number", "a|b")),
    ("GR-R-001-2", "ubl", greek, lambda i: edit(i, "number", i.number.replace(TIN, "123456789"))),
    ("GR-R-001-3", "ubl", greek, lambda i: edit(i, "issue_date", dt.date(2026, 1, 1))),
    ("GR-R-001-5", "ubl", greek, lambda i: edit(i, "number", i.number.replace("|1.1|", "|9|"))),
    ("GR-R-002", "ubl", greek, lambda i: edit(i, "seller.trading_name", None)),
    ("GR-R-003", "ubl", greek, lambda i: edit(i, "seller.vat_id", "EL123456789")),
    ("GR-R-004-1", "ubl", greek, lambda i: edit(i, "supporting_documents", ())),
    ("GR-R-005", "ubl", greek, lambda i: edit(i, "buyer.trading_name", None)),
    ("GR-R-009", "ubl", greek, lambda i: edit(i, "seller.electronic_address.scheme", "0088")),
    ("IS-R-002", "ubl", icelandic, lambda i: edit(i, "seller.legal_registration", None)),
    ("IS-R-003", "ubl", icelandic, lambda i: edit(i, "seller.address.line1", None)),
]


@pytest.mark.parametrize(
    ("rule", "syntax", "clean", "make"), FAILS, ids=[f"{c[0]}-{c[1]}" for c in FAILS]
)
def test_rule_fails_on_its_case_and_passes_on_the_clean_invoice(
    rule: str, syntax: str, clean: Callable[[], Invoice], make: Callable[[Invoice], Invoice]
) -> None:
    """The rule is reported in that syntax for the broken invoice, not for the clean one."""
    valid = clean()
    assert rule not in ids(valid, syntax)
    assert rule in ids(make(valid), syntax)


# (rule, syntax, clean invoice, a change the other syntax's artefact would reject)
PASSES: list[tuple[str, str, Callable[[], Invoice], Callable[[Invoice], Invoice]]] = [
    ("BR-CL-10", "ubl", base, _sepa("SEPA")),
    ("BR-CL-06", "cii", base, lambda i: edit(i, "tax_point_date_code", "5")),
    ("BR-CL-01", "cii", base, lambda i: edit(i, "type_code", "308")),
    (
        "BR-CL-22",
        "ubl",
        base,
        lambda i: edit(i, "vat_breakdown.0.exemption_reason_code", "vatex-eu-ic"),
    ),
    ("PEPPOL-EN16931-R046", "ubl", base, lambda i: edit(i, "lines.0.price.gross", D(50))),
    ("PEPPOL-EN16931-R055", "ubl", lambda: _zero_vat(base()), _tax_currency("-5.00")),
    ("UBL-SR-19", "cii", base, _payee_as_seller),
    ("DE-R-031", "ubl", base, _debit(creditor_id="DE98ZZZ09999999999")),
]


@pytest.mark.parametrize(
    ("rule", "syntax", "clean", "make"), PASSES, ids=[f"{c[0]}-{c[1]}" for c in PASSES]
)
def test_rule_passes_where_its_artefact_does(
    rule: str, syntax: str, clean: Callable[[], Invoice], make: Callable[[Invoice], Invoice]
) -> None:
    """A change one syntax's artefact rejects is not reported in the syntax that accepts it."""
    assert rule not in ids(make(clean()), syntax)


def test_clean_greek_and_icelandic_invoices_pass_their_national_rules() -> None:
    """The Greek and Icelandic base invoices report no GR-R / IS-R rule."""
    assert not {r for r in ids(greek(), "ubl") if r.startswith("GR-R")}
    assert not {r for r in ids(icelandic(), "ubl") if r.startswith("IS-R")}


def test_greek_tin_check_digit() -> None:
    """u:TinVerification: the ninth digit is (sum of d_i * 2^(9-i)) mod 11 mod 10."""
    assert tin_ok(TIN) and tin_ok("090000045")
    assert not tin_ok("123456789") and not tin_ok("09401924") and not tin_ok("09401924x")


def test_lower_case_country_counts_as_germany_for_peppol() -> None:
    """Peppol's DE rules upper-case the address countries ('de' is Germany there)."""
    invoice = edit(base(), "buyer.address.country", "de")
    invoice = edit(invoice, "seller.contact", None)
    assert "DE-R-002" in ids(invoice, "ubl")


def test_tax_point_codes_match_the_cii_mapping() -> None:
    """The rules map BT-8 to CII exactly as the CII mapping writes it."""
    from mappings.cii.codes import TAX_POINT_CODE_TO_CII as MAPPING

    assert TAX_POINT_CODE_TO_CII == MAPPING
