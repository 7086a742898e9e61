"""cXML (Ariba, Coupa): InvoiceDetailRequest both ways, and the cXML acknowledgements."""
