"""Size limits: documents larger than their channel carries are refused before sending (at
submit and in the worker, which falls back), inputs larger than --max-size before reading."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from builders import simple_invoice
from store_backends import T0

from gateway.cli.main import main
from gateway.delivery.submit import submit
from gateway.delivery.worker import Worker
from gateway.document import Document
from gateway.errors import ConfigError
from gateway.intake import read_records
from gateway.limits import (
    CHANNEL_DEFAULTS,
    DEFAULT_INPUT_MAX,
    MB,
    InputTooLarge,
    format_size,
    parse_size,
    read_input,
)
from gateway.profiles.load import load_profiles
from gateway.profiles.profile import ChannelSpec
from gateway.store import DeliveryState, NewDelivery, Store
from gateway.translation.pipeline import read_inputs

REPO = Path(__file__).resolve().parent.parent
EXAMPLES = REPO / "examples" / "erp-export.json"
GOLDEN_UBL = next((REPO / "tests" / "golden" / "ubl").glob("*.xml"))


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Iterator[Store]:
    """A migrated SQLite store in tmp_path."""
    opened = Store.open(f"sqlite:///{tmp_path / 'gateway.db'}")
    opened.migrate()
    yield opened
    opened.close()


def _profiles(tmp_path: Path, channel: str, fallback: str = "") -> Path:
    folder = tmp_path / "buyers"
    folder.mkdir(exist_ok=True)
    (folder / "buyer.toml").write_text(
        f'default = true\nformat = "peppol-bis3"\n[channel]\n{channel}\n{fallback}'
    )
    return folder


def _sparse(path: Path, size: int) -> Path:
    """A file of ``size`` bytes that costs no disk (reading it would cost the memory)."""
    with open(path, "wb") as handle:
        handle.truncate(size)
    return path


# -- sizes -----------------------------------------------------------------------------------


def test_sizes_parse_and_print() -> None:
    """Sizes are bytes or a number with a decimal or binary unit; nonsense names what is
    accepted."""
    assert parse_size("15MB") == 15 * MB
    assert parse_size("2 MiB") == 2 * 1024 * 1024
    assert parse_size("512kb") == 512_000
    assert parse_size(1234) == 1234
    assert format_size(15 * MB) == "15 MB" and format_size(210_300_000) == "210.3 MB"
    for bad in ("lots", "-1MB", "0", "12 parsecs", True):
        with pytest.raises(ValueError, match="size"):
            parse_size(bad)


def test_channel_defaults_and_profile_max_size(tmp_path: Path) -> None:
    """A channel's limit is its max_size, else its connector's default; a bad max_size in a
    profile is a configuration error naming the field."""
    assert ChannelSpec(connector="as2").size_limit == CHANNEL_DEFAULTS["as2"] == 100 * MB
    assert ChannelSpec(connector="http").size_limit == 15 * MB
    assert ChannelSpec(connector="custom.mod:Connector").size_limit == 100 * MB
    assert ChannelSpec(connector="sftp", max_size="250MB").size_limit == 250 * MB
    folder = _profiles(
        tmp_path, f'connector = "file"\nmax_size = "huge"\noptions = {{ directory = "{tmp_path}" }}'
    )
    with pytest.raises(ConfigError, match="max_size"):
        load_profiles(folder)


# -- outbound: per channel -------------------------------------------------------------------


def test_submit_refuses_a_document_over_its_channels_limit(
    tmp_path: Path, sqlite_store: Store
) -> None:
    """A rendered document larger than the primary channel's max_size is rejected at submit,
    naming invoice, size, limit and channel; nothing is stored or queued."""
    out = tmp_path / "out"
    options = f'options = {{ directory = "{out}", create = true }}'
    small = load_profiles(_profiles(tmp_path, f'connector = "file"\nmax_size = "2KB"\n{options}'))
    records = list(read_records(EXAMPLES))[:3]
    report = submit(records, sqlite_store, small, now=T0, run_validation=False)
    assert report.count("stored") == 0
    for outcome in report.outcomes:
        (problem,) = [p for p in outcome.problems if p.rule == "SIZE"]
        assert f"invoice {outcome.invoice_number}: the document is " in problem.message
        assert "over the 2 KB limit of channel 'file' (its buyer profile's max_size)" in str(
            problem
        )
        assert "at most 2 KB" in problem.accepted
    assert sqlite_store.deliveries() == []
    default = load_profiles(_profiles(tmp_path, f'connector = "file"\n{options}'))
    assert submit(records, sqlite_store, default, now=T0, run_validation=False).count("stored") == 3


def test_worker_refuses_an_oversize_send_and_falls_back(
    tmp_path: Path, sqlite_store: Store
) -> None:
    """The worker refuses to send a document over its channel's limit (FAILED, nothing
    written) and the fallback channel with room for it delivers it."""
    small, big = tmp_path / "small", tmp_path / "big"
    folder = _profiles(
        tmp_path,
        f'connector = "file"\nmax_size = "1KB"\noptions = {{ directory = "{small}", '
        "create = true }",
        f'[[fallback]]\nconnector = "file"\noptions = {{ directory = "{big}", create = true }}',
    )
    document = Document(b"<Invoice>" + b"x" * 5000 + b"</Invoice>", "ubl", "peppol-bis3", "INV-9")
    sqlite_store.accept(
        simple_invoice(number="INV-9"),
        None,
        "DE123",
        documents=[document],
        deliveries=[NewDelivery("buyer", "file", T0)],
        now=T0,
    )
    worker = Worker(sqlite_store, load_profiles(folder), clock=lambda: T0, worker_id="w")
    worker.run_once()
    worker.run_once()
    rows = {r.channel: r for r in sqlite_store.deliveries()}
    assert rows["file"].state is DeliveryState.FAILED
    assert rows["file#1"].state is DeliveryState.DELIVERED
    assert not small.exists() or not list(small.iterdir())
    assert len(list(big.iterdir())) == 1
    failed = [e for e in sqlite_store.timeline("INV-9") if e.level == "error"]
    assert "not sent: invoice INV-9: the document is 5 KB (5019 bytes)" in failed[0].detail
    assert "over the 1 KB limit of channel 'file'" in failed[0].detail
    assert "falling back to file#1" in failed[0].detail


# -- inputs: --max-size ----------------------------------------------------------------------


def test_read_input_refuses_by_size_before_reading(tmp_path: Path) -> None:
    """An input over the limit is refused by its size; at or under it, it is read whole."""
    path = tmp_path / "doc.xml"
    path.write_bytes(b"x" * 100)
    assert read_input(path, 100) == b"x" * 100
    with pytest.raises(InputTooLarge, match=r"100 bytes \(100 bytes\) is over the input limit"):
        read_input(path, 99)
    (problem,) = next(iter(read_inputs([path], max_size=99)))[2]
    assert problem.rule == "SIZE" and problem.value == 100


def _igw(*args: str) -> subprocess.CompletedProcess[str]:
    """``igw`` in a child process (its memory is its own)."""
    return subprocess.run(
        [sys.executable, "-m", "gateway.cli.main", *args],
        check=False,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.mark.parametrize("command", ["parse", "validate"])
def test_cli_refuses_a_huge_input_unread_and_goes_on(
    tmp_path: Path, command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """parse/validate: a file over the default limit (a sparse 300 MB file: reading it would
    cost the memory) is refused with one line, the next file is processed, exit 1."""
    huge = _sparse(tmp_path / "huge.xml", 3 * DEFAULT_INPUT_MAX)
    status = main([command, str(huge), str(GOLDEN_UBL)])
    captured = capsys.readouterr()
    assert status == 1
    text = captured.err + captured.out
    assert "300 MB (300000000 bytes) is over the input limit of 100 MB" in text or (
        "300 MB is over the input limit of 100 MB; not read" in text
    )
    assert "Traceback" not in text
    if command == "parse":
        assert json.loads(captured.out)[0]["number"]  # several inputs: one JSON array
        assert captured.err.count("\n") == 2  # the refusal and "igw parse: 1 parsed, 1 failed"
    else:
        assert "PASS" in captured.out and str(GOLDEN_UBL.name) in captured.out


def test_cli_translate_max_size_option(tmp_path: Path) -> None:
    """translate --max-size: the file over it is one rejected record, the other is translated
    (2 records in the summary); a malformed --max-size is a usage error (exit 2)."""
    big = tmp_path / "big.xml"
    big.write_bytes(GOLDEN_UBL.read_bytes() + b" " * 3000)
    limit = str(GOLDEN_UBL.stat().st_size + 1000)
    out = str(tmp_path / "o")
    args = ["translate", str(big), str(GOLDEN_UBL), "--to", "ubl", "--out", out, "--no-validate"]
    result = _igw(*args, "--max-size", limit)
    assert "Traceback" not in result.stderr
    assert result.returncode == 1
    (line,) = [x for x in result.stderr.splitlines() if "[SIZE]" in x]
    assert "big.xml" in line and "is over the input limit of" in line
    summary = result.stderr.strip().splitlines()[-1]
    ok, rejected = (int(summary.split()[0]), int(summary.split(", ")[1].split()[0]))
    assert ok + rejected == 2 and rejected >= 1
    bad = _igw("parse", str(GOLDEN_UBL), "--max-size", "lots")
    assert bad.returncode == 2 and "'lots' is not a size" in bad.stderr
