"""The words on the invoice PDF in each language it is written in (de, en, fr).

A small catalogue per language rather than gettext catalogs: the document has some sixty fixed
labels, the three tables are read side by side when one changes, and a missing key is caught by
:func:`labels` (every language must have every key of English).
"""

from __future__ import annotations

from collections.abc import Mapping

from gateway.errors import ConfigError

DEFAULT_LANGUAGE = "en"

_EN: dict[str, str] = {
    "invoice": "Invoice",
    "credit_note": "Credit note",
    "corrected_invoice": "Corrected invoice",
    "prepayment_invoice": "Prepayment invoice",
    "self_billed_invoice": "Self-billed invoice",
    "number": "Invoice number",
    "credit_note_number": "Credit note number",
    "issue_date": "Date",
    "due_date": "Due date",
    "tax_point_date": "Tax point date",
    "buyer_reference": "Your reference",
    "purchase_order": "Purchase order",
    "sales_order": "Sales order",
    "contract": "Contract",
    "project": "Project",
    "tender": "Tender / lot",
    "receiving_advice": "Receiving advice",
    "despatch_advice": "Despatch advice",
    "invoiced_object": "Invoiced object",
    "accounting_reference": "Accounting reference",
    "preceding_invoice": "Corrects invoice",
    "delivery_date": "Delivery date",
    "invoice_period": "Invoicing period",
    "deliver_to": "Deliver to",
    "seller": "Seller",
    "buyer": "Buyer",
    "payee": "Payee",
    "tax_representative": "Tax representative",
    "vat_id": "VAT ID",
    "tax_number": "Tax number",
    "registration": "Registration",
    "contact": "Contact",
    "customer_number": "Customer number",
    "pos": "Pos.",
    "description": "Description",
    "quantity": "Quantity",
    "unit_price": "Unit price",
    "vat": "VAT",
    "amount": "Amount",
    "seller_item": "Item no.",
    "buyer_item": "Your item no.",
    "standard_item": "GTIN",
    "origin": "Origin",
    "period": "Period",
    "order_line": "Order line",
    "gross_price": "gross",
    "price_discount": "discount",
    "per": "per",
    "allowance": "Allowance",
    "charge": "Charge",
    "of": "of",
    "line_net_total": "Sum of lines",
    "allowances_total": "Allowances",
    "charges_total": "Charges",
    "total_without_vat": "Total without VAT",
    "vat_total": "VAT",
    "vat_total_accounting": "VAT in accounting currency",
    "total_with_vat": "Total with VAT",
    "prepaid": "Paid in advance",
    "rounding": "Rounding",
    "amount_due": "Amount due",
    "amount_refunded": "Amount to be refunded",
    "vat_breakdown": "VAT breakdown",
    "vat_category": "Category",
    "vat_rate": "Rate",
    "taxable_amount": "Taxable amount",
    "tax_amount": "VAT amount",
    "exemption": "Exemption reason",
    "payment": "Payment",
    "payment_terms": "Payment terms",
    "payment_means": "Payment method",
    "account_holder": "Account holder",
    "iban": "IBAN",
    "bic": "BIC",
    "payment_reference": "Payment reference",
    "creditor_reference": "Creditor reference (RF)",
    "remittance": "Remittance information",
    "card": "Card",
    "mandate": "Mandate reference",
    "creditor_id": "Creditor ID",
    "debited_account": "Debited account",
    "direct_debit_note": "The amount will be collected by SEPA direct debit.",
    "scan_to_pay": "Scan to pay with your banking app",
    "pay_online": "Pay online",
    "notes": "Notes",
    "documents": "Supporting documents",
    "page": "Page",
    "page_of": "of",
    "bank": "Bank",
}

