"""AS2 end to end on loopback: As2Connector (partner ACME) -> the gateway's /as2 endpoint (IGW)
over real HTTP and a real store, for every algorithm combination, with sync and async MDNs, and
the refusals (wrong key, missing security, unknown partner, duplicate Message-ID)."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from as2_keys import write_identity
from as2_peer import PARTNER, US, endpoint_config, make_connector, running_endpoint
from builders import simple_invoice
from connector_harness import NOW, clock, document
from store_backends import T0, pg_schema_url, sqlite_url

from connectors.as2.connector import As2Connector
from connectors.as2.message import As2Identity, As2Partner
from connectors.base import Receipt
from gateway.as2.config import As2Config, PartnerConfig
from gateway.delivery.errors import AuthenticationFailed, ConfigurationInvalid, Rejected
from gateway.document import Document
from gateway.store import DeliveryState, NewDelivery, Store
from gateway.store.inbound import find_inbound, list_inbound

UBL = (Path(__file__).parent / "golden" / "ubl" / "simple-peppol.xml").read_bytes()


def ubl_document() -> Document:
    """The golden Peppol invoice INV-1 as a Document."""
    return Document(content=UBL, syntax="ubl", format="peppol-bis3", invoice_number="INV-1")


@pytest.fixture(scope="module")
def endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Store, Path]]:
    """One IGW endpoint over SQLite for the whole module: (base URL, store, key folder)."""
    folder = tmp_path_factory.mktemp("as2")
    store = Store.open(sqlite_url(folder))
    store.migrate()
    with running_endpoint(store) as (base_url, _):
        yield base_url, store, folder / "keys"
    store.close()


def _send(endpoint: tuple[str, Store, Path], key: str, **options: Any) -> tuple[Receipt, Store]:
    base_url, store, keys = endpoint
    connector = make_connector(base_url, keys, clock=clock, **options)
    receipt = connector.send(ubl_document(), delivery_id="d-1", idempotency_key=key)
    return receipt, store


def _assert_delivered(receipt: Receipt, store: Store) -> None:
    """The receipt is signed-MDN proof and the endpoint stored the payload, parsed, with the MDN."""
    assert receipt.transport_proof is True
    assert receipt.sent_at == NOW
    assert b"Original-Message-ID: <" + receipt.message_id.encode() + b">" in receipt.evidence
    row = find_inbound(store, "acme", receipt.message_id)
    assert row is not None
    assert row.content == UBL
    assert row.state == "PARSED" and row.invoice_number == "INV-1"
    assert row.answer is not None and b"Received-Content-MIC" in row.answer


@pytest.mark.parametrize("padding", ["pkcs1v15", "pss"])
@pytest.mark.parametrize("sign", ["sha1", "sha256", "sha384", "sha512"])
def test_signing_combinations(endpoint: tuple[str, Store, Path], sign: str, padding: str) -> None:
    """Each signing digest and padding round-trips: verified, MIC matched, payload stored."""
    receipt, store = _send(
        endpoint, f"sign-{sign}-{padding}", sign=sign, signature_padding=padding, mdn_digest=sign
    )
    _assert_delivered(receipt, store)
    assert "signed MDN verified" in receipt.detail
    assert f", {sign}" in receipt.detail  # the MIC algorithm is the signing digest


@pytest.mark.parametrize("transport", ["rsa-pkcs1v15", "rsa-oaep"])
@pytest.mark.parametrize("cipher", ["aes128-cbc", "aes192-cbc", "aes256-cbc", "3des"])
def test_encryption_combinations(
    endpoint: tuple[str, Store, Path], cipher: str, transport: str
) -> None:
    """Each content cipher and key transport round-trips through the endpoint."""
    receipt, store = _send(
        endpoint, f"enc-{cipher}-{transport}", encrypt=cipher, key_transport=transport
    )
    _assert_delivered(receipt, store)


@pytest.mark.parametrize("encrypt", ["aes256-cbc", "none"])
def test_compressed(endpoint: tuple[str, Store, Path], encrypt: str, tmp_path: Path) -> None:
    """Compressed (then signed, then encrypted) messages are opened and recorded as compressed."""
    _, store, keys = endpoint
    config = endpoint_config(require_encrypted=encrypt != "none")
    with running_endpoint(store, config) as (url, _):
        connector = make_connector(url, keys, clock=clock, compress=True, encrypt=encrypt)
        receipt = connector.send(ubl_document(), delivery_id="d", idempotency_key=f"zip-{encrypt}")
    _assert_delivered(receipt, store)
    row = find_inbound(store, "acme", receipt.message_id)
    assert row is not None and "compressed" in row.detail


def test_plain_message_where_partner_allows(endpoint: tuple[str, Store, Path]) -> None:
    """Unsigned, unencrypted, unsigned MDN: accepted where the partner requires neither."""
    _, store, keys = endpoint
    config = endpoint_config(require_signed=False, require_encrypted=False)
    with running_endpoint(store, config) as (url, _):
        connector = make_connector(
            url, keys, clock=clock, sign="none", encrypt="none", mdn_signed=False
        )
        receipt = connector.send(ubl_document(), delivery_id="d", idempotency_key="plain")
    _assert_delivered(receipt, store)
    assert "MDN received" in receipt.detail
    row = find_inbound(store, "acme", receipt.message_id)
    assert row is not None and "unsigned, unencrypted" in row.detail


def test_no_mdn_requested(endpoint: tuple[str, Store, Path]) -> None:
    """mdn = "none": the HTTP 2xx is the proof; the payload is stored without an answer."""
    receipt, store = _send(endpoint, "no-mdn", mdn="none")
    assert receipt.transport_proof is True
    assert receipt.evidence.startswith(b"HTTP/1.1 200")
    row = find_inbound(store, "acme", receipt.message_id)
    assert row is not None and row.state == "PARSED" and row.answer is None


def test_rule_breaking_invoice_is_processed_with_verdict(endpoint: tuple[str, Store, Path]) -> None:
    """An invoice breaking a business rule still gets 'processed' (transport proof); the store
    and the MDN text carry the REJECTED verdict."""
    base_url, store, keys = endpoint
    broken = UBL.replace(
        b'<cbc:PayableAmount currencyID="EUR">35.70', b'<cbc:PayableAmount currencyID="EUR">99.70'
    )
    connector = make_connector(base_url, keys, clock=clock)
    receipt = connector.send(document(content=broken), delivery_id="d", idempotency_key="broken")
    assert receipt.transport_proof is True
    assert b"REJECTED" in receipt.evidence
    row = find_inbound(store, "acme", receipt.message_id)
    assert row is not None and row.state == "REJECTED" and "BR-CO-16" in row.detail


# --- refusals -------------------------------------------------------------------------------


def test_encrypted_to_the_wrong_certificate(
    endpoint: tuple[str, Store, Path], tmp_path: Path
) -> None:
    """A message encrypted to another certificate (a bundle listing a stale certificate first):
    decryption-failed -> ConfigurationInvalid, permanent, the MDN kept as evidence."""
    _, other = write_identity(tmp_path, "OTHER")
    _, igw = write_identity(tmp_path, US)
    bundle = tmp_path / "bundle.pem"
    bundle.write_bytes(other.read_bytes() + igw.read_bytes())
    with pytest.raises(ConfigurationInvalid, match="decryption-failed") as caught:
        _send(endpoint, "wrong-cert", partner_cert_file=str(bundle))
    assert b"processed/error: decryption-failed" in caught.value.evidence
    assert caught.value.retryable is False


def test_mdn_that_does_not_verify(endpoint: tuple[str, Store, Path], tmp_path: Path) -> None:
    """With only a wrong partner certificate the MDN cannot be verified: Rejected, saying what
    the unverified MDN claims."""
    _, other = write_identity(tmp_path, "OTHER")
    with pytest.raises(Rejected, match="cannot be verified") as caught:
        _send(endpoint, "wrong-cert-only", partner_cert_file=str(other))
    assert (
        "unverified, it says: automatic-action/MDN-sent-automatically; processed/error: "
        "decryption-failed" in str(caught.value)
    )


def test_signed_with_the_wrong_key(endpoint: tuple[str, Store, Path], tmp_path: Path) -> None:
    """A signature the partner's certificate does not verify: authentication-failed."""
    key, cert = write_identity(tmp_path, "MALLORY")
    with pytest.raises(AuthenticationFailed, match="authentication-failed"):
        _send(endpoint, "wrong-key", key_file=str(key), cert_file=str(cert))


