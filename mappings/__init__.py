"""One module per syntax: ``render(invoice, profile) -> Document``, ``parse(bytes) -> Invoice``."""
