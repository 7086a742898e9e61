"""One module per syntax: ``render(invoice, profile) -> Document`` and ``parse(bytes) -> Invoice``."""