@pytest.mark.parametrize(
    ("options", "what"),
    [({"sign": "none"}, "unsigned"), ({"encrypt": "none"}, "unencrypted")],
)
def test_missing_security_is_refused(
    endpoint: tuple[str, Store, Path], options: dict[str, str], what: str
) -> None:
    """Unsigned or unencrypted where the partner requires it: insufficient-message-security."""
    with pytest.raises(ConfigurationInvalid, match="insufficient-message-security"):
        _send(endpoint, f"weak-{what}", **options)
    _, store, _ = endpoint
    assert not [r for r in list_inbound(store) if r.message_id.startswith(f"weak-{what}")]


def test_unknown_partner(endpoint: tuple[str, Store, Path]) -> None:
    """A sender the endpoint does not know gets unknown-trading-partner, nothing is stored."""
    _, store, _ = endpoint
    before = len(list_inbound(store))
    with pytest.raises(ConfigurationInvalid, match="unknown-trading-partner"):
        _send(endpoint, "stranger", as2_from="STRANGER")
    assert len(list_inbound(store)) == before


def test_wrong_recipient(endpoint: tuple[str, Store, Path]) -> None:
    """A message addressed to another AS2 name is refused (unknown-trading-partner)."""
    with pytest.raises(ConfigurationInvalid, match="not our AS2 name"):
        _send(endpoint, "elsewhere", as2_to="SOMEONE-ELSE")


