"""Extract the code lists the in-process rules need from the official compiled schematron XSLTs.

Run from the repository root (needs ../shared/conformance):

    .venv/bin/python schemas/codelists/extract.py [ARTEFACTS_DIR]

Each list is taken verbatim from one assertion (by rule id) or one ``xsl:variable`` of the
official artefact, so nothing is hand-typed; the result is one JSON file per list next to
this script, with its origin recorded in ``index.json``.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

from lxml import etree

XSL = "http://www.w3.org/1999/XSL/Transform"
SVRL = "http://purl.oclc.org/dsdl/svrl"
HERE = Path(__file__).resolve().parent
DEFAULT_ARTEFACTS = HERE.parents[2] / "shared" / "conformance" / "artefacts"

EN_UBL = "en16931/EN16931-UBL-validation.xslt"
PEPPOL = "peppol/PEPPOL-EN16931-UBL.xslt"

# list name -> (artefact, rule id or variable name, description)
FROM_ASSERT = {
    "untdid1001": (EN_UBL, "BR-CL-01", "UNTDID 1001 invoice type codes (UBL Invoice)"),
    "untdid1001_credit": (EN_UBL, "BR-CL-01#2", "UNTDID 1001 credit note types (UBL CreditNote)"),
    "iso4217": (EN_UBL, "BR-CL-04", "ISO 4217 alpha-3 currency codes"),
    "untdid2005": (EN_UBL, "BR-CL-06", "UNTDID 2005 VAT point date codes (restriction)"),
    "untdid1153": (EN_UBL, "BR-CL-07", "UNTDID 1153 reference code qualifiers"),
    "untdid4451": (EN_UBL, "BR-CL-08", "UNTDID 4451 text subject qualifiers"),
    "icd": (EN_UBL, "BR-CL-10", "ISO 6523 ICD identifier schemes"),
    "untdid7143": (EN_UBL, "BR-CL-13", "UNTDID 7143 item type identification codes"),
    "iso3166": (EN_UBL, "BR-CL-14", "ISO 3166-1 alpha-2 country codes (with 1A, XI)"),
    "untdid4461": (EN_UBL, "BR-CL-16", "UNTDID 4461 payment means codes"),
    "untdid5305": (EN_UBL, "BR-CL-17", "UNTDID 5305 VAT category codes"),
    "untdid5189": (EN_UBL, "BR-CL-19", "UNTDID 5189 allowance reason codes"),
    "untdid7161": (EN_UBL, "BR-CL-20", "UNTDID 7161 charge reason codes"),
    "vatex": (EN_UBL, "BR-CL-22", "CEF VATEX exemption reason codes"),
    "rec20": (EN_UBL, "BR-CL-23", "UN/ECE Recommendation 20 (with Rec 21) unit codes"),
    "mime": (EN_UBL, "BR-CL-24", "MIME codes allowed for attachments"),
    "eas": (EN_UBL, "BR-CL-25", "CEF EAS electronic address schemes"),
    "vat_prefixes": (EN_UBL, "BR-CO-09", "VAT identifier country prefixes (ISO 3166 + EL, XI)"),
}
FROM_VARIABLE = {
    "peppol_iso3166": (PEPPOL, "ISO3166", "Peppol ISO 3166 list"),
    "peppol_iso4217": (PEPPOL, "ISO4217", "Peppol ISO 4217 list"),
    "peppol_mime": (PEPPOL, "MIMECODE", "Peppol MIME codes"),
    "peppol_untdid2005": (PEPPOL, "UNCL2005", "Peppol UNTDID 2005"),
    "peppol_untdid5189": (PEPPOL, "UNCL5189", "Peppol UNTDID 5189"),
    "peppol_untdid7161": (PEPPOL, "UNCL7161", "Peppol UNTDID 7161"),
    "peppol_untdid5305": (PEPPOL, "UNCL5305", "Peppol UNTDID 5305"),
    "peppol_eas": (PEPPOL, "eaid", "Peppol EAS list"),
    "peppol_untdid1001_invoice_profile01": (
        PEPPOL, "PEPPOL-EN16931-P0100", "Peppol invoice type codes (assertion P0100)"),
    "peppol_untdid1001_credit_profile01": (
        PEPPOL, "PEPPOL-EN16931-P0101", "Peppol credit note type codes (assertion P0101)"),
}
_SPACED = re.compile(r"'( [^']+ )'")
_TOKENIZED = re.compile(r"tokenize\('([^']+)'")
_MIME = re.compile(r"@mimeCode = '([^']+)'")


def _asserts(tree: etree._ElementTree) -> dict[str, str]:
    tests: dict[str, str] = {}
    for el in tree.iter(f"{{{SVRL}}}failed-assert"):
        for attr in el.iter(f"{{{XSL}}}attribute"):
            if attr.get("name") == "id":
                tests.setdefault(str(attr.text or "").strip(), el.get("test") or "")
    return tests


def _codes(test: str, nth: int = 0) -> list[str]:
    """The codes of the longest list literal in ``test`` (or of the ``nth``, 1-based)."""
    if "@mimeCode" in test:
        return sorted(set(_MIME.findall(test)))
    found = _SPACED.findall(test) or _TOKENIZED.findall(test)
    if not found:
        raise ValueError(f"no code list literal in {test[:120]!r}")
    chosen = found[nth - 1] if nth else max(found, key=len)
    return sorted(set(chosen.split()))


def extract(artefacts: Path) -> dict[str, dict[str, object]]:
    """Read the artefacts and return ``{name: {"source", "rule", "description", "codes"}}``."""
    trees: dict[str, etree._ElementTree] = {}
    asserts: dict[str, dict[str, str]] = {}
    result: dict[str, dict[str, object]] = {}

    def tree(name: str) -> etree._ElementTree:
        if name not in trees:
            trees[name] = etree.parse(str(artefacts / name))
            asserts[name] = _asserts(trees[name])
        return trees[name]

    for name, (source, rule, description) in FROM_ASSERT.items():
        tree(source)
        rule_id, _, nth = rule.partition("#")
        result[name] = {"source": source, "rule": rule, "description": description,
                        "codes": _codes(asserts[source][rule_id], int(nth or 0))}
    for name, (source, var, description) in FROM_VARIABLE.items():
        t = tree(source)
        if var in asserts[source]:
            select = asserts[source][var]
        else:
            nodes = [v for v in t.iter(f"{{{XSL}}}variable") if v.get("name") == var]
            select = nodes[0].get("select") or ""
        result[name] = {"source": source, "rule": var, "description": description,
                        "codes": _codes(select)}
    return result


def main(argv: list[str]) -> int:
    """Write one JSON file per list and ``index.json`` (name -> origin, size)."""
    artefacts = Path(argv[1]) if len(argv) > 1 else DEFAULT_ARTEFACTS
    lists = extract(artefacts)
    index: dict[str, dict[str, object]] = {}
    for name, data in lists.items():
        codes = data["codes"]
        assert isinstance(codes, list)
        (HERE / f"{name}.json").write_text(json.dumps(codes, indent=0) + "\n")
        index[name] = {k: v for k, v in data.items() if k != "codes"} | {"count": len(codes)}
    (HERE / "index.json").write_text(json.dumps(index, indent=2, sort_keys=True) + "\n")
    print(f"wrote {len(lists)} code lists to {HERE}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
