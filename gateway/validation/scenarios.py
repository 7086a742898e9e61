"""Validation scenarios: which rule sets a UBL or CII document is checked with, by its BT-24.

Like the KoSIT validator's ``scenarios.xml``, each row names one syntax and one specification
identifier (BT-24: UBL ``cbc:CustomizationID``, CII ``rsm:ExchangedDocumentContext/
ram:GuidelineSpecifiedDocumentContextParameter/ram:ID``), matched exactly (surrounding white
space aside), and the checks that scenario runs: ``rules`` are official rule sets of
:data:`gateway.validation.validator.RULE_SETS` (the syntax's base XSD always runs as well),
``in_process`` the sets of :mod:`gateway.rules` that inbound processing runs on the parsed
invoice. ``not_checked`` says, in words, what the specification requires that the shipped
artefacts cannot check, ``note`` why a check runs; both become notes on every report of that
scenario.

An identifier no row names is checked against EN 16931 (:data:`FALLBACK`) with a note listing
the known identifiers of the syntax. Each row cites where its identifier is defined.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from lxml import etree

NS_CBC = "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"
NS_RSM = "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100"
NS_RAM = "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100"

EN16931 = "urn:cen.eu:en16931:2017"
PEPPOL_BIS3 = f"{EN16931}#compliant#urn:fdc:peppol.eu:2017:poacc:billing:3.0"
XRECHNUNG_30 = f"{EN16931}#compliant#urn:xeinkauf.de:kosit:xrechnung_3.0"
XRECHNUNG_30_EXTENSION = f"{XRECHNUNG_30}#conformant#urn:xeinkauf.de:kosit:extension:xrechnung_3.0"
XRECHNUNG_30_CVD = f"{XRECHNUNG_30}#compliant#urn:xeinkauf.de:kosit:xrechnung:cvd_0.9"
FACTURX_MINIMUM = "urn:factur-x.eu:1p0:minimum"
FACTURX_BASIC_WL = "urn:factur-x.eu:1p0:basicwl"
FACTURX_BASIC = f"{EN16931}#compliant#urn:factur-x.eu:1p0:basic"
FACTURX_EXTENDED = f"{EN16931}#conformant#urn:factur-x.eu:1p0:extended"

_SRC_CEN = "EN 16931-1:2017 BT-24 and the CEN artefacts 1.3.16 (schemas/en16931-1.3.16)"
_SRC_PEPPOL = (
    "Peppol BIS Billing 3.0, section 'Specification identifier' (the value the Peppol "
    "artefacts 2026.5 test in PEPPOL-EN16931-R004)"
)
_SRC_XR = (
    "XRechnung 3.0.2 schematron, variables XR-CIUS-ID / XR-EXTENSION-ID / XR-CVD-ID with "
    "XR-MAJOR-MINOR-VERSION '3.0', CVD-MAJOR-MINOR-VERSION '0.9' (schemas/xrechnung-3.0.2)"
)
_SRC_FX = "Factur-X 1.0.07 / ZUGFeRD 2.3 specification, table of profile identifiers (BT-24)"


@dataclass(frozen=True)
class Scenario:
    """One row of the scenario table: a syntax and a BT-24 value, and what they are checked with."""

    name: str
    title: str
    syntax: str
    identifier: str
    rules: tuple[str, ...]
    in_process: tuple[str, ...]
    source: str
    not_checked: str = ""
    note: str = ""
    prefix: bool = False
    """Also match identifiers that begin with ``identifier`` + ``#`` (Peppol R004: "MUST begin
    with")."""


def _xrechnung(name: str, title: str, identifier: str) -> tuple[Scenario, Scenario]:
    """The UBL and the CII row of one XRechnung identifier (the same checks in both)."""
    rules = ("en16931", "xrechnung")
    return (
        Scenario(name, title, "ubl", identifier, rules, rules, _SRC_XR),
        Scenario(name, title, "cii", identifier, rules, rules, _SRC_XR),
    )


