"""gateway.delivery.submit: ERP records -> routed, rendered, stored with one queued delivery
each."""

from __future__ import annotations

import copy
import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from store_backends import T0, store, store_url  # noqa: F401  (fixtures)

from gateway.delivery.submit import seller_key, submit
from gateway.intake import read_records
from gateway.intake.results import RecordResult
from gateway.profiles.load import ProfileSet, load_profiles
from gateway.store import DeliveryState, Store

REPO = Path(__file__).resolve().parent.parent
EXAMPLES = REPO / "examples" / "erp-export.json"
DEMO_PROFILES = REPO / "config" / "demo" / "buyers"


@pytest.fixture
def profiles(monkeypatch: pytest.MonkeyPatch) -> ProfileSet:
    """The demo profiles (every format family), with the cXML secret reference resolvable."""
    monkeypatch.setenv("IGW_DEMO_CXML_SECRET", "test-secret")
    return load_profiles(DEMO_PROFILES)


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Iterator[Store]:
    """A migrated SQLite store in tmp_path."""
    opened = Store.open(f"sqlite:///{tmp_path / 'gateway.db'}")
    opened.migrate()
    yield opened
    opened.close()


def _records(data: list[dict[str, object]]) -> list[RecordResult]:
    return list(read_records(json.dumps(data).encode(), "json"))


def _examples() -> list[dict[str, object]]:
    data: list[dict[str, object]] = json.loads(EXAMPLES.read_text(encoding="utf-8"))
    return data


def test_every_example_is_stored_with_one_queued_delivery_on_its_primary_channel(
    sqlite_store: Store, profiles: ProfileSet
) -> None:
    """All 27 examples are stored; each has one QUEUED delivery for its routed profile."""
    report = submit(read_records(EXAMPLES), sqlite_store, profiles, now=T0)
    assert report.count("stored") == 27, [o.problems for o in report.outcomes if o.problems]
    rows = sqlite_store.deliveries()
    assert len(rows) == 27
    assert {r.state for r in rows} == {DeliveryState.QUEUED}
    assert {r.channel for r in rows} == {"file"}
    by_number = {r.invoice_number: r.buyer for r in rows}
    assert by_number["NB-2026-10001"] == "de-public"  # group: DE + Leitweg-ID
    assert by_number["NB-2026-10002"] == "hanse-logistik"  # VAT id
    assert by_number["DE-2026-0099"] == "supermercados-hercules"
    assert by_number["RW-2026-5504"] == "cascade-precision"
    assert by_number["RW-2026-5502"] == "default"
    formats = {o.format for o in report.outcomes}
    assert formats == {
        "xrechnung-ubl",
        "xrechnung-cii",
        "peppol-bis3",
        "facturx-en16931",
        "eancom-d96a",
        "cxml",
    }


def test_same_content_again_is_a_duplicate_and_queues_nothing(
    sqlite_store: Store, profiles: ProfileSet
) -> None:
    """Re-submitting identical invoices reports duplicates, adds no delivery and spends no
    control number."""
    first = submit(read_records(EXAMPLES), sqlite_store, profiles, now=T0)
    again = submit(read_records(EXAMPLES), sqlite_store, profiles, now=T0 + dt.timedelta(hours=1))
    assert again.count("duplicate") == 27 and again.ok
    assert len(sqlite_store.deliveries()) == 27
    stored = {o.record: o.delivery_ids for o in first.outcomes}
    assert {o.record: o.delivery_ids for o in again.outcomes} == stored
    # one EDIFACT and one cXML invoice used interchange 1 of their partner: the next is 2
    assert sqlite_store.allocate("supermercados-hercules", "interchange") == [2]
    assert sqlite_store.allocate("cascade-precision", "interchange") == [2]


def test_changed_content_under_a_stored_number_is_refused_naming_both_hashes(
    sqlite_store: Store, profiles: ProfileSet
) -> None:
    """Same seller + number with different content is refused with stored and new sha256."""
    data = _examples()[:1]
    first = submit(_records(data), sqlite_store, profiles, now=T0)
    changed = copy.deepcopy(data)
    changed[0]["buyer_reference"] = "CHANGED-REF"
    report = submit(_records(changed), sqlite_store, profiles, now=T0)
    (outcome,) = report.outcomes
    assert outcome.status == "refused" and not report.ok
    stored_hash = first.outcomes[0].content_hash
    assert stored_hash is not None and stored_hash in outcome.message
    assert outcome.content_hash is not None and outcome.content_hash in outcome.message
    assert outcome.content_hash != stored_hash
    assert "NB-2026-10001" in outcome.message
    assert len(sqlite_store.deliveries()) == 1


