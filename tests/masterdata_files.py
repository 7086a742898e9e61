"""Small seller files, buyer profiles and a record lacking master-data terms, for the tests."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

ACME = """
description = "ACME Lieferant GmbH"

[ids]
vat_ids = ["DE123456789"]

[defaults.seller]
electronic_address = { scheme = "0088", value = "4012345000016" }
legal_info = "Amtsgericht Berlin HRB 1"

[defaults.seller.address]
line1 = "Lieferstraße 1"
city = "Berlin"
post_code = "10115"
country = "DE"

[defaults.seller.contact]
name = "Buchhaltung"
phone = "+49 30 1"
email = "rechnung@acme.example"

[defaults.payment]
means_code = "58"
means_text = "SEPA credit transfer"

[[defaults.payment.credit_transfers]]
account_id = "DE75512108001245126199"
provider_id = "SSKMDEMMXXX"

[defaults]
payment_terms = "30 Tage netto"
"""

BUYER = """
format = "xrechnung-ubl"

[ids]
vat_ids = ["DE999999999"]

[defaults]
buyer_reference = "04011000-12345-34"

[defaults.buyer]
electronic_address = { scheme = "0204", value = "04011000-12345-34" }

[defaults.buyer.contact]
name = "Zentrale Beschaffung"
email = "einkauf@kunde.example"

[channel]
connector = "file"
options = { directory = "OUT", create = true }
"""


def write(folder: Path, name: str, text: str) -> Path:
    """``text`` as ``folder/name.toml`` (folder created)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.toml"
    path.write_text(text, encoding="utf-8")
    return path


def buyer_profile(folder: Path, out: Path, name: str = "kunde", text: str = BUYER) -> Path:
    """A buyer profile whose file channel writes into ``out``."""
    return write(folder, name, text.replace("OUT", str(out)))


ROOT = Path(__file__).resolve().parent.parent
SELLERS = ROOT / "config" / "sellers"
NORDLICHT = str(SELLERS / "nordlicht-buerotechnik.toml")

MUSTERHAUSEN = """
format = "xrechnung-ubl"

[ids]
glns = ["4006381333931"]

[defaults]
buyer_reference = "04011000-1234512345-06"

[defaults.buyer]
electronic_address = { scheme = "0204", value = "04011000-1234512345-06" }

[channel]
connector = "file"
options = { directory = "OUT", create = true }
"""


def lacking_record(**seller: Any) -> dict[str, Any]:
    """NB-2026-10001 as an ERP without fields for BT-34, BT-41..43, BT-49 and BT-10 exports it."""
    data: list[dict[str, Any]] = json.loads((ROOT / "examples" / "erp-export.json").read_text())
    record = data[0]
    for key in ("electronic_address", "contact"):
        del record["seller"][key]
    record["seller"].update(seller)
    del record["buyer"]["electronic_address"]
    del record["buyer_reference"]
    return record
