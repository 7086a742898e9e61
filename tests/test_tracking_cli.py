"""igw submit / status / timeline / resend / cancel / run / demo on a SQLite store in tmp_path."""

from __future__ import annotations

import copy
import datetime as dt
import json
import re
import sys
import types
from pathlib import Path

import pytest

from gateway.cli.main import main
from gateway.delivery.submit import submit
from gateway.intake import read_records
from gateway.profiles.load import load_profiles
from gateway.store import DeliveryState, Store

REPO = Path(__file__).resolve().parent.parent
EXAMPLES = REPO / "examples" / "erp-export.json"
DEMO_PROFILES = str(REPO / "config" / "demo" / "buyers")


@pytest.fixture
def url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A fresh SQLite store URL; the demo cXML secret set; env defaults cleared."""
    monkeypatch.setenv("IGW_DEMO_CXML_SECRET", "test-secret")
    monkeypatch.delenv("IGW_STORE_URL", raising=False)
    monkeypatch.delenv("IGW_PROFILES", raising=False)
    return f"sqlite:///{tmp_path / 'gateway.db'}"


def _examples(tmp_path: Path, count: int, **change: object) -> Path:
    data = json.loads(EXAMPLES.read_text(encoding="utf-8"))[:count]
    for record in data:
        record.update(change)
    path = tmp_path / f"export-{count}-{len(change)}.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def _submit(url: str, path: Path, *extra: str) -> int:
    return main(["submit", str(path), "--store", url, "--profiles", DEMO_PROFILES, *extra])


def _store(url: str) -> Store:
    opened = Store.open(url)
    opened.migrate()
    return opened


def test_submit_exit_codes_duplicate_and_refused(
    url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """0 when stored, 0 again for an identical re-submission, 1 when the content changed."""
    path = _examples(tmp_path, 2)
    assert _submit(url, path, "--no-validate") == 0
    assert _submit(url, path, "--no-validate") == 0
    assert "2 duplicate" in capsys.readouterr().err
    changed = _examples(tmp_path, 2, buyer_reference="CHANGED")
    assert _submit(url, changed, "--no-validate") == 1
    err = capsys.readouterr().err
    assert "refused" in err and "stored sha256" in err and "submitted sha256" in err


def test_submit_json_report_and_env_store_url(
    url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """--json lists each record's status; IGW_STORE_URL / IGW_PROFILES replace the flags."""
    monkeypatch.setenv("IGW_STORE_URL", url)
    monkeypatch.setenv("IGW_PROFILES", DEMO_PROFILES)
    assert main(["submit", str(_examples(tmp_path, 1)), "--json", "--no-validate"]) == 0
    report = json.loads(capsys.readouterr().out)
    (outcome,) = report["outcomes"]
    assert outcome["status"] == "stored" and outcome["buyer"] == "de-public"
    assert outcome["deliveries"] == [1]


