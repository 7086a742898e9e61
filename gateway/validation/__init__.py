"""Validation of rendered documents with the official artefacts shipped in ``schemas/``.

``validate(document, rules)`` runs the syntax's XSD and the compiled schematron of each rule set
(en16931, peppol, xrechnung, facturx) and returns a ``ValidationReport`` of ``Problem`` findings.
Without ``rules`` the rule sets are those of the document's validation scenario, selected from
its specification identifier BT-24 by the table in :mod:`gateway.validation.scenarios` (as the
KoSIT validator's ``scenarios.xml`` does); the report names the scenario either way.
"""

from gateway.validation.report import ValidationReport, bt_from_text
from gateway.validation.validator import RULE_SETS, SYNTAXES, rule_names, validate, warm_up

__all__ = [
    "RULE_SETS",
    "SYNTAXES",
    "ValidationReport",
    "bt_from_text",
    "rule_names",
    "validate",
    "warm_up",
]
