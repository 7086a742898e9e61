"""invoice-gateway: EN 16931 e-invoicing and EDI gateway engine."""

__version__ = "0.1.0"
