"""SftpConnector.poll/confirm against a real loopback SFTP server: the partner's outbound folder
is read, items stay until confirmed, and a CONTRL placed there is recorded on its delivery exactly
once through gateway.delivery.sweeps.sweep_poll (SQLite and PostgreSQL), moved only after it is
recorded."""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path

import pytest
from builders import simple_invoice
from harness_sftp import connector, folder, local, server, sftp_server  # noqa: F401  (fixtures)
from store_backends import T0, store, store_url  # noqa: F401  (fixtures)

from connectors.sftp import SftpConnector
from gateway.delivery.acks_in import AckRouter
from gateway.delivery.errors import AuthenticationFailed, ConfigurationInvalid
from gateway.delivery.sweeps import sweep_poll
from gateway.envelope import Envelope
from gateway.peers.sftp_server import SftpEvent, SftpServer
from gateway.profiles.profile import BuyerIds, BuyerProfile, ProofPolicy
from gateway.store import DeliveryState, NewDelivery, Store
from gateway.store.inbound import find_inbound
from mappings.edifact.contrl import build_contrl
from mappings.edifact.invoic import render_interchange

SUPPLIER, BUYER = "4000001000002", "4012345000009"
EANCOM = BuyerProfile(
    name="frischmarkt",
    format="eancom-d96a",
    options={"sender_id": SUPPLIER, "recipient_id": BUYER},
    ids=BuyerIds(glns=(BUYER,)),
    proof=ProofPolicy.model_validate({"transport": "30m", "syntax": "24h"}),
)


def poller(server: SftpServer, folder: str, archive: bool = True) -> SftpConnector:  # noqa: F811
    """A connector polling ``folder/out`` (archive ``folder/out/done`` when ``archive``)."""
    (local(server, folder) / "out").mkdir(exist_ok=True)
    if archive:
        (local(server, folder) / "out" / "done").mkdir(exist_ok=True)
    return connector(
        server,
        folder,
        ack_dir=f"{folder}/out",
        ack_archive_dir=f"{folder}/out/done" if archive else None,
    )


def test_poll_yields_complete_files_and_keeps_them_until_confirmed(
    server: SftpServer,  # noqa: F811
    folder: str,  # noqa: F811
) -> None:
    """Only finished regular files are polled (not hidden or .tmp/.part uploads, not folders);
    an item is polled again until confirmed, then it moves to the archive."""
    sftp = poller(server, folder)
    out = local(server, folder) / "out"
    (out / "APERAK_1.edi").write_bytes(b"UNB+aperak'")
    (out / ".CONTRL_2.edi.upload").write_bytes(b"UNB+half")
    (out / "CONTRL_3.edi.part").write_bytes(b"UNB+half")
    (out / "status.tmp").write_bytes(b"half")
    first = list(sftp.poll())
    assert [(i.name, i.content, i.connector) for i in first] == [
        ("APERAK_1.edi", b"UNB+aperak'", "sftp")
    ]
    assert [i.name for i in sftp.poll()] == ["APERAK_1.edi"]  # not confirmed: still there
    sftp.confirm(first[0])
    assert (out / "done" / "APERAK_1.edi").read_bytes() == b"UNB+aperak'"
    assert not (out / "APERAK_1.edi").exists()
    assert list(sftp.poll()) == []


def test_confirm_without_archive_deletes(server: SftpServer, folder: str) -> None:  # noqa: F811
    """With no ack_archive_dir a confirmed item is deleted from the partner's folder."""
    sftp = poller(server, folder, archive=False)
    (local(server, folder) / "out" / "s.xml").write_bytes(b"<Status/>")
    (item,) = sftp.poll()
    sftp.confirm(item)
    assert sorted(p.name for p in (local(server, folder) / "out").iterdir()) == []


def test_a_file_replaced_after_the_poll_is_not_let_go(server: SftpServer, folder: str) -> None:  # noqa: F811
    """Confirming an item whose file now holds other bytes leaves the file for the next poll."""
    sftp = poller(server, folder)
    path = local(server, folder) / "out" / "CONTRL.edi"
    path.write_bytes(b"first")
    (item,) = sftp.poll()
    path.write_bytes(b"second, not yet recorded")
    sftp.confirm(item)
    assert path.read_bytes() == b"second, not yet recorded"
    assert [i.content for i in sftp.poll()] == [b"second, not yet recorded"]


def _requests_per_confirm(sftp: SftpConnector, out: Path, server: SftpServer) -> int:  # noqa: F811
    (out / "probe.edi").write_bytes(b"probe")
    (item,) = sftp.poll()
    before = server.operations
    sftp.confirm(item)
    return server.operations - before


@pytest.mark.parametrize("phase", ["before", "after"])
def test_a_drop_at_any_request_of_a_confirm_moves_the_file_once(
    server: SftpServer,  # noqa: F811
    folder: str,  # noqa: F811
    phase: str,
) -> None:
    """Whichever request of a confirm the connection is cut at - before the server runs it or
    after (the answer lost) - the connector reconnects once and the file ends up in the archive
    exactly once and nowhere else."""
    sftp = poller(server, folder)
    out = local(server, folder) / "out"
    count = _requests_per_confirm(sftp, out, server)
    assert count >= 3  # read back (open, read..., close), rename
    for position in range(1, count + 1):
        name = f"{phase}-{position}.edi"
        (out / name).write_bytes(name.encode())
        (item,) = sftp.poll()
        connects = sftp.connects
        server.drop_after(position, phase)  # type: ignore[arg-type]
        sftp.confirm(item)
        assert sftp.connects == connects + 1, (phase, position)
        assert sorted(p.name for p in out.iterdir()) == ["done"], (phase, position)
        assert (out / "done" / name).read_bytes() == name.encode()
    assert len(list((out / "done").iterdir())) == count + 1


