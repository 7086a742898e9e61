"""A worker killed between the SMTP 250 and recording it does not send under a new Message-ID:
the restarted worker re-sends under the same id (derived from the idempotency key), so the
buyer's mail client and the bounce matching see one message per invoice."""

from __future__ import annotations

import collections
import email
import json
import os
import signal
import subprocess
import sys
import time
from email import policy
from pathlib import Path

import pytest
from harness_smtp import PASSWORD, Pki, SmtpServer, pki, smtp_server  # noqa: F401
from test_email_worker import profile_folder

from connectors.base import utc_now
from gateway.delivery.submit import submit
from gateway.intake import read_records
from gateway.profiles.load import load_profiles
from gateway.store import DeliveryState, Store

REPO = Path(__file__).resolve().parent.parent
EXAMPLES = REPO / "examples" / "erp-export.json"
COUNT = 120
BATCH = 10


def _records() -> list[dict[str, object]]:
    """``COUNT`` ERP records: the first example under new invoice numbers."""
    first = json.loads(EXAMPLES.read_text(encoding="utf-8"))[0]
    return [{**first, "number": f"CRASH-{i:04d}"} for i in range(COUNT)]


def _worker(url: str, folder: Path) -> subprocess.Popen[bytes]:
    """``python -m gateway.delivery.worker --until-empty`` as its own process."""
    env = {**os.environ, "PYTHONPATH": str(REPO), "IGW_TEST_SMTP_PASSWORD": PASSWORD}
    command = [sys.executable, "-m", "gateway.delivery.worker", "--store", url]
    command += ["--profiles", str(folder), "--worker-id", "mail-worker", "--batch", str(BATCH)]
    command += ["--until-empty"]
    return subprocess.Popen(
        command, env=env, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )


def test_sigkill_after_smtp_accepted_resends_under_the_same_message_id(
    smtp_server: SmtpServer,  # noqa: F811
    pki: Pki,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """SIGKILL the worker three times while the SMTP server is receiving; after a final run
    every delivery is DELIVERED once, every Message-ID received is one the store recorded, and
    a message received twice (sent, killed before recording, re-sent) carries the same id."""
    monkeypatch.setenv("IGW_TEST_SMTP_PASSWORD", PASSWORD)
    folder = profile_folder(tmp_path / "buyers", smtp_server, pki, "ap@kunde.example")
    url = f"sqlite:///{tmp_path / 'gateway.db'}"
    store = Store.open(url)
    try:
        store.migrate()
        records = read_records(json.dumps(_records()).encode(), "json")
        report = submit(records, store, load_profiles(folder), now=utc_now())
        assert report.count("stored") == COUNT
        kills = 0
        for round_ in range(3):
            target = len(smtp_server.messages) + 15 + 10 * round_
            process = _worker(url, folder)
            deadline = time.monotonic() + 60
            while (
                len(smtp_server.messages) < target
                and process.poll() is None
                and time.monotonic() < deadline
            ):
                time.sleep(0.005)
            if process.poll() is None:
                process.send_signal(signal.SIGKILL)
                kills += 1
            process.wait()
        final = _worker(url, folder)
        _out, err = final.communicate(timeout=120)
        assert final.returncode == 0, err.decode()[-2000:]
        assert kills >= 2  # the kills really hit a worker that was sending
        rows = store.deliveries()
        assert len(rows) == COUNT and {r.state for r in rows} == {DeliveryState.DELIVERED}
        recorded = {f"<{r.message_id}>" for r in rows}
        assert len(recorded) == COUNT
        received = collections.Counter(
            str(email.message_from_bytes(m.content, policy=policy.default)["Message-ID"])
            for m in smtp_server.messages
        )
        assert set(received) == recorded  # no message under an id the store does not know
        assert sum(received.values()) - COUNT <= kills * BATCH  # only the batch in flight
    finally:
        store.close()
