"""The value a finding points at, so a report can say what was found, not only where."""

from __future__ import annotations

import re

from lxml import etree

# SVRL locations are XPath 2.0 (``/*:ID[namespace-uri()='urn:...'][1]``); lxml speaks XPath 1.0,
# which writes the same test as ``*[local-name()='ID' and namespace-uri()='urn:...']``.
_QUALIFIED_STEP = re.compile(r"\*:([\w.\-]+)\[namespace-uri\(\)='([^']*)'\]")


def to_xpath1(location: str) -> str:
    """An SVRL location rewritten for XPath 1.0 (unchanged when it has no ``*:name[ns]`` steps)."""
    return _QUALIFIED_STEP.sub(r"*[local-name()='\1' and namespace-uri()='\2']", location)


def value_at(root: etree._Element, location: str) -> str | None:
    """The text of the one leaf element or attribute ``location`` selects in ``root``'s tree.

    ``location`` is an SVRL location or an lxml error path (prefixes as declared on the root).
    None when it selects nothing, several nodes, an element with child elements, or does not
    evaluate: a finding on a group (e.g. the whole monetary total) has no single value.
    """
    if not location.startswith("/"):
        return None
    prefixes = {k: v for k, v in root.nsmap.items() if k}
    try:
        found = root.getroottree().xpath(to_xpath1(location), namespaces=prefixes)
    except (etree.XPathError, ValueError):
        return None
    if not isinstance(found, list) or len(found) != 1:
        return None
    node = found[0]
    if isinstance(node, etree._Element):
        if len(node):
            return None
        return (node.text or "").strip()
    return str(node)