_DE: dict[str, str] = {
    "invoice": "Rechnung",
    "credit_note": "Gutschrift",
    "corrected_invoice": "Rechnungskorrektur",
    "prepayment_invoice": "Vorauszahlungsrechnung",
    "self_billed_invoice": "Gutschrift (Selbstfakturierung)",
    "number": "Rechnungsnummer",
    "credit_note_number": "Gutschriftsnummer",
    "issue_date": "Datum",
    "due_date": "Fällig am",
    "tax_point_date": "Steuerdatum",
    "buyer_reference": "Ihre Referenz",
    "purchase_order": "Bestellung",
    "sales_order": "Auftrag",
    "contract": "Vertrag",
    "project": "Projekt",
    "tender": "Vergabe / Los",
    "receiving_advice": "Wareneingangsmeldung",
    "despatch_advice": "Lieferschein",
    "invoiced_object": "Abrechnungsobjekt",
    "accounting_reference": "Kontierung",
    "preceding_invoice": "Bezieht sich auf Rechnung",
    "delivery_date": "Lieferdatum",
    "invoice_period": "Leistungszeitraum",
    "deliver_to": "Lieferanschrift",
    "seller": "Verkäufer",
    "buyer": "Käufer",
    "payee": "Zahlungsempfänger",
    "tax_representative": "Steuervertreter",
    "vat_id": "USt-IdNr.",
    "tax_number": "Steuernummer",
    "registration": "Handelsregister",
    "contact": "Kontakt",
    "customer_number": "Kundennummer",
    "pos": "Pos.",
    "description": "Bezeichnung",
    "quantity": "Menge",
    "unit_price": "Einzelpreis",
    "vat": "USt.",
    "amount": "Betrag",
    "seller_item": "Art.-Nr.",
    "buyer_item": "Ihre Art.-Nr.",
    "standard_item": "GTIN",
    "origin": "Ursprung",
    "period": "Zeitraum",
    "order_line": "Bestellposition",
    "gross_price": "brutto",
    "price_discount": "Rabatt",
    "per": "je",
    "allowance": "Nachlass",
    "charge": "Zuschlag",
    "of": "von",
    "line_net_total": "Summe Positionen",
    "allowances_total": "Nachlässe",
    "charges_total": "Zuschläge",
    "total_without_vat": "Gesamtbetrag netto",
    "vat_total": "Umsatzsteuer",
    "vat_total_accounting": "Umsatzsteuer in Buchungswährung",
    "total_with_vat": "Gesamtbetrag brutto",
    "prepaid": "Bereits gezahlt",
    "rounding": "Rundung",
    "amount_due": "Zahlbetrag",
    "amount_refunded": "Erstattungsbetrag",
    "vat_breakdown": "Umsatzsteuer nach Steuersätzen",
    "vat_category": "Kategorie",
    "vat_rate": "Satz",
    "taxable_amount": "Nettobetrag",
    "tax_amount": "Steuerbetrag",
    "exemption": "Befreiungsgrund",
    "payment": "Zahlung",
    "payment_terms": "Zahlungsbedingungen",
    "payment_means": "Zahlungsart",
    "account_holder": "Kontoinhaber",
    "iban": "IBAN",
    "bic": "BIC",
    "payment_reference": "Verwendungszweck",
    "creditor_reference": "Gläubigerreferenz (RF)",
    "remittance": "Verwendungszweck",
    "card": "Karte",
    "mandate": "Mandatsreferenz",
    "creditor_id": "Gläubiger-ID",
    "debited_account": "Belastetes Konto",
    "direct_debit_note": "Der Betrag wird per SEPA-Lastschrift eingezogen.",
    "scan_to_pay": "Mit der Banking-App scannen und bezahlen",
    "pay_online": "Online bezahlen",
    "notes": "Hinweise",
    "documents": "Begleitdokumente",
    "page": "Seite",
    "page_of": "von",
    "bank": "Bank",
}

