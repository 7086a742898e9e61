"""SellerMasterData: one seller's ids and the defaults its invoices get (``config/sellers/*.toml``).

A file names the seller by the ids its invoices carry (``[ids]``) and gives defaults under
``[defaults]`` (keys: :mod:`gateway.masterdata.terms`). :class:`SellerSet` finds the file of an
invoice's seller.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict

from gateway.errors import ConfigError
from gateway.masterdata.terms import SellerDefaults
from gateway.model import Identifier, Invoice
from gateway.profiles.profile import Gln, PeppolId, VatId, normalise_peppol_id, normalise_vat_id

GLN_SCHEME = "0088"
_SCHEMED = re.compile(r"^([^:\s]+):(\S.*)$")


def _schemed(value: str) -> str:
    match = _SCHEMED.match(value.strip())
    if match is None:
        raise ValueError("not 'scheme:value' (e.g. 0088:4012345000016, 0002:40303265045)")
    return f"{match.group(1)}:{match.group(2).strip()}"


def _registration(value: str) -> str:
    if not value.strip():
        raise ValueError("a legal registration id must not be empty")
    return value.strip()


SchemedId = Annotated[str, AfterValidator(_schemed)]
Registration = Annotated[str, AfterValidator(_registration)]


class SellerIds(BaseModel):
    """The ids that name this seller; an invoice whose seller carries one gets these defaults.

    ``vat_ids`` match BT-31; ``glns`` any seller id with scheme 0088 (BT-29, BT-30, BT-34);
    ``identifiers`` a seller identifier BT-29 as ``scheme:value``; ``legal_registrations``
    BT-30 as ``scheme:value``, or the bare value when the invoice gives no scheme;
    ``peppol_ids`` the electronic address BT-34 as ``scheme:value``.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    vat_ids: tuple[VatId, ...] = ()
    glns: tuple[Gln, ...] = ()
    identifiers: tuple[SchemedId, ...] = ()
    legal_registrations: tuple[Registration, ...] = ()
    peppol_ids: tuple[PeppolId, ...] = ()

    def claims(self) -> list[tuple[str, str]]:
        """(kind, normalised value) for every id, e.g. ``("gln", "4012345000016")``."""
        return [
            *(("peppol_id", v) for v in self.peppol_ids),
            *(("identifier", v) for v in self.identifiers),
            *(("gln", v) for v in self.glns),
            *(("legal_registration", v) for v in self.legal_registrations),
            *(("vat_id", v) for v in self.vat_ids),
        ]


class SellerMasterData(BaseModel):
    """One seller's master data. ``name`` defaults to the file name without ``.toml``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    description: str = ""
    ids: SellerIds = SellerIds()
    defaults: SellerDefaults = SellerDefaults()


def _schemed_id(identifier: Identifier | None) -> str | None:
    if identifier is None:
        return None
    value = identifier.value.strip()
    return f"{identifier.scheme.strip()}:{value}" if identifier.scheme else value


def seller_ids(invoice: Invoice) -> list[tuple[str, str]]:
    """(id kind, normalised value) the invoice's seller carries, as :meth:`SellerIds.claims`."""
    seller = invoice.seller
    ids: list[tuple[str, str]] = []
    address = seller.electronic_address
    if address is not None and address.scheme:
        ids.append(("peppol_id", normalise_peppol_id(f"{address.scheme}:{address.value}")))
    for identifier in seller.identifiers:
        schemed = _schemed_id(identifier)
        if identifier.scheme and schemed:
            ids.append(("identifier", schemed))
    carried = [*seller.identifiers, seller.legal_registration, address]
    glns = [i.value.strip() for i in carried if i is not None and i.scheme == GLN_SCHEME]
    ids.extend(("gln", value) for value in dict.fromkeys(glns))
    registration = _schemed_id(seller.legal_registration)
    if registration:
        ids.append(("legal_registration", registration))
    if seller.vat_id and seller.vat_id.strip():
        ids.append(("vat_id", normalise_vat_id(seller.vat_id)))
    return ids


class AmbiguousSeller(ConfigError):
    """An invoice's seller ids lead to more than one seller file."""


@dataclass(frozen=True)
class SellerSet:
    """The loaded seller files, indexed by id. Empty when there is no sellers folder."""

    sellers: tuple[SellerMasterData, ...] = ()
    sources: Mapping[str, Path] = field(default_factory=dict)
    by_id: Mapping[tuple[str, str], SellerMasterData] = field(default_factory=dict)

    def __iter__(self) -> Iterator[SellerMasterData]:
        return iter(self.sellers)

    def __len__(self) -> int:
        return len(self.sellers)

    def source(self, seller: SellerMasterData) -> str:
        """The file ``seller`` came from, as it was named when loading (for provenance)."""
        return str(self.sources.get(seller.name, seller.name))

    def find(self, invoice: Invoice) -> SellerMasterData | None:
        """The master data of the invoice's seller: the ONE file any of its ids leads to.

        None when no file claims any of them. Raises :class:`AmbiguousSeller` naming the files
        and the ids that led to each when they lead to several (an invoice whose GLN names one
        seller and whose VAT id another must not get either one's bank account by chance).
        """
        found: dict[str, list[str]] = {}
        for kind, value in seller_ids(invoice):
            seller = self.by_id.get((kind, value))
            if seller is not None:
                found.setdefault(seller.name, []).append(f"{kind} {value}")
        if not found:
            return None
        if len(found) > 1:
            named = "; ".join(
                f"{self.sources.get(name, name)} (by {', '.join(ids)})"
                for name, ids in sorted(found.items())
            )
            raise AmbiguousSeller(
                f"invoice {invoice.number}: the seller's ids lead to several seller files: "
                f"{named}; an id may lead to one seller file only (remove it from all but one)"
            )
        (name,) = found
        return next(s for s in self.sellers if s.name == name)
