"""Routing picks the most specific profile: buyer id > buyer group > default."""

from __future__ import annotations

from pathlib import Path

import pytest
from builders import simple_invoice
from shared_dir import ROOT

from gateway.delivery.routing import buyer_ids, route
from gateway.errors import ConfigError, InvoiceRejected
from gateway.model import Identifier, Invoice
from gateway.profiles.load import ProfileSet, build_connector, load_profiles
from gateway.registry import resolve_mapping
from gateway.totals import complete

CHANNEL = '[channel]\nconnector = "memory"\n'


def profiles(tmp_path: Path, **files: str) -> ProfileSet:
    for name, text in files.items():
        (tmp_path / f"{name}.toml").write_text(text + CHANNEL, encoding="utf-8")
    return load_profiles(tmp_path)


def invoice_for(**buyer: object) -> Invoice:
    base = simple_invoice()
    return base.model_copy(update={"buyer": base.buyer.model_copy(update=buyer)})


ALL_IDS = {
    "erp": '[ids]\nerp_customer_numbers = ["C-1"]\n',
    "peppol": '[ids]\npeppol_ids = ["0088:4000001000005"]\n',
    "gln": '[ids]\nglns = ["4012345000009"]\n',
    "vat": '[ids]\nvat_ids = ["DE999999999"]\n',
    "group": '[group]\nname = "de"\ncountries = ["DE"]\n',
    "fallback": "default = true\n",
}


def full_buyer() -> dict[str, object]:
    return {
        "identifier": Identifier(value="C-1"),
        "electronic_address": Identifier(value="4000001000005", scheme="0088"),
        "legal_registration": Identifier(value="4012345000009", scheme="0088"),
        "vat_id": "de 999 999 999",
    }


@pytest.mark.parametrize(
    ("dropped", "expected"),
    [
        ((), "erp"),
        (("identifier",), "peppol"),
        (("identifier", "electronic_address"), "gln"),
        (("identifier", "electronic_address", "legal_registration"), "vat"),
        (("identifier", "electronic_address", "legal_registration", "vat_id"), "group"),
    ],
)
def test_id_precedence(tmp_path: Path, dropped: tuple[str, ...], expected: str) -> None:
    """ERP number > Peppol id > GLN > VAT id > group: each level wins over everything below."""
    buyer = {k: v for k, v in full_buyer().items() if k not in dropped}
    if "electronic_address" in dropped:
        buyer["electronic_address"] = Identifier(value="x@example.com", scheme="EM")
    assert route(invoice_for(**buyer), profiles(tmp_path, **ALL_IDS)).name == expected


def test_group_beats_default_and_default_catches_the_rest(tmp_path: Path) -> None:
    """A matching group wins over the default; a buyer matching nothing gets the default."""
    found = profiles(tmp_path, **ALL_IDS)
    assert route(invoice_for(), found).name == "group"
    abroad = invoice_for(
        address=simple_invoice().buyer.address.model_copy(update={"country": "FR"})
    )
    assert route(abroad, found).name == "fallback"


def test_more_specific_group_wins(tmp_path: Path) -> None:
    """Of two matching groups, the one with more criteria (country + address scheme) wins."""
    found = profiles(
        tmp_path,
        de='[group]\nname = "de"\ncountries = ["DE"]\n',
        de_public='[group]\nname = "de-public"\ncountries = ["DE"]\naddress_schemes = ["0204"]\n',
    )
    leitweg = Identifier(value="04011000-12345-34", scheme="0204")
    assert route(invoice_for(electronic_address=leitweg), found).name == "de_public"
    assert route(invoice_for(), found).name == "de"


def test_equally_specific_groups_are_a_config_error(tmp_path: Path) -> None:
    """Two groups with different but equally specific criteria matching one invoice: ConfigError."""
    found = profiles(
        tmp_path,
        by_country='[group]\nname = "a"\ncountries = ["DE"]\n',
        by_scheme='[group]\nname = "b"\naddress_schemes = ["EM"]\n',
    )
    with pytest.raises(ConfigError, match=r"INV-1: buyer groups .* all match equally"):
        route(invoice_for(), found)


def test_no_match_without_default_names_the_invoice(tmp_path: Path) -> None:
    """Without a default, an unclaimed buyer is rejected naming invoice, BG-7 and its ids."""
    found = profiles(tmp_path, vat='[ids]\nvat_ids = ["DE999999999"]\n')
    with pytest.raises(InvoiceRejected) as caught:
        route(invoice_for(vat_id="DE111111111"), found)
    problem = caught.value.problems[0]
    assert (problem.record, problem.bt, problem.rule) == ("INV-1", "BG-7", "ROUTING")
    assert "vat_id=DE111111111" in str(problem.value)


def test_ids_compare_normalised(tmp_path: Path) -> None:
    """VAT ids ignore case and spaces; Peppol ids ignore case."""
    found = profiles(tmp_path, p='[ids]\npeppol_ids = ["9930:DE999999999"]\n')
    address = Identifier(value="de999999999", scheme="9930")
    assert route(invoice_for(electronic_address=address), found).name == "p"
    assert ("vat_id", "DE999999999") in buyer_ids(invoice_for(vat_id="de 999.999.999"))


def test_example_profiles_route() -> None:
    """The shipped examples: Leitweg-ID -> XRechnung group, GLN -> EANCOM, Peppol id, default."""
    found = load_profiles(ROOT / "config" / "buyers")
    leitweg = Identifier(value="04011000-12345-34", scheme="0204")
    assert route(invoice_for(electronic_address=leitweg), found).format == "xrechnung-ubl"
    gln = Identifier(value="4012345000009", scheme="0088")
    assert route(invoice_for(identifier=gln), found).format == "eancom-d96a"
    peppol = Identifier(value="4000001000005", scheme="0088")
    assert route(invoice_for(electronic_address=peppol), found).name == "nordwind-peppol"
    assert route(invoice_for(), found).name == "default"


def test_route_render_send_with_the_routed_channel(tmp_path: Path) -> None:
    """The pieces fit: route -> the profile's mapping renders -> its channel's connector sends."""
    found = load_profiles(ROOT / "config" / "buyers")
    peppol = Identifier(value="4000001000005", scheme="0088")
    invoice = complete(invoice_for(electronic_address=peppol))
    profile = route(invoice, found)
    document = resolve_mapping(profile.format).render(invoice, profile)
    assert profile.channel is not None
    spec = profile.channel.model_copy(update={"options": {"directory": str(tmp_path)}})
    receipt = build_connector(spec).send(document, delivery_id="d-1", idempotency_key="INV-1")
    assert receipt.connector == "file"
    assert (tmp_path / receipt.message_id).read_bytes() == document.content
