"""INVOIC D.96A (EANCOM and plain UN) message -> Invoice.

Reads what :mod:`mappings.edifact.invoic_render` writes and what EANCOM senders commonly send.
Lenient defaults for what real-world EANCOM messages leave out but the model requires:

* a party without a name (EANCOM identifies parties by GLN alone) gets ``"GLN <id>"`` as name;
* a party without a country gets the country of its VAT id (``NL...`` -> ``NL``, ``EL`` -> ``GR``);
  without either, parsing fails with a ParseError naming the BT (e.g. BT-40);
* a line without a price gets net price = line amount / quantity; without a line amount (MOA 203
  or 66) the line fails with a ParseError naming BT-131;
* a line without a TAX segment takes the category ``S`` and the rate of the only header or
  summary TAX; with none, the ParseError names BT-151.

Errors name the segment position (counted from UNB = 1), tag and element.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from pydantic import ValidationError

from gateway.errors import ParseError
from gateway.model import Invoice
from mappings.edifact import codelists as cl
from mappings.edifact import codes as c
from mappings.edifact.interchange import Message
from mappings.edifact.syntax import RawSegment
from mappings.numbers import (
    AMOUNT,
    MAX_INTEGER_DIGITS,
    PERCENT,
    QUANTITY,
    Kind,
    check_line_amounts,
    read_decimal,
)

_RFF_FIELDS = {qualifier: field for field, qualifier in c.RFF_HEADER.items()} | cl.RFF_ALIASES
_MOA_TOTALS = {qualifier: field for field, qualifier in c.MOA_TOTALS.items()}
_NAD_PATHS = {
    c.NAD_SELLER: "seller",
    c.NAD_BUYER: "buyer",
    c.NAD_PAYEE: "payee",
    c.NAD_TAX_REPRESENTATIVE: "tax_representative",
    c.NAD_DELIVERY: "delivery",
}


def _where(seg: RawSegment, element: int | None = None) -> str:
    text = f"segment {seg.position} {seg.tag}"
    return text if element is None else f"{text} element {element}"


def _decimal(
    seg: RawSegment, element: int, component: int, decimal_mark: str, kind: Kind = AMOUNT
) -> Decimal:
    """A numeric data element (ISO 9735: digits, sign, the UNA decimal mark) within the range
    of ``kind`` (:mod:`mappings.numbers`); ParseError naming segment, element and value."""
    where = _where(seg, element + 1)
    return read_decimal(seg.get(element, component), where, kind=kind, mark=decimal_mark)


def _date(seg: RawSegment) -> dt.date:
    value, fmt = seg.get(0, 1), seg.get(0, 2) or "102"
    try:
        # senders put CCYYMMDDHHMM under 102 too; the date is the first eight digits
        if fmt in ("102", "203", "204") and len(value) in (8, 12, 14) and value.isdigit():
            return dt.date(int(value[:4]), int(value[4:6]), int(value[6:8]))
        if fmt == "101":
            return dt.datetime.strptime(value, "%y%m%d").date()
    except ValueError:
        pass
    raise ParseError(
        f"date {value!r} in format {fmt!r} not readable (102 CCYYMMDD)", _where(seg, 1)
    )


def _text(seg: RawSegment, element: int) -> str:
    return "".join(seg.elements[element]) if element < len(seg.elements) else ""


def _address(seg: RawSegment) -> dict[str, Any]:
    street = seg.elements[4] if len(seg.elements) > 4 else ()
    address: dict[str, Any] = {
        f"line{i}": (line or None) for i, line in enumerate(street[:3], 1) if line
    }
    for key, element in (("city", 5), ("subdivision", 6), ("post_code", 7), ("country", 8)):
        if seg.get(element):
            address[key] = seg.get(element)
    if len(street) > 3 and street[3] and "subdivision" not in address:
        address["subdivision"] = street[3]  # a name longer than 3229 allows (see render)
    return address


_VAT_PREFIX_COUNTRY = {"EL": "GR"}
_ZERO_RATE = frozenset({"E", "Z", "AE", "K", "G"})
_ID_TERMS = {
    "seller": ("seller.identifiers[0]", "BT-29"),
    "buyer": ("buyer.identifier", "BT-46"),
    "invoicee": ("invoicee.identifier", "BT-46"),
    "payee": ("payee.identifier", "BT-60"),
    "delivery": ("delivery.location", "BT-71"),
}
_PARTY_KEYS = {
    "seller": {
        "name",
        "identifiers",
        "vat_id",
        "tax_registration_id",
        "legal_registration",
        "address",
        "contact",
    },
    "buyer": {"name", "identifier", "vat_id", "legal_registration", "address", "contact"},
    "payee": {"name", "identifier", "legal_registration"},
    "tax_representative": {"name", "vat_id", "address"},
}


# the EN 16931 list each EANCOM data element is translated to (for provenance details)
_TARGET_LIST = {
    "6411": "UN/ECE Rec 20",
    "7161": "UNTDID 5189",
    "7161 charge": "UNTDID 7161",
    "5305": "UNTDID 5305",
    "4461": "UNTDID 4461",
    "3055": "ISO 6523 ICD",
}


class _Reader:
    """One pass over the message; ``ctx`` says which group the current segment belongs to."""

    def __init__(self, message: Message, decimal_mark: str) -> None:
        self.message = message
        self.dec = decimal_mark
        self.inv: dict[str, Any] = {"notes": [], "preceding_invoices": []}
        self.parties: dict[str, dict[str, Any]] = {}
        self.party: dict[str, Any] | None = None
        self.contact: dict[str, Any] | None = None
        self.payment: dict[str, Any] = {}
        self.transfers: list[dict[str, Any]] = []
        self.allowances: list[dict[str, Any]] = []
        self.charges: list[dict[str, Any]] = []
        self.alc: dict[str, Any] | None = None
        self.lines: list[dict[str, Any]] = []
        self.line: dict[str, Any] | None = None
        self.totals: dict[str, Any] = {}
        self.vat: list[dict[str, Any]] = []
        self.exemptions: list[tuple[str, str, str]] = []
        self.header_tax: list[tuple[str, Decimal | None]] = []
        self.last_rff = ""
        self.first: RawSegment = message.segments[0]
        self.provenance: list[dict[str, Any]] = []
        self.unmapped: list[tuple[str, str]] = []
        self.handlers: dict[str, Callable[[RawSegment], None]] = {
            "BGM": self.on_bgm,
            "DTM": self.on_dtm,
            "PAI": self.on_pai,
            "FTX": self.on_ftx,
            "RFF": self.on_rff,
            "NAD": self.on_nad,
            "FII": self.on_fii,
            "CTA": self.on_cta,
            "COM": self.on_com,
            "CUX": self.on_cux,
            "PAT": self.on_pat,
            "TAX": self.on_tax,
            "ALC": self.on_alc,
            "PCD": self.on_pcd,
            "LIN": self.on_lin,
            "PIA": self.on_pia,
            "IMD": self.on_imd,
            "QTY": self.on_qty,
            "ALI": self.on_ali,
            "MOA": self.on_moa,
            "PRI": self.on_pri,
        }

    # -- helpers
    def num(
        self, seg: RawSegment, element: int = 0, component: int = 1, kind: Kind = AMOUNT
    ) -> Decimal:
        return _decimal(seg, element, component, self.dec, kind)

    def amount(self, seg: RawSegment) -> Decimal:
        """MOA C516 5004; trailing zeros beyond the cent dropped (``600.000`` is 600.00, an
        EN 16931 amount has at most two decimals), other digits kept as sent."""
        value = self.num(seg)
        exponent = value.as_tuple().exponent
        if isinstance(exponent, int) and exponent < -2 and value == value.quantize(_CENT):
            return value.quantize(_CENT)
        return value

    def derived(self, path: str, bt: str | None, detail: str) -> None:
        """Record a term the message does not give as such (``Invoice.provenance``)."""
        self.provenance.append({"path": path, "bt": bt, "source": "derived", "detail": detail})

    def coded(  # noqa: PLR0917 - one call per coded data element
        self,
        seg: RawSegment,
        element: int,
        component: int,
        read: Callable[[str], cl.Translated | None],
        what: str,
        path: str,
        bt: str | None,
        accepted: str,
    ) -> str:
        """The code at ``seg`` element/component in EN 16931's list; an unmappable one is
        noted (reported with segment, element and code when the message is built)."""
        raw = seg.get(element, component)
        found = read(raw)
        if found is None:
            where = f"{_where(seg, element + 1)} component {component + 1}"
            self.unmapped.append(
                (where, f"{what} {raw!r} ({bt}) has no EN 16931 equivalent; accepted: {accepted}")
            )
            return raw
        detail = found.detail(f"EANCOM {what}", _TARGET_LIST.get(what, "EN 16931"))
        if detail is not None:
            self.provenance.append(
                {"path": path, "bt": bt, "source": "code-list", "detail": detail}
            )
        return found.code

    def ident(self, seg: RawSegment, element: int, path: str, bt: str) -> dict[str, Any] | None:
        """C082 (value, 3055 agency) as an identifier with its ICD scheme."""
        value = seg.get(element, 0)
        if not value:
            return None
        scheme = self.coded(
            seg,
            element,
            2,
            cl.read_party_agency,
            "3055",
            f"{path}.scheme",
            f"{bt}-1",
            "9 (GS1 GLN), 16 (DUNS), 91, 92, ZZZ or none",
        )
        return {"value": value, "scheme": scheme or None}

    def read(self) -> Invoice:
        """Header and detail segment by segment; after UNS the summary section as a whole."""
        body = self.message.segments[1:-1]
        for index, seg in enumerate(body):
            if seg.tag == "UNS":
                self._read_summary(body[index + 1 :])
                break
            handler = self.handlers.get(seg.tag)
            if handler is not None:
                handler(seg)
        return self.build()

    # -- header
    def on_bgm(self, seg: RawSegment) -> None:
        self.inv["type_code"] = seg.get(0) or "380"
        if not cl.read_document_type(self.inv["type_code"]):
            self.unmapped.append(
                (
                    f"{_where(seg, 1)} component 1",
                    f"1001 {self.inv['type_code']!r} (BT-3) is not an EN 16931 invoice or "
                    "credit note type; accepted: UNTDID 1001 e.g. 380, 381, 383, 384, 389",
                )
            )
        self.inv["number"] = seg.get(1)
        if not seg.get(1):
            raise ParseError("document number (BT-1) missing", _where(seg, 2))

    def on_dtm(self, seg: RawSegment) -> None:
        qualifier = seg.get(0)
        if self.alc is not None and self.line is None:
            return
        if self.line is not None:
            if qualifier == c.DTM_PERIOD_START:
                self.line.setdefault("period", {})["start"] = _date(seg)
            elif qualifier == c.DTM_PERIOD_END:
                self.line.setdefault("period", {})["end"] = _date(seg)
            return
        preceding = self.inv["preceding_invoices"]
        if self.last_rff == c.RFF_PRECEDING and qualifier == c.DTM_REFERENCE:
            if preceding:  # (an RFF IV in a party group names no preceding invoice)
                preceding[-1]["issue_date"] = _date(seg)
            return
        target = {
            c.DTM_ISSUE: ("issue_date",),
            c.DTM_TAX_POINT: ("tax_point_date",),
            c.DTM_DUE: ("due_date",),
        }.get(qualifier)
        if target:
            self.inv[target[0]] = _date(seg)
        elif qualifier == c.DTM_DELIVERY:
            self.parties.setdefault("delivery", {})["date"] = _date(seg)
        elif qualifier == c.DTM_PERIOD_START:
            self.inv.setdefault("invoice_period", {})["start"] = _date(seg)
        elif qualifier == c.DTM_PERIOD_END:
            self.inv.setdefault("invoice_period", {})["end"] = _date(seg)

    def on_pai(self, seg: RawSegment) -> None:
        if seg.get(0, 2):
            self.payment["means_code"] = self.coded(
                seg,
                0,
                2,
                cl.read_payment_means,
                "4461",
                "payment.means_code",
                "BT-81",
                "UNTDID 4461 (e.g. 30, 31, 42, 49, 58, ZZZ)",
            )

    def on_ftx(self, seg: RawSegment) -> None:
        qualifier, text = seg.get(0), _text(seg, 3)
        if self.line is not None:
            self.line["note"] = (self.line.get("note") or "") + text
            return
        if qualifier == c.FTX_PAYMENT_TERMS:
            self.inv["payment_terms"] = text
        elif qualifier == c.FTX_LEGAL_INFO:
            self.parties.setdefault("seller_extra", {})["legal_info"] = text
        elif qualifier == c.FTX_MEANS_TEXT:
            self.payment["means_text"] = text
        elif qualifier == c.FTX_REMITTANCE:
            self.payment["remittance_info"] = text
        elif qualifier == c.FTX_EXEMPTION:
            reason = "".join(seg.elements[3][1:]) if len(seg.elements) > 3 else ""
            self.exemptions.append((seg.get(2), seg.get(3, 0), reason))
        elif text:
            subject = None if qualifier == c.FTX_NOTE_NO_SUBJECT else qualifier
            self.inv["notes"].append({"text": text, "subject_code": subject})

    def on_rff(self, seg: RawSegment) -> None:
        qualifier, value = seg.get(0), seg.get(0, 1)
        self.last_rff = qualifier
        if self.line is not None:
            if qualifier == c.RFF_ORDER_LINE:
                self.line["order_line_reference"] = value
            elif qualifier == c.RFF_LINE_ID:
                self.line["id"] = value
            elif qualifier == "ON" and seg.get(0, 2):
                self.line["order_line_reference"] = seg.get(0, 2)
            return
        if self.party is not None:
            if qualifier == c.RFF_VAT:
                self.party["vat_id"] = value
            elif qualifier == c.RFF_TAX_REGISTRATION:
                self.party["tax_registration_id"] = value
            elif qualifier == c.RFF_LEGAL:
                self.party["legal_registration"] = {"value": value}
            return
        if qualifier == c.RFF_PRECEDING:
            self.inv["preceding_invoices"].append({"number": value})
        elif qualifier in _RFF_FIELDS and value:
            self.inv[_RFF_FIELDS[qualifier]] = value

    def on_nad(self, seg: RawSegment) -> None:
        qualifier = seg.get(0)
        self.contact = None
        path = _NAD_PATHS.get(qualifier)
        if qualifier == c.NAD_INVOICEE and "buyer" not in self.parties:
            path = "invoicee"  # the buyer when the message has no NAD+BY
        if self.line is not None or path is None:
            self.party = {} if self.line is None else None  # absorb RFFs of other parties
            return
        party = self.parties.setdefault(path, {})
        party["_seg"] = seg
        # BG-11 (tax representative) has no identifier in EN 16931: its C082 is not read
        terms = _ID_TERMS.get(path)
        ident = self.ident(seg, 1, *terms) if terms else None
        name = _text(seg, 3) or _text(seg, 2)
        if name:
            party["party_name" if path == "delivery" else "name"] = name
        address = _address(seg)
        if address:
            party["address"] = address
        if ident:
            key = {
                "seller": "identifiers",
                "buyer": "identifier",
                "invoicee": "identifier",
                "payee": "identifier",
                "delivery": "location",
            }.get(path)
            if key == "identifiers":
                party[key] = [ident]
            elif key:
                party[key] = ident
        self.party = party

    def on_fii(self, seg: RawSegment) -> None:
        if seg.get(1):
            self.transfers.append(
                {
                    "account_id": seg.get(1),
                    "account_name": "".join(seg.elements[1][1:3]) or None,
                    "provider_id": seg.get(2) or None,
                }
            )

    def on_cta(self, seg: RawSegment) -> None:
        if self.party is None:
            return
        self.contact = self.party.setdefault("contact", {})
        if seg.get(1, 1):
            self.contact["name"] = seg.get(1, 1)

    def on_com(self, seg: RawSegment) -> None:
        if self.contact is None:
            return
        key = {c.COM_PHONE: "phone", c.COM_EMAIL: "email"}.get(seg.get(0, 1))
        if key:
            self.contact[key] = seg.get(0)

    def on_cux(self, seg: RawSegment) -> None:
        self.party = None
        for element in range(len(seg.elements)):
            usage, currency, qualifier = (seg.get(element, k) for k in range(3))
            if not currency:
                continue
            if qualifier == c.CUX_TAX:
                self.inv["tax_currency"] = currency
            elif usage == "2" or qualifier == c.CUX_INVOICING:
                self.inv.setdefault("currency", currency)

    def on_pat(self, seg: RawSegment) -> None:
        self.party = None

    def category(self, seg: RawSegment, path: str, bt: str) -> str:
        """TAX 5305 as EN 16931's VAT category (S when the segment has none)."""
        if not seg.get(5):
            return "S"
        return self.coded(
            seg,
            5,
            0,
            cl.read_vat_category,
            "5305",
            path,
            bt,
            "S, Z, E, AE, K, G, O, L, M (and D.96A H, AA as S)",
        )

    def rate(self, seg: RawSegment, category: str, path: str, bt: str) -> Decimal | None:
        """TAX C243 5278; for a category whose rate EN 16931 fixes at 0 (BR-E-05, BR-Z-05,
        BR-AE-05, BR-IC-05, BR-G-05) a missing rate is 0, marked derived."""
        if seg.get(4, 3):
            return self.num(seg, 4, 3, PERCENT)
        if category in _ZERO_RATE:
            self.derived(path, bt, f"TAX without rate: category {category} has rate 0 (EN 16931)")
            return Decimal(0)
        return None

    def on_tax(self, seg: RawSegment) -> None:
        self.party = None
        if self.alc is not None:
            if self.line is None:  # a line allowance/charge has the line's VAT (BG-27/28)
                path, bt = self.alc["_path"], self.alc["_vat_bt"]
                category = self.category(seg, f"{path}.vat_category", bt)
                self.alc["vat_category"] = category
                rate_bt = "BT-96" if bt == "BT-95" else "BT-103"
                self.alc["vat_rate"] = self.rate(seg, category, f"{path}.vat_rate", rate_bt)
        elif self.line is not None:
            path = f"lines[{len(self.lines) - 1}]"
            category = self.category(seg, f"{path}.vat_category", "BT-151")
            self.line["vat_category"] = category
            self.line["vat_rate"] = self.rate(seg, category, f"{path}.vat_rate", "BT-152")
        else:
            category = self.category(seg, "vat_breakdown", "BT-118")
            rate = self.rate(seg, category, "vat_breakdown", "BT-119")
            self.header_tax.append((category, rate))

    def on_alc(self, seg: RawSegment) -> None:
        self.party = None
        allowance = seg.get(0) == "A"
        kind = "allowances" if allowance else "charges"
        target = self.line
        if target is not None:
            siblings = target.setdefault(kind, [])
            path = f"lines[{len(self.lines) - 1}].{kind}[{len(siblings)}]"
            bt = "BT-140" if allowance else "BT-145"
        else:
            siblings = self.allowances if allowance else self.charges
            path = f"{kind}[{len(siblings)}]"
            bt = "BT-98" if allowance else "BT-105"
        item: dict[str, Any] = {"_path": path, "_seg": seg}
        item["_vat_bt"] = "BT-95" if allowance else "BT-102"
        if seg.get(4, 0):
            if allowance:
                item["reason_code"] = self.coded(
                    seg,
                    4,
                    0,
                    cl.read_allowance_reason,
                    "7161",
                    f"{path}.reason_code",
                    bt,
                    "UNTDID 5189, or a UNTDID 7161 code (an..3)",
                )
            else:
                item["reason_code"] = self.coded(
                    seg,
                    4,
                    0,
                    cl.read_charge_reason,
                    "7161 charge",
                    f"{path}.reason_code",
                    bt,
                    "UNTDID 7161",
                )
        elif seg.get(1, 1) and allowance and cl.is_allowance_code(seg.get(1, 1)):
            item["reason_code"] = seg.get(1, 1)  # C552 5189, as later directories write it
        reason = "".join(seg.elements[4][3:]) if len(seg.elements) > 4 else ""
        if reason:
            item["reason"] = reason
        siblings.append(item)
        self.alc = item

    def on_pcd(self, seg: RawSegment) -> None:
        if self.alc is not None and seg.get(0) == c.PCD_ALC:
            self.alc["percentage"] = self.num(seg, kind=PERCENT)

    def on_lin(self, seg: RawSegment) -> None:
        self.party = None
        self.alc = None
        self.line = {"id": seg.get(0) or str(len(self.lines) + 1), "item": {}, "_seg": seg}
        if seg.get(2):
            scheme = c.GTIN_SCHEME if seg.get(2, 1) == c.GTIN_TYPE else None
            self.line["item"]["standard_id"] = {"value": seg.get(2), "scheme": scheme}
        self.lines.append(self.line)

    def on_pia(self, seg: RawSegment) -> None:
        if self.line is None:
            return
        item = self.line["item"]
        for element in range(1, len(seg.elements)):
            value, kind = seg.get(element, 0), seg.get(element, 1)
            if not value:
                continue
            if kind == c.SELLER_ITEM:
                item["seller_id"] = value
            elif kind == c.BUYER_ITEM:
                item["buyer_id"] = value
            elif kind and kind != c.GTIN_TYPE:
                item.setdefault("classifications", []).append({"value": value, "scheme": kind})

    def on_imd(self, seg: RawSegment) -> None:
        if self.line is None:
            return
        item = self.line["item"]
        kind = seg.get(1)
        parts = seg.elements[2][3:5] if len(seg.elements) > 2 else ()
        if kind == c.IMD_ATTRIBUTE:
            item.setdefault("attributes", []).append(
                {"name": seg.get(2, 3), "value": seg.get(2, 4)}
            )
        elif kind == c.IMD_DESCRIPTION:
            item["description"] = item.get("description", "") + "".join(parts)
        else:
            item["name"] = item.get("name", "") + "".join(parts)

    def unit(self, seg: RawSegment, element: int, component: int, path: str, bt: str) -> str:
        return self.coded(
            seg,
            element,
            component,
            cl.read_unit,
            "6411",
            path,
            bt,
            "UN/ECE Rec 20 (with Rec 21 as X..), or EANCOM PCE, CT, ...",
        )

    def on_qty(self, seg: RawSegment) -> None:
        if self.line is not None and seg.get(0) == c.QTY_INVOICED:
            path = f"lines[{len(self.lines) - 1}].unit"
            self.line["quantity"] = self.num(seg, kind=QUANTITY)
            if seg.get(0, 2):
                self.line["unit"] = self.unit(seg, 0, 2, path, "BT-130")
            else:
                self.line["unit"] = "C62"
                self.derived(path, "BT-130", "QTY+47 has no unit: C62 (one), UN/ECE Rec 20")
            self.line["_qty"] = seg

    def on_ali(self, seg: RawSegment) -> None:
        if self.line is not None and self.alc is None and seg.get(0):
            self.line["item"]["origin_country"] = seg.get(0)

    def on_moa(self, seg: RawSegment) -> None:
        qualifier = seg.get(0)
        if self.alc is not None:
            if qualifier == c.MOA_ALC_AMOUNT or (qualifier == "23" and "amount" not in self.alc):
                self.alc["amount"] = self.amount(seg)
            elif qualifier == c.MOA_ALC_BASE:
                self.alc["base_amount"] = self.amount(seg)
        elif self.line is not None and qualifier in (c.MOA_LINE_NET, "66"):
            self.line.setdefault("net_amount", self.amount(seg))

    def on_pri(self, seg: RawSegment) -> None:
        if self.line is None:
            return
        price = self.line.setdefault("price", {})
        key = cl.PRICE_QUALIFIERS.get(seg.get(0))
        if key is None or key in price:
            return
        price[key] = self.num(seg)
        if seg.get(0, 4):
            price["base_quantity"] = self.num(seg, 0, 4, QUANTITY)
        if seg.get(0, 5):
            path = f"lines[{len(self.lines) - 1}].price.base_quantity_unit"
            price["base_quantity_unit"] = self.unit(seg, 0, 5, path, "BT-150")

    # -- assembly
    def build(self) -> Invoice:
        inv = self.inv
        where = _where(self.first)
        if "number" not in inv:
            raise ParseError("BGM (document number, BT-1) missing", where)
        if "issue_date" not in inv:
            raise ParseError("DTM+137 (issue date, BT-2) missing", where)
        if "currency" not in inv:
            raise ParseError("CUX (invoice currency, BT-5) missing", where)
        if "buyer" not in self.parties and "invoicee" in self.parties:
            self.parties["buyer"] = self.parties.pop("invoicee")
            for entry in self.provenance:
                entry["path"] = entry["path"].replace("invoicee.", "buyer.", 1)
        self.provenance = [e for e in self.provenance if not e["path"].startswith("invoicee.")]
        inv["seller"] = self._party("seller", c.NAD_SELLER, "BT-27", "BT-40")
        inv["buyer"] = self._party("buyer", c.NAD_BUYER, "BT-44", "BT-55")
        if "payee" in self.parties:
            payee = self.parties["payee"]
            payee.pop("address", None)
            inv["payee"] = self._party("payee", c.NAD_PAYEE, "BT-59", None)
        if "tax_representative" in self.parties:
            inv["tax_representative"] = self._party(
                "tax_representative", c.NAD_TAX_REPRESENTATIVE, "BT-62", "BT-69"
            )
        if "delivery" in self.parties:
            delivery = self.parties["delivery"]
            delivery.pop("_seg", None)
            for key in ("vat_id", "legal_registration", "contact", "tax_registration_id"):
                delivery.pop(key, None)
            inv["delivery"] = delivery
        extra = self.parties.get("seller_extra")
        if extra:
            inv["seller"]["legal_info"] = extra["legal_info"]
        if self.payment:
            if "means_code" not in self.payment:
                self.payment["means_code"] = "ZZZ"
                self.derived(
                    "payment.means_code", "BT-81", "no PAI: ZZZ (mutually defined), UNTDID 4461"
                )
            if self.transfers:
                self.payment["credit_transfers"] = self.transfers
            inv["payment"] = self.payment
        inv["allowances"] = self.allowances
        inv["charges"] = self.charges
        if self.totals:
            inv["totals"] = self.totals
        self._apply_exemptions()
        inv["vat_breakdown"] = self.vat
        inv["lines"] = [self._line(k, line) for k, line in enumerate(self.lines)]
        if not inv["lines"]:
            raise ParseError("no LIN segment: an invoice needs at least one line (BG-25)", where)
        for item in self.allowances + self.charges:
            self._alc_terms(item)
            if "vat_category" not in item:
                item["vat_category"] = self._default_category()[0]
                self.derived(
                    f"{item['_path']}.vat_category",
                    item["_vat_bt"],
                    "ALC without TAX: the only VAT category of the message",
                )
            for key in ("_path", "_seg", "_vat_bt"):
                item.pop(key)
        if self.unmapped:
            location, text = self.unmapped[0]
            more = "".join(f"; {loc}: {msg}" for loc, msg in self.unmapped[1:])
            raise ParseError(text + more, location)
        inv["provenance"] = self.provenance
        try:
            invoice = Invoice.model_validate(inv)
        except ValidationError as exc:
            first = exc.errors()[0]
            field = ".".join(str(p) for p in first["loc"])
            raise ParseError(
                f"{field}: {first['msg']}", f"message {self.message.reference!r}"
            ) from None
        check_line_amounts(invoice.lines)
        return invoice

    def _read_summary(self, segments: tuple[RawSegment, ...]) -> None:
        """The segments after UNS: SG48 MOA totals, SG50 TAX with its MOA 125/124, SG51 ALC."""
        in_tax = False
        in_alc = False
        for seg in segments:
            if seg.tag == "TAX":
                in_tax, in_alc = True, False
                path = f"vat_breakdown[{len(self.vat)}]"
                category = self.category(seg, f"{path}.category", "BT-118")
                rate = self.rate(seg, category, f"{path}.rate", "BT-119")
                self.vat.append({"category": category, "rate": rate})
            elif seg.tag == "ALC":
                in_tax, in_alc = False, True
            elif seg.tag == "MOA" and in_tax:
                key = {c.MOA_TAXABLE: "taxable_amount", c.MOA_TAX: "tax_amount"}.get(seg.get(0))
                if key:
                    self.vat[-1][key] = self.amount(seg)
            elif seg.tag == "MOA" and not in_alc:
                qualifier, currency = seg.get(0), seg.get(0, 2)
                if (
                    qualifier == c.MOA_VAT_ACCOUNTING
                    and currency
                    and currency != self.inv.get("currency")
                ):
                    self.totals["vat_in_accounting_currency"] = self.amount(seg)
                elif qualifier in _MOA_TOTALS:
                    self.totals.setdefault(_MOA_TOTALS[qualifier], self.amount(seg))

    def _alc_terms(self, item: dict[str, Any]) -> None:
        """Amount or base amount of an allowance/charge that EN 16931 defines from the others
        (BT-92 = BT-93 x BT-94 / 100), marked derived; no amount at all is a ParseError."""
        path = item["_path"]
        allowance = path.split(".")[-1].startswith("allowances")
        bts = ("BT-92", "BT-93", "BT-94") if allowance else ("BT-99", "BT-100", "BT-101")
        if path.startswith("lines["):
            bts = ("BT-136", "BT-137", "BT-138") if allowance else ("BT-141", "BT-142", "BT-143")
        filled = derive_alc(item.get("amount"), item.get("base_amount"), item.get("percentage"))
        if filled is None:
            raise ParseError(
                f"allowance/charge without MOA+8 amount ({bts[0]}) and without base amount and "
                "percentage to compute it from",
                _where(item["_seg"]),
            )
        key, value = filled
        if key == "amount":
            item["amount"] = value
            self.derived(f"{path}.amount", bts[0], f"{bts[0]} = {bts[1]} x {bts[2]} / 100")
        elif key == "base_amount":
            item["base_amount"] = value
            self.derived(
                f"{path}.base_amount",
                bts[1],
                f"{bts[1]} = {bts[0]} x 100 / {bts[2]} (gives {bts[0]} back under "
                f"{bts[0]} = {bts[1]} x {bts[2]} / 100)",
            )

    def _apply_exemptions(self) -> None:
        used: set[int] = set()
        for category, code, reason in self.exemptions:
            for index, vat in enumerate(self.vat):
                if index not in used and vat["category"] == category:
                    used.add(index)
                    vat["exemption_reason_code"] = code or None
                    vat["exemption_reason"] = reason or None
                    break

    def _default_category(self) -> tuple[str, Decimal | None]:
        taxes = self.header_tax or [(v["category"], v["rate"]) for v in self.vat]
        if len({t for t in taxes}) == 1:
            return taxes[0]
        return ("", None)

    def _party(
        self, path: str, qualifier: str, name_bt: str, country_bt: str | None
    ) -> dict[str, Any]:
        party = self.parties.get(path)
        if party is None:
            raise ParseError(
                f"NAD+{qualifier} ({path}) missing; the invoice needs it ({name_bt})",
                _where(self.first),
            )
        seg: RawSegment = party.pop("_seg")
        for key in list(party):
            if key not in _PARTY_KEYS[path]:
                del party[key]
        if "name" not in party:
            ident = seg.get(1)
            if not ident:
                raise ParseError(
                    f"party name ({name_bt}) and identification missing", _where(seg, 4)
                )
            party["name"] = f"GLN {ident}"
            self.derived(
                f"{path}.name", name_bt, f"placeholder: NAD+{qualifier} names the party by id only"
            )
        if country_bt is not None:
            address = party.setdefault("address", {})
            if "country" not in address:
                vat = party.get("vat_id") or ""
                if len(vat) >= 2 and vat[:2].isalpha():
                    address["country"] = _VAT_PREFIX_COUNTRY.get(vat[:2].upper(), vat[:2].upper())
                    self.derived(
                        f"{path}.address.country",
                        country_bt,
                        f"no NAD 3207: the country of the VAT id prefix {vat[:2].upper()}",
                    )
                else:
                    raise ParseError(
                        f"country ({country_bt}) missing: neither NAD 3207 nor a VAT id",
                        _where(seg, 9),
                    )
        if path == "tax_representative" and "vat_id" not in party:
            raise ParseError("tax representative VAT id (BT-63) missing", _where(seg))
        return party

    def _line(self, index: int, line: dict[str, Any]) -> dict[str, Any]:
        seg: RawSegment = line.pop("_seg")
        line.pop("_qty", None)
        if "quantity" not in line:
            raise ParseError("QTY+47 (invoiced quantity, BT-129) missing", _where(seg))
        if "net_amount" not in line:
            raise ParseError("MOA+203 (line net amount, BT-131) missing", _where(seg))
        price = line.setdefault("price", {})
        if "net" not in price and "gross" in price:
            price["net"] = price["gross"]
            self.derived(
                f"lines[{index}].price.net", "BT-146", "PRI+AAB only: BT-146 = BT-148 (no discount)"
            )
        elif "net" not in price:
            qty = line["quantity"]
            price["net"] = line["net_amount"] / qty if qty else line["net_amount"]
            self.derived(f"lines[{index}].price.net", "BT-146", "no PRI: BT-131 / BT-129")
        discount = derive_discount(price.get("gross"), price["net"])
        if discount is not None:
            price["discount"] = discount
            self.derived(
                f"lines[{index}].price.discount",
                "BT-147",
                "BT-147 = BT-148 - BT-146 (PRI AAB - AAA)",
            )
        if "vat_category" not in line:
            category, rate = self._default_category()
            if not category:
                raise ParseError("TAX (line VAT category, BT-151) missing", _where(seg))
            line["vat_category"], line["vat_rate"] = category, rate
            self.derived(
                f"lines[{index}].vat_category",
                "BT-151",
                "line without TAX: the only VAT category of the message",
            )
        for kind in ("allowances", "charges"):
            for item in line.get(kind, ()):
                self._alc_terms(item)
                for key in ("_path", "_seg", "_vat_bt"):
                    item.pop(key)
        item = line["item"]
        if "name" not in item:
            item["name"] = item.get("standard_id", {}).get("value") or item.get("seller_id") or "-"
        return line