# --- duplicates -----------------------------------------------------------------------------


def _duplicate_resend(store: Store, tmp_path: Path) -> None:
    with running_endpoint(store) as (base_url, _):
        first = make_connector(base_url, tmp_path, clock=clock)
        receipt = first.send(ubl_document(), delivery_id="d", idempotency_key="dup-1")
        # a new process (the first one crashed before recording): same key, same Message-ID
        restarted = make_connector(base_url, tmp_path, clock=clock)
        again = restarted.send(ubl_document(), delivery_id="d", idempotency_key="dup-1")
    assert again.message_id == receipt.message_id
    assert again.transport_proof is True
    assert b"processed/warning: duplicate-document" in again.evidence
    assert "duplicate-document" in again.detail
    assert b"processed/warning" not in receipt.evidence
    rows = [r for r in list_inbound(store) if r.message_id == receipt.message_id]
    assert len(rows) == 1 and rows[0].state == "PARSED"


def test_duplicate_message_id_sqlite(tmp_path: Path) -> None:
    """A re-send with the same Message-ID is answered processed/warning: duplicate-document
    (received, MIC checked) and stored once (SQLite)."""
    store = Store.open(sqlite_url(tmp_path))
    store.migrate()
    try:
        _duplicate_resend(store, tmp_path / "keys")
    finally:
        store.close()


