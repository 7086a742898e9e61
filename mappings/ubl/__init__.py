"""UBL 2.1 Invoice/CreditNote in the EN 16931 binding: Peppol BIS 3, XRechnung UBL, generic.

``formats`` holds the Mapping classes the registry names (``peppol-bis3``, ``xrechnung-ubl``,
``ubl``); ``render``/``parse`` do the syntax work they share.
"""
