"""The real Worker delivering over AS2 from a buyer profile file to the gateway's own endpoint on
loopback: sync MDNs make deliveries DELIVERED at once; with async MDNs the sender's own /as2/mdn
receives the MDN and moves them on (SQLite and PostgreSQL for the sending side)."""

from __future__ import annotations

import time
from pathlib import Path

from as2_keys import identity
from as2_peer import PARTNER, US, running_endpoint, write_partner_files
from builders import simple_invoice
from store_backends import T0, sqlite_url, store, store_url  # noqa: F401  (fixtures)

from connectors.as2.message import As2Identity, As2Partner
from gateway.as2.config import As2Config, PartnerConfig
from gateway.delivery.worker import Worker
from gateway.document import Document
from gateway.profiles.load import load_profiles
from gateway.store import DeliveryState, NewDelivery, Store
from gateway.store.inbound import list_inbound

CONNECTOR = "connectors.as2.connector:As2Connector"
UBL = (Path(__file__).parent / "golden" / "ubl" / "simple-peppol.xml").read_bytes()


def profiles_for(url: str, keys: dict[str, str], where: Path, **extra: str) -> Path:
    """A buyer profile folder whose default profile 'igw' delivers over AS2 to ``url``."""
    where.mkdir()
    options = {
        "url": f"{url}/as2",
        "as2_from": PARTNER,
        "as2_to": US,
        **keys,
        "timeout": 5.0,
        **extra,
    }
    lines = [f"{k} = {v!r}" if isinstance(v, float) else f'{k} = "{v}"' for k, v in options.items()]
    (where / "igw.toml").write_text(
        "default = true\n[channel]\n"
        f'connector = "{CONNECTOR}"\n[channel.options]\n' + "\n".join(lines) + "\n"
    )
    return where


def accept(store: Store, numbers: range) -> list[int]:  # noqa: F811
    """One valid UBL invoice per number, each with one AS2 delivery to 'igw', due at T0."""
    ids: list[int] = []
    for n in numbers:
        number = f"INV-{n}"
        content = UBL.replace(b"<cbc:ID>INV-1</cbc:ID>", f"<cbc:ID>{number}</cbc:ID>".encode(), 1)
        doc = Document(content, "ubl", "peppol-bis3", number)
        result = store.accept(
            simple_invoice(number=number),
            None,
            "DE123",
            documents=[doc],
            deliveries=[NewDelivery("igw", CONNECTOR, T0)],
            now=T0,
        )
        ids.extend(result.delivery_ids)
    return ids


def test_worker_sends_with_sync_mdn(store: Store, tmp_path: Path) -> None:  # noqa: F811
    """Five invoices: each send is answered by a signed MDN whose MIC matches; the deliveries
    are DELIVERED with the MDN as transport proof, and the receiver stored each invoice once."""
    receiver = Store.open(sqlite_url(tmp_path))
    receiver.migrate()
    try:
        with running_endpoint(receiver) as (igw_url, _):
            keys = write_partner_files(tmp_path / "keys")
            profiles = load_profiles(profiles_for(igw_url, keys, tmp_path / "buyers"))
            worker = Worker(store, profiles, clock=lambda: T0, worker_id="w1")
            ids = accept(store, range(1, 6))
            assert worker.run_once() == 5
        for delivery_id in ids:
            row = store.delivery(delivery_id)
            assert row.state is DeliveryState.DELIVERED, row
            assert row.message_id is not None and row.message_id.startswith("igw-")
            proof = [e for e in store.timeline(row.invoice_number) if e.kind == "transport_proof"]
            assert len(proof) == 1 and proof[0].evidence is not None
            assert f"Original-Message-ID: <{row.message_id}>".encode() in proof[0].evidence
        stored = list_inbound(receiver)
        assert sorted(r.invoice_number or "" for r in stored) == [f"INV-{n}" for n in range(1, 6)]
        assert all(r.state == "PARSED" for r in stored)
    finally:
        receiver.close()


def test_worker_sends_with_async_mdn(store: Store, tmp_path: Path) -> None:  # noqa: F811
    """With mdn = "async" the worker leaves the deliveries SENT; IGW's MDNs arrive at the
    sender's own endpoint, are verified against the MICs the attempts recorded, and move each
    delivery to DELIVERED."""
    key, cert = identity(PARTNER)
    igw = As2Partner(as2_id=US, certs=(identity(US)[1],))
    sender_config = As2Config(
        As2Identity(PARTNER, key, cert), {"igw": PartnerConfig("igw", igw, "igw")}
    )
    receiver = Store.open(sqlite_url(tmp_path))
    receiver.migrate()
    try:
        with (
            running_endpoint(store, sender_config) as (acme_url, _),
            running_endpoint(receiver, mdn_urls=(acme_url,)) as (igw_url, _),
        ):
            keys = write_partner_files(tmp_path / "keys")
            folder = profiles_for(
                igw_url, keys, tmp_path / "buyers", mdn="async", async_mdn_url=f"{acme_url}/as2/mdn"
            )
            worker = Worker(store, load_profiles(folder), clock=lambda: T0, worker_id="w1")
            ids = accept(store, range(1, 4))
            assert worker.run_once() == 3
            deadline = time.monotonic() + 15
            states = [store.delivery(i).state for i in ids]
            while (
                any(s is not DeliveryState.DELIVERED for s in states)
                and time.monotonic() < deadline
            ):
                time.sleep(0.05)
                states = [store.delivery(i).state for i in ids]
        assert states == [DeliveryState.DELIVERED] * 3
        for delivery_id in ids:
            row = store.delivery(delivery_id)
            events = store.timeline(row.invoice_number)
            attempt = [e for e in events if e.kind == "attempt"]
            assert attempt[0].state_to == "SENT" and b"Expected-MIC: " in (
                attempt[0].evidence or b""
            )
            acks = [e for e in events if e.kind == "ack"]
            assert len(acks) == 1 and acks[0].ack_level == "transport"
        assert store.list_unmatched_acks() == []
    finally:
        receiver.close()
