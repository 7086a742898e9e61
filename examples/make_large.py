"""Write examples/large-1000-lines.json: one invoice with 1,000 lines (a month of deliveries).

Deterministic (no clock, no randomness): running it again gives the same bytes.
Usage: python examples/make_large.py [OUTPUT]
"""

from __future__ import annotations

import json
import sys
from decimal import Decimal
from pathlib import Path

LINES = 1000
ARTICLES = [
    ("Kopierpapier A4, 80 g/m², 500 Blatt", "XPK", Decimal("4.35"), "19"),
    ("Toner schwarz für LaserJet M507", "C62", Decimal("89.90"), "19"),
    ("Kugelschreiber blau", "C62", Decimal("0.38"), "19"),
    ("Aktenordner 8 cm, blau", "C62", Decimal("2.19"), "19"),
    ("Fachzeitschrift Verwaltung, Einzelheft", "C62", Decimal("12.80"), "7"),
    ("Haftnotizen 76×76 mm, 12 Blöcke", "XPK", Decimal("6.95"), "19"),
    ("Kaffeebohnen 1 kg", "KGM", Decimal("17.40"), "7"),
]


def make_invoice() -> dict[str, object]:
    """The large invoice record; totals are left out (intake computes them)."""
    lines = []
    for n in range(1, LINES + 1):
        name, unit, price, rate = ARTICLES[n % len(ARTICLES)]
        quantity = Decimal(1 + (n * 7) % 23)
        day = 1 + (n - 1) * 30 // LINES
        lines.append(
            {
                "id": str(n),
                "note": f"Lieferschein LS-2026-{10000 + n}",
                "quantity": str(quantity),
                "unit": unit,
                "price": {"net": str(price)},
                "vat_category": "S",
                "vat_rate": rate,
                "order_line_reference": str(n),
                "period": {"start": f"2026-11-{day:02d}", "end": f"2026-11-{day:02d}"},
                "item": {"name": name, "seller_id": f"ART-{n % len(ARTICLES):03d}"},
            }
        )
    return {
        "number": "NB-2026-11000",
        "issue_date": "2026-12-01",
        "type_code": "380",
        "currency": "EUR",
        "due_date": "2026-12-31",
        "buyer_reference": "04011000-1234512345-06",
        "purchase_order_reference": "RV-2025-017-SAMMEL",
        "payment_terms": "Sammelrechnung November 2026, zahlbar innerhalb von 30 Tagen.",
        "business_process": "urn:fdc:peppol.eu:2017:poacc:billing:01:1.0",
        "invoice_period": {"start": "2026-11-01", "end": "2026-11-30"},
        "seller": {
            "name": "Nordlicht Bürotechnik GmbH",
            "legal_registration": {"value": "HRB 123456 B"},
            "vat_id": "DE123456789",
            "electronic_address": {"value": "4012345000016", "scheme": "0088"},
            "address": {
                "line1": "Friedrichstraße 120",
                "city": "Berlin",
                "post_code": "10117",
                "country": "DE",
            },
            "contact": {
                "name": "Jana Lindqvist",
                "phone": "+49 30 1234567-0",
                "email": "rechnung@nordlicht-buero.de",
            },
        },
        "buyer": {
            "name": "Stadt Musterhausen – Amt für Zentrale Dienste",
            "electronic_address": {"value": "04011000-1234512345-06", "scheme": "0204"},
            "address": {
                "line1": "Rathausplatz 1",
                "city": "Musterhausen",
                "post_code": "12345",
                "country": "DE",
            },
        },
        "payment": {
            "means_code": "58",
            "remittance_info": "NB-2026-11000",
            "credit_transfers": [
                {
                    "account_id": "DE75120300001020304050",
                    "account_name": "Nordlicht Bürotechnik GmbH",
                }
            ],
        },
        "lines": lines,
    }


def main(argv: list[str]) -> None:
    """Write the record as JSON (UTF-8, one space indent) to argv[1] or next to this script."""
    target = Path(argv[1]) if len(argv) > 1 else Path(__file__).with_name("large-1000-lines.json")
    text = json.dumps(make_invoice(), indent=1, ensure_ascii=False) + "\n"
    target.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main(sys.argv)