_CENT = Decimal("0.01")


def derive_alc(
    amount: Decimal | None, base: Decimal | None, percentage: Decimal | None
) -> tuple[str, Decimal | None] | None:
    """What EN 16931 defines exactly of an allowance/charge the source left out.

    ``("amount", base x percentage / 100)`` without an amount; ``("base_amount", amount x 100
    / percentage)`` in cents without a base, when that base gives the amount back to the cent
    (EN 16931 defines the amount from the base; of the bases that round to the same amount this
    is the one the percentage names); ``("", None)`` when nothing is missing or derivable
    (e.g. a zero percentage); None when there is no amount and it cannot be computed.
    """
    if amount is None:
        if base is None or percentage is None:
            return None
        return "amount", (base * percentage / 100).quantize(_CENT)
    if base is None and percentage:
        exact = amount * 100 / percentage
        if exact.adjusted() >= MAX_INTEGER_DIGITS:  # a tiny percentage: no base in range
            return "", None
        candidate = exact.quantize(_CENT)
        if (candidate * percentage / 100).quantize(_CENT) == amount.quantize(_CENT):
            return "base_amount", candidate
    return "", None


def derive_discount(gross: Decimal | None, net: Decimal) -> Decimal | None:
    """BT-147 item price discount, defined by EN 16931 as BT-148 gross - BT-146 net price;
    None without a gross price or when the gross is below the net (no discount then)."""
    if gross is None or gross < net:
        return None
    return gross - net


def read_invoice(message: Message, decimal_mark: str = ".") -> Invoice:
    """The Invoice in one INVOIC message; ParseError with segment position, tag and element."""
    kind = message.type[:1]
    if kind != ("INVOIC",):
        raise ParseError(
            f"message type {':'.join(message.type)!r} is not INVOIC",
            _where(message.segments[0], 2),
        )
    return _Reader(message, decimal_mark).read()