def test_an_archive_name_taken_by_other_bytes_keeps_both(server: SftpServer, folder: str) -> None:  # noqa: F811
    """A partner reusing a file name: the archived older file stays, the new one is archived
    beside it under its content hash."""
    sftp = poller(server, folder)
    out = local(server, folder) / "out"
    (out / "done" / "CONTRL.edi").write_bytes(b"last week's")
    (out / "CONTRL.edi").write_bytes(b"today's")
    (item,) = sftp.poll()
    sftp.confirm(item)
    digest = hashlib.sha256(b"today's").hexdigest()[:16]
    assert {p.name: p.read_bytes() for p in (out / "done").iterdir()} == {
        "CONTRL.edi": b"last week's",
        f"CONTRL.edi.{digest}": b"today's",
    }


def test_polling_a_missing_folder_is_a_configuration_error(server: SftpServer) -> None:  # noqa: F811
    """An ack_dir the server does not have is ConfigurationInvalid; no ack_dir polls nothing."""
    with pytest.raises(ConfigurationInvalid):
        list(connector(server, "/", ack_dir="/nowhere").poll())
    assert list(connector(server, "/").poll()) == []


# -- exactly once into the store -------------------------------------------------------------


def sent_interchange(store: Store) -> tuple[bytes, int]:  # noqa: F811
    """INV-1 rendered in EANCOM interchange IC77 (message A), accepted and SENT, as the worker
    leaves it; returns the interchange bytes and the delivery id."""
    envelope = Envelope("IC77", dt.datetime(2026, 11, 24, 12, 0), message_refs=("A",))
    document = render_interchange([simple_invoice(number="INV-1")], EANCOM, envelope)
    result = store.accept(
        simple_invoice(number="INV-1"),
        None,
        "DE123",
        documents=[document],
        deliveries=[NewDelivery("frischmarkt", "sftp", T0)],
        now=T0,
    )
    delivery_id = result.delivery_ids[0]
    store.claim_due("w", T0)
    store.record_attempt(
        delivery_id, "w", DeliveryState.SENT, now=T0, next_attempt_at=T0 + dt.timedelta(hours=1)
    )
    store.set_references(delivery_id, interchange_ref="IC77", message_ref="A")
    return document.content, delivery_id


def ack_events(store: Store, delivery_id: int) -> int:  # noqa: F811
    """How many ack events INV-1's delivery has."""
    return sum(
        1 for e in store.timeline("INV-1") if e.delivery_id == delivery_id and e.kind == "ack"
    )


def test_a_polled_contrl_is_recorded_exactly_once_and_moved_only_after(
    server: SftpServer,  # noqa: F811
    folder: str,  # noqa: F811
    store: Store,  # noqa: F811
    store_url: str,  # noqa: F811
) -> None:
    """A CONTRL in the partner's outbound folder: the sweep records it on the delivery; the move
    fails (a crash between record and confirm) and later sweeps record nothing again; once the
    move works the file goes - and at that moment the ack was already in the store."""
    interchange, delivery_id = sent_interchange(store)
    contrl = build_contrl(
        interchange,
        our_id=BUYER,
        our_qualifier="14",
        envelope=Envelope("CTL1", dt.datetime(2026, 11, 24, 12, 5)),
    )
    sftp = poller(server, folder)
    out = local(server, folder) / "out"
    (out / "CONTRL_CTL1.edi").write_bytes(contrl)
    message_id = f"CONTRL_CTL1.edi#{hashlib.sha256(contrl).hexdigest()}"
    at_move: list[tuple[bool, int]] = []

    def on_move(event: SftpEvent) -> None:
        if event.op == "rename" and event.paths[0].endswith("CONTRL_CTL1.edi"):
            seen = Store.open(store_url)
            try:
                row = find_inbound(seen, sftp.ack_channel, message_id)
                at_move.append((row is not None and row.finished, ack_events(seen, delivery_id)))
            finally:
                seen.close()

    server.observe(on_move)
    server.deny_writes(f"{folder}/out")  # the confirm fails after the ack is recorded
    router, now = AckRouter(), T0 + dt.timedelta(minutes=10)
    for _ in range(2):
        with pytest.raises(AuthenticationFailed):
            sweep_poll(store, [sftp], router, now, [EANCOM])
        assert ack_events(store, delivery_id) == 1
        assert (out / "CONTRL_CTL1.edi").exists()
    row = store.delivery(delivery_id)
    assert (row.state, row.syntax_ack) == (DeliveryState.DELIVERED, "accepted")

    server.deny_writes()
    assert sweep_poll(store, [sftp], router, now, [EANCOM]) == []  # only confirmed, not re-read
    assert at_move == [(True, 1)]
    assert (out / "done" / "CONTRL_CTL1.edi").read_bytes() == contrl
    assert not (out / "CONTRL_CTL1.edi").exists()
    assert sweep_poll(store, [sftp], router, now, [EANCOM]) == []
    assert ack_events(store, delivery_id) == 1
    assert store.list_unmatched_acks() == []
    assert server.errors == []
