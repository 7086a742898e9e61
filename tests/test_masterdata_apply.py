"""apply_master_data fills only absent terms, records each in provenance, never overwrites."""

from __future__ import annotations

import json
from pathlib import Path

from builders import simple_invoice
from masterdata_files import ACME, BUYER, write

from gateway.masterdata.apply import apply_buyer, apply_master_data, fill_from_sellers
from gateway.masterdata.load import load_sellers
from gateway.masterdata.sellers import SellerSet
from gateway.model import Contact, Identifier, Invoice, PaymentCard, PaymentInstructions
from gateway.profiles.load import load_profiles
from gateway.store import canonical_json


def bare_invoice() -> Invoice:
    """The simple invoice as an EANCOM message gives it: no endpoints, contact, payment,
    street, buyer reference."""
    invoice = simple_invoice()
    seller = invoice.seller.model_copy(
        update={
            "electronic_address": None,
            "address": invoice.seller.address.model_copy(update={"line1": None, "city": None}),
        }
    )
    buyer = invoice.buyer.model_copy(
        update={"electronic_address": None, "vat_id": "DE999999999"}
    )
    return invoice.model_copy(
        update={"seller": seller, "buyer": buyer, "payment": None, "buyer_reference": None}
    )


def sellers_in(tmp_path: Path, text: str = ACME) -> SellerSet:
    write(tmp_path / "sellers", "acme", text)
    return load_sellers(tmp_path / "sellers")


def test_absent_terms_are_filled_and_each_is_in_provenance(tmp_path: Path) -> None:
    """BT-34, the street, city, contact, payment and BT-20 come from the seller's file; each
    filled term is a TermSource naming path, BT id and the file."""
    sellers = sellers_in(tmp_path)
    filled, problems = fill_from_sellers(bare_invoice(), sellers, record="INV-1")
    assert problems == ()
    assert filled.seller.electronic_address == Identifier(value="4012345000016", scheme="0088")
    address = filled.seller.address
    assert address.line1 == "Lieferstraße 1" and address.city == "Berlin"
    assert filled.seller.address.post_code == "10115"  # given by the source, kept
    assert filled.seller.contact == Contact(
        name="Buchhaltung", phone="+49 30 1", email="rechnung@acme.example"
    )
    assert filled.payment is not None and filled.payment.means_code == "58"
    assert filled.payment.credit_transfers[0].account_id == "DE75512108001245126199"
    assert filled.payment_terms == "30 Tage netto"
    source = str(tmp_path / "sellers" / "acme.toml")
    by_path = {t.path: t for t in filled.provenance}
    assert by_path["seller.electronic_address"].bt == "BT-34"
    assert by_path["seller.contact.name"].bt == "BT-41"
    assert by_path["seller.contact.email"].bt == "BT-43"
    assert by_path["payment.credit_transfers"].bt == "BG-17"
    assert by_path["payment_terms"].bt == "BT-20"
    assert {t.source for t in filled.provenance} == {"master-data"}
    assert {t.detail for t in filled.provenance} == {source}
    assert "seller.address.post_code" not in by_path


def test_source_value_is_never_overwritten_and_the_conflict_is_reported(tmp_path: Path) -> None:
    """A contact e-mail and an IBAN the source gives differ from master data: both kept, each a
    MASTER-DATA warning naming record, path, BT id, the source's and master data's value."""
    sellers = sellers_in(tmp_path)
    invoice = simple_invoice()
    invoice = invoice.model_copy(
        update={
            "seller": invoice.seller.model_copy(update={"contact": Contact(email="x@y.example")})
        }
    )
    filled, problems = fill_from_sellers(invoice, sellers, record="INV-1")
    assert filled.seller.contact is not None and filled.seller.contact.email == "x@y.example"
    assert filled.seller.contact.name == "Buchhaltung"  # absent: filled
    assert filled.payment is not None and invoice.payment is not None
    assert filled.payment.credit_transfers == invoice.payment.credit_transfers
    assert filled.payment.means_text == "SEPA credit transfer"  # same means code 58: filled
    assert filled.seller.electronic_address == invoice.seller.electronic_address
    found = {(p.record, p.path, p.bt, p.value, p.flag, p.rule) for p in problems}
    warning = ("warning", "MASTER-DATA")
    assert ("INV-1", "seller.contact.email", "BT-43", "x@y.example", *warning) in found
    endpoint = ("seller.electronic_address", "BT-34", "EM:seller@example.com")
    assert ("INV-1", *endpoint, *warning) in found
    iban = next(p for p in problems if p.path == "payment.credit_transfers")
    assert iban.bt == "BG-17" and "DE75512108001245126199" in iban.message
    email = next(p for p in problems if p.path == "seller.contact.email")
    assert "'rechnung@acme.example'" in email.message and "kept" in email.message


def test_a_scheme_the_source_left_out_is_filled_when_the_values_agree(tmp_path: Path) -> None:
    """BT-34 given without scheme but with master data's value: only BT-34-1 is filled."""
    sellers = sellers_in(tmp_path)
    invoice = bare_invoice()
    seller = invoice.seller.model_copy(
        update={"electronic_address": Identifier(value="4012345000016")}
    )
    filled, problems = fill_from_sellers(
        invoice.model_copy(update={"seller": seller}), sellers, record="INV-1"
    )
    assert filled.seller.electronic_address == Identifier(value="4012345000016", scheme="0088")
    assert "seller.electronic_address.scheme" in {t.path for t in filled.provenance}
    assert next(t for t in filled.provenance if t.path.endswith(".scheme")).bt == "BT-34-1"
    assert problems == ()


