"""INVOIC D.96A, EANCOM 2002 (association code EAN008): the ``eancom-d96a`` mapping.

``render`` writes one invoice, ``render_interchange`` several for one buyer in one interchange
(one UNH..UNT each). ``parse`` reads the first INVOIC of any D.96A interchange, ``parse_all``
every one.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar, TypeVar

from gateway.document import Document
from gateway.envelope import Envelope
from gateway.errors import ConfigError, ParseError
from gateway.model import Invoice
from gateway.model.base import Identifier
from gateway.model.invoice import AllowanceCharge
from gateway.model.lines import LineAllowanceCharge
from gateway.profiles.profile import BuyerProfile
from gateway.totals import complete, is_complete
from mappings.edifact.charset import charset_of
from mappings.edifact.interchange import build_interchange, check_envelope, read_interchange
from mappings.edifact.invoic_parse import derive_alc, derive_discount, read_invoice
from mappings.edifact.invoic_render import render_message

MEDIA_TYPE = "application/EDIFACT"
_AC = TypeVar("_AC", AllowanceCharge, LineAllowanceCharge)

# Field paths the INVOIC D.96A mapping does not carry; ``stamped`` sets exactly these to their
# defaults. ``*`` stands for every entry of a tuple.
NOT_CARRIED: tuple[str, ...] = (
    "tax_point_date_code",  # BT-8
    "tender_reference",  # BT-17
    "invoiced_object",  # BT-18
    "buyer_accounting_reference",  # BT-19
    "business_process",  # BT-23
    "specification_id",  # BT-24
    "seller.trading_name",  # BT-28
    "seller.identifiers[1:]",  # BT-29 after the first (NAD C082 holds one)
    "seller.legal_registration.scheme",  # BT-30-1
    "seller.electronic_address",  # BT-34
    "buyer.trading_name",  # BT-45
    "buyer.legal_registration.scheme",  # BT-47-1
    "buyer.electronic_address",  # BT-49
    "payee.legal_registration.scheme",  # BT-61-1
    "payment.card",  # BG-18
    "payment.direct_debit",  # BG-19
    "supporting_documents",  # BG-24
    "lines[*].object_id",  # BT-128
    "lines[*].accounting_reference",  # BT-133
    "lines[*].item.classifications[*].version",  # BT-158-2
)


class EancomD96A:
    """UN/EDIFACT INVOIC D.96A EANCOM (EAN008) in both directions.

    Carries, per segment: BGM (BT-1, BT-3), DTM 137/131/35/194/206 (BT-2, BT-7, BT-72, BG-14),
    PAI (BT-81), FTX (notes BG-1 with their subject code or ZZZ; AAB BT-20, REG BT-33, PAI BT-82,
    PMD BT-83, TXD BT-120/121), RFF CR/AEP/CT/ON/VN/ALO/DQ (BT-10..16), RFF IV + DTM 171 (BG-3),
    NAD SU/BY/PE/LC/DP with C082 (GLN as ``::9``), names, addresses, RFF VA/FC/XA, CTA/COM
    contacts, FII RB (BG-17), CUX (BT-5, BT-6), PAT + DTM 13 (BT-9), ALC/PCD/MOA/TAX (BG-20,
    BG-21), LIN/PIA/IMD/QTY/ALI/DTM/FTX/MOA/PRI/RFF/TAX/ALC per line (BG-25..BG-32), UNS, CNT,
    MOA 79/260/259/125/176/77/113/165/9 (BG-22, BT-111 as MOA 176 in the VAT currency) and
    TAX + MOA 125/124 per VAT category (BG-23).

    Cannot carry (``stamped`` drops exactly these, listed in ``NOT_CARRIED``):

    * BT-8 tax point date code, BT-17 tender reference, BT-18 invoiced object identifier,
      BT-19 buyer accounting reference, BT-23 business process, BT-24 specification identifier;
    * BT-28 seller and BT-45 buyer trading names; seller identifiers after the first (BT-29);
      the schemes of legal registration ids (BT-30-1, BT-47-1, BT-61-1); electronic addresses
      BT-34 and BT-49 (EANCOM routes by the UNB/NAD GLNs);
    * identifier schemes other than GLN (0088) on NAD parties (BT-29-1, BT-46-1, BT-60-1,
      BT-71-1) and other than GTIN (0160) on LIN (BT-157-1): read back without a scheme;
    * BG-18 payment card, BG-19 direct debit, BG-24 supporting documents;
    * BT-128 line object identifier, BT-133 line buyer accounting reference, BT-158-2 item
      classification version.

    BT-147 item price discount is not written: parse derives it as gross - net price (PRI AAB
    - PRI AAA), as EN 16931 defines it. Codes are written as EANCOM spells them and read into
    the EN 16931 code lists (:mod:`mappings.edifact.codelists`); what parse translated or
    derived is in ``Invoice.provenance``.

    A note (BG-1) whose subject code is AAB, REG, PAI, PMD or TXD reads back as BT-20, BT-33,
    BT-82, BT-83 or an exemption reason: those qualifiers are taken by the fields above.
    Values longer than D.96A allows (references an..35, ids, units) reject the invoice with a
    Problem naming field, BT and limit.
    """

    name: ClassVar[str] = "eancom-d96a"
    syntax: ClassVar[str] = "edifact"
    rules: ClassVar[tuple[str, ...]] = ()

    def render(
        self, invoice: Invoice, profile: BuyerProfile, envelope: Envelope | None = None
    ) -> Document:
        """One invoice in one interchange. ConfigError names a missing option or envelope."""
        return render_interchange([invoice], profile, envelope)

    def parse(self, data: bytes) -> Invoice:
        """The first INVOIC of an interchange; ParseError naming segment, tag and element."""
        invoices = self.parse_all(data)
        return invoices[0]

    def parse_all(self, data: bytes) -> list[Invoice]:
        """Every INVOIC message of an interchange, in order (other message types are skipped)."""
        interchange = read_interchange(data)
        decimal = interchange.separators.decimal
        invoices = [
            read_invoice(m, decimal) for m in interchange.messages if m.type[:1] == ("INVOIC",)
        ]
        if not invoices:
            raise ParseError("no INVOIC message in the interchange", "segment 1 UNB")
        return invoices

    def check_options(self, options: dict[str, object]) -> list[str]:
        """Problems with the profile options this mapping reads at start-up (``syntax``,
        ``transliterate``), one text each naming option and accepted values; [] when fine."""
        try:
            charset_of("", {k: str(v) for k, v in options.items()})
        except ConfigError as exc:
            return [f"options: {exc}"]
        return []

    def stamped(self, invoice: Invoice) -> Invoice:
        """``invoice`` as INVOIC carries it: completed, NOT_CARRIED fields dropped, the base
        amounts parse derives filled, so that ``parse(render(x).content)`` equals
        ``stamped(x)`` apart from ``provenance`` (where parse says what it translated or
        derived)."""
        if not is_complete(invoice):
            invoice = complete(invoice)
        return derive_bases(drop_not_carried(invoice))


def derive_bases(invoice: Invoice) -> Invoice:
    """``invoice`` with the allowance/charge base amounts parse derives (``derive_alc``)."""

    def fill(items: tuple[_AC, ...]) -> tuple[_AC, ...]:
        out = []
        for item in items:
            found = derive_alc(item.amount, item.base_amount, item.percentage)
            if found is not None and found[0] == "base_amount":
                out.append(item.model_copy(update={"base_amount": found[1]}))
            else:
                out.append(item)
        return tuple(out)

    lines = tuple(
        line.model_copy(update={"allowances": fill(line.allowances), "charges": fill(line.charges)})
        for line in invoice.lines
    )
    return invoice.model_copy(
        update={
            "allowances": fill(invoice.allowances),
            "charges": fill(invoice.charges),
            "lines": lines,
        }
    )


def drop_not_carried(invoice: Invoice) -> Invoice:
    """``invoice`` without the NOT_CARRIED fields (and the schemes read back as None)."""
    seller = invoice.seller
    seller = seller.model_copy(
        update={
            "trading_name": None,
            "identifiers": tuple(_gln_only(i) for i in seller.identifiers[:1]),
            "legal_registration": _no_scheme(seller.legal_registration),
            "electronic_address": None,
        }
    )
    buyer = invoice.buyer.model_copy(
        update={
            "trading_name": None,
            "identifier": _gln_only(invoice.buyer.identifier),
            "legal_registration": _no_scheme(invoice.buyer.legal_registration),
            "electronic_address": None,
        }
    )
    payee = invoice.payee
    if payee is not None:
        payee = payee.model_copy(
            update={
                "identifier": _gln_only(payee.identifier),
                "legal_registration": _no_scheme(payee.legal_registration),
            }
        )
    delivery = invoice.delivery
    if delivery is not None:
        delivery = delivery.model_copy(update={"location": _gln_only(delivery.location)})
    payment = invoice.payment
    if payment is not None:
        payment = payment.model_copy(update={"card": None, "direct_debit": None})
    lines = tuple(
        line.model_copy(
            update={
                "object_id": None,
                "accounting_reference": None,
                "price": line.price.model_copy(
                    update={"discount": derive_discount(line.price.gross, line.price.net)}
                ),
                "item": line.item.model_copy(
                    update={
                        "standard_id": _gtin_only(line.item.standard_id),
                        "classifications": tuple(
                            k.model_copy(update={"version": None})
                            for k in line.item.classifications
                        ),
                    }
                ),
            }
        )
        for line in invoice.lines
    )
    return invoice.model_copy(
        update={
            "tax_point_date_code": None,
            "tender_reference": None,
            "invoiced_object": None,
            "buyer_accounting_reference": None,
            "business_process": None,
            "specification_id": None,
            "seller": seller,
            "buyer": buyer,
            "payee": payee,
            "delivery": delivery,
            "payment": payment,
            "supporting_documents": (),
            "lines": lines,
        }
    )


def _gln_only(ident: Identifier | None) -> Identifier | None:
    """The identifier as NAD C082 carries it: GLN (0088) and DUNS (0060) keep their scheme."""
    if ident is None or ident.scheme in (None, "0088", "0060"):
        return ident
    return ident.model_copy(update={"scheme": None})


def _gtin_only(ident: Identifier | None) -> Identifier | None:
    if ident is None or ident.scheme in (None, "0160"):
        return ident
    return ident.model_copy(update={"scheme": None})


def _no_scheme(ident: Identifier | None) -> Identifier | None:
    return None if ident is None else ident.model_copy(update={"scheme": None})


def render_interchange(
    invoices: Sequence[Invoice], profile: BuyerProfile, envelope: Envelope | None
) -> Document:
    """Several invoices (for one buyer) in one interchange, message refs from the envelope.

    Omitted amounts are completed first. The Document's ``invoice_number`` is the BT-1 of a
    single invoice, or the numbers joined by commas for a consolidated interchange.
    ConfigError names a missing profile option (``sender_id``, ``recipient_id``) or the missing
    envelope; InvoiceRejected names values INVOIC D.96A cannot hold.
    """
    if not invoices:
        raise ConfigError("render_interchange needs at least one invoice")
    envelope = check_envelope(envelope)
    charset = charset_of(profile.name, profile.options)
    bodies = []
    for index, invoice in enumerate(invoices):
        completed = invoice if is_complete(invoice) else complete(invoice)
        reference = envelope.message_ref(index)
        if not reference or len(reference) > 14:
            raise ConfigError(
                f"envelope message reference {reference!r} (UNH 0062) must be 1..14 characters"
            )
        bodies.append(render_message(completed, reference, charset))
    content = build_interchange(bodies, profile, envelope)
    number = invoices[0].number if len(invoices) == 1 else ",".join(i.number for i in invoices)
    return Document(
        content=content,
        syntax=EancomD96A.syntax,
        format=EancomD96A.name,
        invoice_number=number,
        media_type=MEDIA_TYPE,
        extension="edi",
        rules=EancomD96A.rules,
    )
