"""The defaults master data may give, keyed like the canonical invoice's field paths.

Under ``[defaults]`` of a seller file (``config/sellers/*.toml``) and of a buyer profile
(``config/buyers/*.toml``) every key is the field path of the term in the canonical invoice
(``igw parse`` / ``igw schema`` show the same names): ``defaults.seller.electronic_address``
is BT-34, ``defaults.buyer_reference`` BT-10. Identifiers are tables ``{ value = "...",
scheme = "..." }`` like in the record format. Only terms a source typically cannot carry are
offered; everything else (amounts, lines, dates, references of one invoice) comes from the
source alone.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from gateway.model import Contact, CreditTransfer, Identifier, Payee


class _Defaults(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)


def _country(value: str) -> str:
    if not re.fullmatch(r"[A-Za-z]{2}", value):
        raise ValueError("not an ISO 3166-1 alpha-2 country code (e.g. DE)")
    return value.upper()


def _means_code(value: str) -> str:
    if not re.fullmatch(r"\d{1,3}|ZZZ", value):
        raise ValueError("not a UNTDID 4461 payment means code (e.g. 30, 58 SEPA credit transfer)")
    return value


Text = Annotated[str, Field(min_length=1)]


class AddressDefaults(_Defaults):
    """Address parts (BT-35..39 seller, BT-50..54 buyer). ``country`` (BT-40 / BT-55) is a
    guard: the parts are filled only into an address of that country (the source always gives
    the country); a different country is a conflict and no part is filled."""

    line1: Text | None = None
    line2: Text | None = None
    line3: Text | None = None
    city: Text | None = None
    post_code: Text | None = None
    subdivision: Text | None = None
    country: Annotated[str, AfterValidator(_country)] | None = None


class SellerPartyDefaults(_Defaults):
    """``[defaults.seller]``: BG-4 terms of the seller."""

    trading_name: Text | None = None  # BT-28
    legal_registration: Identifier | None = None  # BT-30 (+ scheme BT-30-1)
    vat_id: Text | None = None  # BT-31
    tax_registration_id: Text | None = None  # BT-32
    legal_info: Text | None = None  # BT-33
    electronic_address: Identifier | None = None  # BT-34 (+ scheme BT-34-1)
    address: AddressDefaults | None = None  # BT-35..39 (BT-40 guard)
    contact: Contact | None = None  # BT-41, BT-42, BT-43


class PaymentDefaults(_Defaults):
    """``[defaults.payment]``: BG-16. ``means_code`` (BT-81) is required and is a guard: the
    other payment terms are filled only into an invoice whose means code is the same (or that
    has no payment instructions at all)."""

    means_code: Annotated[str, AfterValidator(_means_code)]
    means_text: Text | None = None  # BT-82
    credit_transfers: tuple[CreditTransfer, ...] = ()  # BG-17: BT-84, BT-85, BT-86


class SellerDefaults(_Defaults):
    """``[defaults]`` of a seller file."""

    seller: SellerPartyDefaults | None = None
    payment: PaymentDefaults | None = None
    payee: Payee | None = None  # BG-10: BT-59, BT-60, BT-61
    payment_terms: Text | None = None  # BT-20


class BuyerPartyDefaults(_Defaults):
    """``[defaults.buyer]`` of a buyer profile: BG-7 terms of the buyer."""

    trading_name: Text | None = None  # BT-45
    identifier: Identifier | None = None  # BT-46
    legal_registration: Identifier | None = None  # BT-47
    vat_id: Text | None = None  # BT-48
    electronic_address: Identifier | None = None  # BT-49 (+ scheme BT-49-1)
    address: AddressDefaults | None = None  # BT-50..54 (BT-55 guard)
    contact: Contact | None = None  # BT-56, BT-57, BT-58


class BuyerDefaults(_Defaults):
    """``[defaults]`` of a buyer profile."""

    buyer: BuyerPartyDefaults | None = None
    buyer_reference: Text | None = None  # BT-10 (the Leitweg-ID of German public buyers)
    buyer_accounting_reference: Text | None = None  # BT-19

    def identity_keys(self) -> list[str]:
        """The dotted keys given here that name ONE buyer (ids, endpoint, Leitweg-ID): they
        make sense only on a profile matched by that buyer's ``[ids]``."""
        keys = ["defaults.buyer_reference"] if self.buyer_reference else []
        if self.buyer is not None:
            for name in ("identifier", "legal_registration", "vat_id", "electronic_address"):
                if getattr(self.buyer, name) is not None:
                    keys.append(f"defaults.buyer.{name}")
        return keys