def test_guards_keep_other_countries_and_payment_means_apart(tmp_path: Path) -> None:
    """An address in another country gets no street; a card payment no IBAN; neither is a
    conflict (that part of master data does not apply)."""
    sellers = sellers_in(tmp_path)
    invoice = bare_invoice()
    seller = invoice.seller.model_copy(
        update={"address": invoice.seller.address.model_copy(update={"country": "AT"})}
    )
    card = PaymentInstructions(means_code="54", card=PaymentCard(pan_last_digits="4242"))
    filled, problems = fill_from_sellers(
        invoice.model_copy(update={"seller": seller, "payment": card}), sellers, record="INV-1"
    )
    assert filled.seller.address.line1 is None and filled.seller.address.city is None
    assert filled.payment == card
    assert problems == ()
    assert filled.seller.electronic_address is not None  # the rest still applies


def test_credit_notes_get_no_payment_defaults(tmp_path: Path) -> None:
    """A refund goes to the buyer's account: no seller IBAN is ever filled into a credit note."""
    sellers = sellers_in(tmp_path)
    note = bare_invoice().model_copy(update={"type_code": "381"})
    filled, _ = fill_from_sellers(note, sellers, record="CN-1")
    assert filled.payment is None
    assert not any(t.path.startswith("payment.") for t in filled.provenance)


def test_ambiguous_seller_match_is_refused_naming_both_files(tmp_path: Path) -> None:
    """The VAT id leads to acme.toml, the GLN to branch.toml: a fatal problem naming both."""
    folder = tmp_path / "sellers"
    write(folder, "acme", ACME)
    write(folder, "branch", '[ids]\nglns = ["4012345000016"]\n')
    invoice = bare_invoice()
    seller = invoice.seller.model_copy(
        update={"identifiers": (Identifier(value="4012345000016", scheme="0088"),)}
    )
    filled, problems = fill_from_sellers(
        invoice.model_copy(update={"seller": seller}), load_sellers(folder), record="INV-1"
    )
    (problem,) = problems
    assert problem.flag == "fatal" and problem.rule == "MASTER-DATA" and problem.bt == "BG-4"
    assert str(folder / "acme.toml") in problem.message
    assert str(folder / "branch.toml") in problem.message
    assert "vat_id DE123456789" in problem.message and "gln 4012345000016" in problem.message
    assert filled.provenance == ()


def test_no_matching_seller_leaves_the_invoice_as_it_is(tmp_path: Path) -> None:
    """A seller no file names: the very same invoice, no provenance, canonical JSON unchanged."""
    sellers = sellers_in(tmp_path)
    invoice = bare_invoice().model_copy(
        update={"seller": bare_invoice().seller.model_copy(update={"vat_id": "DE111111111"})}
    )
    filled, problems = fill_from_sellers(invoice, sellers, record="INV-1")
    assert filled is invoice and problems == ()
    assert "provenance" not in json.loads(canonical_json(filled))


def test_buyer_profile_defaults_and_both_in_canonical_json(tmp_path: Path) -> None:
    """apply_master_data: seller file then buyer profile (BT-49, BT-10, buyer contact); the
    canonical JSON lists every filled term with its source file."""
    sellers = sellers_in(tmp_path)
    profile_path = write(tmp_path / "buyers", "kunde", BUYER)
    profile = load_profiles(tmp_path / "buyers")["kunde"]
    seller = sellers.find(bare_invoice())
    filled, problems = apply_master_data(
        bare_invoice(),
        seller,
        profile,
        seller_source="sellers/acme.toml",
        profile_source=str(profile_path),
    )
    assert problems == ()
    assert filled.buyer.electronic_address == Identifier(value="04011000-12345-34", scheme="0204")
    assert filled.buyer_reference == "04011000-12345-34"
    stored = json.loads(canonical_json(filled))["provenance"]
    assert {"path": "buyer_reference", "bt": "BT-10", "source": "master-data",
            "detail": str(profile_path)} in stored
    assert {"path": "buyer.electronic_address", "bt": "BT-49", "source": "master-data",
            "detail": str(profile_path)} in stored
    assert {"path": "seller.electronic_address", "bt": "BT-34", "source": "master-data",
            "detail": "sellers/acme.toml"} in stored


def test_buyer_reference_given_by_the_source_is_kept(tmp_path: Path) -> None:
    """A buyer reference in the source beats the profile's Leitweg-ID, with a warning."""
    write(tmp_path, "kunde", BUYER)
    profile = load_profiles(tmp_path)["kunde"]
    invoice = bare_invoice().model_copy(update={"buyer_reference": "PO-77"})
    filled, problems = apply_buyer(invoice, profile, source="kunde.toml")
    assert filled.buyer_reference == "PO-77"
    assert [(p.path, p.bt, p.value) for p in problems] == [("buyer_reference", "BT-10", "PO-77")]


def test_applying_twice_changes_nothing_more(tmp_path: Path) -> None:
    """Master data applied to an already filled invoice fills nothing and reports nothing."""
    sellers = sellers_in(tmp_path)
    once, _ = fill_from_sellers(bare_invoice(), sellers, record="INV-1")
    twice, problems = fill_from_sellers(once, sellers, record="INV-1")
    assert twice == once and problems == ()
