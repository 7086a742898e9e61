"""Profile options a format can take from the invoice's own parties when the profile is silent.

An EDIFACT interchange is addressed GLN to GLN (UNB sender/recipient, qualifier 14): the seller's
and buyer's GLNs (ISO 6523 ICD 0088) are the natural defaults. cXML credentials default to the
same ids. Options the buyer profile (or ``igw translate --option``) gives always win; a secret
(cXML SharedSecret) is never derived.
"""

from __future__ import annotations

from gateway import __version__
from gateway.model import Buyer, Identifier, Invoice, Seller

GLN_SCHEME = "0088"
# ISO 6523 ICD -> UN/EDIFACT 0007 partner id qualifier (14 = GLN, 1 = DUNS); others: ZZZ.
EDIFACT_QUALIFIER = {GLN_SCHEME: "14", "0060": "1"}
CXML_DOMAIN = {GLN_SCHEME: "GLN", "0060": "DUNS"}


def _party_id(party: Seller | Buyer) -> tuple[str, str] | None:
    """(id, ICD scheme or "VAT"): a GLN first, then a DUNS, the VAT id, any electronic address."""
    ids: list[Identifier] = [
        i
        for i in (
            party.electronic_address,
            party.legal_registration,
            *(party.identifiers if isinstance(party, Seller) else (party.identifier,)),
        )
        if i is not None
    ]
    for scheme in (GLN_SCHEME, "0060"):
        found = next((i.value for i in ids if i.scheme == scheme), None)
        if found is not None:
            return found, scheme
    if party.vat_id:
        return party.vat_id, "VAT"
    if party.electronic_address is not None:
        return party.electronic_address.value, party.electronic_address.scheme or ""
    return None


def derived_options(invoice: Invoice, syntax: str) -> dict[str, str]:
    """Defaults for ``syntax`` (``edifact``, ``cxml``) from the invoice's seller and buyer."""
    seller, buyer = _party_id(invoice.seller), _party_id(invoice.buyer)
    options: dict[str, str] = {}
    if syntax == "edifact":
        if seller is not None:
            options["sender_id"] = seller[0]
            options["sender_qualifier"] = EDIFACT_QUALIFIER.get(seller[1], "ZZZ")
        if buyer is not None:
            options["recipient_id"] = buyer[0]
            options["recipient_qualifier"] = EDIFACT_QUALIFIER.get(buyer[1], "ZZZ")
    elif syntax == "cxml":
        if seller is not None:
            domain = CXML_DOMAIN.get(seller[1], "VATID" if seller[1] == "VAT" else "NetworkID")
            options.update(from_domain=domain, from_identity=seller[0])
            options.update(sender_domain=domain, sender_identity=seller[0])
        if buyer is not None:
            domain = CXML_DOMAIN.get(buyer[1], "VATID" if buyer[1] == "VAT" else "NetworkID")
            options.update(to_domain=domain, to_identity=buyer[0])
        options["user_agent"] = f"invoice-gateway {__version__}"
    return options
