"""``igw demo``: the whole path on real loopback peers, started and stopped by the demo.

1. Peers on 127.0.0.1, each a real server: the buyers' AS2 hub (a second gateway: our own web
   app with its own store and AS2 identity, answering signed MDNs, parsing what it receives), an
   SFTP server (paramiko) with a buyer robot that answers every EANCOM interchange with a CONTRL,
   a buyer AP portal (HTTP API + cXML endpoint) whose AP team accepts what arrives, and a small
   buyer's mail server (aiosmtpd: STARTTLS, AUTH) that stores each e-mail in
   ``var/demo/mailbox/<recipient>/``. Our own web app runs too: asynchronous MDNs come back to
   its ``/as2/mdn``.
2. The example ERP export is submitted with the network demo profiles
   (``config/demo/network/*.toml``, ports and key paths filled in), the worker delivers until the
   queue is empty, the demo waits for the asynchronous MDNs, lets the buyer robot and the AP team
   answer, and runs the polling sweep (CONTRL files over SFTP, portal status feed).
3. The status table shows every invoice with the proof it reached and what proved it.

Keys, the SFTP host key, the SMTP certificate, the DKIM key and the demo secrets are made once
under ``var/demo/`` and reused, so a second run recognises every invoice as already submitted
and sends nothing twice.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import os
import secrets
import string
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from connectors.as2.certs import make_test_identity
from gateway.ack import AckLevel
from gateway.as2.config import load_as2_config
from gateway.delivery.submit import SubmitReport
from gateway.peers.portal import Portal
from gateway.profiles.profile import BuyerProfile
from gateway.shipped import shipped
from gateway.store import DeliveryRow, DeliveryState, EventRow, Store

NETWORK_TEMPLATES = shipped("config/demo/network")
SUPPLIER_AS2_ID = "IGW-DEMO-SUPPLIER"
HUB_AS2_ID = "DEMO-BUYER-HUB"
SECRET_ENVS = {
    "IGW_DEMO_SFTP_PASSWORD": "sftp-password",
    "IGW_DEMO_PORTAL_TOKEN": "portal-token",
    "IGW_DEMO_CXML_SECRET": "cxml-secret",
    "IGW_DEMO_SMTP_PASSWORD": "smtp-password",
}
SMTP_USER = "igw"
DKIM_KEY_FILE = "dkim-ed25519.key.pem"
DKIM_SELECTOR, DKIM_DOMAIN = "igwdemo", "seller.demo.example"


@dataclass(frozen=True)
class DemoPaths:
    """Where the demo keeps its keys, peers' data and generated profiles (below ``root``)."""

    root: Path

    @property
    def keys(self) -> Path:
        """Key pairs, certificates, the SFTP host key and the demo secrets."""
        return self.root / "keys"

    @property
    def profiles(self) -> Path:
        """The network profiles with this run's ports filled in."""
        return self.root / "buyers"

    @property
    def sftp_root(self) -> Path:
        """The SFTP server's folder (``in/`` for invoices, ``out/`` for CONTRLs)."""
        return self.root / "sftp"

    @property
    def mailbox(self) -> Path:
        """The e-mail buyer's mail server's store: ``<recipient>/<queue id>.eml``."""
        return self.root / "mailbox"

    def mailbox_count(self) -> int:
        """How many messages the mail server has stored, over all runs."""
        return sum(1 for _ in self.mailbox.glob("*/*.eml"))

    @property
    def hub_store_url(self) -> str:
        """The buyers' AS2 hub's own store."""
        return f"sqlite:///{self.root / 'buyer-hub.db'}"


def _write_identity(keys: Path, name: str, common_name: str) -> None:
    key_path, cert_path = keys / f"{name}.key.pem", keys / f"{name}.cert.pem"
    if key_path.exists() and cert_path.exists():
        return
    key, cert = make_test_identity(common_name, days=3650)
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    key_path.chmod(0o600)
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))


def _write_dkim_key(keys: Path) -> None:
    key_path = keys / DKIM_KEY_FILE
    if key_path.exists():
        return
    key = ed25519.Ed25519PrivateKey.generate()
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    key_path.chmod(0o600)


def dkim_record(keys: Path) -> bytes:
    """The DNS TXT record ``igwdemo._domainkey.seller.demo.example`` would publish for the
    demo's DKIM key (what a receiver verifies the signature with)."""
    key = serialization.load_pem_private_key((keys / DKIM_KEY_FILE).read_bytes(), password=None)
    if not isinstance(key, ed25519.Ed25519PrivateKey):
        raise TypeError(f"{keys / DKIM_KEY_FILE}: not an Ed25519 key")
    raw = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return b"v=DKIM1; k=ed25519; p=" + base64.b64encode(raw)


