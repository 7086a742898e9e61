"""Seller master data files and buyer-profile defaults are checked at start-up, like profiles."""

from __future__ import annotations

from pathlib import Path
from typing import get_args

import pytest
from masterdata_files import ACME, BUYER, write
from pydantic import BaseModel

from gateway.errors import ConfigError
from gateway.masterdata.apply import BUYER_TERMS, SELLER_TERMS
from gateway.masterdata.load import load_sellers
from gateway.masterdata.terms import BuyerDefaults, SellerDefaults
from gateway.model import bt_of
from gateway.profiles.load import load_profiles

ROOT = Path(__file__).resolve().parent.parent


def problems_of(folder: Path) -> str:
    with pytest.raises(ConfigError) as caught:
        load_sellers(folder)
    return str(caught.value)


def test_example_seller_files_load() -> None:
    """config/sellers: the sellers of examples/erp-export.json and of the Bots EANCOM samples."""
    sellers = load_sellers(ROOT / "config" / "sellers")
    assert ("vat_id", "DE123456789") in sellers.by_id
    assert ("identifier", "0088:8712345678910") in sellers.by_id
    assert ("gln", "6666666666666") in sellers.by_id
    nordlicht = sellers.by_id[("gln", "4012345000016")]
    assert nordlicht.defaults.seller is not None
    assert nordlicht.defaults.seller.electronic_address is not None


def test_unknown_key_names_file_dotted_key_and_suggests(tmp_path: Path) -> None:
    """A misspelt key deep in [defaults] names the file, the dotted key and the closest key."""
    misspelt = ACME.replace("[defaults.seller.contact]", "[defaults.seller.contakt]")
    path = write(tmp_path, "acme", misspelt)
    text = problems_of(tmp_path)
    assert str(path) in text
    assert "unknown key 'defaults.seller.contakt'; did you mean 'contact'?" in text


def test_every_problem_of_the_folder_at_once(tmp_path: Path) -> None:
    """A bad GLN, a bad VAT id, a bad means code and a file naming no seller: one error."""
    write(tmp_path, "a", '[ids]\nglns = ["4012345000017"]\n')
    write(tmp_path, "b", '[ids]\nvat_ids = ["DE1"]\n[defaults.payment]\nmeans_code = "credit"\n')
    write(tmp_path, "c", 'description = "no ids"\n')
    text = problems_of(tmp_path)
    assert "4 problem(s)" in text
    assert "a.toml: ids.glns[0] = '4012345000017': not a GLN" in text
    assert "b.toml: ids.vat_ids[0] = 'DE1': not a VAT id" in text
    assert "b.toml: defaults.payment.means_code = 'credit'" in text
    assert "c.toml: ids: the file names no seller" in text


def test_one_id_in_two_files_is_an_error_naming_both(tmp_path: Path) -> None:
    """Two seller files claiming one VAT id: the error names both files and the id."""
    first = write(tmp_path, "acme", ACME)
    second = write(tmp_path, "acme-copy", '[ids]\nvat_ids = ["de 123 456 789"]\n')
    text = problems_of(tmp_path)
    assert str(second) in text and str(first) in text and "'DE123456789'" in text


def test_absent_default_folder_means_no_master_data(tmp_path: Path) -> None:
    """No sellers folder where the default would be: no master data, no error."""
    assert len(load_sellers(tmp_path / "config" / "sellers", required=False)) == 0


def test_absent_named_folder_is_an_error(tmp_path: Path) -> None:
    """A sellers folder named explicitly must exist."""
    with pytest.raises(ConfigError, match="seller master data folder does not exist"):
        load_sellers(tmp_path / "nope")


def test_buyer_profile_defaults_load_and_unknown_keys_are_named(tmp_path: Path) -> None:
    """[defaults] of a buyer profile loads; a misspelt key names file, key and suggestion."""
    write(tmp_path, "kunde", BUYER)
    profile = load_profiles(tmp_path)["kunde"]
    assert profile.defaults.buyer_reference == "04011000-12345-34"
    write(tmp_path, "kunde", BUYER.replace("buyer_reference", "buyer_refrence"))
    with pytest.raises(ConfigError) as caught:
        load_profiles(tmp_path)
    message = str(caught.value)
    assert "unknown key 'defaults.buyer_refrence'; did you mean 'buyer_reference'?" in message


def test_buyer_identity_defaults_refused_on_a_default_profile(tmp_path: Path) -> None:
    """BT-49 / BT-10 defaults on a default (or group) profile would give every buyer one
    endpoint: refused at load, naming the keys."""
    text = BUYER.replace('[ids]\nvat_ids = ["DE999999999"]', "default = true")
    path = write(tmp_path, "anyone", text)
    with pytest.raises(ConfigError) as caught:
        load_profiles(tmp_path)
    message = str(caught.value)
    assert str(path) in message
    assert "defaults.buyer_reference, defaults.buyer.electronic_address: names one buyer" in message


def _offered(model: type[BaseModel], prefix: str, covered: set[str]) -> list[str]:
    """Every key path a defaults model accepts, stopping at the paths a Term takes whole."""
    paths: list[str] = []
    for name, info in model.model_fields.items():
        path = f"{prefix}{name}"
        inner = info.annotation
        args = [a for a in get_args(inner) if a is not type(None)] or [inner]
        sub = next((a for a in args if isinstance(a, type) and issubclass(a, BaseModel)), None)
        if path in covered or sub is None:
            paths.append(path)
        else:
            paths.extend(_offered(sub, f"{path}.", covered))
    return paths


def test_every_offered_key_is_applied_and_documented() -> None:
    """Each key the defaults models accept has a Term that applies it, and config/sellers/
    README.md lists every Term with its BT id: no key is silently ignored or undocumented."""
    terms = {t.path for t in (*SELLER_TERMS, *BUYER_TERMS)}
    offered = _offered(SellerDefaults, "", terms) + _offered(BuyerDefaults, "", terms)
    assert sorted(set(offered) - terms) == []
    readme = (ROOT / "config" / "sellers" / "README.md").read_text(encoding="utf-8")
    rows = [line for line in readme.splitlines() if line.startswith("| `")]
    for term in terms:
        head, _, last = term.rpartition(".")
        row = next(
            (r for r in rows if term in r or (head and f"`{head}." in r and f"`{last}`" in r)),
            None,
        )
        assert row is not None, term
        assert str(bt_of(term)) in row, (term, row)
