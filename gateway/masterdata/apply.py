"""Fill the terms a source left out from master data; never overwrite what it gave.

:func:`apply_seller` takes the defaults of the seller's file (:mod:`gateway.masterdata.sellers`),
:func:`apply_buyer` those of the buyer profile (``BuyerProfile.defaults``);
:func:`apply_master_data` does both. Each is pure: a new :class:`Invoice` comes back with every
filled term recorded in ``Invoice.provenance`` (``source="master-data"``, ``detail`` = the file),
plus the conflicts found.

A term is filled only when the source left it out (absent, blank or an empty list). A value the
source gives that differs from master data is a **conflict**: the source's value is kept and a
``MASTER-DATA`` problem flagged ``warning`` names the record, field path, BT id, the source's
value and master data's. It is a warning, not an error, because the source is the seller's own
statement for this one invoice (a refund to another account, a factoring payee, a new contact)
and master data is a default that may be stale; the warning is on the submit report and on the
invoice's timeline, so stale master data gets noticed without stopping invoices.

Guards keep filled parts consistent with what the source gave: address parts are filled only
into an address in master data's country (BT-40 / BT-55), the payment means text and account
(BT-82, BG-17) only when the invoice's payment means code (BT-81) is master data's (or there
were no payment instructions at all). A guard that differs is no conflict: that part of master
data does not apply to this invoice (a card payment, an invoice from another country's branch)
and nothing below it is filled or reported. Payment defaults apply to invoices only, never to
credit notes (a refund goes to the buyer's account, not the seller's). Free texts that are
worded per invoice (BT-20 payment terms, BT-82 payment means text) are filled when absent,
but a different text is no conflict.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ValidationError

from gateway.errors import Problem
from gateway.masterdata.sellers import AmbiguousSeller, SellerMasterData, SellerSet
from gateway.model import Invoice, TermSource, bt_of
from gateway.profiles.profile import BuyerProfile, normalise_vat_id

RULE = "MASTER-DATA"
KEPT = "; the source's value is kept"

TermKind = Literal["value", "identifier", "group"]


@dataclass(frozen=True)
class Term:
    """One term master data may fill: its field path, how it compares, what it guards.

    ``identifier``: value + scheme as one term (a scheme the source left out is filled when
    the values agree); ``group``: a whole group or list, filled only when the source has none;
    ``guards``: a different value here is no conflict but means nothing whose path starts with
    ``guards`` applies; ``quiet``: a free text whose different wording is no conflict;
    ``invoices_only``: skipped (with what it guards) on credit notes.
    """

    path: str
    kind: TermKind = "value"
    guards: str = ""
    quiet: bool = False
    invoices_only: bool = False


def _party_terms(party: str) -> tuple[Term, ...]:
    return (
        Term(f"{party}.address.country", guards=f"{party}.address."),
        *(
            Term(f"{party}.address.{part}")
            for part in ("line1", "line2", "line3", "city", "post_code", "subdivision")
        ),
        *(Term(f"{party}.contact.{part}") for part in ("name", "phone", "email")),
    )


SELLER_TERMS: tuple[Term, ...] = (
    Term("seller.trading_name"),
    Term("seller.legal_registration", "identifier"),
    Term("seller.vat_id"),
    Term("seller.tax_registration_id"),
    Term("seller.legal_info"),
    Term("seller.electronic_address", "identifier"),
    *_party_terms("seller"),
    Term("payment_terms", quiet=True),
    Term("payment.means_code", guards="payment.", invoices_only=True),
    Term("payment.means_text", quiet=True),
    Term("payment.credit_transfers", "group"),
    Term("payee", "group"),
)
"""What seller master data may fill, in the order it is applied (guards first)."""

BUYER_TERMS: tuple[Term, ...] = (
    Term("buyer.trading_name"),
    Term("buyer.identifier", "identifier"),
    Term("buyer.legal_registration", "identifier"),
    Term("buyer.vat_id"),
    Term("buyer.electronic_address", "identifier"),
    *_party_terms("buyer"),
    Term("buyer_reference"),
    Term("buyer_accounting_reference"),
)
"""What a buyer profile's ``[defaults]`` may fill."""


def apply_seller(
    invoice: Invoice, seller: SellerMasterData | None, *, source: str, record: str | None = None
) -> tuple[Invoice, tuple[Problem, ...]]:
    """``invoice`` with the absent seller terms filled from ``seller`` (from file ``source``)."""
    if seller is None:
        return invoice, ()
    return _apply(invoice, seller.defaults, SELLER_TERMS, source, record or invoice.number)


def apply_buyer(
    invoice: Invoice, profile: BuyerProfile | None, *, source: str, record: str | None = None
) -> tuple[Invoice, tuple[Problem, ...]]:
    """``invoice`` with the absent buyer terms filled from the profile's ``[defaults]``."""
    if profile is None:
        return invoice, ()
    return _apply(invoice, profile.defaults, BUYER_TERMS, source, record or invoice.number)


def apply_master_data(
    invoice: Invoice,
    seller: SellerMasterData | None,
    profile: BuyerProfile | None,
    *,
    seller_source: str = "seller master data",
    profile_source: str = "buyer profile",
    record: str | None = None,
) -> tuple[Invoice, tuple[Problem, ...]]:
    """Seller master data, then the buyer profile's defaults; the conflicts of both."""
    invoice, first = apply_seller(invoice, seller, source=seller_source, record=record)
    invoice, second = apply_buyer(invoice, profile, source=profile_source, record=record)
    return invoice, first + second


