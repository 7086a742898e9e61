"""The example ERP record of the record JSON Schema (``examples`` in ``igw schema``).

One complete invoice in the record format: parties with addresses, contacts and identifiers,
invoicing and delivery details, a document allowance and charge, lines with a line allowance,
item classification and attributes, payment by SEPA credit transfer, a supporting document. It
leaves out what the gateway computes (line net amounts, VAT breakdown amounts, totals) and
translates into every built-in format without a finding (``tests/test_schema_descriptions.py``).
"""

from __future__ import annotations

from typing import Any

EXAMPLE_RECORD: dict[str, Any] = {
    "number": "NB-2026-10042",
    "issue_date": "2026-10-05",
    "type_code": "380",
    "currency": "EUR",
    "due_date": "2026-11-04",
    "buyer_reference": "04011000-1234512345-06",
    "project_reference": "PRJ-2026-7",
    "contract_reference": "RV-2025-017",
    "purchase_order_reference": "BE-2026-4471",
    "payment_terms": "Zahlbar innerhalb von 30 Tagen ohne Abzug.",
    "notes": [{"text": "Lieferung gemäß Rahmenvertrag RV-2025-017.", "subject_code": "AAI"}],
    "business_process": "urn:fdc:peppol.eu:2017:poacc:billing:01:1.0",
    "seller": {
        "name": "Nordlicht Bürotechnik GmbH",
        "trading_name": "Nordlicht",
        "identifiers": [{"value": "4012345000016", "scheme": "0088"}],
        "legal_registration": {"value": "HRB 123456 B"},
        "vat_id": "DE123456789",
        "tax_registration_id": "27/123/45678",
        "legal_info": "Geschäftsführer: Jana Lindqvist, Amtsgericht Charlottenburg HRB 123456 B",
        "electronic_address": {"value": "4012345000016", "scheme": "0088"},
        "address": {
            "line1": "Friedrichstraße 120",
            "line2": "Aufgang B",
            "city": "Berlin",
            "post_code": "10117",
            "subdivision": "Berlin",
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
        "identifier": {"value": "4006381333931", "scheme": "0088"},
        "electronic_address": {"value": "04011000-1234512345-06", "scheme": "0204"},
        "address": {
            "line1": "Rathausplatz 1",
            "city": "Musterhausen",
            "post_code": "12345",
            "country": "DE",
        },
        "contact": {
            "name": "Petra Schulz",
            "phone": "+49 1234 56-789",
            "email": "zentrale.dienste@musterhausen.de",
        },
    },
    "delivery": {
        "party_name": "Stadt Musterhausen – Poststelle",
        "date": "2026-10-02",
        "address": {
            "line1": "Rathausplatz 1",
            "city": "Musterhausen",
            "post_code": "12345",
            "country": "DE",
        },
    },
    "invoice_period": {"start": "2026-09-01", "end": "2026-09-30"},
    "payment": {
        "means_code": "58",
        "means_text": "SEPA credit transfer",
        "remittance_info": "NB-2026-10042",
        "credit_transfers": [
            {
                "account_id": "DE75120300001020304050",
                "account_name": "Nordlicht Bürotechnik GmbH",
                "provider_id": "BYLADEM1001",
            }
        ],
    },
    "allowances": [
        {
            "amount": "10.00",
            "vat_category": "S",
            "vat_rate": "19",
            "reason": "Treuerabatt",
            "reason_code": "95",
        }
    ],
    "charges": [
        {
            "amount": "5.00",
            "vat_category": "S",
            "vat_rate": "19",
            "reason": "Verpackung",
            "reason_code": "ABL",
        }
    ],
    "vat_breakdown": [{"category": "S", "rate": "19"}, {"category": "S", "rate": "7"}],
    "supporting_documents": [
        {
            "reference": "LS-2026-0815",
            "description": "Lieferschein",
            "external_uri": "https://nordlicht-buero.de/lieferscheine/LS-2026-0815",
        }
    ],
    "lines": [
        {
            "id": "1",
            "note": "Karton zu 5 Paketen",
            "quantity": "40",
            "unit": "XPK",
            "order_line_reference": "10",
            "price": {"net": "4.35", "gross": "4.50", "discount": "0.15"},
            "allowances": [{"amount": "4.00", "reason": "Mengenrabatt", "reason_code": "95"}],
            "vat_category": "S",
            "vat_rate": "19",
            "item": {
                "name": "Kopierpapier A4, 80 g/m², 500 Blatt",
                "description": "Holzfrei, weiß, FSC-zertifiziert",
                "seller_id": "KP-A4-80",
                "buyer_id": "MAT-000812",
                "standard_id": {"value": "4000000000013", "scheme": "0160"},
                "classifications": [{"value": "44121612", "scheme": "STI", "version": "23"}],
                "origin_country": "DE",
                "attributes": [{"name": "Grammatur", "value": "80 g/m²"}],
            },
        },
        {
            "id": "2",
            "quantity": "3",
            "unit": "C62",
            "period": {"start": "2026-09-01", "end": "2026-09-30"},
            "price": {"net": "39.80"},
            "vat_category": "S",
            "vat_rate": "7",
            "item": {"name": "Fachbuch „Verwaltungsrecht kompakt“, 5. Auflage"},
        },
    ],
}
