"""BuyerProfile: what a buyer wants — format, channel (+ fallbacks), consolidation, proof, retry.

Loaded from ``config/buyers/*.toml`` by :func:`gateway.profiles.load.load_profiles`; routing
(:func:`gateway.delivery.routing.route`) picks one per invoice by buyer id > buyer group > default.
Mappings read only ``format`` and ``options``; ``defaults`` supplies buyer terms the source
cannot carry (:func:`gateway.masterdata.apply.apply_buyer`).
"""

from __future__ import annotations

import re
from datetime import time, timedelta
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field

from gateway.limits import ByteSize, channel_limit
from gateway.masterdata.terms import BuyerDefaults
from gateway.rules.checksums import gln as gln_check_digit_ok

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d)\s*$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_PEPPOL_ID = re.compile(r"^(\d{4}):(\S+)$")


def _duration(value: object) -> object:
    """``"30s"``, ``"15m"``, ``"2h"``, ``"5d"`` as a timedelta; other input left to pydantic."""
    if isinstance(value, str):
        match = _DURATION.match(value)
        if match:
            return timedelta(seconds=float(match.group(1)) * _UNIT_SECONDS[match.group(2)])
    return value


Duration = Annotated[timedelta, BeforeValidator(_duration)]
"""A duration written ``"30s"``, ``"15m"``, ``"2h"``, ``"5d"``, as seconds, or ISO 8601."""


