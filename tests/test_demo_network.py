"""igw demo's network path: real loopback peers (AS2 hub, SFTP, portal, SMTP), proof for every
invoice."""

from __future__ import annotations

import email
import re
from email import policy
from email.message import EmailMessage
from pathlib import Path

import dkim  # type: ignore[import-untyped]
import pytest

from gateway.delivery.submit import SubmitReport
from gateway.demo import DKIM_DOMAIN, DKIM_SELECTOR, dkim_record, run_network_demo

EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "erp-export.json"


@pytest.fixture(scope="module")
def demo_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("demo")


@pytest.fixture(scope="module")
def first_run(demo_root: Path):  # type: ignore[no-untyped-def]
    return run_network_demo(
        [EXAMPLES], f"sqlite:///{demo_root / 'gateway.db'}", root=demo_root / "var", validate=False
    )


def test_every_example_invoice_is_delivered_with_proof(first_run) -> None:  # type: ignore[no-untyped-def]
    """Each example invoice ends DELIVERED or ACCEPTED with a transport proof and a named proof."""
    assert isinstance(first_run.report, SubmitReport) and first_run.report.ok
    assert len(first_run.rows) == 27
    for row in first_run.rows:
        assert row.state.value in {"DELIVERED", "ACCEPTED"}, row
        assert row.transport_ack == "received", row
        assert first_run.proofs[row.id] != "-"
    assert first_run.waiting == []


def test_each_channel_brings_its_own_proof(first_run) -> None:  # type: ignore[no-untyped-def]
    """AS2 gives sync and async MDNs, SFTP a CONTRL, the portal its status, cXML its Status,
    e-mail the SMTP server's queue id and the Message-ID."""
    by_via: dict[str, set[str]] = {}
    for row in first_run.rows:
        by_via.setdefault(row.channel.split(":", 1)[0], set()).add(first_run.proofs[row.id])
    assert set(by_via) == {"as2", "sftp", "http", "cxml-post", "email"}
    assert "MDN (sync)" in by_via["as2"]
    assert "MDN (async): received" in by_via["as2"]
    assert by_via["sftp"] == {"SFTP rename; CONTRL: accepted"}
    assert all("portal-status: received, accepted" in p for p in by_via["http"])
    assert all(p.startswith("cXML Status") for p in by_via["cxml-post"])
    assert all(re.fullmatch(r"SMTP 250 queued as \w+; Message-ID <.+>", p) for p in by_via["email"])
    syntax = [r for r in first_run.rows if r.syntax_ack]
    business = [r for r in first_run.rows if r.business_ack == "accepted"]
    assert len(syntax) == 1 and len(business) == first_run.accepted


def test_the_hub_parsed_what_it_received(first_run) -> None:  # type: ignore[no-untyped-def]
    """The buyers' AS2 hub stored and parsed every AS2 message into an invoice."""
    as2 = [r for r in first_run.rows if r.channel.startswith("as2")]
    assert first_run.hub_received == len(as2) and first_run.hub_parsed == len(as2)


def test_second_run_sends_nothing_twice(first_run, demo_root: Path) -> None:  # type: ignore[no-untyped-def]
    """Running the demo again recognises every invoice; no new send, CONTRL or poll item."""
    again = run_network_demo(
        [EXAMPLES], f"sqlite:///{demo_root / 'gateway.db'}", root=demo_root / "var", validate=False
    )
    assert isinstance(again.report, SubmitReport)
    assert again.report.summary().startswith("0 stored, 27 duplicate")
    assert (again.contrls, again.accepted, again.polled) == (0, 0, 0)
    assert again.hub_received == first_run.hub_received
    assert [r.attempt for r in again.rows] == [r.attempt for r in first_run.rows]
    assert len(list((demo_root / "var" / "sftp" / "in").glob("*.edi"))) == 1
    assert (again.mailed, again.mailbox) == (0, 1)
    assert len(list((demo_root / "var" / "mailbox").rglob("*.eml"))) == 1


def _mail(demo_root: Path) -> tuple[bytes, EmailMessage]:
    (path,) = (demo_root / "var" / "mailbox" / "buchhaltung@gasthof-adler.demo.example").glob(
        "*.eml"
    )
    raw = path.read_bytes()
    message = email.message_from_bytes(raw, policy=policy.default)
    assert isinstance(message, EmailMessage)
    return raw, message


def test_the_email_buyer_gets_pdf_and_xml_dkim_signed(first_run, demo_root: Path) -> None:  # type: ignore[no-untyped-def]
    """Gasthof Zum Goldenen Adler's invoice arrives in the mail server's mailbox with the PDF
    and the Peppol XML attached, a DKIM signature that verifies with the demo's public key, and
    the table line names the queue id the mail server gave it (its file name)."""
    assert first_run.mailed == 1
    raw, message = _mail(demo_root)
    files = {part.get_filename(): part.get_content_type() for part in message.iter_attachments()}
    assert files == {
        "AH-2026-0778.peppol-bis3.xml": "application/xml",
        "AH-2026-0778.pdf": "application/pdf",
    }
    pdf = next(p for p in message.iter_attachments() if p.get_content_type() == "application/pdf")
    assert pdf.get_content().startswith(b"%PDF-")
    record = dkim_record(demo_root / "var" / "keys")
    wanted = f"{DKIM_SELECTOR}._domainkey.{DKIM_DOMAIN}"

    def dnsfunc(name: bytes, timeout: int = 5) -> bytes:
        return record if name.decode().rstrip(".") == wanted else b""

    assert dkim.verify(raw, dnsfunc=dnsfunc)
    assert not dkim.verify(raw.replace(b"AH-2026-0778", b"AH-2026-0779", 1), dnsfunc=dnsfunc)
    queue_id = next((demo_root / "var" / "mailbox").rglob("*.eml")).stem
    (line,) = [ln for ln in first_run.table().splitlines() if ln.startswith("AH-2026-0778")]
    assert "gasthof-adler" in line and " email " in line and "DELIVERED" in line
    assert f"SMTP 250 queued as {queue_id}; Message-ID {message['Message-ID']}" in line


def test_igw_demo_runs_the_network_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`igw demo` (the main job) runs the peers in ./var/demo and prints who proved what."""
    from gateway.cli.main import main

    monkeypatch.chdir(tmp_path)
    url = f"sqlite:///{tmp_path / 'gateway.db'}"
    assert main(["demo", str(EXAMPLES), "--store", url, "--no-validate"]) == 0
    out, err = capsys.readouterr()
    assert "PROVED BY" in out and "MDN (sync)" in out and "CONTRL: accepted" in out
    assert "buyers' AS2 hub received 12 message(s), parsed 12" in err
    assert "e-mail buyer's mail server received 1 message(s) (1 in var/demo/mailbox)" in err
    assert "SMTP 250 queued as" in out
    assert (tmp_path / "var" / "demo" / "keys" / "supplier.key.pem").is_file()
    assert len(list((tmp_path / "var" / "demo" / "mailbox").rglob("*.eml"))) == 1
