"""Property: parse(render(x)) == stamped(x) for generated invoices with any optional field set."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree
from test_ubl_golden import valid_simple

from gateway.model import (
    Address,
    AllowanceCharge,
    Attachment,
    Buyer,
    Contact,
    CreditTransfer,
    Delivery,
    DirectDebit,
    Identifier,
    Invoice,
    InvoiceLine,
    Item,
    ItemAttribute,
    ItemClassification,
    LineAllowanceCharge,
    Note,
    Payee,
    PaymentCard,
    PaymentInstructions,
    Period,
    PrecedingInvoice,
    Price,
    Seller,
    SupportingDocument,
    TaxRepresentative,
    Totals,
)
from gateway.registry import resolve_mapping

T = TypeVar("T")
SUBJECT_PREFIX = re.compile(r"#[A-Z]{3}#")

# XML 1.0 cannot carry control characters (but tab, LF, CR) or non-characters; everything else
# must survive, including markup characters, quotes, line breaks and non-Latin text. A leading
# "#AAI#" reads as a note subject code (EN 16931-3-2 binding), so no note text starts so.
TEXT = st.text(
    alphabet=st.characters(
        blacklist_categories=("Cs", "Cc", "Cn", "Co"), whitelist_characters="\t\n\r"
    ),
    min_size=1,
    max_size=12,
).filter(lambda s: bool(s.strip()))
CODE = st.sampled_from(["AAA", "0088", "0204", "9930", "ZZZ"])
AMOUNT = st.decimals(
    min_value=Decimal("-9999"), max_value=Decimal("9999"), places=2, allow_nan=False
)
RATE = st.sampled_from([Decimal("0"), Decimal("7"), Decimal("19"), Decimal("12.5")])
DAY = st.dates(min_value=dt.date(2000, 1, 1), max_value=dt.date(2099, 12, 31))


def opt(strategy: st.SearchStrategy[T]) -> st.SearchStrategy[T | None]:
    """The value or None."""
    return st.none() | strategy


def tuples(strategy: st.SearchStrategy[T], size: int = 2) -> st.SearchStrategy[tuple[T, ...]]:
    """A tuple of up to ``size`` values."""
    return st.lists(strategy, max_size=size).map(tuple)


IDENT = st.builds(Identifier, value=TEXT, scheme=opt(CODE))
ADDRESS = st.builds(
    Address,
    line1=opt(TEXT),
    line2=opt(TEXT),
    line3=opt(TEXT),
    city=opt(TEXT),
    post_code=opt(TEXT),
    subdivision=opt(TEXT),
    country=st.sampled_from(["DE", "FR", "NO"]),
)
PERIOD = st.builds(Period, start=DAY, end=opt(DAY))
LINE_AC = st.builds(
    LineAllowanceCharge,
    amount=AMOUNT,
    base_amount=opt(AMOUNT),
    percentage=opt(RATE),
    reason=opt(TEXT),
    reason_code=opt(st.sampled_from(["95", "100", "ABL"])),
)
DOC_AC = st.builds(
    AllowanceCharge,
    amount=AMOUNT,
    base_amount=opt(AMOUNT),
    percentage=opt(RATE),
    vat_category=st.just("S"),
    vat_rate=st.just(Decimal("19")),
    reason=opt(TEXT),
    reason_code=opt(st.sampled_from(["95", "FC"])),
)


@st.composite
def prices(draw: st.DrawFn) -> Price:
    """A price; discount and gross come together (UBL writes both in one AllowanceCharge)."""
    discounted = draw(st.booleans())
    base = draw(opt(st.sampled_from([Decimal("1"), Decimal("10"), Decimal("100")])))
    return Price(
        net=draw(AMOUNT),
        discount=draw(AMOUNT) if discounted else None,
        gross=draw(AMOUNT) if discounted else None,
        base_quantity=base,
        base_quantity_unit=draw(opt(st.just("C62"))) if base is not None else None,
    )


ITEM = st.builds(
    Item,
    name=TEXT,
    description=opt(TEXT),
    seller_id=opt(TEXT),
    buyer_id=opt(TEXT),
    standard_id=opt(st.builds(Identifier, value=TEXT, scheme=CODE)),
    classifications=tuples(
        st.builds(ItemClassification, value=TEXT, scheme=CODE, version=opt(TEXT))
    ),
    origin_country=opt(st.sampled_from(["DE", "CN"])),
    attributes=tuples(st.builds(ItemAttribute, name=TEXT, value=TEXT)),
)


@st.composite
def lines(draw: st.DrawFn) -> tuple[InvoiceLine, ...]:
    """One to three lines with every optional line field possibly set."""
    count = draw(st.integers(min_value=1, max_value=3))
    return tuple(
        InvoiceLine(
            id=str(n),
            note=draw(opt(TEXT)),
            object_id=draw(opt(IDENT)),
            quantity=draw(AMOUNT),
            unit=draw(st.sampled_from(["C62", "H87", "KGM"])),
            net_amount=draw(opt(AMOUNT)),
            order_line_reference=draw(opt(TEXT)),
            accounting_reference=draw(opt(TEXT)),
            period=draw(opt(PERIOD)),
            allowances=draw(tuples(LINE_AC)),
            charges=draw(tuples(LINE_AC)),
            price=draw(prices()),
            vat_category=draw(st.sampled_from(["S", "Z", "E"])),
            vat_rate=draw(opt(RATE)),
            item=draw(ITEM),
        )
        for n in range(1, count + 1)
    )


@st.composite
def payments(draw: st.DrawFn) -> PaymentInstructions:
    """Payment instructions with any mix of transfers, card and direct debit."""
    return PaymentInstructions(
        means_code=draw(st.sampled_from(["30", "48", "58", "59"])),
        means_text=draw(opt(TEXT)),
        remittance_info=draw(opt(TEXT)),
        credit_transfers=draw(
            tuples(
                st.builds(
                    CreditTransfer, account_id=TEXT, account_name=opt(TEXT), provider_id=opt(TEXT)
                )
            )
        ),
        card=draw(
            opt(
                st.builds(
                    PaymentCard,
                    pan_last_digits=st.from_regex(r"\A[0-9]{4,6}\Z"),
                    holder_name=opt(TEXT),
                )
            )
        ),
        direct_debit=draw(
            opt(
                st.builds(
                    DirectDebit,
                    mandate_reference=TEXT,
                    creditor_id=opt(TEXT),
                    debited_account=opt(TEXT),
                )
            )
        ),
    )


@st.composite
def invoices(draw: st.DrawFn) -> Invoice:
    """valid_simple() with generated values for (nearly) every optional field of the model."""
    base = valid_simple()
    credit = draw(st.booleans())
    payment = draw(opt(payments()))
    currency, tax_currency = draw(
        st.sampled_from([("EUR", None), ("USD", "EUR"), ("EUR", "EUR"), ("NOK", "NOK")])
    )
    update: dict[str, Any] = {
        "type_code": "381" if credit else draw(st.sampled_from(["380", "326", "389"])),
        "currency": currency,
        "tax_currency": tax_currency,
        "tax_point_date": draw(opt(DAY)),
        "tax_point_date_code": draw(opt(st.sampled_from(["3", "35", "432"]))),
        # A CreditNote carries BT-9 only inside PaymentMeans (UBL 2.1 has no DueDate there).
        "due_date": draw(opt(DAY)) if payment is not None or not credit else None,
        "buyer_reference": draw(opt(TEXT)),
        "project_reference": draw(opt(TEXT)),
        "contract_reference": draw(opt(TEXT)),
        "purchase_order_reference": draw(opt(TEXT.filter(lambda s: s.strip() != "NA"))),
        "sales_order_reference": draw(opt(TEXT)),
        "receiving_advice_reference": draw(opt(TEXT)),
        "despatch_advice_reference": draw(opt(TEXT)),
        "tender_reference": draw(opt(TEXT)),
        "invoiced_object": draw(opt(IDENT)),
        "buyer_accounting_reference": draw(opt(TEXT)),
        "payment_terms": draw(opt(TEXT)),
        "notes": draw(
            tuples(
                st.builds(
                    Note,
                    text=TEXT.filter(lambda s: SUBJECT_PREFIX.match(s.strip()) is None),
                    subject_code=opt(st.sampled_from(["AAI", "ADU", "AAB"])),
                )
            )
        ),
        "business_process": draw(opt(TEXT)),
        "specification_id": draw(opt(TEXT)),
        "preceding_invoices": draw(
            tuples(st.builds(PrecedingInvoice, number=TEXT, issue_date=opt(DAY)))
        ),
        "seller": Seller(
            **{
                **base.seller.model_dump(),
                "trading_name": draw(opt(TEXT)),
                "identifiers": draw(tuples(IDENT)),
                "legal_registration": draw(opt(IDENT)),
                "vat_id": draw(opt(TEXT)),
                "tax_registration_id": draw(opt(TEXT)),
                "legal_info": draw(opt(TEXT)),
                "electronic_address": draw(opt(IDENT)),
                "address": draw(ADDRESS),
                "contact": draw(
                    opt(st.builds(Contact, name=TEXT, phone=opt(TEXT), email=opt(TEXT)))
                ),
            }
        ),
        "buyer": Buyer(
            **{
                **base.buyer.model_dump(),
                "trading_name": draw(opt(TEXT)),
                "identifier": draw(opt(IDENT)),
                "legal_registration": draw(opt(IDENT)),
                "vat_id": draw(opt(TEXT)),
                "address": draw(ADDRESS),
            }
        ),
        "payee": draw(
            opt(st.builds(Payee, name=TEXT, identifier=opt(IDENT), legal_registration=opt(IDENT)))
        ),
        "tax_representative": draw(
            opt(st.builds(TaxRepresentative, name=TEXT, vat_id=TEXT, address=ADDRESS))
        ),
        "delivery": draw(
            opt(
                st.builds(
                    Delivery,
                    party_name=TEXT,
                    location=opt(IDENT),
                    date=opt(DAY),
                    address=opt(ADDRESS),
                )
            )
        ),
        "invoice_period": draw(opt(PERIOD)),
        "payment": payment,
        "allowances": draw(tuples(DOC_AC)),
        "charges": draw(tuples(DOC_AC)),
        "totals": Totals(
            prepaid=draw(opt(AMOUNT)),
            rounding=draw(opt(AMOUNT)),
            vat_in_accounting_currency=draw(opt(AMOUNT))
            if tax_currency not in (None, currency)
            else None,
        ),
        "supporting_documents": draw(
            tuples(
                st.builds(
                    SupportingDocument,
                    reference=TEXT,
                    description=opt(TEXT),
                    external_uri=opt(TEXT),
                    attachment=opt(
                        st.builds(
                            Attachment,
                            content=st.binary(max_size=40),
                            mime_code=st.sampled_from(["application/pdf", "text/csv"]),
                            filename=TEXT,
                        )
                    ),
                )
            )
        ),
        "lines": draw(lines()),
    }
    # Built through validation (as intake does), so strings are stripped like any real invoice.
    return Invoice(**{**base.model_dump(), **update})


@pytest.mark.parametrize("alias", ["peppol-bis3", "xrechnung-ubl", "ubl"])
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(invoice=invoices())
def test_any_invoice_round_trips(alias: str, invoice: Invoice) -> None:
    """Whatever optional fields are set, the UBL document reads back into the same invoice."""
    mapping = resolve_mapping(alias)
    assert mapping.parse(mapping.render(invoice).content) == mapping.stamped(invoice)


@pytest.fixture(scope="module")
def ubl_schemas(conformance: Path) -> dict[str, etree.XMLSchema]:
    """The official UBL 2.1 Invoice and CreditNote XSDs from the conformance artefacts."""
    maindoc = conformance / "artefacts" / "ubl-2.1" / "xsdrt" / "maindoc"
    return {
        name: etree.XMLSchema(etree.parse(str(maindoc / f"UBL-{name}-2.1.xsd")))
        for name in ("Invoice", "CreditNote")
    }


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(invoice=invoices())
def test_any_invoice_renders_schema_valid(
    ubl_schemas: dict[str, etree.XMLSchema], invoice: Invoice
) -> None:
    """Whatever optional fields are set, elements come in the UBL 2.1 XSD order and types."""
    content = resolve_mapping("peppol-bis3").render(invoice).content
    root = etree.fromstring(content)
    schema = ubl_schemas[etree.QName(root).localname]
    assert schema.validate(root), str(schema.error_log)