def prepare_keys(paths: DemoPaths) -> None:
    """Make (once) the supplier's and the hub's AS2 identities, the mail server's certificate,
    the DKIM key and the demo secrets, and put the secrets in the environment where the
    profiles' ``env:`` references find them."""
    from gateway.peers.smtp_server import make_tls_files

    paths.keys.mkdir(parents=True, exist_ok=True)
    _write_identity(paths.keys, "supplier", SUPPLIER_AS2_ID)
    _write_identity(paths.keys, "buyer-hub", HUB_AS2_ID)
    make_tls_files(paths.keys)
    _write_dkim_key(paths.keys)
    for env, file_name in SECRET_ENVS.items():
        secret_file = paths.keys / file_name
        if not secret_file.exists():
            secret_file.write_text(secrets.token_urlsafe(24))
            secret_file.chmod(0o600)
        os.environ.setdefault(env, secret_file.read_text().strip())


def _as2_folder(
    folder: Path, *, as2_id: str, key: Path, cert: Path, partner: tuple[str, Path]
) -> Path:
    (folder / "partners").mkdir(parents=True, exist_ok=True)
    (folder / "local.toml").write_text(
        f'as2_id = "{as2_id}"\nkey_file = "{key}"\ncert_file = "{cert}"\n'
    )
    name, partner_cert = partner
    (folder / "partners" / f"{name}.toml").write_text(
        f'as2_id = "{name}"\ncert_files = ["{partner_cert}"]\n'
        "require_signed = true\nrequire_encrypted = true\n"
    )
    return folder


def write_profiles(paths: DemoPaths, values: dict[str, str]) -> Path:
    """The network profile templates with ``values`` filled in, written to ``paths.profiles``."""
    paths.profiles.mkdir(parents=True, exist_ok=True)
    for stale in paths.profiles.glob("*.toml"):
        stale.unlink()
    for template in sorted(NETWORK_TEMPLATES.glob("*.toml")):
        text = string.Template(template.read_text(encoding="utf-8")).substitute(values)
        (paths.profiles / template.name).write_text(text, encoding="utf-8")
    return paths.profiles


# -- the buyers' side --------------------------------------------------------------------------


def answer_interchanges(sftp_root: Path, now: dt.datetime) -> int:
    """The SFTP buyer's robot: a CONTRL in ``out/`` for every interchange in ``in/`` not answered
    yet (``in/.answered`` remembers which). Returns how many it wrote."""
    from gateway.envelope import Envelope
    from mappings.edifact.contrl import build_contrl

    inbox, outbox = sftp_root / "in", sftp_root / "out"
    outbox.mkdir(parents=True, exist_ok=True)
    ledger = inbox / ".answered"
    answered = set(ledger.read_text().split()) if ledger.exists() else set()
    written = 0
    for interchange in sorted(inbox.glob("*.edi")):
        if interchange.name in answered:
            continue
        sequence = len(answered) + 1
        envelope = Envelope(interchange_ref=f"C{sequence:08d}", prepared_at=now)
        contrl = build_contrl(
            interchange.read_bytes(), our_id="8400000000007", our_qualifier="14", envelope=envelope
        )
        (outbox / f"CONTRL-{sequence:06d}.edi").write_bytes(contrl)
        answered.add(interchange.name)
        written += 1
    ledger.write_text("\n".join(sorted(answered)) + "\n")
    return written


def accept_all(portal: Portal) -> int:
    """The portal buyer's AP team: every invoice still ``received`` becomes ``accepted``."""
    changed = 0
    for invoice in list(portal.invoices):
        if invoice.status == "received":
            portal.set_status(invoice.id, "accepted")
            changed += 1
    return changed


@dataclass(frozen=True)
class Peers:
    """The running loopback peers."""

    as2_url: str
    supplier_url: str
    portal_url: str
    sftp_port: int
    sftp_host_key: str
    smtp_port: int
    portal: Portal


