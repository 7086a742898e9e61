"""Submit with master data end to end: an ERP record lacking BT-34, contact, BT-49 and BT-10 is
filled, validated as XRechnung, stored with its provenance, and its timeline says so."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from masterdata_files import MUSTERHAUSEN, NORDLICHT, SELLERS, buyer_profile, lacking_record
from store_backends import T0, store_url  # noqa: F401  (fixture)

from gateway.delivery.status import timeline_text
from gateway.delivery.submit import submit
from gateway.intake import read_records
from gateway.masterdata.load import load_sellers
from gateway.profiles.load import load_profiles
from gateway.store import Store
from gateway.store.schema import invoices


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:  # noqa: F811
    opened = Store.open(store_url)
    opened.migrate()
    yield opened
    opened.close()


def _submit(store: Store, tmp_path: Path, record: dict[str, Any], *, sellers: bool = True) -> Any:
    head, _, rest = MUSTERHAUSEN.partition("[defaults]")
    profile = MUSTERHAUSEN if sellers else head + "[channel]" + rest.partition("[channel]")[2]
    buyer_profile(tmp_path / "buyers", tmp_path / "out", "musterhausen", profile)
    return submit(
        read_records(json.dumps([record]).encode(), "json"),
        store,
        load_profiles(tmp_path / "buyers"),
        now=T0,
        sellers=load_sellers(SELLERS) if sellers else load_sellers(tmp_path, required=False),
    )


def _canonical(store: Store) -> dict[str, Any]:
    with store.engine.connect() as db:
        text = db.execute(sa.select(invoices.c.canonical)).scalar_one()
    data: dict[str, Any] = json.loads(text)
    return data


def test_without_master_data_the_record_cannot_be_sent_as_xrechnung(
    store: Store, tmp_path: Path
) -> None:
    """The control: without seller file and profile defaults the record is rejected for BT-34,
    BT-49, BT-10 and the seller contact."""
    report = _submit(store, tmp_path, lacking_record(), sellers=False)
    (outcome,) = report.outcomes
    assert outcome.status == "rejected"
    rules = {p.rule for p in outcome.problems if p.flag == "fatal"}
    assert {"PEPPOL-EN16931-R010", "PEPPOL-EN16931-R020", "BR-DE-15", "BR-DE-2"} <= rules


def test_master_data_makes_it_valid_and_the_store_and_timeline_say_which_terms(
    store: Store, tmp_path: Path
) -> None:
    """Seller file + buyer profile fill the terms; the gateway's XRechnung validation passes;
    the canonical JSON lists each filled term; the timeline has a 'filled' event naming them."""
    report = _submit(store, tmp_path, lacking_record())
    (outcome,) = report.outcomes
    assert outcome.status == "stored", [str(p) for p in outcome.problems]
    assert outcome.buyer == "musterhausen" and outcome.format == "xrechnung-ubl"
    assert not [p for p in outcome.problems if p.flag == "fatal"]
    profile_file = str(tmp_path / "buyers" / "musterhausen.toml")
    provenance = {(t["path"], t["bt"], t["detail"]) for t in _canonical(store)["provenance"]}
    assert provenance == {
        ("seller.electronic_address", "BT-34", NORDLICHT),
        ("seller.contact.name", "BT-41", NORDLICHT),
        ("seller.contact.phone", "BT-42", NORDLICHT),
        ("seller.contact.email", "BT-43", NORDLICHT),
        ("buyer.electronic_address", "BT-49", profile_file),
        ("buyer_reference", "BT-10", profile_file),
    }
    events = store.timeline("NB-2026-10001")
    assert [e.kind for e in events] == ["accepted", "filled", "queued"]
    filled = events[1]
    assert filled.detail.startswith("filled from master data: BT-34 seller.electronic_address")
    assert f"BT-49 buyer.electronic_address ({profile_file})" in filled.detail
    assert filled.evidence is not None and len(json.loads(filled.evidence)) == 6
    text = timeline_text(events)
    assert f"filled from master data: BT-34 seller.electronic_address ({NORDLICHT})" in text


def test_identical_resubmission_with_master_data_is_a_duplicate(
    store: Store, tmp_path: Path
) -> None:
    """The same record again: the same filled content, so 'duplicate', nothing queued."""
    assert _submit(store, tmp_path, lacking_record()).outcomes[0].status == "stored"
    again = _submit(store, tmp_path, lacking_record()).outcomes[0]
    assert again.status == "duplicate", again.message
    assert len(store.deliveries()) == 1


def test_a_conflicting_source_value_is_kept_reported_and_on_the_timeline(
    store: Store, tmp_path: Path
) -> None:
    """A seller e-mail in the record differs from master data: stored with the record's
    e-mail, a MASTER-DATA warning on the outcome, a 'conflict' warning event."""
    record = lacking_record(contact={"email": "billing@nordlicht.example"})
    (outcome,) = _submit(store, tmp_path, record).outcomes
    assert outcome.status == "stored", [str(p) for p in outcome.problems]
    (warning,) = [p for p in outcome.problems if p.rule == "MASTER-DATA"]
    assert (warning.path, warning.bt, warning.value, warning.flag) == (
        "seller.contact.email",
        "BT-43",
        "billing@nordlicht.example",
        "warning",
    )
    assert _canonical(store)["seller"]["contact"]["email"] == "billing@nordlicht.example"
    conflict = next(e for e in store.timeline("NB-2026-10001") if e.kind == "conflict")
    assert conflict.level == "warning"
    assert "BT-43 seller.contact.email = 'billing@nordlicht.example'" in conflict.detail
    assert "'rechnung@nordlicht-buero.de'" in conflict.detail


def test_ambiguous_seller_files_reject_the_record_naming_both(store: Store, tmp_path: Path) -> None:
    """A second seller file claiming Nordlicht's GLN: the record is rejected naming both files;
    nothing is stored."""
    folder = tmp_path / "sellers"
    folder.mkdir()
    (folder / "nordlicht.toml").write_text('[ids]\nvat_ids = ["DE123456789"]\n')
    (folder / "branch.toml").write_text('[ids]\nglns = ["4012345000016"]\n')
    buyer_profile(tmp_path / "buyers", tmp_path / "out", "musterhausen", MUSTERHAUSEN)
    report = submit(
        read_records(json.dumps([lacking_record()]).encode(), "json"),
        store,
        load_profiles(tmp_path / "buyers"),
        now=T0,
        sellers=load_sellers(folder),
    )
    (outcome,) = report.outcomes
    assert outcome.status == "rejected"
    (problem,) = [p for p in outcome.problems if p.rule == "MASTER-DATA"]
    assert "branch.toml" in problem.message and "nordlicht.toml" in problem.message
    assert store.deliveries() == []
