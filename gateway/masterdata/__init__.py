"""Master data: defaults for the EN 16931 terms a source cannot carry.

An EANCOM message or an ERP export has no place for the seller's electronic address (BT-34),
its contact (BT-41..43), the buyer's electronic address (BT-49) or a Leitweg-ID (BT-10). Seller
master data (one TOML per seller in ``config/sellers/``, :mod:`gateway.masterdata.load`) and the
buyer profile's ``[defaults]`` supply them; :mod:`gateway.masterdata.apply` fills only terms the
source left out, records each in ``Invoice.provenance`` and reports a value the source gives
that differs from master data as a warning (the source's value is kept).

The modules are imported one by one (``gateway.profiles.profile`` imports :mod:`.terms`, and
:mod:`.apply` imports ``gateway.profiles.profile``), so this package file imports nothing.
"""