@contextlib.contextmanager
def running_peers(paths: DemoPaths, store: Store) -> Iterator[Peers]:
    """Start the hub's AS2 endpoint, our own web app (async MDNs), the SFTP server, the
    portal and the mail server on 127.0.0.1; stop them all when the block ends."""
    from gateway.peers.serve import serve_in_thread
    from gateway.peers.sftp_server import SftpServer
    from gateway.peers.smtp_server import SmtpServer, make_tls_files
    from gateway.web.app import create_app

    keys = paths.keys.resolve()  # the AS2 config reads paths relative to its own files
    hub_config = load_as2_config(
        _as2_folder(
            paths.root / "as2-hub",
            as2_id=HUB_AS2_ID,
            key=keys / "buyer-hub.key.pem",
            cert=keys / "buyer-hub.cert.pem",
            partner=(SUPPLIER_AS2_ID, keys / "supplier.cert.pem"),
        )
    )
    our_config = load_as2_config(
        _as2_folder(
            paths.root / "as2-supplier",
            as2_id=SUPPLIER_AS2_ID,
            key=keys / "supplier.key.pem",
            cert=keys / "supplier.cert.pem",
            partner=(HUB_AS2_ID, keys / "buyer-hub.cert.pem"),
        )
    )
    hub_store = Store.open(paths.hub_store_url)
    hub_store.migrate()
    portal = Portal(
        bearer_token=os.environ["IGW_DEMO_PORTAL_TOKEN"],
        cxml_shared_secret=os.environ["IGW_DEMO_CXML_SECRET"],
    )
    (paths.sftp_root / "in").mkdir(parents=True, exist_ok=True)
    (paths.sftp_root / "out" / "archive").mkdir(parents=True, exist_ok=True)
    sftp = SftpServer(
        paths.sftp_root,
        users={"igw": os.environ["IGW_DEMO_SFTP_PASSWORD"]},
        host_key=keys / "sftp_host_key",
    )
    smtp = SmtpServer(
        paths.mailbox,
        users={SMTP_USER: os.environ["IGW_DEMO_SMTP_PASSWORD"]},
        tls=make_tls_files(keys),
    )
    try:
        with (
            serve_in_thread(create_app(store=store, as2=our_config)) as our_url,
            serve_in_thread(  # the hub POSTs its async MDNs to our loopback port only
                create_app(
                    store=hub_store,
                    as2=hub_config.with_async_mdn_urls(SUPPLIER_AS2_ID, [our_url]),
                )
            ) as hub_url,
            serve_in_thread(portal.app) as portal_url,
            sftp,
            smtp,
        ):
            yield Peers(
                as2_url=f"{hub_url}/as2",
                supplier_url=our_url,
                portal_url=portal_url,
                sftp_port=sftp.port,
                sftp_host_key=sftp.host_key_line,
                smtp_port=smtp.port,
                portal=portal,
            )
    finally:
        hub_store.close()


def wait_for_transport_proof(store: Store, connector: str, timeout: float) -> list[DeliveryRow]:
    """Wait until no delivery over ``connector`` waits for its transport proof (asynchronous
    MDNs in flight); returns those still waiting when ``timeout`` seconds have passed."""
    deadline = time.monotonic() + timeout
    while True:
        waiting = [
            row
            for row in store.deliveries()
            if row.channel.startswith(connector) and row.state is DeliveryState.SENT
        ]
        if not waiting or time.monotonic() > deadline:
            return waiting
        time.sleep(0.1)


def poll_channels(store: Store, profiles: Sequence[BuyerProfile], now: dt.datetime) -> int:
    """One polling sweep over every distinct channel of ``profiles`` that can poll; returns how
    many items it recorded."""
    from gateway.delivery.acks_in import AckRouter
    from gateway.delivery.sweeps import polling_connectors, sweep_poll

    connectors = polling_connectors(profiles)
    return len(sweep_poll(store, connectors, AckRouter(), now, profiles))


TRANSPORT_PROOF_NAMES = {
    "as2": "MDN (sync)",
    "http": "HTTP 2xx",
    "cxml-post": "cXML Status",
    "sftp": "SFTP rename",
    "file": "file written",
}


def _email_proof(detail: str) -> str:
    """``SMTP 250 queued as ABC; Message-ID <...>`` from the e-mail transport proof's detail
    (``email confirmed receipt of <msgid>; 250 queued as ABC``)."""
    head, _, reply = detail.partition("; ")
    msgid = head.rsplit(" ", 1)[-1]
    return f"SMTP {reply or '250'}; Message-ID <{msgid}>"


def proof_by_delivery(store: Store, rows: Sequence[DeliveryRow]) -> dict[int, str]:
    """What proved each delivery, in order: the transport receipt (``MDN (sync)``,
    ``HTTP 2xx``, ...) and every ack recorded on it (``MDN``, ``CONTRL``, ``portal-status``)."""
    proofs: dict[int, str] = {}
    timelines: dict[tuple[str, str], list[EventRow]] = {}
    for row in rows:
        key = (row.invoice_number, row.seller_key)
        if key not in timelines:
            timelines[key] = store.timeline(row.invoice_number, row.seller_key)
        receipt: list[str] = []
        acks: dict[str, list[str]] = {}
        for event in timelines[key]:
            if event.delivery_id != row.id:
                continue
            word = event.detail.split(" ", 1)[0] if event.detail else ""
            if event.kind == "transport_proof":
                name = (
                    _email_proof(event.detail)
                    if word == "email"
                    else TRANSPORT_PROOF_NAMES.get(word, word)
                )
                if name not in receipt:
                    receipt.append(name)
            elif event.kind == "ack":
                status = event.detail.rsplit(":", 1)[-1].strip()
                name = "MDN (async)" if word == "MDN" else word
                if status not in acks.setdefault(name, []):
                    acks[name].append(status)
        labels = [*receipt, *(f"{name}: {', '.join(sts)}" for name, sts in acks.items())]
        proofs[row.id] = "; ".join(labels) or "-"
    return proofs


