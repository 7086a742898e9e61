"""--jobs N: full validation in processes, same outputs and reports as --jobs 1, in order."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from gateway.cli.main import main
from gateway.logs import configure
from gateway.translation.parallel import (
    AUTO_THRESHOLD,
    ValidationPool,
    cores,
    resolve_jobs,
    translate_batch,
)

REPO = Path(__file__).resolve().parent.parent
EXAMPLES = REPO / "examples" / "erp-export.json"


@pytest.fixture
def batch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A 40-record ERP export: the 27 examples, 11 of them again under new numbers, and two
    broken records (an unknown currency, a line without a price)."""
    monkeypatch.chdir(tmp_path)
    for name in ("IGW_CONFIG", "IGW_BATCH_JOBS"):
        monkeypatch.delenv(name, raising=False)
    examples = json.loads(EXAMPLES.read_text("utf-8"))
    records = list(examples)
    for i, record in enumerate(examples[:11]):
        again = copy.deepcopy(record)
        again["number"] = f"{record['number']}-J{i:02d}"
        records.append(again)
    bad_currency = copy.deepcopy(examples[0])
    bad_currency.update(number="BAD-CURRENCY", currency="EURO")
    no_price = copy.deepcopy(examples[1])
    no_price["number"] = "BAD-PRICE"
    no_price["lines"][0].pop("price", None)
    no_price["lines"][0].pop("net_price", None)
    records[5:5] = [bad_currency]
    records[20:20] = [no_price]
    assert len(records) == 40
    path = tmp_path / "batch.json"
    path.write_text(json.dumps(records), "utf-8")
    yield path
    configure()


def _tree(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def test_translate_jobs_2_writes_the_same_bytes_and_report_as_jobs_1(
    batch: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """igw translate of a 40-record batch into two formats: --jobs 2 writes byte for byte
    the files of --jobs 1 and prints the same --json report (same order), same exit code."""
    results = []
    for jobs in ("1", "2"):
        out = tmp_path / f"out-{jobs}"
        command = ["translate", str(batch), "--to", "peppol-bis3,xrechnung-cii", "--out", str(out)]
        status = main([*command, "--json", "--jobs", jobs])
        captured = capsys.readouterr()
        report = captured.out.replace(str(out), "OUT")
        results.append((status, _tree(out), report, captured.err.replace(str(out), "OUT")))
    (status1, files1, report1, err1), (status2, files2, report2, err2) = results
    assert status1 == status2 == 1  # the two broken records
    assert len(files1) == 76 and files1 == files2
    assert report1 == report2 and err1 == err2
    outcomes = json.loads(report1)["outcomes"]
    assert [o["record"] for o in outcomes][10:12] == ["BAD-CURRENCY", "BAD-CURRENCY"]
    assert sum(not o["ok"] for o in outcomes) == 4


def test_validate_jobs_2_gives_the_same_report_as_jobs_1(
    batch: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """igw validate of 40 files (one not XML, one whose totals break BR-CO-15): the --json
    reports of --jobs 1 and --jobs 2 are equal but for the timings, in file order."""
    out = tmp_path / "out"
    main(["translate", str(batch), "--to", "peppol-bis3", "--out", str(out), "-q", "--jobs", "1"])
    files = sorted((out / "peppol-bis3").iterdir())[:38]
    broken = tmp_path / "not-xml.xml"
    broken.write_bytes(b"this is not XML")
    wrong = tmp_path / "wrong-total.xml"
    text = files[0].read_text("utf-8")
    start = text.index("<cbc:TaxInclusiveAmount")
    end = text.index("</cbc:TaxInclusiveAmount>")
    wrong.write_text(text[:start] + '<cbc:TaxInclusiveAmount currencyID="EUR">1.00' + text[end:])
    names = [str(p) for p in (*files[:20], broken, wrong, *files[20:])]
    assert len(names) == 40
    capsys.readouterr()
    reports = []
    for jobs in ("1", "2"):
        status = main(["validate", *names, "--json", "--jobs", jobs])
        report = json.loads(capsys.readouterr().out)
        for entry in report["reports"]:
            entry.pop("seconds")
        reports.append((status, report))
    assert reports[0] == reports[1]
    status, report = reports[0]
    assert status == 1 and report["failed"] == 2 and report["passed"] == 38
    assert [r["name"] for r in report["reports"]] == names
    rules = {f["rule"] for f in report["reports"][21]["findings"]}
    assert "BR-CO-15" in rules


def test_the_pool_keeps_input_order_with_items_that_need_no_job() -> None:
    """ValidationPool.ordered yields every item in input order, a job's result beside it,
    None for an item without a job, with more items than its window."""
    items = [None if n % 3 == 0 else b"x" * n for n in range(30)]
    with ValidationPool(2) as pool:
        results = list(pool.ordered(items, lambda b: None if b is None else pool.submit(len, b)))
    assert [item for item, _ in results] == items
    assert [r for _, r in results] == [None if n % 3 == 0 else n for n in range(30)]


def test_translate_batch_yields_each_record_of_a_list_once() -> None:
    """translate_batch over a list (not a generator) of 60 records: 60 outcomes, in order."""
    from gateway.intake import read_records
    from gateway.profiles.profile import BuyerProfile
    from gateway.registry import resolve_mapping

    data = json.loads(EXAMPLES.read_text("utf-8"))[:1] * 60
    records = [
        (r.record, r.invoice, r.problems) for r in read_records(json.dumps(data).encode(), "json")
    ]
    mapping = resolve_mapping("xrechnung-cii")
    outcomes = list(
        translate_batch(records, [mapping], BuyerProfile(name="t"), run_validation=False)
    )
    assert [o.record for o in outcomes] == [r[0] for r in records]


def test_auto_uses_every_core_only_for_large_batches() -> None:
    """--jobs auto: 1 process up to AUTO_THRESHOLD invoices, every core above; a number is
    capped at the number of invoices; 0 is refused."""
    assert resolve_jobs("auto", AUTO_THRESHOLD) == 1
    assert resolve_jobs("auto", AUTO_THRESHOLD + 1) == cores()
    assert resolve_jobs(4, 3) == 3 and resolve_jobs(2, 40) == 2
    with pytest.raises(ValueError, match="accepted: auto or a whole number >= 1"):
        resolve_jobs(0, 10)


def test_jobs_zero_is_a_usage_error(batch: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """igw translate --jobs 0 exits 2 naming what is accepted."""
    with pytest.raises(SystemExit) as stop:
        main(["translate", str(batch), "--to", "peppol-bis3", "--out", "o", "--jobs", "0"])
    assert stop.value.code == 2
    assert "accepted: auto or a whole number >= 1" in capsys.readouterr().err
