"""Invoice lines (BG-25) and what hangs off them."""

from __future__ import annotations

from pydantic import Field

from gateway.model.base import Amount, Identifier, Period, Value, bt


class LineAllowanceCharge(Value):
    """BG-27 invoice line allowance / BG-28 invoice line charge (BT ids depend on the list)."""

    amount: Amount = Field(description="Amount, without VAT")
    base_amount: Amount | None = Field(
        default=None, description="Base amount the percentage applies to"
    )
    percentage: Amount | None = Field(default=None, description="Percentage of the base amount")
    reason: str | None = Field(default=None, description="Reason text")
    reason_code: str | None = Field(
        default=None, description="Reason code (UNTDID 5189 allowances, UNTDID 7161 charges)"
    )


class ItemClassification(Value):
    """BT-158 Item classification identifier with scheme (BT-158-1) and version (BT-158-2)."""

    value: str = Field(min_length=1, description="Classification identifier")
    scheme: str = Field(description="Classification scheme (UNTDID 7143 list id)")
    version: str | None = Field(default=None, description="Version of the scheme")


class ItemAttribute(Value):
    """BG-32 Item attribute."""

    name: str = Field(min_length=1, **bt("BT-160", "Item attribute name"))
    value: str = Field(**bt("BT-161", "Item attribute value"))


class Item(Value):
    """BG-31 Item information."""

    name: str = Field(min_length=1, **bt("BT-153", "Item name"))
    description: str | None = Field(default=None, **bt("BT-154", "Item description"))
    seller_id: str | None = Field(default=None, **bt("BT-155", "Item Seller's identifier"))
    buyer_id: str | None = Field(default=None, **bt("BT-156", "Item Buyer's identifier"))
    standard_id: Identifier | None = Field(default=None, **bt("BT-157", "Item standard identifier"))
    classifications: tuple[ItemClassification, ...] = Field(
        default=(), **bt("BT-158", "Item classification identifier")
    )
    origin_country: str | None = Field(default=None, **bt("BT-159", "Item country of origin"))
    attributes: tuple[ItemAttribute, ...] = Field(default=(), **bt("BG-32", "Item attributes"))


class Price(Value):
    """BG-29 Price details."""

    net: Amount = Field(**bt("BT-146", "Item net price"))
    discount: Amount | None = Field(default=None, **bt("BT-147", "Item price discount"))
    gross: Amount | None = Field(default=None, **bt("BT-148", "Item gross price"))
    base_quantity: Amount | None = Field(default=None, **bt("BT-149", "Item price base quantity"))
    base_quantity_unit: str | None = Field(
        default=None, **bt("BT-150", "Item price base quantity unit of measure code")
    )


class InvoiceLine(Value):
    """BG-25 Invoice line."""

    id: str = Field(min_length=1, **bt("BT-126", "Invoice line identifier"))
    note: str | None = Field(default=None, **bt("BT-127", "Invoice line note"))
    object_id: Identifier | None = Field(
        default=None, **bt("BT-128", "Invoice line object identifier")
    )
    quantity: Amount = Field(**bt("BT-129", "Invoiced quantity"))
    unit: str = Field(min_length=1, **bt("BT-130", "Invoiced quantity unit of measure code"))
    net_amount: Amount | None = Field(
        default=None, **bt("BT-131", "Invoice line net amount (computed when omitted)")
    )
    order_line_reference: str | None = Field(
        default=None, **bt("BT-132", "Referenced purchase order line reference")
    )
    accounting_reference: str | None = Field(
        default=None, **bt("BT-133", "Invoice line Buyer accounting reference")
    )
    period: Period | None = Field(
        default=None, **bt("BG-26", "Invoice line period", start="BT-134", end="BT-135")
    )
    allowances: tuple[LineAllowanceCharge, ...] = Field(
        default=(),
        **bt(
            "BG-27",
            "Invoice line allowances",
            amount="BT-136",
            base_amount="BT-137",
            percentage="BT-138",
            reason="BT-139",
            reason_code="BT-140",
        ),
    )
    charges: tuple[LineAllowanceCharge, ...] = Field(
        default=(),
        **bt(
            "BG-28",
            "Invoice line charges",
            amount="BT-141",
            base_amount="BT-142",
            percentage="BT-143",
            reason="BT-144",
            reason_code="BT-145",
        ),
    )
    price: Price = Field(**bt("BG-29", "Price details"))
    vat_category: str = Field(**bt("BT-151", "Invoiced item VAT category code"))
    vat_rate: Amount | None = Field(default=None, **bt("BT-152", "Invoiced item VAT rate"))
    item: Item = Field(**bt("BG-31", "Item information"))
