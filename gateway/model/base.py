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

    value: str = Field(min_length=1)
    scheme: str | None = None


class Address(Value):
    """A postal address (BG-5, BG-8, BG-12, BG-15)."""

    line1: str | None = None
    line2: str | None = None
    line3: str | None = None
    city: str | None = None
    post_code: str | None = None
    subdivision: str | None = None
    country: str = Field(description="ISO 3166-1 alpha-2 country code")


class Contact(Value):
    """A contact point (BG-6, BG-9)."""

    name: str | None = None
    phone: str | None = None
    email: str | None = None


class Period(Value):
    """A period with optional start and end (BG-14, BG-26)."""

    start: date | None = None
    end: date | None = None
