"""Dates, amounts, quantities and rates written the way a reader of the invoice's language
expects them (Babel's CLDR data): ``1.234,56 €`` in German, ``€1,234.56`` in English,
``1 234,56 €`` in French.

Unit prices keep every decimal they have (EN 16931 allows four and more on BT-146); amounts
have the currency's digits. No float ever touches an amount.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from babel.dates import format_date as _format_date
from babel.numbers import format_currency, format_decimal

# The CLDR locale each label language is formatted in.
LOCALES = {"de": "de_DE", "en": "en_GB", "fr": "fr_FR"}


def locale_of(language: str) -> str:
    """The Babel locale for a label language (``de`` -> ``de_DE``)."""
    return LOCALES[language]


def money(amount: Decimal, currency: str, language: str) -> str:
    """``amount`` in ``currency`` with the locale's symbol, grouping and decimal sign."""
    return str(
        format_currency(amount, currency, locale=locale_of(language), decimal_quantization=False)
    )


def decimal(value: Decimal, language: str, *, min_digits: int = 0) -> str:
    """A quantity or price with every decimal it has (at least ``min_digits``)."""
    normal = value.normalize() if value == value.to_integral() else value
    pattern = "#,##0" + ("." + "0" * min_digits if min_digits else "")
    return str(
        format_decimal(
            normal, format=pattern, locale=locale_of(language), decimal_quantization=False
        )
    )


def rate(value: Decimal | None, language: str) -> str:
    """A VAT rate in percent (``19 %``, ``19%``, ``5,5 %``); empty when there is none."""
    if value is None:
        return ""
    number = decimal(value, language)
    return f"{number}%" if language == "en" else f"{number}\u00a0%"


def date(value: dt.date | None, language: str) -> str:
    """A date in the locale's medium form (``01.10.2026``, ``1 Oct 2026``, ``1 oct. 2026``)."""
    if value is None:
        return ""
    return str(_format_date(value, format="medium", locale=locale_of(language)))
