"""Hidden temporary files a killed send left in a buyer's folder are removed when the file or
SFTP connector starts sending again; buyers' own files and fresh uploads are never touched."""

from __future__ import annotations

import logging
import os
import time
import uuid
from pathlib import Path

import pytest
from harness_sftp import (  # noqa: F401  (fixtures)
    connector,
    doc,
    folder,
    local,
    server,
    sftp_server,
)

from connectors.file import FileConnector
from connectors.temp_files import is_our_temp, temp_name
from gateway.peers.sftp_server import SftpServer

KEY_HASH = "0123456789abcdef"


def _ours(stem: str = "INV-1.peppol-bis3") -> str:
    """A temporary name as a send writes it."""
    return temp_name(f"{stem}.{KEY_HASH}.xml")


def _buyer_files(where: Path) -> dict[str, bytes]:
    """Files a buyer keeps in the folder, some hidden or named like temp files - never ours."""
    files = {
        "invoice.xml": b"<Invoice/>",
        ".hidden": b"buyer's",
        ".upload.tmp": b"",
        f".INV-1.peppol-bis3.{KEY_HASH}.xml.tmp": b"no random part",
        f".INV-1.peppol-bis3.{KEY_HASH}.xml.{uuid.uuid4().hex}.part": b"other suffix",
        f"INV-1.peppol-bis3.{KEY_HASH}.xml.{uuid.uuid4().hex}.tmp": b"not hidden",
    }
    for name, content in files.items():
        (where / name).write_bytes(content)
    return files


def test_temp_name_shape() -> None:
    """Our temporary names are recognised; look-alikes are not."""
    assert is_our_temp(_ours())
    assert not is_our_temp(".upload.tmp")
    assert not is_our_temp(f".INV-1.{KEY_HASH}.xml.tmp")
    assert not is_our_temp(_ours().lstrip("."))


def test_file_connector_removes_stale_temps_on_first_send(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The first send removes our stale temporary files (empty or not), logs each, and
    leaves every buyer file, a directory and a symlink of our shape alone."""
    out = tmp_path / "out"
    out.mkdir()
    stale_empty, stale_full = _ours("INV-7.peppol-bis3"), _ours("INV-8.peppol-bis3")
    (out / stale_empty).write_bytes(b"")
    (out / stale_full).write_bytes(b"<Invoice>partial")
    directory, link = _ours("INV-9.peppol-bis3"), _ours("INV-10.peppol-bis3")
    (out / directory).mkdir()
    buyers = _buyer_files(out)
    (out / link).symlink_to(out / "invoice.xml")
    time.sleep(0.01)
    sender = FileConnector(out, temp_grace=0.0)
    with caplog.at_level(logging.WARNING, logger="connectors.file"):
        sender.send(doc("INV-1"), delivery_id="1", idempotency_key="k1")
        (out / stale_empty).write_bytes(b"")  # after the first send: not swept again
        sender.send(doc("INV-2"), delivery_id="2", idempotency_key="k2")
    names = {p.name for p in out.iterdir()}
    assert stale_full not in names
    assert stale_empty in names  # written after the sweep
    assert {n: (out / n).read_bytes() for n in buyers} == buyers
    assert directory in names and link in names
    removed = [r.getMessage() for r in caplog.records if "removed stale" in r.getMessage()]
    assert len(removed) == 2
    assert any(stale_full in m and "16 bytes" in m for m in removed)
    sent = {sender.target_for(doc(n), k).name for n, k in (("INV-1", "k1"), ("INV-2", "k2"))}
    assert names == {*buyers, stale_empty, directory, link, *sent}


def test_file_connector_keeps_fresh_temps(tmp_path: Path) -> None:
    """A temporary file younger than the grace period (a write in progress) stays."""
    out = tmp_path / "out"
    out.mkdir()
    fresh = _ours()
    (out / fresh).write_bytes(b"in progress")
    FileConnector(out, temp_grace=3600.0).send(doc("INV-1"), delivery_id="1", idempotency_key="k")
    assert (out / fresh).read_bytes() == b"in progress"


def test_sftp_connector_removes_stale_temps_on_first_session(
    server: SftpServer,  # noqa: F811
    folder: str,  # noqa: F811
    caplog: pytest.LogCaptureFixture,
) -> None:
    """SFTP: the first session removes our temporary files older than the grace period
    (by the server's mtime) and nothing else: fresh temps and buyer files stay."""
    root = local(server, folder)
    stale, fresh = _ours("INV-7.peppol-bis3"), _ours("INV-8.peppol-bis3")
    (root / stale).write_bytes(b"")
    (root / fresh).write_bytes(b"<Invoice>part")
    hour_ago = time.time() - 3600
    os.utime(root / stale, (hour_ago, hour_ago))
    buyers = _buyer_files(root)
    for name in buyers:
        os.utime(root / name, (hour_ago, hour_ago))
    sender = connector(server, folder, temp_grace=600.0)
    try:
        with caplog.at_level(logging.WARNING, logger="connectors.sftp"):
            sender.send(doc("INV-1"), delivery_id="1", idempotency_key="k1")
    finally:
        sender.close()
    names = {p.name for p in root.iterdir()}
    assert stale not in names and fresh in names
    assert {n: (root / n).read_bytes() for n in buyers} == buyers
    removed = [r.getMessage() for r in caplog.records if "removed stale" in r.getMessage()]
    assert len(removed) == 1 and stale in removed[0]
