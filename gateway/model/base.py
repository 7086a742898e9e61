"""Building blocks of the canonical model: the frozen base class, BT/BG metadata, small values."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer

# Money and quantities are Decimal end to end; JSON carries them as strings so no
# float ever touches an amount.
Amount = Annotated[Decimal, PlainSerializer(str, return_type=str, when_used="json")]


class Value(BaseModel):
    """Immutable value: stages return new values (``model_copy(update=...)``), never mutate."""

    model_config = ConfigDict(
        frozen=True,
        extra="forbid",
        str_strip_whitespace=True,
        ser_json_bytes="base64",
        val_json_bytes="base64",
    )


def bt(term: str, description: str = "", **children: str) -> Any:
    """Field metadata carrying the EN 16931 business term id (``BT-n``/``BG-n``).

    ``children`` maps the fields of a shared sub-model (an address, an allowance) to the
    business terms they stand for in this position, e.g. ``city="BT-37"`` under the seller.
    """
    extra: dict[str, Any] = {"bt": term}
    if children:
        extra["bt_children"] = dict(children)
    return {"description": f"{term} {description}".strip(), "json_schema_extra": extra}


class Identifier(Value):
    """An identifier with an optional scheme (ISO 6523 ICD, EAS, or a free scheme)."""

    value: str = Field(min_length=1, description="The identifier")
    scheme: str | None = Field(
        default=None, description="Identification scheme (ISO 6523 ICD, EAS code, or free)"
    )


class Address(Value):
    """A postal address (BG-5, BG-8, BG-12, BG-15)."""

    line1: str | None = Field(default=None, description="Address line 1 (street and number)")
    line2: str | None = Field(default=None, description="Address line 2")
    line3: str | None = Field(default=None, description="Address line 3")
    city: str | None = Field(default=None, description="City")
    post_code: str | None = Field(default=None, description="Post code")
    subdivision: str | None = Field(default=None, description="Country subdivision (region)")
    country: str = Field(description="Country code (ISO 3166-1 alpha-2)")


class Contact(Value):
    """A contact point (BG-6, BG-9)."""

    name: str | None = Field(default=None, description="Contact point (person or department)")
    phone: str | None = Field(default=None, description="Contact telephone number")
    email: str | None = Field(default=None, description="Contact email address")


class Period(Value):
    """A period with optional start and end (BG-14, BG-26)."""

    start: date | None = Field(default=None, description="Start date (YYYY-MM-DD)")
    end: date | None = Field(default=None, description="End date (YYYY-MM-DD)")