def demo_table(rows: Sequence[DeliveryRow], proofs: dict[int, str]) -> str:
    """The demo's status table: invoice, buyer, connector, state, proof level and what proved it."""
    from gateway.delivery.status import proof_reached

    header = ("INVOICE", "BUYER", "VIA", "STATE", "PROOF", "PROVED BY")
    body = [
        (
            r.invoice_number,
            r.buyer,
            r.channel.split(":", 1)[0],
            r.state.value,
            proof_reached(r),
            proofs.get(r.id, "-"),
        )
        for r in rows
    ]
    widths = [max(len(line[i]) for line in [header, *body]) for i in range(len(header))]
    lines = [
        "  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip()
        for line in [header, *body]
    ]
    states: dict[str, int] = {}
    for r in rows:
        states[r.state.value] = states.get(r.state.value, 0) + 1
    summary = ", ".join(f"{n} {s}" for s, n in sorted(states.items()))
    levels = {lvl.value: sum(1 for r in rows if getattr(r, f"{lvl.value}_ack")) for lvl in AckLevel}
    proved = ", ".join(f"{n} with {lvl} proof" for lvl, n in levels.items())
    return "\n".join([*lines, "", f"{len(rows)} deliveries: {summary}; {proved}", ""])


@dataclass(frozen=True)
class DemoResult:
    """What one demo run did: the submit report, the deliveries and what proved each."""

    report: SubmitReport
    rows: list[DeliveryRow]
    proofs: dict[int, str]
    waiting: list[DeliveryRow]
    contrls: int
    accepted: int
    polled: int
    hub_received: int
    hub_parsed: int
    mailed: int
    mailbox: int

    def table(self) -> str:
        """The status table with each invoice's proof."""
        return demo_table(self.rows, self.proofs)


def run_network_demo(
    inputs: Sequence[str | Path],
    store_url: str,
    *,
    root: Path = Path("var/demo"),
    validate: bool = True,
    mdn_wait: float = 30.0,
) -> DemoResult:
    """Submit ``inputs`` with the network demo profiles, deliver them to the loopback peers,
    collect MDNs, CONTRLs and portal statuses; see the module docstring."""
    from gateway.delivery.submit import submit
    from gateway.delivery.worker import run_worker
    from gateway.intake import read_records
    from gateway.profiles.load import load_profiles

    paths = DemoPaths(root)
    prepare_keys(paths)
    mailbox_before = paths.mailbox_count()
    store = Store.open(store_url)
    store.migrate()
    try:
        with running_peers(paths, store) as peers:
            folder = write_profiles(
                paths,
                {
                    "as2_url": peers.as2_url,
                    "supplier_url": peers.supplier_url,
                    "portal_url": peers.portal_url,
                    "sftp_port": str(peers.sftp_port),
                    "sftp_host_key": peers.sftp_host_key,
                    "smtp_port": str(peers.smtp_port),
                    "keys": str(paths.keys.resolve()),
                },
            )
            profiles = load_profiles(folder)
            records = (r for path in inputs for r in read_records(Path(path)))
            report = submit(
                records, store, profiles, now=dt.datetime.now(dt.UTC), run_validation=validate
            )
            run_worker(store_url, folder, until_empty=True, sweeps=False)
            waiting = wait_for_transport_proof(store, "as2", mdn_wait)
            contrls = answer_interchanges(paths.sftp_root, dt.datetime.now(dt.UTC))
            accepted = accept_all(peers.portal)
            polled = poll_channels(store, profiles.profiles, dt.datetime.now(dt.UTC))
            rows = store.deliveries()
            proofs = proof_by_delivery(store, rows)
            hub = hub_inbound(paths)
    finally:
        store.close()
    mailbox = paths.mailbox_count()
    return DemoResult(
        report,
        rows,
        proofs,
        waiting,
        contrls,
        accepted,
        polled,
        *hub,
        mailed=mailbox - mailbox_before,
        mailbox=mailbox,
    )


def hub_inbound(paths: DemoPaths) -> tuple[int, int]:
    """(messages the buyers' AS2 hub has received, of which parsed into invoices)."""
    from gateway.store.inbound import list_inbound

    hub = Store.open(paths.hub_store_url)
    try:
        rows = list_inbound(hub, channel="as2", limit=100_000)
    finally:
        hub.close()
    return len(rows), sum(1 for r in rows if r.state == "PARSED")
