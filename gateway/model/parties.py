"""The parties of an invoice.

Seller (BG-4), buyer (BG-7), payee (BG-10), seller tax representative (BG-11), delivery (BG-13).
"""

from __future__ import annotations

import datetime as dt

from pydantic import Field

from gateway.model.base import Address, Contact, Identifier, Value, bt


class Seller(Value):
    """BG-4 Seller."""

    name: str = Field(min_length=1, **bt("BT-27", "Seller name"))
    trading_name: str | None = Field(default=None, **bt("BT-28", "Seller trading name"))
    identifiers: tuple[Identifier, ...] = Field(default=(), **bt("BT-29", "Seller identifier"))
    legal_registration: Identifier | None = Field(
        default=None, **bt("BT-30", "Seller legal registration identifier")
    )
    vat_id: str | None = Field(default=None, **bt("BT-31", "Seller VAT identifier"))
    tax_registration_id: str | None = Field(
        default=None, **bt("BT-32", "Seller tax registration identifier")
    )
    legal_info: str | None = Field(
        default=None, **bt("BT-33", "Seller additional legal information")
    )
    electronic_address: Identifier | None = Field(
        default=None, **bt("BT-34", "Seller electronic address")
    )
    address: Address = Field(
        **bt(
            "BG-5",
            "Seller postal address",
            line1="BT-35",
            line2="BT-36",
            line3="BT-162",
            city="BT-37",
            post_code="BT-38",
            subdivision="BT-39",
            country="BT-40",
        )
    )
    contact: Contact | None = Field(
        default=None,
        **bt("BG-6", "Seller contact", name="BT-41", phone="BT-42", email="BT-43"),
    )


class Buyer(Value):
    """BG-7 Buyer."""

    name: str = Field(min_length=1, **bt("BT-44", "Buyer name"))
    trading_name: str | None = Field(default=None, **bt("BT-45", "Buyer trading name"))
    identifier: Identifier | None = Field(default=None, **bt("BT-46", "Buyer identifier"))
    legal_registration: Identifier | None = Field(
        default=None, **bt("BT-47", "Buyer legal registration identifier")
    )
    vat_id: str | None = Field(default=None, **bt("BT-48", "Buyer VAT identifier"))
    electronic_address: Identifier | None = Field(
        default=None, **bt("BT-49", "Buyer electronic address")
    )
    address: Address = Field(
        **bt(
            "BG-8",
            "Buyer postal address",
            line1="BT-50",
            line2="BT-51",
            line3="BT-163",
            city="BT-52",
            post_code="BT-53",
            subdivision="BT-54",
            country="BT-55",
        )
    )
    contact: Contact | None = Field(
        default=None,
        **bt("BG-9", "Buyer contact", name="BT-56", phone="BT-57", email="BT-58"),
    )


class Payee(Value):
    """BG-10 Payee, when different from the seller."""

    name: str = Field(min_length=1, **bt("BT-59", "Payee name"))
    identifier: Identifier | None = Field(default=None, **bt("BT-60", "Payee identifier"))
    legal_registration: Identifier | None = Field(
        default=None, **bt("BT-61", "Payee legal registration identifier")
    )


class TaxRepresentative(Value):
    """BG-11 Seller tax representative party."""

    name: str = Field(min_length=1, **bt("BT-62", "Seller tax representative name"))
    vat_id: str = Field(min_length=1, **bt("BT-63", "Seller tax representative VAT identifier"))
    address: Address = Field(
        **bt(
            "BG-12",
            "Seller tax representative postal address",
            line1="BT-64",
            line2="BT-65",
            line3="BT-164",
            city="BT-66",
            post_code="BT-67",
            subdivision="BT-68",
            country="BT-69",
        )
    )


class Delivery(Value):
    """BG-13 Delivery information."""

    party_name: str | None = Field(default=None, **bt("BT-70", "Deliver to party name"))
    location: Identifier | None = Field(
        default=None, **bt("BT-71", "Deliver to location identifier")
    )
    date: dt.date | None = Field(default=None, **bt("BT-72", "Actual delivery date"))
    address: Address | None = Field(
        default=None,
        **bt(
            "BG-15",
            "Deliver to address",
            line1="BT-75",
            line2="BT-76",
            line3="BT-165",
            city="BT-77",
            post_code="BT-78",
            subdivision="BT-79",
            country="BT-80",
        ),
    )
