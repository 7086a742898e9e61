"""FileConnector: atomic drop, stable names, idempotency across instances, error translation."""

from __future__ import annotations

import errno
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import pytest

from connectors.file import FileConnector, _place
from gateway.delivery.errors import (
    AuthenticationFailed,
    ConfigurationInvalid,
    RemoteUnavailable,
    from_os_error,
)
from gateway.document import Document

NOW = datetime(2026, 11, 24, 12, 30, 15, 123456, tzinfo=UTC)
DOC = Document(content=b"<Invoice/>", syntax="ubl", format="peppol-bis3", invoice_number="R/2026 1")


def test_file_lands_complete_with_no_temp_left(tmp_path: Path) -> None:
    """The folder holds exactly the document's bytes under its final name, no temp file."""
    receipt = FileConnector(tmp_path, clock=lambda: NOW).send(
        DOC, delivery_id="d", idempotency_key="k"
    )
    assert [p.name for p in tmp_path.iterdir()] == [receipt.message_id]
    assert (tmp_path / receipt.message_id).read_bytes() == DOC.content
    assert receipt.message_id.startswith("R_2026_1.peppol-bis3.")
    assert receipt.message_id.endswith(".xml")


def test_sent_at_is_the_clock_time_kept_in_the_mtime(tmp_path: Path) -> None:
    """sent_at is the injected clock's time, to the microsecond, read back from the file."""
    receipt = FileConnector(tmp_path, clock=lambda: NOW).send(
        DOC, delivery_id="d", idempotency_key="k"
    )
    assert receipt.sent_at == NOW


def test_resend_after_restart_returns_same_receipt_and_writes_nothing(tmp_path: Path) -> None:
    """A new instance (a restarted worker) re-sending the same key gets the same receipt."""
    first = FileConnector(tmp_path, clock=lambda: NOW).send(
        DOC, delivery_id="d", idempotency_key="k"
    )
    mtime = (tmp_path / first.message_id).stat().st_mtime_ns
    later = datetime(2027, 1, 1, tzinfo=UTC)
    again = FileConnector(tmp_path, clock=lambda: later).send(
        DOC, delivery_id="d", idempotency_key="k"
    )
    assert again == first
    assert (tmp_path / first.message_id).stat().st_mtime_ns == mtime


def test_missing_folder_is_configuration_invalid(tmp_path: Path) -> None:
    """A folder that does not exist fails permanently (FAILED), chained to the OSError."""
    with pytest.raises(ConfigurationInvalid) as caught:
        FileConnector(tmp_path / "absent").send(DOC, delivery_id="d", idempotency_key="k")
    assert isinstance(caught.value.__cause__, OSError)
    assert caught.value.resulting_state == "FAILED"


def test_create_makes_the_folder(tmp_path: Path) -> None:
    """With create=true the folder is made on first send."""
    FileConnector(tmp_path / "a" / "b", create=True).send(DOC, delivery_id="d", idempotency_key="k")
    assert len(list((tmp_path / "a" / "b").iterdir())) == 1


def test_permission_denied_is_authentication_failed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Permission denied while writing is AuthenticationFailed (permanent), chained to the cause."""

    def denied(*args: object, **kwargs: object) -> None:
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr("connectors.file.open", denied, raising=False)
    with pytest.raises(AuthenticationFailed) as caught:
        FileConnector(tmp_path).send(DOC, delivery_id="d", idempotency_key="k")
    assert isinstance(caught.value.__cause__, PermissionError)
    assert list(tmp_path.iterdir()) == []


def test_os_error_policy() -> None:
    """OSErrors map by kind: permission -> AuthenticationFailed, disk full -> transient."""
    assert isinstance(from_os_error(PermissionError(errno.EACCES, "no"), "x"), AuthenticationFailed)
    full = from_os_error(OSError(errno.ENOSPC, "full"), "x")
    assert isinstance(full, RemoteUnavailable) and full.retryable
    gone = from_os_error(FileNotFoundError(errno.ENOENT, "gone"), "x")
    assert isinstance(gone, ConfigurationInvalid)


def test_concurrent_sends_of_one_key_leave_one_file_and_one_receipt(tmp_path: Path) -> None:
    """Racing sends of the same key (two workers) leave one file; every caller gets its receipt."""
    connector = FileConnector(tmp_path, clock=lambda: NOW)

    def send(_: int) -> object:
        return connector.send(DOC, delivery_id="d", idempotency_key="k")

    with ThreadPoolExecutor(max_workers=8) as pool:
        receipts = set(pool.map(send, range(32)))
    assert len(receipts) == 1
    assert len(list(tmp_path.iterdir())) == 1


def test_move_onto_an_existing_file_keeps_it(tmp_path: Path) -> None:
    """The final move never replaces a file a concurrent send put there first."""
    winner, temp = tmp_path / "doc.xml", tmp_path / ".doc.tmp"
    winner.write_bytes(b"first")
    temp.write_bytes(b"second")
    _place(temp, winner)
    assert winner.read_bytes() == b"first"
