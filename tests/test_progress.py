"""Batch progress on stderr: done/total, percentage, rate, ETA (terminal or --progress)."""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from gateway.cli.main import main
from gateway.cli.progress import Progress, duration, progress_line
from gateway.logs import configure

REPO = Path(__file__).resolve().parent.parent
EXAMPLES = REPO / "examples" / "erp-export.json"
DEMO_PROFILES = str(REPO / "config" / "demo" / "buyers")
LAST_LINE = r"^{n}/{n} \(100 %\) [\d,]+/s ETA 0 s$"


@pytest.fixture
def export(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Five example ERP records in tmp_path (the working folder); no IGW_* defaults."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("IGW_DEMO_CXML_SECRET", "test-secret")
    for name in ("IGW_STORE_URL", "IGW_PROFILES", "IGW_CONFIG", "IGW_BATCH_JOBS"):
        monkeypatch.delenv(name, raising=False)
    path = tmp_path / "five.json"
    path.write_text(json.dumps(json.loads(EXAMPLES.read_text("utf-8"))[:5]), "utf-8")
    yield path
    configure()


def test_the_line_reads_done_total_percent_rate_and_eta() -> None:
    """412 of 2000 at 95/s: "412/2000 (20 %) 95/s ETA 17 s"; rejects are appended."""
    assert progress_line(412, 2000, 412 / 95) == "412/2000 (20 %) 95/s ETA 17 s"
    assert (
        progress_line(412, 2000, 412 / 95, failed=3) == "412/2000 (20 %) 95/s ETA 17 s, 3 rejected"
    )
    assert progress_line(10, None, 2.0) == "10 5/s"
    assert progress_line(0, 10, 0.0) == "0/10 (0 %) 0/s ETA ?"
    assert progress_line(10, 10, 1.0) == "10/10 (100 %) 10/s ETA 0 s"


def test_durations_are_short_and_rounded_up() -> None:
    """ETAs read 17 s, 3 min 05 s, 2 h 04 min."""
    assert [duration(s) for s in (16.2, 185, 7440, 0)] == [
        "17 s",
        "3 min 05 s",
        "2 h 04 min",
        "0 s",
    ]


def test_into_a_pipe_a_line_at_most_once_a_second_and_a_last_line() -> None:
    """Not a terminal: new lines (no carriage returns), one per second of clock at most,
    and the final count when the batch ends (written once)."""
    ticks = iter([0.0, 0.2, 0.5, 1.1, 1.3, 2.4, 3.0])
    stream = io.StringIO()
    meter = Progress(stream, enabled=True, total=5, clock=lambda: next(ticks))
    for done in range(1, 6):
        meter.update(done)
    meter.close()
    lines = stream.getvalue().splitlines()
    assert "\r" not in stream.getvalue()
    assert lines == [
        "3/5 (60 %) 3/s ETA 1 s",
        "5/5 (100 %) 2/s ETA 0 s",
    ]


def test_disabled_meter_writes_nothing() -> None:
    """Without --progress and not on a terminal: nothing at all."""
    stream = io.StringIO()
    meter = Progress(stream, enabled=False, total=3)
    for item in meter.over(["a", "b", "c"]):
        assert item
    meter.close()
    assert stream.getvalue() == "" and meter.total == 3


def test_translate_progress_into_a_pipe(
    export: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """igw translate --progress (stderr a pipe) ends with "5/5 (100 %) N/s ETA 0 s";
    without --progress a pipe gets no progress line."""
    out = str(tmp_path / "out")
    assert main(["translate", str(export), "--to", "peppol-bis3", "--out", out, "--progress"]) == 0
    err = capsys.readouterr().err
    assert re.search(LAST_LINE.format(n=5), err, re.MULTILINE), err
    assert main(["translate", str(export), "--to", "peppol-bis3", "--out", out]) == 0
    assert "(100 %)" not in capsys.readouterr().err


def test_validate_progress_counts_files(
    export: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """igw validate --progress over three files ends with "3/3 (100 %) ..."."""
    out = tmp_path / "out"
    assert main(["translate", str(export), "--to", "peppol-bis3", "--out", str(out), "-q"]) == 0
    files = sorted(str(p) for p in (out / "peppol-bis3").iterdir())[:3]
    capsys.readouterr()
    assert main(["validate", *files, "--progress"]) == 0
    assert re.search(LAST_LINE.format(n=3), capsys.readouterr().err, re.MULTILINE)


def test_submit_progress_counts_records(export: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """igw submit --progress over five records ends with "5/5 (100 %) ..."."""
    url = "sqlite:///gateway.db"
    command = ["submit", str(export), "--store", url, "--profiles", DEMO_PROFILES, "--no-validate"]
    assert main([*command, "--progress"]) == 0
    assert re.search(LAST_LINE.format(n=5), capsys.readouterr().err, re.MULTILINE)