def test_bad_records_are_reported_while_good_ones_are_stored(
    sqlite_store: Store, profiles: ProfileSet
) -> None:
    """A record with a bad currency is rejected with its problem; the others are stored."""
    data = _examples()[:3]
    data[1]["currency"] = "EURO"
    report = submit(_records(data), sqlite_store, profiles, now=T0)
    statuses = [o.status for o in report.outcomes]
    assert statuses == ["stored", "rejected", "stored"]
    bad = report.outcomes[1]
    assert bad.problems and any("EURO" in str(p) for p in bad.problems)
    assert {r.invoice_number for r in sqlite_store.deliveries()} == {
        data[0]["number"],
        data[2]["number"],
    }


def test_missing_secret_rejects_only_the_cxml_record(
    sqlite_store: Store, profiles: ProfileSet, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An unresolvable secret reference is a CONFIG problem of that record, not a crash."""
    monkeypatch.delenv("IGW_DEMO_CXML_SECRET")
    data = [d for d in _examples() if d["number"] in ("RW-2026-5504", "RW-2026-5502")]
    report = submit(_records(data), sqlite_store, profiles, now=T0)
    by_record = {o.record: o for o in report.outcomes}
    assert by_record["RW-2026-5502"].status == "stored"
    cxml = by_record["RW-2026-5504"]
    assert cxml.status == "rejected" and cxml.buyer == "cascade-precision"
    assert any("IGW_DEMO_CXML_SECRET" in p.message for p in cxml.problems)


def test_edifact_control_references_are_kept_on_the_delivery(
    sqlite_store: Store, profiles: ProfileSet
) -> None:
    """The demo EANCOM buyer consolidates per interchange: the run's interchange takes its UNB
    reference from the store counter, and the delivery keeps UNB + UNH refs for ack matching."""
    data = [d for d in _examples() if d["number"] == "DE-2026-0099"]
    report = submit(_records(data), sqlite_store, profiles, now=T0)
    (delivery_id,) = report.outcomes[0].delivery_ids
    row = sqlite_store.delivery(delivery_id)
    assert row.interchange_ref == "1" and row.message_ref == "1" and row.batch_id is not None
    assert row.document_id is None  # the batch's document is sent, not a per-invoice one
    document = sqlite_store.batch_documents([row.batch_id])[row.batch_id]
    assert b"UNB+" in document.content and b"+1'" in document.content
    found = sqlite_store.find_delivery(interchange_ref="1", partner="supermercados-hercules")
    assert found is not None and found.id == delivery_id


def test_cxml_payload_id_is_kept_on_the_delivery(sqlite_store: Store, profiles: ProfileSet) -> None:
    """A per-invoice cXML document's interchange reference and payloadID are on its delivery
    from the accept transaction on."""
    data = [d for d in _examples() if d["number"] == "RW-2026-5504"]
    report = submit(_records(data), sqlite_store, profiles, now=T0)
    row = sqlite_store.delivery(report.outcomes[0].delivery_ids[0])
    assert (row.interchange_ref, row.message_id, row.batch_id) == ("1", "1", None)
    assert row.document_id is not None


def test_seller_key_prefers_vat_id() -> None:
    """The uniqueness key is the seller's VAT id, normalised, when there is one."""
    (result,) = _records(_examples()[:1])
    assert result.invoice is not None
    assert seller_key(result.invoice) == "DE123456789"


def test_submit_is_idempotent_on_every_backend(store: Store, profiles: ProfileSet) -> None:  # noqa: F811
    """SQLite and PostgreSQL: stored once, duplicate the second time, refused when changed."""
    data = _examples()[:2]
    assert (
        submit(_records(data), store, profiles, now=T0, run_validation=False).count("stored") == 2
    )
    again = submit(_records(data), store, profiles, now=T0, run_validation=False)
    assert again.count("duplicate") == 2
    data[0]["buyer_reference"] = "OTHER"
    changed = submit(_records(data), store, profiles, now=T0, run_validation=False)
    assert [o.status for o in changed.outcomes] == ["refused", "duplicate"]
    assert len(store.deliveries()) == 2