def test_malformed_profile_folder_exits_2_naming_file_key_and_suggestion(
    url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Profiles are checked before anything else: bad key and unknown connector -> exit 2."""
    folder = tmp_path / "buyers"
    folder.mkdir()
    (folder / "broken.toml").write_text(
        'formatt = "peppol-bis3"\ndefault = true\n[channel]\nconnector = "fiel"\n',
        encoding="utf-8",
    )
    status = main(["submit", str(EXAMPLES), "--store", url, "--profiles", str(folder)])
    err = capsys.readouterr().err
    assert status == 2
    assert "broken.toml" in err and "formatt" in err and "did you mean 'format'" in err
    assert "did you mean 'file'" in err
    assert not (tmp_path / "gateway.db").exists()  # failed before the store was opened
    assert main(["run", "--store", url, "--profiles", str(folder), "--until-empty"]) == 2


def _seed(url: str, now: dt.datetime, count: int = 3) -> Store:
    store = _store(url)
    data = json.loads(EXAMPLES.read_text(encoding="utf-8"))[:count]
    submit(
        read_records(json.dumps(data).encode(), "json"),
        store,
        load_profiles(DEMO_PROFILES),
        now=now,
        run_validation=False,
    )
    return store


def test_status_filters_by_buyer_state_age_and_overdue(
    url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Each filter narrows the table to the matching deliveries."""
    now = dt.datetime.now(dt.UTC)
    store = _seed(url, now - dt.timedelta(hours=3))  # 10001 de-public, 10002 hanse, 10003 de-public
    store.mark(
        1,
        DeliveryState.SENT,
        now=now,
        kind="attempt",
        next_attempt_at=now - dt.timedelta(minutes=5),
    )
    store.mark(
        2, DeliveryState.SENT, now=now, kind="attempt", next_attempt_at=now + dt.timedelta(hours=1)
    )
    store.close()

    def numbers(*args: str) -> list[str]:
        assert main(["status", "--store", url, "--json", *args]) == 0
        return [row["invoice"] for row in json.loads(capsys.readouterr().out)]

    assert numbers() == ["NB-2026-10001", "NB-2026-10002", "NB-2026-10003"]
    assert numbers("--buyer", "hanse-logistik") == ["NB-2026-10002"]
    assert numbers("--state", "sent") == ["NB-2026-10001", "NB-2026-10002"]
    assert numbers("--state", "QUEUED,SENT", "--buyer", "de-public") == [
        "NB-2026-10001",
        "NB-2026-10003",
    ]
    assert numbers("--older-than", "2h") == ["NB-2026-10001", "NB-2026-10002", "NB-2026-10003"]
    assert numbers("--older-than", "4h") == []
    assert numbers("--overdue") == ["NB-2026-10001"]

    assert main(["status", "--store", url]) == 0
    table = capsys.readouterr().out
    header = table.splitlines()[0].split()
    assert header == [
        "ID",
        "INVOICE",
        "BUYER",
        "CHANNEL",
        "STATE",
        "ATTEMPTS",
        "LAST",
        "EVENT",
        "PROOF",
    ]
    assert "3 deliveries: QUEUED 1, SENT 2" in table


def test_status_rejects_unknown_state_and_bad_age_with_exit_2(
    url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """A misspelt state gets a suggestion; an unreadable age names what is accepted."""
    assert main(["status", "--store", url, "--state", "queud"]) == 2
    assert "did you mean QUEUED" in capsys.readouterr().err
    assert main(["status", "--store", url, "--older-than", "2 hours"]) == 2
    assert "2h, 30m, 3d" in capsys.readouterr().err


def test_status_shows_the_highest_proof_level_reached(
    url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """The PROOF column names the highest ack level recorded, each level kept apart."""
    now = dt.datetime.now(dt.UTC)
    store = _seed(url, now, count=1)
    store.mark(1, DeliveryState.SENT, now=now, kind="attempt")
    from gateway.ack import AckLevel

    store.mark(
        1,
        DeliveryState.DELIVERED,
        now=now,
        kind="ack",
        ack_level=AckLevel.TRANSPORT,
        ack_status="received",
    )
    store.close()
    assert main(["status", "--store", url, "--json"]) == 0
    (row,) = json.loads(capsys.readouterr().out)
    assert row["proof"] == "transport:received"
    assert row["acks"] == {"transport": "received", "syntax": None, "business": None}


def test_timeline_lists_every_event_and_evidence_on_request(
    url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """accepted, queued, attempt in order; the evidence bytes are shown only with --evidence."""
    now = dt.datetime.now(dt.UTC)
    store = _seed(url, now, count=1)
    store.mark(
        1, DeliveryState.SENT, now=now, kind="attempt", detail="written", evidence=b"250 OK id=42"
    )
    store.close()
    assert main(["timeline", "NB-2026-10001", "--store", url]) == 0
    plain = capsys.readouterr().out
    events = [line for line in plain.splitlines() if not line.startswith("    ")]
    assert [re.split(r"\s{2,}", e)[2] for e in events] == ["accepted", "queued", "attempt"]
    assert main(["timeline", "NB-2026-10001", "--store", url, "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [(r["kind"], r["delivery"], r["evidence"]) for r in rows] == [
        ("accepted", None, None),
        ("queued", 1, None),
        ("attempt", 1, 12),
    ]
    assert "QUEUED->SENT" in plain and "12 bytes of evidence" in plain and "250 OK" not in plain
    assert main(["timeline", "NB-2026-10001", "--store", url, "--evidence"]) == 0
    assert "    | 250 OK id=42" in capsys.readouterr().out
    assert main(["timeline", "NB-0000", "--store", url]) == 1


def test_resend_requeues_under_the_same_idempotency_key(
    url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """cancel -> CANCELLED, resend -> QUEUED again: same delivery, same key, no second row."""
    now = dt.datetime.now(dt.UTC)
    store = _seed(url, now, count=1)
    key = store.delivery(1).idempotency_key
    assert main(["cancel", "1", "--store", url]) == 0
    assert store.delivery(1).state is DeliveryState.CANCELLED
    assert main(["resend", "NB-2026-10001", "--store", url]) == 0
    assert key in capsys.readouterr().out
    rows = store.deliveries()
    assert [(r.id, r.state, r.idempotency_key) for r in rows] == [(1, DeliveryState.QUEUED, key)]
    kinds = [e.kind for e in store.timeline("NB-2026-10001")]
    assert kinds[-2:] == ["cancelled", "resend"]
    store.close()


def test_resend_and_cancel_refuse_moves_the_state_table_forbids(
    url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """A REJECTED delivery cannot be re-sent or cancelled: exit 1 naming the allowed moves."""
    now = dt.datetime.now(dt.UTC)
    store = _seed(url, now, count=1)
    store.mark(1, DeliveryState.SENT, now=now, kind="attempt")
    store.mark(1, DeliveryState.REJECTED, now=now, kind="ack")
    store.close()
    assert main(["resend", "1", "--store", url]) == 1
    assert "REJECTED -> QUEUED is not allowed" in capsys.readouterr().err
    assert main(["cancel", "1", "--store", url]) == 1
    assert "REJECTED -> CANCELLED is not allowed" in capsys.readouterr().err
    assert main(["cancel", "99", "--store", url]) == 1
    assert "delivery 99" in capsys.readouterr().err
    assert main(["resend", "NOPE-1", "--store", url]) == 1


def _fake_worker(monkeypatch: pytest.MonkeyPatch, calls: list[tuple[object, ...]]) -> None:
    module = types.ModuleType("gateway.delivery.worker")

    def run_worker(
        store_url: str,
        profiles_folder: str,
        *,
        until_empty: bool,
        worker_id: str | None = None,
        **tuning: int,
    ) -> None:
        calls.append((store_url, profiles_folder, until_empty, worker_id, *sorted(tuning.items())))

    module.run_worker = run_worker  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "gateway.delivery.worker", module)


def test_run_calls_the_worker_with_store_profiles_and_flags(
    url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """igw run passes the store URL, the validated profile folder and the flags through."""
    calls: list[tuple[object, ...]] = []
    _fake_worker(monkeypatch, calls)
    args = [
        "run",
        "--store",
        url,
        "--profiles",
        DEMO_PROFILES,
        "--until-empty",
        "--worker-id",
        "w1",
    ]
    assert main(args) == 0
    assert calls == [(url, DEMO_PROFILES, True, "w1", ("tenant", "default"))]
    assert main([*args, "--batch", "5", "--concurrency", "2"]) == 0
    assert calls[1] == (
        url,
        DEMO_PROFILES,
        True,
        "w1",
        ("batch_size", 5),
        ("concurrency", 2),
        ("tenant", "default"),
    )


def test_run_refuses_a_batch_or_concurrency_below_one(
    url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """igw run --batch 0 (or --concurrency 0) is a usage error naming the option and the range."""
    calls: list[tuple[object, ...]] = []
    _fake_worker(monkeypatch, calls)
    base = ["run", "--store", url, "--profiles", DEMO_PROFILES, "--until-empty"]
    assert main([*base, "--batch", "0"]) == 2
    assert "--batch 0: accepted: a whole number >= 1" in capsys.readouterr().err
    assert main([*base, "--concurrency", "0"]) == 2
    assert calls == []


def test_demo_submits_runs_the_worker_and_prints_the_table_rerunnably(
    url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """igw demo: submit with the demo profiles, worker until empty, status table; the second
    run finds only duplicates and queues nothing new."""
    calls: list[tuple[object, ...]] = []
    _fake_worker(monkeypatch, calls)
    monkeypatch.delenv("IGW_DEMO_CXML_SECRET")  # the demo sets its own value
    monkeypatch.chdir(tmp_path)
    path = _examples(tmp_path, 27)
    assert main(["demo", str(path), "--store", url, "--no-validate", "--offline"]) == 0
    first = capsys.readouterr()
    assert "27 stored" in first.err and "27 deliveries: QUEUED 27" in first.out
    assert calls == [(url, DEMO_PROFILES, True, None)]
    assert main(["demo", str(path), "--store", url, "--no-validate", "--offline"]) == 0
    second = capsys.readouterr()
    assert "0 stored, 27 duplicate" in second.err and "27 deliveries" in second.out


def test_changed_example_under_the_same_number_keeps_the_first_version(
    url: str, tmp_path: Path
) -> None:
    """After a refused re-submission the stored document is still the first one."""
    path = _examples(tmp_path, 1)
    assert _submit(url, path, "--no-validate") == 0
    store = _store(url)
    before = store.document(store.delivery(1).document_id or -1).content
    data = json.loads(path.read_text(encoding="utf-8"))
    changed = copy.deepcopy(data)
    changed[0]["buyer_reference"] = "X"
    other = tmp_path / "changed.json"
    other.write_text(json.dumps(changed), encoding="utf-8")
    assert _submit(url, other, "--no-validate") == 1
    assert store.document(store.delivery(1).document_id or -1).content == before
    store.close()


def test_demo_end_to_end_delivers_into_var_outbox_per_buyer_once(
    url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """With the real worker: every example lands once in ./var/outbox/<buyer>/ and is
    DELIVERED with transport proof; a second run writes no file."""
    monkeypatch.chdir(tmp_path)
    path = _examples(tmp_path, 27)
    assert main(["demo", str(path), "--store", url, "--no-validate", "--offline"]) == 0
    out = capsys.readouterr().out
    assert "27 deliveries: DELIVERED 27" in out and "transport:received" in out
    files = sorted(
        p.relative_to(tmp_path / "var" / "outbox")
        for p in (tmp_path / "var" / "outbox").rglob("*.*")
    )
    assert len(files) == 27
    assert {p.parts[0] for p in files} == {
        "boulangeries-martin",
        "cascade-precision",
        "de-public",
        "default",
        "gasthof-adler",
        "hanse-logistik",
        "supermercados-hercules",
    }
    assert main(["demo", str(path), "--store", url, "--no-validate", "--offline"]) == 0
    capsys.readouterr()
    again = sorted(
        p.relative_to(tmp_path / "var" / "outbox")
        for p in (tmp_path / "var" / "outbox").rglob("*.*")
    )
    assert again == files
