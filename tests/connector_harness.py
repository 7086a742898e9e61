"""Harnesses for the connector contract suite (tests/test_connectors_contract.py).

A connector joins the suite with a module ``tests/harness_<name>.py`` defining

    NAME = "sftp"

    @contextlib.contextmanager
    def harness(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Harness]:
        ...start a real peer on loopback (or take a session fixture via
        request.getfixturevalue), build the connector with ``clock=clock``...
        yield Harness(connector, break_next=..., stall_next=...)

``break_next`` makes the next send fail underneath with a foreign (non-gateway) exception;
``stall_next`` (optional) makes the peer stop answering so the connector's timeout fires.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from connectors.base import Connector
from gateway.document import Document

NOW = datetime(2026, 11, 24, 12, 30, 15, 123456, tzinfo=UTC)


def clock() -> datetime:
    """The contract suite's fixed clock (receipts must carry it as ``sent_at``)."""
    return NOW


@dataclass
class Harness:
    connector: Connector
    break_next: Callable[[], None]
    stall_next: Callable[[], None] | None = None


HarnessFactory = Callable[[pytest.FixtureRequest, Path], AbstractContextManager[Harness]]


def discovered() -> dict[str, HarnessFactory]:
    """Every ``tests/harness_*.py`` module's NAME -> harness factory."""
    found: dict[str, HarnessFactory] = {}
    for path in sorted(Path(__file__).parent.glob("harness_*.py")):
        module = importlib.import_module(path.stem)
        found[module.NAME] = module.harness
    return found


def document(number: str = "INV-1", content: bytes = b"<Invoice>1</Invoice>") -> Document:
    """A small UBL-looking document for contract sends."""
    return Document(content=content, syntax="ubl", format="peppol-bis3", invoice_number=number)