_FR: dict[str, str] = {
    "invoice": "Facture",
    "credit_note": "Avoir",
    "corrected_invoice": "Facture rectificative",
    "prepayment_invoice": "Facture d'acompte",
    "self_billed_invoice": "Autofacture",
    "number": "Numéro de facture",
    "credit_note_number": "Numéro d'avoir",
    "issue_date": "Date",
    "due_date": "Échéance",
    "tax_point_date": "Date d'exigibilité de la TVA",
    "buyer_reference": "Votre référence",
    "purchase_order": "Bon de commande",
    "sales_order": "Commande client",
    "contract": "Contrat",
    "project": "Projet",
    "tender": "Appel d'offres / lot",
    "receiving_advice": "Avis de réception",
    "despatch_advice": "Bon de livraison",
    "invoiced_object": "Objet facturé",
    "accounting_reference": "Référence comptable",
    "preceding_invoice": "Rectifie la facture",
    "delivery_date": "Date de livraison",
    "invoice_period": "Période de facturation",
    "deliver_to": "Adresse de livraison",
    "seller": "Vendeur",
    "buyer": "Acheteur",
    "payee": "Bénéficiaire",
    "tax_representative": "Représentant fiscal",
    "vat_id": "N° TVA",
    "tax_number": "N° fiscal",
    "registration": "Immatriculation",
    "contact": "Contact",
    "customer_number": "N° client",
    "pos": "Pos.",
    "description": "Désignation",
    "quantity": "Quantité",
    "unit_price": "Prix unitaire",
    "vat": "TVA",
    "amount": "Montant",
    "seller_item": "Réf.",
    "buyer_item": "Votre réf.",
    "standard_item": "GTIN",
    "origin": "Origine",
    "period": "Période",
    "order_line": "Ligne de commande",
    "gross_price": "brut",
    "price_discount": "remise",
    "per": "par",
    "allowance": "Remise",
    "charge": "Frais",
    "of": "de",
    "line_net_total": "Total des lignes",
    "allowances_total": "Remises",
    "charges_total": "Frais",
    "total_without_vat": "Total HT",
    "vat_total": "TVA",
    "vat_total_accounting": "TVA en devise comptable",
    "total_with_vat": "Total TTC",
    "prepaid": "Acompte versé",
    "rounding": "Arrondi",
    "amount_due": "Net à payer",
    "amount_refunded": "Montant à rembourser",
    "vat_breakdown": "Détail de la TVA",
    "vat_category": "Catégorie",
    "vat_rate": "Taux",
    "taxable_amount": "Base HT",
    "tax_amount": "Montant TVA",
    "exemption": "Motif d'exonération",
    "payment": "Paiement",
    "payment_terms": "Conditions de paiement",
    "payment_means": "Moyen de paiement",
    "account_holder": "Titulaire du compte",
    "iban": "IBAN",
    "bic": "BIC",
    "payment_reference": "Référence de paiement",
    "creditor_reference": "Référence créancier (RF)",
    "remittance": "Motif du virement",
    "card": "Carte",
    "mandate": "Référence du mandat",
    "creditor_id": "ICS",
    "debited_account": "Compte débité",
    "direct_debit_note": "Le montant sera prélevé par prélèvement SEPA.",
    "scan_to_pay": "Scannez pour payer avec votre application bancaire",
    "pay_online": "Payer en ligne",
    "notes": "Remarques",
    "documents": "Documents joints",
    "page": "Page",
    "page_of": "sur",
    "bank": "Banque",
}

CATALOGUE: Mapping[str, Mapping[str, str]] = {"en": _EN, "de": _DE, "fr": _FR}
LANGUAGES = tuple(sorted(CATALOGUE))

# UN/ECE Recommendation 20/21 unit codes the examples and typical invoices use.
UNIT_NAMES: Mapping[str, Mapping[str, str]] = {
    "en": {
        "C62": "pcs", "H87": "pcs", "EA": "each", "XPP": "pcs", "HUR": "h", "DAY": "days",
        "MON": "months", "ANN": "years", "WEE": "weeks", "MIN": "min", "KGM": "kg", "GRM": "g",
        "TNE": "t", "MTR": "m", "KMT": "km", "MTK": "m²", "MTQ": "m³", "LTR": "l", "KWH": "kWh",
        "XPK": "packs", "XBX": "boxes", "SET": "sets", "PR": "pairs", "LS": "lump sum",
    },
    "de": {
        "C62": "Stk.", "H87": "Stk.", "EA": "Stk.", "XPP": "Stk.", "HUR": "Std.", "DAY": "Tage",
        "MON": "Monate", "ANN": "Jahre", "WEE": "Wochen", "MIN": "Min.", "KGM": "kg", "GRM": "g",
        "TNE": "t", "MTR": "m", "KMT": "km", "MTK": "m²", "MTQ": "m³", "LTR": "l", "KWH": "kWh",
        "XPK": "Pck.", "XBX": "Kartons", "SET": "Sätze", "PR": "Paar", "LS": "pauschal",
    },
    "fr": {
        "C62": "pce", "H87": "pce", "EA": "unité", "XPP": "pce", "HUR": "h", "DAY": "jours",
        "MON": "mois", "ANN": "ans", "WEE": "semaines", "MIN": "min", "KGM": "kg", "GRM": "g",
        "TNE": "t", "MTR": "m", "KMT": "km", "MTK": "m²", "MTQ": "m³", "LTR": "l", "KWH": "kWh",
        "XPK": "paquets", "XBX": "cartons", "SET": "lots", "PR": "paires", "LS": "forfait",
    },
}  # fmt: skip

