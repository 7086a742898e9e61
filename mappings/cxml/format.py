"""CxmlInvoice: the cXML 1.2.037 InvoiceDetailRequest mapping (Ariba / Coupa)."""

from __future__ import annotations

from typing import ClassVar

from gateway.document import Document
from gateway.envelope import Envelope
from gateway.errors import ConfigError
from gateway.model import Invoice
from gateway.profiles.profile import BuyerProfile
from gateway.totals import complete, is_complete
from mappings.cxml.parse import parse_cxml
from mappings.cxml.render import header_options, payment_days, render_cxml

# What cXML cannot carry, by model field name (see CxmlInvoice). Everything else round-trips.
DROPPED_INVOICE_FIELDS = (
    "tax_point_date",  # BT-7
    "tax_point_date_code",  # BT-8
    "invoiced_object",  # BT-18
    "tax_representative",  # BG-11
    "delivery",  # BG-13
    "allowances",  # BG-20 (their sum BT-107 is kept as TotalAllowances)
    "charges",  # BG-21 (their sum BT-108 is kept as TotalCharges)
    "supporting_documents",  # BG-24
)
DROPPED_TOTALS_FIELDS = ("rounding",)  # BT-114 (BT-115 DueAmount is kept as written)
DROPPED_PAYMENT_FIELDS = ("card", "direct_debit")  # BG-18, BG-19
DROPPED_LINE_FIELDS = ("object_id", "allowances", "charges")  # BT-128, BG-27, BG-28
DROPPED_PRICE_FIELDS = ("discount", "gross", "base_quantity_unit")  # BT-147, BT-148, BT-150
DROPPED_ITEM_FIELDS = ("standard_id", "attributes")  # BT-157, BG-32
DROPPED_CLASSIFICATION_FIELDS = ("version",)  # BT-158-2


def _without(value: object, fields: tuple[str, ...]) -> dict[str, object]:
    """An update dict setting each of ``fields`` to its model default (None or empty)."""
    model_fields = type(value).model_fields  # type: ignore[attr-defined]
    return {name: model_fields[name].get_default(call_default_factory=True) for name in fields}


class CxmlInvoice:
    """cXML InvoiceDetailRequest, valid against cXML 1.2.037 ``InvoiceDetail.dtd``.

    ``render(invoice, profile, envelope)``: ``payloadID`` is ``envelope.payload_id`` or
    ``envelope.interchange_ref``, ``timestamp`` is ``envelope.prepared_at`` (with its UTC offset;
    never the clock), ``deploymentMode`` is ``test`` when ``envelope.test``. The Header comes from
    ``profile.options``: ``from_domain``, ``from_identity``, ``to_domain``, ``to_identity``,
    ``sender_domain``, ``sender_identity``, ``shared_secret``, ``user_agent``; a missing option is
    a ConfigError naming it. ``shared_secret`` is taken as given: the profile loader resolves it
    from a secret reference; render never reads environment variables or files itself.

    Type code 381 (and the other credit-note codes) is ``purpose="lineLevelCreditMemo"``: the
    cXML guide requires credit memo quantities and amounts to be negative, so quantities and all
    Money values except UnitPrice are written negated and negated back on parse. Codes other than
    380/381 also travel as Extrinsic ``invoiceTypeCode``. Amounts are plain decimals with the
    ``currency`` attribute on Money; BT-6/BT-111 are the summary Tax Money's alternateCurrency /
    alternateAmount. EN 16931 terms without a cXML element travel as Extrinsics (names in
    :mod:`mappings.cxml.names`), party ids as IdReference (``vatID``, ``taxID``...).

    ``stamped(invoice)`` is the invoice as the document carries it, so that
    ``parse(render(x).content) == stamped(x)``. It drops exactly these fields, which cXML 1.2.037
    cannot carry (no element, and not worth an Extrinsic a buyer system would not read):

    * invoice: ``tax_point_date`` (BT-7), ``tax_point_date_code`` (BT-8), ``invoiced_object``
      (BT-18), ``tax_representative`` (BG-11), ``delivery`` (BG-13), ``allowances`` (BG-20) and
      ``charges`` (BG-21) — their sums BT-107/BT-108 are kept — ``supporting_documents`` (BG-24);
      ``preceding_invoices`` after the first (InvoiceIDInfo occurs once); ``due_date`` (BT-9)
      when it is before BT-2 (PaymentTerm counts days forward); ``invoice_period`` (BG-14) unless
      both start and end are given (Period requires both);
    * totals: ``rounding`` (BT-114);
    * payment: ``card`` (BG-18), ``direct_debit`` (BG-19);
    * each line: ``object_id`` (BT-128), ``allowances`` (BG-27), ``charges`` (BG-28); price
      ``discount`` (BT-147), ``gross`` (BT-148), ``base_quantity_unit`` (BT-150); item
      ``standard_id`` (BT-157), ``attributes`` (BG-32); classification ``version`` (BT-158-2).
    """

    name: ClassVar[str] = "cxml"
    syntax: ClassVar[str] = "cxml"
    rules: ClassVar[tuple[str, ...]] = ()
    media_type: ClassVar[str] = "text/xml"
    extension: ClassVar[str] = "xml"

    def render(
        self, invoice: Invoice, profile: BuyerProfile, envelope: Envelope | None = None
    ) -> Document:
        """The InvoiceDetailRequest for ``invoice`` (omitted amounts completed first); pure.

        Raises ConfigError without an envelope, with a missing Header option or a naive
        ``prepared_at``."""
        if envelope is None:
            raise ConfigError("cXML needs an envelope (payloadID and timestamp come in with it)")
        options = header_options(profile)
        if not is_complete(invoice):
            invoice = complete(invoice)
        return Document(
            content=render_cxml(invoice, options, envelope),
            syntax=self.syntax,
            format=self.name,
            invoice_number=invoice.number,
            media_type=self.media_type,
            extension=self.extension,
            rules=self.rules,
        )

    def parse(self, data: bytes) -> Invoice:
        """The Invoice in an InvoiceDetailRequest; ParseError with the element path and line."""
        return parse_cxml(data)

    def stamped(self, invoice: Invoice) -> Invoice:
        """``invoice`` completed and without the fields listed in the class docstring."""
        if not is_complete(invoice):
            invoice = complete(invoice)
        update = _without(invoice, DROPPED_INVOICE_FIELDS)
        update["preceding_invoices"] = invoice.preceding_invoices[:1]
        if invoice.due_date is not None and payment_days(invoice) is None:
            update["due_date"] = None
        period = invoice.invoice_period
        if period is not None and (period.start is None or period.end is None):
            update["invoice_period"] = None
        if invoice.totals is not None:
            update["totals"] = invoice.totals.model_copy(
                update=_without(invoice.totals, DROPPED_TOTALS_FIELDS)
            )
        if invoice.payment is not None:
            update["payment"] = invoice.payment.model_copy(
                update=_without(invoice.payment, DROPPED_PAYMENT_FIELDS)
            )
        lines = []
        for line in invoice.lines:
            item = line.item.model_copy(
                update={
                    **_without(line.item, DROPPED_ITEM_FIELDS),
                    "classifications": tuple(
                        c.model_copy(update=_without(c, DROPPED_CLASSIFICATION_FIELDS))
                        for c in line.item.classifications
                    ),
                }
            )
            price = line.price.model_copy(update=_without(line.price, DROPPED_PRICE_FIELDS))
            lines.append(
                line.model_copy(
                    update={**_without(line, DROPPED_LINE_FIELDS), "item": item, "price": price}
                )
            )
        update["lines"] = tuple(lines)
        return invoice.model_copy(update=update)