def fill_from_sellers(
    invoice: Invoice, sellers: SellerSet, *, record: str
) -> tuple[Invoice, tuple[Problem, ...]]:
    """Find the invoice's seller in ``sellers`` and apply its defaults.

    Ids leading to several seller files give one fatal ``MASTER-DATA`` problem naming them
    (nothing is filled)."""
    if not len(sellers):
        return invoice, ()
    try:
        seller = sellers.find(invoice)
    except AmbiguousSeller as exc:
        return invoice, (
            Problem(
                record,
                "seller",
                "BG-4",
                None,
                RULE,
                str(exc),
                accepted="seller ids that lead to one file of the sellers folder",
            ),
        )
    if seller is None:
        return invoice, ()
    return apply_seller(invoice, seller, source=sellers.source(seller), record=record)


# -- the merge -----------------------------------------------------------------------------


def _apply(
    invoice: Invoice, defaults: BaseModel, terms: Sequence[Term], source: str, record: str
) -> tuple[Invoice, tuple[Problem, ...]]:
    given = defaults.model_dump(exclude_none=True)
    if not given:
        return invoice, ()
    # Only the parts master data may touch are dumped; the lines stay the validated values
    # they are (a 1,000-line invoice is not re-validated to fill its seller's endpoint).
    data: dict[str, Any] = {name: getattr(invoice, name) for name in Invoice.model_fields}
    for root in {term.path.split(".", 1)[0] for term in terms}:
        value = data[root]
        data[root] = value.model_dump() if isinstance(value, BaseModel) else value
    filled: list[TermSource] = []
    conflicts: list[Problem] = []
    blocked: list[str] = []
    for term in terms:
        if any(term.path.startswith(prefix) for prefix in blocked):
            continue
        if term.invoices_only and invoice.is_credit_note:
            blocked.append(term.guards or term.path)
            continue
        parts = term.path.split(".")
        default = _get(given, parts)
        if _absent(default):
            continue
        current = _get(data, parts)
        if _absent(current):
            _set(data, parts, default)
            filled.append(_source(term.path, source))
            continue
        if term.kind == "identifier" and _same_value(current, default):
            if not current.get("scheme") and default.get("scheme"):
                _set(data, [*parts, "scheme"], default["scheme"])
                filled.append(_source(f"{term.path}.scheme", source))
            elif default.get("scheme") and current.get("scheme") != default["scheme"]:
                conflicts.append(_conflict(record, term.path, current, default, source))
            continue
        if _equal(term, current, default):
            continue
        if term.guards:
            blocked.append(term.guards)
        elif not term.quiet:
            conflicts.append(_conflict(record, term.path, current, default, source))
    if not filled:
        return invoice, tuple(conflicts)
    data["provenance"] = (*invoice.provenance, *filled)
    try:
        return Invoice.model_validate(data), tuple(conflicts)
    except ValidationError as exc:  # master data that the invoice model refuses in this place
        problem = Problem(
            record,
            "",
            None,
            None,
            RULE,
            f"master data ({source}) does not fit this invoice: {exc.errors()[0]['msg']} at "
            f"{'.'.join(str(p) for p in exc.errors()[0]['loc'])}",
            flag="fatal",
        )
        return invoice, (*conflicts, problem)


def _source(path: str, source: str) -> TermSource:
    return TermSource(path=path, bt=bt_of(path), source="master-data", detail=source)


def _absent(value: object) -> bool:
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    if isinstance(value, (tuple, list, dict)):
        return not value
    return False


def _get(data: Any, parts: Sequence[str]) -> Any:
    for part in parts:
        if not isinstance(data, dict):
            return None
        data = data.get(part)
    return data


def _set(data: dict[str, Any], parts: Sequence[str], value: Any) -> None:
    for part in parts[:-1]:
        child = data.get(part)
        if not isinstance(child, dict):
            child = {}
            data[part] = child
        data = child
    data[parts[-1]] = value


def _same_value(current: Any, default: Any) -> bool:
    return str(current.get("value", "")).strip() == str(default.get("value", "")).strip()


def _clean(value: Any) -> Any:
    """``value`` without None entries, sequences as lists: groups compare by what they say."""
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items() if v is not None and v != ()}
    if isinstance(value, (tuple, list)):
        return [_clean(v) for v in value]
    return value.strip() if isinstance(value, str) else value


def _equal(term: Term, current: Any, default: Any) -> bool:
    if term.path.endswith("vat_id") and isinstance(current, str) and isinstance(default, str):
        return normalise_vat_id(current) == normalise_vat_id(default)
    return bool(_clean(current) == _clean(default))


def show(value: Any) -> str:
    """A term's value for people: ``scheme:value`` for identifiers, compact JSON for groups."""
    if isinstance(value, dict) and set(value) <= {"value", "scheme"} and "value" in value:
        return f"{value['scheme']}:{value['value']}" if value.get("scheme") else str(value["value"])
    if isinstance(value, (dict, list, tuple)):
        return json.dumps(_clean(value), ensure_ascii=False, default=str)
    return str(value)


def _conflict(record: str, path: str, current: Any, default: Any, source: str) -> Problem:
    return Problem(
        record=record,
        path=path,
        bt=bt_of(path),
        value=show(current),
        rule=RULE,
        message=f"master data ({source}) says {show(default)!r}{KEPT}",
        accepted="the value master data gives, or none (then master data fills it)",
        flag="warning",
    )
