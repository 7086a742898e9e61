"""igw run's summary and per-delivery lines; --log-level / --log-format on every command."""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from gateway.cli.main import main
from gateway.delivery.worker import WorkerStats
from gateway.logs import JsonFormatter, TextFormatter, configure

REPO = Path(__file__).resolve().parent.parent
EXAMPLES = REPO / "examples" / "erp-export.json"
DEMO_PROFILES = str(REPO / "config" / "demo" / "buyers")
SUMMARY = re.compile(r"^igw run: (\d+) delivered, (\d+) retrying, (\d+) failed in [\d.]+ s$")


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A SQLite store in tmp_path holding three submitted invoices (file connectors deliver
    into tmp_path/var/outbox); no IGW_* variables; the working folder is tmp_path."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("IGW_DEMO_CXML_SECRET", "test-secret")
    for name in ("IGW_STORE_URL", "IGW_PROFILES", "IGW_LOG_LEVEL", "IGW_LOG_FORMAT", "IGW_CONFIG"):
        monkeypatch.delenv(name, raising=False)
    export = tmp_path / "three.json"
    export.write_text(json.dumps(json.loads(EXAMPLES.read_text("utf-8"))[:3]), "utf-8")
    url = f"sqlite:///{tmp_path / 'gateway.db'}"
    assert main(["submit", str(export), "--store", url, "--profiles", DEMO_PROFILES,
                 "--no-validate"]) == 0  # fmt: skip
    return url


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    """Each test starts and ends with igw's default logging (INFO, text)."""
    configure()
    yield
    configure()


def _run(url: str, *extra: str) -> list[str]:
    return ["run", "--store", url, "--profiles", DEMO_PROFILES, "--until-empty", *extra]


def test_run_prints_a_summary_line_and_one_info_line_per_delivery(
    store: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """igw run: one INFO line per delivery naming id, invoice, buyer and state, then the
    summary line "igw run: 3 delivered, 0 retrying, 0 failed in N s" — no WorkerStats repr."""
    capsys.readouterr()
    assert main(_run(store)) == 0
    lines = capsys.readouterr().err.strip().splitlines()
    per_delivery = [line for line in lines if " INFO gateway.delivery.worker: delivery " in line]
    assert len(per_delivery) == 3
    assert re.search(r"delivery 1 \(NB-2026-10001 -> de-public via file\): DELIVERED", lines[0])
    match = SUMMARY.match(lines[-1])
    assert match is not None and match.groups() == ("3", "0", "0")
    assert not any("WorkerStats(" in line for line in lines)


def test_log_format_json_writes_one_object_per_line_with_fields(
    store: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """--log-format json: every stderr line is a JSON object with time, level, logger,
    message and the delivery's ids; the summary is one too, with the counts."""
    capsys.readouterr()
    assert main(_run(store, "--log-format", "json")) == 0
    entries = [json.loads(line) for line in capsys.readouterr().err.strip().splitlines()]
    *deliveries, summary = entries
    assert len(deliveries) == 3
    first = deliveries[0]
    assert {"time", "level", "logger", "message"} <= set(first)
    assert first["level"] == "info" and first["logger"] == "gateway.delivery.worker"
    assert first["delivery"] == 1 and first["invoice"] == "NB-2026-10001"
    assert first["buyer"] == "de-public" and first["outcome"] == "delivered"
    assert dt.datetime.fromisoformat(first["time"].replace("Z", "+00:00")).tzinfo is not None
    assert SUMMARY.match(summary["message"]) and summary["stats"]["delivered"] == 3


def test_log_level_warning_hides_info_lines_but_not_the_summary(
    store: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """--log-level warning (given before the command name) drops the per-delivery lines;
    the summary line stays."""
    capsys.readouterr()
    assert main(["--log-level", "warning", *_run(store)]) == 0
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and SUMMARY.match(lines[0])


def test_log_level_from_the_environment(
    store: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """IGW_LOG_LEVEL=error sets the level when no flag is given; the flag wins over it."""
    monkeypatch.setenv("IGW_LOG_LEVEL", "error")
    capsys.readouterr()
    assert main(_run(store)) == 0
    assert len(capsys.readouterr().err.strip().splitlines()) == 1
    assert main(["resend", "1", "--force", "--store", store]) == 0
    capsys.readouterr()
    assert main(_run(store, "--log-level", "info")) == 0
    assert "INFO gateway.delivery.worker: delivery 1 " in capsys.readouterr().err


def test_every_command_takes_the_log_options(capsys: pytest.CaptureFixture[str]) -> None:
    """--log-level/--log-format are accepted by each command (after its name too)."""
    assert main(["formats", "--log-level", "debug", "--log-format", "json"]) == 0
    assert "peppol-bis3" in capsys.readouterr().out
    help_text = ""
    for command in ("translate", "validate", "submit", "run", "status", "serve", "config"):
        with pytest.raises(SystemExit):
            main([command, "--help"])
        help_text = capsys.readouterr().out
        assert "--log-level" in help_text and "--log-format" in help_text, command


def test_an_unknown_log_level_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    """--log-level loud exits 2 naming the accepted levels."""
    with pytest.raises(SystemExit) as stop:
        main(["formats", "--log-level", "loud"])
    assert stop.value.code == 2
    assert "debug" in capsys.readouterr().err


def test_json_formatter_carries_structured_fields_and_iso_times() -> None:
    """A record's extra fields become JSON keys; datetimes are ISO 8601."""
    record = logging.makeLogRecord(
        {"name": "gateway.x", "levelno": 30, "levelname": "WARNING", "msg": "hello %s",
         "args": ("you",), "invoice": "INV-1",
         "at": dt.datetime(2026, 12, 2, 16, 0, tzinfo=dt.UTC)}
    )  # fmt: skip
    entry = json.loads(JsonFormatter().format(record))
    assert entry["message"] == "hello you" and entry["level"] == "warning"
    assert entry["invoice"] == "INV-1" and entry["at"] == "2026-12-02T16:00:00+00:00"
    assert TextFormatter().format(record).endswith(" WARNING gateway.x: hello you [invoice=INV-1]")


def test_worker_stats_read_as_a_sentence() -> None:
    """str(WorkerStats) is the summary: delivered, retrying, failed, other counts when set."""
    stats = WorkerStats(delivered=28, retried=2, fallbacks=1, elapsed=4.21)
    assert str(stats) == (
        "28 delivered, 2 retrying, 0 failed, 1 queued on a fallback channel in 4.2 s"
    )
