"""Code lists for the rules, loaded once at import from ``schemas/codelists/*.json``.

The JSON files are extracted verbatim from the official schematron XSLTs by
``schemas/codelists/extract.py``; see the README there for their origin.
"""

from __future__ import annotations

import json
from importlib.resources import files


def _load(name: str) -> frozenset[str]:
    text = files("schemas.codelists").joinpath(f"{name}.json").read_text(encoding="utf-8")
    return frozenset(json.loads(text))


UNTDID_1001_INVOICE = _load("untdid1001")
UNTDID_1001_CREDIT = _load("untdid1001_credit")
ISO_4217 = _load("iso4217")
UNTDID_2005 = _load("untdid2005")
UNTDID_1153 = _load("untdid1153")
UNTDID_4451 = _load("untdid4451")
ICD = _load("icd")
UNTDID_7143 = _load("untdid7143")
ISO_3166 = _load("iso3166")
UNTDID_4461 = _load("untdid4461")
UNTDID_5305 = _load("untdid5305")
UNTDID_5189 = _load("untdid5189")
UNTDID_7161 = _load("untdid7161")
VATEX = _load("vatex")
REC_20 = _load("rec20")
MIME = _load("mime")
EAS = _load("eas")
VAT_PREFIXES = _load("vat_prefixes")

PEPPOL_ISO_3166 = _load("peppol_iso3166")
PEPPOL_ISO_4217 = _load("peppol_iso4217")
PEPPOL_MIME = _load("peppol_mime")
PEPPOL_UNTDID_2005 = _load("peppol_untdid2005")
PEPPOL_UNTDID_5189 = _load("peppol_untdid5189")
PEPPOL_UNTDID_7161 = _load("peppol_untdid7161")
PEPPOL_UNTDID_5305 = _load("peppol_untdid5305")
PEPPOL_EAS = _load("peppol_eas")
PEPPOL_INVOICE_TYPES = _load("peppol_untdid1001_invoice_profile01")
PEPPOL_CREDIT_TYPES = _load("peppol_untdid1001_credit_profile01")