SCENARIOS: tuple[Scenario, ...] = (
    Scenario(
        "peppol-bis3",
        "Peppol BIS Billing 3.0",
        "ubl",
        PEPPOL_BIS3,
        ("en16931", "peppol"),
        ("en16931", "peppol"),
        _SRC_PEPPOL,
        prefix=True,
    ),
    Scenario(
        "peppol-bis3",
        "Peppol BIS Billing 3.0",
        "cii",
        PEPPOL_BIS3,
        ("en16931",),
        ("en16931", "peppol"),
        _SRC_PEPPOL,
        not_checked="the Peppol BIS 3 schematron for CII (only the UBL one is shipped; the "
        "official part of this check is EN 16931 only)",
        prefix=True,
    ),
    *_xrechnung("xrechnung-3.0", "XRechnung 3.0", XRECHNUNG_30),
    *_xrechnung("xrechnung-3.0-extension", "XRechnung 3.0 Extension", XRECHNUNG_30_EXTENSION),
    *_xrechnung("xrechnung-3.0-cvd", "XRechnung 3.0 CVD", XRECHNUNG_30_CVD),
    Scenario("en16931", "EN 16931", "ubl", EN16931, ("en16931",), ("en16931",), _SRC_CEN),
    Scenario(
        "en16931",
        "EN 16931 (CII; the Factur-X / ZUGFeRD EN 16931 profile)",
        "cii",
        EN16931,
        ("en16931", "facturx"),
        ("en16931",),
        f"{_SRC_CEN}; {_SRC_FX}",
        note="this identifier is also the Factur-X / ZUGFeRD EN 16931 profile's, so the Factur-X "
        "EN 16931 XSD runs too (it admits only the elements EN 16931 uses); --rules en16931 "
        "checks plain EN 16931 alone",
    ),
    Scenario(
        "facturx-basic",
        "Factur-X / ZUGFeRD BASIC",
        "cii",
        FACTURX_BASIC,
        ("en16931", "facturx"),
        ("en16931",),
        _SRC_FX,
        not_checked="the Factur-X BASIC XSD and schematron (not shipped; the EN 16931 profile "
        "XSD, whose elements include BASIC's, runs instead)",
    ),
    Scenario(
        "facturx-extended",
        "Factur-X / ZUGFeRD EXTENDED",
        "cii",
        FACTURX_EXTENDED,
        ("en16931",),
        ("en16931",),
        _SRC_FX,
        not_checked="the Factur-X EXTENDED XSD and schematron (not shipped; EXTENDED adds "
        "elements to the EN 16931 profile XSD, so that XSD does not run)",
    ),
    Scenario(
        "facturx-basicwl",
        "Factur-X / ZUGFeRD BASIC WL",
        "cii",
        FACTURX_BASIC_WL,
        (),
        (),
        _SRC_FX,
        not_checked="BASIC WL is not an EN 16931 invoice (no lines), and its XSD and "
        "schematron are not shipped: only the CII D16B XSD is checked",
    ),
    Scenario(
        "facturx-minimum",
        "Factur-X / ZUGFeRD MINIMUM",
        "cii",
        FACTURX_MINIMUM,
        (),
        (),
        _SRC_FX,
        not_checked="MINIMUM is not an EN 16931 invoice, and its XSD and schematron are not "
        "shipped: only the CII D16B XSD is checked",
    ),
)

FALLBACK: dict[str, Scenario] = {
    syntax: Scenario(
        "en16931-fallback",
        "EN 16931 (fallback: specification identifier not recognised)",
        syntax,
        "",
        ("en16931",),
        ("en16931",),
        "this table: an identifier no row names is checked against EN 16931 alone",
    )
    for syntax in ("ubl", "cii")
}
"""The scenario of a document whose BT-24 no row names (or that has none)."""

_BY_KEY: dict[tuple[str, str], Scenario] = {(s.syntax, s.identifier): s for s in SCENARIOS}


