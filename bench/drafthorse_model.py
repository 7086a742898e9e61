"""Build drafthorse's object model from a canonical Invoice, for a like-for-like comparison.

Only what a typical EN 16931 invoice fills is set (parties, lines, VAT, totals, payment means),
the same content our CII mapping writes for the benchmark invoices.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from drafthorse.models.accounting import ApplicableTradeTax
from drafthorse.models.document import Document as DhDocument
from drafthorse.models.payment import PaymentMeans
from drafthorse.models.tradelines import LineItem

from gateway.model import Invoice


def build(invoice: Invoice) -> Any:
    """A drafthorse Document carrying the invoice's common fields."""
    doc = DhDocument()
    doc.context.guideline_parameter.id = "urn:cen.eu:en16931:2017"
    doc.header.id = invoice.number
    doc.header.type_code = invoice.type_code
    doc.header.issue_date_time = invoice.issue_date
    trade = doc.trade
    trade.agreement.buyer_reference = invoice.buyer_reference or ""
    seller, buyer = trade.agreement.seller, trade.agreement.buyer
    seller.name = invoice.seller.name
    seller.address.line_one = invoice.seller.address.line1 or ""
    seller.address.city_name = invoice.seller.address.city or ""
    seller.address.postcode = invoice.seller.address.post_code or ""
    seller.address.country_id = invoice.seller.address.country
    if invoice.seller.vat_id:
        seller.tax_registrations.add(_vat(invoice.seller.vat_id))
    buyer.name = invoice.buyer.name
    buyer.address.line_one = invoice.buyer.address.line1 or ""
    buyer.address.city_name = invoice.buyer.address.city or ""
    buyer.address.postcode = invoice.buyer.address.post_code or ""
    buyer.address.country_id = invoice.buyer.address.country
    settlement = trade.settlement
    settlement.currency_code = invoice.currency
    if invoice.payment is not None:
        means = PaymentMeans()
        means.type_code = invoice.payment.means_code
        for transfer in invoice.payment.credit_transfers:
            means.payee_account.iban = transfer.account_id
        settlement.payment_means.add(means)
    for line in invoice.lines:
        item = LineItem()
        item.document.line_id = line.id
        item.product.name = line.item.name
        item.agreement.net.amount = line.price.net
        item.delivery.billed_quantity = (line.quantity, line.unit)
        item.settlement.trade_tax.type_code = "VAT"
        item.settlement.trade_tax.category_code = line.vat_category
        item.settlement.trade_tax.rate_applicable_percent = line.vat_rate or Decimal(0)
        item.settlement.monetary_summation.total_amount = line.net_amount or Decimal(0)
        trade.items.add(item)
    for vat in invoice.vat_breakdown:
        tax = ApplicableTradeTax()
        tax.calculated_amount = vat.tax_amount or Decimal(0)
        tax.basis_amount = vat.taxable_amount or Decimal(0)
        tax.type_code = "VAT"
        tax.category_code = vat.category
        tax.rate_applicable_percent = vat.rate or Decimal(0)
        settlement.trade_tax.add(tax)
    totals = invoice.totals
    assert totals is not None, "complete() the invoice first"
    summation = settlement.monetary_summation
    summation.line_total = totals.line_net
    summation.charge_total = totals.charges or Decimal(0)
    summation.allowance_total = totals.allowances or Decimal(0)
    summation.tax_basis_total = totals.without_vat
    summation.tax_total = (totals.vat or Decimal(0), invoice.currency)
    summation.grand_total = totals.with_vat
    summation.due_amount = totals.due
    return doc


def _vat(vat_id: str) -> Any:
    from drafthorse.models.party import TaxRegistration

    registration = TaxRegistration()
    registration.id = ("VA", vat_id)
    return registration
