"""UN/CEFACT Cross Industry Invoice D16B (EN 16931 CII binding): render and parse.

``formats`` holds the mappings named in the registry (``xrechnung-cii``, ``facturx-en16931``,
``cii``); ``render`` writes the XML as text, ``parse`` reads any EN 16931 CII document back.
"""

from mappings.cii.formats import FacturXEn16931, GenericCii, XRechnungCii
from mappings.cii.parse import parse_cii
from mappings.cii.render import render_cii

__all__ = ["FacturXEn16931", "GenericCii", "XRechnungCii", "parse_cii", "render_cii"]
