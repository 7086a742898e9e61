"""Routing: the buyer profile for an invoice — buyer id > buyer group > default.

Like Bots' translation lookup, the most specific entry wins. Among buyer ids the order is
ERP customer number (BT-46) > Peppol id (BT-49 ``scheme:value``) > GLN (scheme 0088 on BT-46,
BT-47 or BT-49) > VAT id (BT-48): an ERP account or an endpoint names one receiving unit, a VAT
id a whole legal entity that may have several. Among groups, the one with more criteria wins;
two equally specific groups matching one invoice is a :class:`ConfigError` naming both.
"""

from __future__ import annotations

from gateway.errors import ConfigError, InvoiceRejected, Problem
from gateway.model import Identifier, Invoice
from gateway.profiles.load import ProfileSet
from gateway.profiles.profile import BuyerProfile, normalise_peppol_id, normalise_vat_id

GLN_SCHEME = "0088"


def buyer_ids(invoice: Invoice) -> list[tuple[str, str]]:
    """(id kind, normalised value) the invoice's buyer carries, most specific kind first."""
    buyer = invoice.buyer
    ids: list[tuple[str, str]] = []
    if buyer.identifier is not None:
        ids.append(("erp_customer_number", buyer.identifier.value.strip()))
    address = buyer.electronic_address
    if address is not None and address.scheme:
        ids.append(("peppol_id", normalise_peppol_id(f"{address.scheme}:{address.value}")))
    carried: list[Identifier | None] = [buyer.identifier, buyer.legal_registration, address]
    glns = [i.value.strip() for i in carried if i is not None and i.scheme == GLN_SCHEME]
    ids.extend(("gln", value) for value in dict.fromkeys(glns))
    if buyer.vat_id:
        ids.append(("vat_id", normalise_vat_id(buyer.vat_id)))
    return ids


def _group_matches(profile: BuyerProfile, invoice: Invoice) -> bool:
    group = profile.group
    if group is None:
        return False
    buyer = invoice.buyer
    if group.countries and buyer.address.country.upper() not in group.countries:
        return False
    if group.address_schemes:
        scheme = buyer.electronic_address.scheme if buyer.electronic_address else None
        if scheme not in group.address_schemes:
            return False
    return True


def _specificity(profile: BuyerProfile) -> int:
    group = profile.group
    return 0 if group is None else bool(group.countries) + bool(group.address_schemes)


def route(invoice: Invoice, profiles: ProfileSet) -> BuyerProfile:
    """The most specific profile for ``invoice``: buyer id > buyer group > default.

    Raises :class:`InvoiceRejected` (naming the invoice, the buyer's ids and what would be
    accepted) when nothing matches and there is no default profile, and :class:`ConfigError`
    when two equally specific groups match.
    """
    for key in buyer_ids(invoice):
        found = profiles.by_id.get(key)
        if found is not None:
            return found
    matching = [p for p in profiles.groups if _group_matches(p, invoice)]
    if matching:
        best = max(_specificity(p) for p in matching)
        top = [p for p in matching if _specificity(p) == best]
        if len(top) > 1:
            names = ", ".join(f"{p.name!r} ({profiles.sources.get(p.name, '?')})" for p in top)
            raise ConfigError(
                f"invoice {invoice.number}: buyer groups {names} all match equally; "
                "give one of them a further criterion or the buyer its own profile"
            )
        return top[0]
    if profiles.default is not None:
        return profiles.default
    carried = ", ".join(f"{kind}={value}" for kind, value in buyer_ids(invoice)) or "none"
    raise InvoiceRejected(
        invoice.number,
        [
            Problem(
                record=invoice.number,
                path="buyer",
                bt="BG-7",
                value=carried,
                rule="ROUTING",
                message="no buyer profile claims this buyer and there is no default profile",
                accepted=f"a buyer id, group or default = true in {profiles.where()}",
            )
        ],
    )