class _Config(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


def normalise_vat_id(value: str) -> str:
    """VAT id as compared by routing: upper case, no spaces, dots or dashes."""
    return re.sub(r"[\s.\-]", "", value).upper()


def normalise_peppol_id(value: str) -> str:
    """Peppol participant id ``scheme:value`` as compared (Peppol ids are case-insensitive)."""
    return value.strip().lower()


def _vat_id(value: str) -> str:
    if not re.fullmatch(r"[A-Za-z]{2}[A-Za-z0-9+*.\s\-]{2,16}", value.strip()):
        raise ValueError("not a VAT id (country prefix + 2..12 characters, e.g. DE123456789)")
    return normalise_vat_id(value)


def _gln(value: str) -> str:
    if len(value) != 13 or not gln_check_digit_ok(value):
        raise ValueError("not a GLN (13 digits with a valid check digit)")
    return value


def _peppol_id(value: str) -> str:
    if not _PEPPOL_ID.match(value.strip()):
        raise ValueError("not a Peppol id ('scheme:value', e.g. 0088:4000001000005)")
    return normalise_peppol_id(value)


def _erp_number(value: str) -> str:
    if not value.strip():
        raise ValueError("an ERP customer number must not be empty")
    return value.strip()


def _country(value: str) -> str:
    if not re.fullmatch(r"[A-Za-z]{2}", value):
        raise ValueError("not an ISO 3166-1 alpha-2 country code (e.g. DE)")
    return value.upper()


VatId = Annotated[str, AfterValidator(_vat_id)]
Gln = Annotated[str, AfterValidator(_gln)]
PeppolId = Annotated[str, AfterValidator(_peppol_id)]
ErpCustomerNumber = Annotated[str, AfterValidator(_erp_number)]
Country = Annotated[str, AfterValidator(_country)]


class BuyerIds(_Config):
    """The ids that name this buyer; an invoice whose buyer carries one is routed here.

    ``vat_ids`` match BT-48, ``glns`` any buyer identifier with scheme 0088 (BT-46/47/49),
    ``peppol_ids`` the electronic address BT-49 as ``scheme:value``, ``erp_customer_numbers``
    the buyer identifier BT-46 (the ERP's customer number).
    """

    vat_ids: tuple[VatId, ...] = ()
    glns: tuple[Gln, ...] = ()
    peppol_ids: tuple[PeppolId, ...] = ()
    erp_customer_numbers: tuple[ErpCustomerNumber, ...] = ()

    def claims(self) -> list[tuple[str, str]]:
        """(kind, normalised value) for every id, e.g. ``("gln", "4012345000016")``."""
        return [
            *(("erp_customer_number", v) for v in self.erp_customer_numbers),
            *(("peppol_id", v) for v in self.peppol_ids),
            *(("gln", v) for v in self.glns),
            *(("vat_id", v) for v in self.vat_ids),
        ]


class BuyerGroup(_Config):
    """A group of buyers matched by their invoice data (all criteria given must match).

    ``countries`` match the buyer's country (BT-55), ``address_schemes`` the scheme of the buyer's
    electronic address (BT-49-1; ``0204`` is the German Leitweg-ID of public buyers).
    """

    name: str = Field(min_length=1)
    countries: tuple[Country, ...] = ()
    address_schemes: tuple[str, ...] = ()

    def criteria(self) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """The match criteria, comparable between groups (same criteria = ambiguous)."""
        return (tuple(sorted(self.countries)), tuple(sorted(self.address_schemes)))


OptionValue = str | int | float | bool


class ChannelSpec(_Config):
    """One channel: a connector alias (``file``) or ``module:Class`` plus its options.

    Options whose key names a secret (``password``, ``token``...) hold a reference
    (``env:NAME`` / ``file:/path``), resolved when the connector is built. ``max_size`` is the
    largest document this channel carries (``"15MB"``; default per connector:
    :data:`gateway.limits.CHANNEL_DEFAULTS`); a larger one is refused before it is sent.
    """

    connector: str = Field(min_length=1)
    options: dict[str, OptionValue] = Field(default_factory=dict)
    max_size: ByteSize | None = None

    @property
    def size_limit(self) -> int:
        """The largest document this channel carries, in bytes (``max_size`` or the default)."""
        return channel_limit(self.connector, self.max_size)


Consolidation = Literal["per-invoice", "per-interchange", "per-day"]


class ProofPolicy(_Config):
    """Which acknowledgement levels are expected, each within how long after sending.

    A level left out is not expected. ``on_overdue`` says what the sweep does when a deadline
    passes without proof.
    """

    transport: Duration | None = timedelta(hours=1)
    syntax: Duration | None = None
    business: Duration | None = None
    on_overdue: Literal["remind", "resend", "fallback"] = "resend"

    def expected(self) -> dict[str, timedelta]:
        """{ack level: deadline} for each expected level (levels as ``gateway.ack.AckLevel``)."""
        levels = {"transport": self.transport, "syntax": self.syntax, "business": self.business}
        return {level: within for level, within in levels.items() if within is not None}


class RetryPolicy(_Config):
    """How often a transient failure is retried, with exponential backoff and jitter."""

    attempts: int = Field(default=5, ge=1, le=100)
    backoff_base: Duration = timedelta(seconds=30)
    backoff_max: Duration = timedelta(hours=1)
    jitter: float = Field(default=0.1, ge=0.0, le=1.0)

    def delay(self, attempt: int, unit_random: float = 0.5) -> timedelta:
        """Wait before attempt ``attempt + 1`` after ``attempt`` failures (1-based).

        ``base * 2**(attempt-1)``, capped at ``backoff_max``, then spread by ``jitter``:
        ``unit_random`` in [0, 1] maps to a factor in [1 - jitter, 1 + jitter].
        """
        raw = self.backoff_base * (2 ** max(attempt - 1, 0))
        capped = min(raw, self.backoff_max)
        spread: timedelta = capped * (1 + self.jitter * (2 * unit_random - 1))
        return spread


class BuyerProfile(_Config):
    """A buyer's choices. Mappings read only ``format`` and ``options``.

    ``options`` holds mapping-specific settings (e.g. EDIFACT sender ids), validated by the mapping.
    ``ids`` / ``group`` / ``default`` say which invoices route here; ``channel`` then each of
    ``fallback`` in turn carry the document. ``consolidation`` other than ``per-invoice`` holds
    the invoices and sends them as ONE document (an EDIFACT interchange): ``per-interchange``
    everything one submit run stores, ``per-day`` everything until ``cut_off`` (time of day,
    UTC); a batch also closes when it holds ``batch_limit`` invoices. ``defaults`` fills buyer
    terms the invoice left out (BT-49, BT-10, the buyer's contact...; keys are the invoice's
    field paths, see :mod:`gateway.masterdata.terms`) after routing picked this profile.
    """

    name: str = "default"
    format: str = "peppol-bis3"
    options: dict[str, str] = Field(default_factory=dict)
    description: str = ""
    ids: BuyerIds = BuyerIds()
    group: BuyerGroup | None = None
    default: bool = False
    channel: ChannelSpec | None = None
    fallback: tuple[ChannelSpec, ...] = ()
    consolidation: Consolidation = "per-invoice"
    batch_limit: int = Field(default=500, ge=1, le=9999)
    cut_off: time = time(18, 0)
    proof: ProofPolicy = ProofPolicy()
    retry: RetryPolicy = RetryPolicy()
    defaults: BuyerDefaults = BuyerDefaults()

    def channels(self) -> tuple[ChannelSpec, ...]:
        """The channel, then the fallback chain, in the order they are tried."""
        return ((self.channel,) if self.channel is not None else ()) + self.fallback


DEFAULT_PROFILE = BuyerProfile()
