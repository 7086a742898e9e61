"""Provenance: which terms of an invoice the source document did not give, and who supplied them.

An EANCOM message or an ERP export has no place for some EN 16931 terms (the seller's electronic
address, a Leitweg-ID), and some terms are defined exactly by others the source does give (the
base amount of a percentage allowance). When the gateway fills such a term it says so: one
:class:`TermSource` per filled term, kept on the invoice (``Invoice.provenance``), in its
canonical JSON and on its timeline. A value the source gave is never overwritten.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from gateway.model.base import Value

# "derived": computed from other terms of the same invoice by a rule EN 16931 defines exactly;
# "master-data": taken from the seller's master data or the buyer profile;
# "code-list": a code of the source syntax translated to the EN 16931 code list.
SourceKind = Literal["derived", "master-data", "code-list"]


class TermSource(Value):
    """One term the source did not give as such: where it sits, its BT id, who supplied it."""

    path: str = Field(min_length=1, description="field path in the canonical invoice")
    bt: str | None = Field(default=None, description="EN 16931 term id, e.g. BT-34")
    source: SourceKind
    detail: str = Field(
        min_length=1,
        description="how or from where: a rule ('BT-92 = BT-93 x BT-94 / 100'), a file, a code",
    )
