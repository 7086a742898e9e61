"""Documents and connectors for the e-mail tests (tests/test_email_*.py)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from builders import simple_invoice
from harness_smtp import PASSWORD, USER, Pki, SmtpServer

from connectors.email import EmailConnector
from gateway.document import Document
from gateway.profiles.profile import BuyerProfile
from gateway.registry import resolve_mapping
from gateway.totals import complete

T0 = dt.datetime(2026, 12, 3, 9, 30, tzinfo=dt.UTC)


def ubl_document(number: str = "INV-1", **changes: Any) -> Document:
    """A real Peppol BIS 3 document of a simple invoice (35.70 EUR due)."""
    invoice = complete(simple_invoice(number=number, **changes))
    rendered = resolve_mapping("peppol-bis3").render(
        invoice, BuyerProfile(name="kunde", format="peppol-bis3")
    )
    assert isinstance(rendered, Document)
    return rendered


def connector(server: SmtpServer, pki: Pki, **options: Any) -> EmailConnector:
    """A connector for ``server`` (its security, AUTH as the test user, the test CA)."""
    settings: dict[str, Any] = {
        "host": "127.0.0.1",
        "port": server.port,
        "security": server.security,
        "from_address": "invoices@seller.example",
        "to": "ap@kunde.example",
        "timeout": 5.0,
        "clock": lambda: T0,
    }
    if server.security != "none":
        settings |= {"username": USER, "password": PASSWORD, "ca_file": str(pki.ca_file)}
    settings |= options
    return EmailConnector(**settings)