# UNTDID 5305 VAT category codes, as a reader would name them.
VAT_CATEGORY_NAMES: Mapping[str, Mapping[str, str]] = {
    "en": {
        "S": "standard rate", "Z": "zero rated", "E": "exempt", "AE": "reverse charge",
        "K": "intra-community supply", "G": "export outside the EU", "O": "not subject to VAT",
        "L": "IGIC (Canary Islands)", "M": "IPSI (Ceuta and Melilla)",
    },
    "de": {
        "S": "Normalsatz", "Z": "Nullsatz", "E": "steuerbefreit",
        "AE": "Steuerschuldnerschaft des Leistungsempfängers",
        "K": "innergemeinschaftliche Lieferung", "G": "Ausfuhrlieferung",
        "O": "nicht steuerbar", "L": "IGIC (Kanaren)", "M": "IPSI (Ceuta und Melilla)",
    },
    "fr": {
        "S": "taux normal", "Z": "taux zéro", "E": "exonéré", "AE": "autoliquidation",
        "K": "livraison intracommunautaire", "G": "exportation hors UE",
        "O": "hors champ de la TVA", "L": "IGIC (Canaries)", "M": "IPSI (Ceuta et Melilla)",
    },
}  # fmt: skip

# UNTDID 4461 payment means codes.
PAYMENT_MEANS_NAMES: Mapping[str, Mapping[str, str]] = {
    "en": {
        "10": "cash", "20": "cheque", "30": "credit transfer", "31": "debit transfer",
        "42": "payment to bank account", "48": "bank card", "49": "direct debit",
        "54": "credit card", "55": "debit card", "57": "standing agreement",
        "58": "SEPA credit transfer", "59": "SEPA direct debit", "97": "clearing between partners",
        "ZZZ": "as agreed",
    },
    "de": {
        "10": "Barzahlung", "20": "Scheck", "30": "Überweisung", "31": "Lastschrift",
        "42": "Zahlung auf Bankkonto", "48": "Bankkarte", "49": "Lastschrift",
        "54": "Kreditkarte", "55": "Debitkarte", "57": "Dauerauftrag",
        "58": "SEPA-Überweisung", "59": "SEPA-Lastschrift", "97": "Verrechnung",
        "ZZZ": "wie vereinbart",
    },
    "fr": {
        "10": "espèces", "20": "chèque", "30": "virement", "31": "prélèvement",
        "42": "paiement sur compte bancaire", "48": "carte bancaire", "49": "prélèvement",
        "54": "carte de crédit", "55": "carte de débit", "57": "accord permanent",
        "58": "virement SEPA", "59": "prélèvement SEPA", "97": "compensation",
        "ZZZ": "selon accord",
    },
}  # fmt: skip


def check_language(language: str) -> str:
    """``language`` normalised (``DE`` -> ``de``); ConfigError naming the accepted ones."""
    code = language.strip().lower().replace("_", "-").split("-")[0]
    if code not in CATALOGUE:
        raise ConfigError(
            f"pdf option language={language!r}: no labels in that language "
            f"(accepted: {', '.join(LANGUAGES)})"
        )
    return code


def labels(language: str) -> Mapping[str, str]:
    """The labels of ``language`` (a code from :data:`LANGUAGES`)."""
    return CATALOGUE[check_language(language)]


def unit_name(code: str, language: str) -> str:
    """A reader's name of a UN/ECE Rec 20 unit code; the code itself when none is known."""
    return UNIT_NAMES[language].get(code, code)


def vat_category_name(code: str, language: str) -> str:
    """A reader's name of a UNTDID 5305 VAT category code; the code when unknown."""
    return VAT_CATEGORY_NAMES[language].get(code, code)


def payment_means_name(code: str, language: str) -> str:
    """A reader's name of a UNTDID 4461 payment means code; the code when unknown."""
    return PAYMENT_MEANS_NAMES[language].get(code, code)
