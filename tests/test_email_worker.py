"""End to end through the delivery engine: an ERP record submitted for a buyer profile whose
channel is e-mail, the real Worker sending it to aiosmtpd on loopback over STARTTLS + AUTH,
the timeline showing DELIVERED with the server's queue id; a 5xx goes FAILED then to the
fallback channel."""

from __future__ import annotations

import email
import json
from collections.abc import Iterator
from email import policy
from pathlib import Path

import pytest
from email_docs import T0
from harness_smtp import PASSWORD, USER, Pki, SmtpServer, pki, smtp_server  # noqa: F401

from gateway.delivery.submit import submit
from gateway.delivery.worker import Worker
from gateway.intake import read_records
from gateway.profiles.load import load_profiles
from gateway.store import DeliveryState, Store

EXAMPLES = Path(__file__).resolve().parent.parent / "examples" / "erp-export.json"


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Iterator[Store]:
    """A migrated SQLite store in tmp_path."""
    opened = Store.open(f"sqlite:///{tmp_path / 'gateway.db'}")
    opened.migrate()
    yield opened
    opened.close()


def profile_folder(where: Path, server: SmtpServer, pki: Pki, to: str) -> Path:  # noqa: F811
    """A default buyer profile: Peppol BIS 3 by e-mail to ``server``, a file drop as fallback."""
    where.mkdir()
    (where / "kunde.toml").write_text(
        'default = true\nformat = "peppol-bis3"\n'
        '[channel]\nconnector = "email"\n[channel.options]\n'
        f'host = "127.0.0.1"\nport = {server.port}\nsecurity = "starttls"\n'
        f'username = "{USER}"\npassword = "env:IGW_TEST_SMTP_PASSWORD"\n'
        f'ca_file = "{pki.ca_file}"\nfrom_address = "invoices@seller.example"\n'
        f'to = "{to}"\nlanguage = "de"\ntimeout = 5\n'
        f'[[fallback]]\nconnector = "file"\n'
        f'options = {{ directory = "{where / "manual"}", create = true }}\n'
    )
    return where


def submit_one(store: Store, folder: Path) -> str:
    """Submit the first ERP example for the profiles in ``folder``; its invoice number."""
    record = json.loads(EXAMPLES.read_text(encoding="utf-8"))[:1]
    records = read_records(json.dumps(record).encode(), "json")
    report = submit(records, store, load_profiles(folder), now=T0)
    assert report.count("stored") == 1, [o.problems for o in report.outcomes]
    number: str = record[0]["number"]
    return number


def test_an_invoice_is_delivered_by_email_with_the_queue_id_on_the_timeline(
    sqlite_store: Store,
    smtp_server: SmtpServer,  # noqa: F811
    pki: Pki,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Submit, run the worker once: the delivery is DELIVERED, the timeline's transport proof
    names the Message-ID and 'queued as Q00001AB', and the e-mail carries the stored XML."""
    monkeypatch.setenv("IGW_TEST_SMTP_PASSWORD", PASSWORD)
    folder = profile_folder(tmp_path / "buyers", smtp_server, pki, "ap@kunde.example")
    number = submit_one(sqlite_store, folder)
    worker = Worker(sqlite_store, load_profiles(folder), clock=lambda: T0, worker_id="w1")
    assert worker.run_once() == 1
    [delivery] = sqlite_store.deliveries()
    assert delivery.state is DeliveryState.DELIVERED and delivery.channel == "email"
    timeline = sqlite_store.timeline(number)
    proof = [e for e in timeline if "confirmed receipt" in e.detail]
    assert len(proof) == 1 and "queued as Q00001AB" in proof[0].detail
    [received] = smtp_server.messages
    message = email.message_from_bytes(received.content, policy=policy.default)
    assert f"{number}" in str(message["Subject"]) and str(message["Subject"]).startswith("Rechnung")
    assert proof[0].evidence is not None and message["Message-ID"].encode() in proof[0].evidence
    [attachment] = message.iter_attachments()  # type: ignore[attr-defined]
    stored = sqlite_store.documents([delivery.document_id])  # type: ignore[list-item]
    assert attachment.get_payload(decode=True) == next(iter(stored.values())).content


def test_a_5xx_fails_the_email_and_queues_the_fallback(
    sqlite_store: Store,
    smtp_server: SmtpServer,  # noqa: F811
    pki: Pki,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """RCPT answered 550: the e-mail delivery is FAILED with the reply on the timeline and the
    file fallback is queued, then delivered by the next run."""
    monkeypatch.setenv("IGW_TEST_SMTP_PASSWORD", PASSWORD)
    folder = profile_folder(tmp_path / "buyers", smtp_server, pki, "reject550@kunde.example")
    number = submit_one(sqlite_store, folder)
    worker = Worker(sqlite_store, load_profiles(folder), clock=lambda: T0, worker_id="w1")
    worker.run_once()
    worker.run_once()
    states = {d.channel: d.state for d in sqlite_store.deliveries()}
    assert states == {"email": DeliveryState.FAILED, "file": DeliveryState.DELIVERED}
    details = " | ".join(e.detail for e in sqlite_store.timeline(number))
    assert "Rejected" in details and "550 5.1.1" in details
    assert smtp_server.messages == []