def test_racing_duplicates_postgresql(tmp_path: Path) -> None:
    """On PostgreSQL, racing re-sends of one Message-ID from several processes' connectors are
    all answered as received, and the payload is stored exactly once."""
    with pg_schema_url() as url:
        store = Store.open(url)
        store.migrate()
        try:
            _duplicate_resend(store, tmp_path / "keys")
            with running_endpoint(store) as (base_url, _):
                connectors = [
                    make_connector(base_url, tmp_path / "keys", clock=clock) for _ in range(6)
                ]

                def send(connector: As2Connector) -> Receipt:
                    return connector.send(ubl_document(), delivery_id="d", idempotency_key="race")

                with ThreadPoolExecutor(max_workers=6) as pool:
                    receipts = list(pool.map(send, connectors))
            assert len({r.message_id for r in receipts}) == 1
            assert all(r.transport_proof for r in receipts)
            duplicates = [r for r in receipts if b"duplicate-document" in r.evidence]
            assert len(duplicates) == 5
            stored = [r for r in list_inbound(store) if r.message_id == receipts[0].message_id]
            assert len(stored) == 1
        finally:
            store.close()


# --- asynchronous MDN -----------------------------------------------------------------------


def _sender_config() -> As2Config:
    """ACME's own gateway (where IGW's async MDNs arrive): identity ACME, partner IGW."""
    from as2_keys import identity

    key, cert = identity(PARTNER)
    partner = As2Partner(as2_id=US, certs=(identity(US)[1],))
    return As2Config(As2Identity(PARTNER, key, cert), {"igw": PartnerConfig("igw", partner, "igw")})


def _queued_delivery(store: Store) -> int:
    result = store.accept(
        simple_invoice(),
        None,
        "DE123",
        documents=[ubl_document()],
        deliveries=[NewDelivery("igw", "as2", T0)],
        now=T0,
    )
    store.claim_due("w", T0)
    return result.delivery_ids[0]


def test_async_mdn_round_trip(tmp_path: Path) -> None:
    """mdn = "async": the send returns without transport proof naming the expected MIC; IGW
    then POSTs a signed MDN to ACME's /as2/mdn, which verifies it, checks the MIC and moves the
    delivery to DELIVERED with the MDN as evidence."""
    (tmp_path / "igw").mkdir(exist_ok=True)
    (tmp_path / "acme").mkdir(exist_ok=True)
    receiver = Store.open(sqlite_url(tmp_path / "igw"))
    sender = Store.open(sqlite_url(tmp_path / "acme"))
    receiver.migrate()
    sender.migrate()
    delivery_id = _queued_delivery(sender)
    try:
        with (
            running_endpoint(sender, _sender_config()) as (acme_url, _),
            running_endpoint(receiver, mdn_urls=(acme_url,)) as (igw_url, _),
        ):
            connector = make_connector(
                igw_url,
                tmp_path / "keys",
                clock=clock,
                mdn="async",
                async_mdn_url=f"{acme_url}/as2/mdn",
            )
            receipt = connector.send(
                ubl_document(), delivery_id=str(delivery_id), idempotency_key="async-1"
            )
            assert receipt.transport_proof is False
            assert b"Expected-MIC: " in receipt.evidence
            assert "async MDN expected with MIC" in receipt.detail
            # what the worker does with a receipt without transport proof
            sender.record_attempt(
                delivery_id,
                "w",
                DeliveryState.SENT,
                now=T0,
                detail=receipt.detail,
                evidence=receipt.evidence,
                next_attempt_at=T0 + dt.timedelta(hours=1),
                message_id=receipt.message_id,
            )
            row = sender.delivery(delivery_id)
            deadline = time.monotonic() + 10
            while row.state is not DeliveryState.DELIVERED and time.monotonic() < deadline:
                time.sleep(0.05)
                row = sender.delivery(delivery_id)
        assert row.state is DeliveryState.DELIVERED
        assert row.transport_ack == "received"
        acks = [e for e in sender.timeline("INV-1") if e.kind == "ack"]
        assert len(acks) == 1 and acks[0].evidence is not None
        assert b"Original-Message-ID: <" + receipt.message_id.encode() + b">" in acks[0].evidence
        stored = find_inbound(receiver, "acme", receipt.message_id)
        assert stored is not None and stored.state == "PARSED" and stored.answer is not None
    finally:
        receiver.close()
        sender.close()
