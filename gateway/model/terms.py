"""EN 16931 names of the business terms a shared sub-model stands for in one position.

An address, contact, period or allowance is one class, but its fields are different terms under
different parents (``city`` is BT-37 "Seller city" under the seller, BT-52 "Buyer city" under the
buyer). The parent field's metadata gives the id (``bt_children``); this table gives the name,
as EN 16931-1 writes it, for the record's JSON Schema.
"""

from __future__ import annotations

_ADDRESS = (
    ("address line 1", "address line 2", "address line 3"),
    ("city", "post code", "country subdivision", "country code"),
)


def _address(owner: str, ids: tuple[str, ...]) -> dict[str, str]:
    names = (*_ADDRESS[0], *_ADDRESS[1])
    return {term: f"{owner} {name}" for term, name in zip(ids, names, strict=True)}


def _numbered(first: int, names: tuple[str, ...], owner: str) -> dict[str, str]:
    return {f"BT-{first + k}": f"{owner} {name}" for k, name in enumerate(names)}


_DOC_AC = ("amount", "base amount", "percentage", "VAT category code", "VAT rate", "reason")
_LINE_AC = ("amount", "base amount", "percentage", "reason", "reason code")

TERM_NAMES: dict[str, str] = {
    # order of ids: line1, line2, line3, city, post code, subdivision, country
    **_address("Seller", ("BT-35", "BT-36", "BT-162", "BT-37", "BT-38", "BT-39", "BT-40")),
    **_address("Buyer", ("BT-50", "BT-51", "BT-163", "BT-52", "BT-53", "BT-54", "BT-55")),
    **_address(
        "Tax representative", ("BT-64", "BT-65", "BT-164", "BT-66", "BT-67", "BT-68", "BT-69")
    ),
    **_address("Deliver to", ("BT-75", "BT-76", "BT-165", "BT-77", "BT-78", "BT-79", "BT-80")),
    "BT-41": "Seller contact point",
    "BT-42": "Seller contact telephone number",
    "BT-43": "Seller contact email address",
    "BT-56": "Buyer contact point",
    "BT-57": "Buyer contact telephone number",
    "BT-58": "Buyer contact email address",
    "BT-73": "Invoicing period start date",
    "BT-74": "Invoicing period end date",
    "BT-134": "Invoice line period start date",
    "BT-135": "Invoice line period end date",
    **_numbered(92, (*_DOC_AC, "reason code"), "Document level allowance"),
    **_numbered(99, (*_DOC_AC, "reason code"), "Document level charge"),
    **_numbered(136, _LINE_AC, "Invoice line allowance"),
    **_numbered(141, _LINE_AC, "Invoice line charge"),
}

# EN 16931 "-1"/"-2" attributes of an identifier term, after the term's own name.
SUFFIX_NAMES = {"-1": "identification scheme identifier", "-2": "scheme version identifier"}
