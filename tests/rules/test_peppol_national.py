"""Peppol national rules (DK, IT, NL, SE): a failing case each, from a clean invoice."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

import pytest
from helpers import base, edit, rules_of

from gateway.model import AllowanceCharge, Identifier, Invoice, PrecedingInvoice
from gateway.totals import complete

D = Decimal
SETS = ("en16931", "peppol")


def _country(seller: str, buyer: str, **changes: object) -> Invoice:
    """The base invoice with seller and buyer moved to the given countries (VAT ids follow)."""
    invoice = base()
    invoice = edit(invoice, "seller.address.country", seller)
    invoice = edit(invoice, "buyer.address.country", buyer)
    invoice = edit(invoice, "seller.vat_id", f"{seller}123456789" if seller != "SE"
                   else "SE123456789001")
    for path, value in changes.items():
        invoice = edit(invoice, path.replace("__", "."), value)
    if seller == "SE":  # Swedish standard rates are 25, 12 and 6 (SE-R-006)
        lines = tuple(line.model_copy(update={"vat_rate": D(25), "net_amount": None})
                      for line in invoice.lines)
        invoice = complete(invoice.model_copy(update={"lines": lines, "vat_breakdown": (),
                                                      "totals": None}))
    return invoice


DK = {"seller__legal_registration": Identifier(value="12345678", scheme="0184")}
SE = {"seller__legal_registration": Identifier(value="5560000001", scheme="0007")}
CASES: list[tuple[str, Callable[[], Invoice], Callable[[Invoice], Invoice]]] = [
    ("DK-R-002", lambda: _country("DK", "DK", **DK),
     lambda i: edit(i, "seller.legal_registration", None)),
    ("DK-R-014", lambda: _country("DK", "DK", **DK),
     lambda i: edit(i, "seller.legal_registration", Identifier(value="12345678", scheme="0088"))),
    ("DK-R-004", lambda: _country("DK", "DK", **DK), lambda i: complete(edit(
        edit(i, "totals", None), "allowances", (AllowanceCharge(
            amount=D(1), vat_category="S", vat_rate=D(19), reason="bad", reason_code="ZZZ"),)))),
    ("DK-R-005", lambda: _country("DK", "DK", **DK), lambda i: edit(i, "payment.means_code", "30")),
    ("DK-R-006", lambda: _country("DK", "DK", **DK), lambda i: edit(i, "payment.means_code",
                                                                   "31")),
    ("DK-R-007", lambda: _country("DK", "DK", **DK), lambda i: edit(i, "payment.means_code",
                                                                   "49")),
    ("DK-R-013", lambda: _country("DK", "DK", **DK),
     lambda i: edit(i, "buyer.identifier", Identifier(value="x"))),
    ("DK-R-016", lambda: _country("DK", "DK", **DK), lambda i: edit(
        edit(i, "type_code", "381"), "totals.due", D("-1.00"))),
    ("DK-R-017", lambda: _country("DK", "DK", **DK), lambda i: edit(
        i, "buyer.legal_registration", Identifier(value="1", scheme="0088"))),
    ("IT-R-001", lambda: _country("IT", "IT"), lambda i: edit(
        i, "seller.tax_registration_id", "abc")),
    ("IT-R-002", lambda: _country("IT", "IT"), lambda i: edit(i, "seller.address.line1", None)),
    ("IT-R-003", lambda: _country("IT", "IT"), lambda i: edit(i, "seller.address.city", None)),
    ("IT-R-004", lambda: _country("IT", "IT"), lambda i: edit(i, "seller.address.post_code",
                                                              None)),
    ("NL-R-001", lambda: _country("NL", "NL"), lambda i: edit(i, "type_code", "381")),
    ("NL-R-003", lambda: _country("NL", "NL"), lambda i: edit(
        i, "seller.legal_registration", Identifier(value="1", scheme="0088"))),
    ("NL-R-004", lambda: _country("NL", "NL"), lambda i: edit(i, "buyer.address.city", None)),
    ("NL-R-005", lambda: _country("NL", "NL"), lambda i: edit(
        i, "buyer.legal_registration", Identifier(value="1", scheme="0088"))),
    ("NL-R-007", lambda: _country("NL", "NL"), lambda i: edit(i, "payment", None)),
    ("NL-R-008", lambda: _country("NL", "NL"), lambda i: edit(i, "payment.means_code", "31")),
    ("NL-R-009", lambda: _country("NL", "NL"), lambda i: edit(
        i, "lines.0.order_line_reference", "1")),
    ("SE-R-001", lambda: _country("SE", "SE", **SE), lambda i: edit(
        i, "seller.vat_id", "SE12345678900")),
    ("SE-R-002", lambda: _country("SE", "SE", **SE), lambda i: edit(
        i, "seller.vat_id", "SE12345678X001")),
    ("SE-R-003", lambda: _country("SE", "SE", **SE), lambda i: edit(
        i, "seller.legal_registration", Identifier(value="556000000X", scheme="0007"))),
    ("SE-R-004", lambda: _country("SE", "SE", **SE), lambda i: edit(
        i, "seller.legal_registration", Identifier(value="556000002", scheme="0007"))),
    ("SE-R-005", lambda: _country("SE", "SE", **SE), lambda i: edit(
        i, "seller.tax_registration_id", "F-skatt")),
    ("SE-R-006", lambda: _country("SE", "SE", **SE), lambda i: complete(edit(edit(edit(
        i, "lines.0.vat_rate", D(20)), "lines.0.net_amount", None), "vat_breakdown", ()))),
    ("SE-R-013", lambda: _country("SE", "SE", **SE), lambda i: edit(
        i, "seller.legal_registration", Identifier(value="5560000002", scheme="0007"))),
]
_ = PrecedingInvoice


@pytest.mark.parametrize(("rule", "clean", "make"), CASES, ids=[c[0] for c in CASES])
def test_national_rule_fails_on_its_case_and_passes_on_a_clean_invoice(
    rule: str, clean: Callable[[], Invoice], make: Callable[[Invoice], Invoice]
) -> None:
    """The national rule is reported for the broken invoice, not for the clean one."""
    valid = clean()
    assert rule not in rules_of(valid, SETS)
    assert rule in rules_of(make(valid), SETS)