# Parts of an identifier that tell which specification an unknown one belongs to, for the note.
_FAMILIES = (
    ("xrechnung", "XRechnung"),
    ("peppol", "Peppol"),
    ("factur-x", "Factur-X"),
    ("zugferd", "ZUGFeRD"),
    ("urn:ferd:", "ZUGFeRD 1.0"),
)


@dataclass(frozen=True)
class ScenarioMatch:
    """The scenario a document matched, the BT-24 it gave (None: absent) and why, as notes."""

    scenario: Scenario
    identifier: str | None
    matched: bool
    notes: tuple[str, ...] = field(default=())


def known_identifiers(syntax: str) -> list[str]:
    """The BT-24 values the table knows for ``syntax``, in table order."""
    return [s.identifier for s in SCENARIOS if s.syntax == syntax]


def match_scenario(syntax: str, identifier: str | None) -> ScenarioMatch:
    """The scenario for ``identifier`` in ``syntax`` (``ubl``/``cii``); EN 16931 when unknown.

    Other syntaxes (EDIFACT, cXML) have no table rows: they get the UBL fallback, whose rule
    sets are the EN 16931 ones the in-process check applies to them.
    """
    table_syntax = syntax if syntax in FALLBACK else "ubl"
    value = identifier.strip() if identifier is not None else None
    found = _BY_KEY.get((table_syntax, value)) if value else None
    if found is None and value:
        found = next(
            (
                s
                for s in SCENARIOS
                if s.prefix and s.syntax == table_syntax and value.startswith(s.identifier + "#")
            ),
            None,
        )
    if found is not None:
        notes = tuple(
            text
            for text in (found.note, found.not_checked and f"not checked: {found.not_checked}")
            if text
        )
        return ScenarioMatch(found, value, True, notes)
    fallback = FALLBACK[table_syntax]
    if syntax not in FALLBACK:
        return ScenarioMatch(fallback, value, False)
    known = "; ".join(dict.fromkeys(known_identifiers(syntax)))
    if value:
        why = f"specification identifier (BT-24) {value!r} names no known scenario"
        family = next((f for marker, f in _FAMILIES if marker in value.lower()), None)
        if family:
            why += f" (it names {family}, but no version or syntax the shipped artefacts check)"
    else:
        why = "the document has no specification identifier (BT-24)"
    note = f"{why}: checked against EN 16931 only. Known for {syntax}: {known}"
    return ScenarioMatch(fallback, value, False, (note,))


def specification_identifier(root: etree._Element) -> str | None:
    """BT-24 of a parsed UBL Invoice/CreditNote or CII CrossIndustryInvoice root (None: absent)."""
    if etree.QName(root).namespace == NS_RSM:
        path = (
            f"{{{NS_RSM}}}ExchangedDocumentContext/"
            f"{{{NS_RAM}}}GuidelineSpecifiedDocumentContextParameter/{{{NS_RAM}}}ID"
        )
    else:
        path = f"{{{NS_CBC}}}CustomizationID"
    element = root.find(path)
    if element is None or element.text is None:
        return None
    return element.text


def document_scenario(root: etree._Element, syntax: str) -> ScenarioMatch:
    """The scenario of a parsed UBL/CII document, found from its BT-24."""
    return match_scenario(syntax, specification_identifier(root))


def format_scenarios() -> str:
    """The scenario table for people (``igw validate --scenarios``): one block per row."""
    lines: list[str] = []
    for s in (*SCENARIOS, FALLBACK["ubl"]):
        syntax = "ubl, cii" if s is FALLBACK["ubl"] else s.syntax
        lines.append(f"{s.name} [{syntax}] {s.title}")
        lines.append(f"  BT-24: {s.identifier or '(any other, or none)'}")
        lines.append(f"  official rules: {', '.join(s.rules) or 'the syntax XSD only'}")
        lines.append(f"  in-process rules (inbound): {', '.join(s.in_process) or 'none'}")
        if s.note:
            lines.append(f"  note: {s.note}")
        if s.not_checked:
            lines.append(f"  not checked: {s.not_checked}")
        lines.append(f"  source: {s.source}")
    return "\n".join(lines) + "\n"
